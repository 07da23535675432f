import numpy as np

from tinyddpg.backend import make_rng
from tinyddpg.noise import GaussianNoise, NoNoise, OrnsteinUhlenbeckNoise


def test_gaussian_noise_has_zero_mean_and_the_given_std():
    noise = GaussianNoise(0.3, 2, make_rng(1))
    samples = np.array([noise.sample() for _ in range(20_000)])
    assert abs(samples.mean()) < 0.01 and abs(samples.std() - 0.3) < 0.005  # standard errors ~0.0015, ~0.001


def test_ou_noise_reverts_to_the_mean_with_the_stationary_std():
    theta, sigma, dt = 0.15, 0.2, 0.05
    noise = OrnsteinUhlenbeckNoise(1, make_rng(2), theta=theta, sigma=sigma, dt=dt, x0=0.0)
    path = np.array([noise.sample()[0] for _ in range(400_000)])
    stationary_std = sigma / np.sqrt(2 * theta)
    assert abs(path.std() - stationary_std) < 0.05 * stationary_std
    assert abs(path.mean()) < 0.1 * stationary_std
    lag = int(1 / (theta * dt))  # one mean-reversion time: autocorrelation exp(-1)
    autocorrelation = np.corrcoef(path[:-lag], path[lag:])[0, 1]
    assert abs(autocorrelation - np.exp(-1)) < 0.05


def test_ou_noise_decays_from_x0_in_expectation_and_reset_restores_x0():
    noise = OrnsteinUhlenbeckNoise(5_000, make_rng(3), theta=0.15, sigma=0.2, dt=1e-2, x0=1.0)
    for _ in range(200):
        noise.sample()
    assert abs(noise.x.mean() - np.exp(-0.15 * 0.01 * 200)) < 0.01  # E[x_t] = x0 exp(-theta t)
    noise.reset()
    np.testing.assert_array_equal(noise.x, 1.0)


def test_no_noise_is_zero():
    np.testing.assert_array_equal(NoNoise(3).sample(), np.zeros(3))
