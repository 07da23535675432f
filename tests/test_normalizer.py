import numpy as np
import pytest
from agent_helpers import OBS_DIM, host_batch, small_agent, to_device_batch

from tinyddpg.backend import get_backend, make_rng
from tinyddpg.ddpg_gradcheck import (
    CHECK_FINAL_INIT_BOUND,
    action_gradient_report,
    actor_loss_report,
    critic_loss_report,
)
from tinyddpg.normalizer import ObservationNormalizer


def observations(count=500, seed=0):
    return make_rng(seed).normal(loc=[3.0, -1.0, 100.0], scale=[0.5, 2.0, 30.0], size=(count, OBS_DIM))


def test_running_statistics_equal_numpys_mean_and_var():
    normalizer = ObservationNormalizer(OBS_DIM, get_backend("numpy", dtype="float64"))
    data = observations()
    for x in data:
        normalizer.update(x)
    np.testing.assert_allclose(normalizer.mean, data.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(normalizer.var, data.var(axis=0), rtol=1e-10)


def test_host_and_device_normalization_agree_and_standardise(backend32):
    normalizer = ObservationNormalizer(OBS_DIM, backend32)
    data = observations()
    for x in data:
        normalizer.update(x)
    device = backend32.to_host(normalizer.normalize(backend32.to_device(data)))
    host = np.array([normalizer.normalize_host(x) for x in data])
    np.testing.assert_allclose(device, host, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(host.mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(host.std(axis=0), 1.0, rtol=1e-6)
    assert device.dtype == np.float32


def test_statistics_are_frozen_in_evaluation_mode_and_saved_in_the_state():
    agent = small_agent(get_backend("numpy"), normalize_obs=True)
    for x in observations(50):
        agent.observe(x)
    before = {key: value.copy() for key, value in agent.normalizer.state_dict().items()}
    agent.eval()
    agent.observe(np.full(OBS_DIM, 1e6))
    for key, value in agent.normalizer.state_dict().items():  # count, mean and m2 (the variance) all frozen
        np.testing.assert_array_equal(value, before[key], err_msg=key)
    assert agent.normalizer.count == 50
    clone = small_agent(get_backend("numpy"), seed=1, normalize_obs=True)
    clone.load_state_dict(agent.state_dict())
    assert clone.normalizer.count == 50
    np.testing.assert_array_equal(clone.normalizer.mean, agent.normalizer.mean)
    np.testing.assert_array_equal(clone.normalizer.var, agent.normalizer.var)
    obs = observations(1, seed=5)[0]
    np.testing.assert_array_equal(clone.eval().act(obs), agent.act(obs))


@pytest.mark.parametrize("report_of", [critic_loss_report, actor_loss_report, action_gradient_report])
def test_gradient_checks_still_pass_with_normalization_on(backend64, report_of):
    agent = small_agent(backend64, normalize_obs=True, final_init_bound=CHECK_FINAL_INIT_BOUND)
    for x in observations(100):
        agent.observe(x)
    batch = agent.normalize_batch(to_device_batch(backend64, host_batch()))
    assert report_of(agent, batch).passed(1e-6)


# --- acting on observations far outside the range seen: the clip is reached while acting ------------------------
CLIP = 10.0  # ObservationNormalizer's default clip, in standard deviations
FAR = np.array([1e6, -1e6, 1e6])  # 10^4 to 10^6 standard deviations from the mean of observations()


def trained_normalizer_agent(backend):
    agent = small_agent(backend, normalize_obs=True)
    for x in observations():
        agent.observe(x)
    return agent.eval()


def test_acting_on_an_observation_far_outside_the_range_seen_acts_on_it_clipped_to_10_standard_deviations(backend32):
    """The action for FAR is the action for the observation exactly 10 standard deviations out in each dimension
    (mean and standard deviation from NumPy), not the saturated action of an unclipped input."""
    agent = trained_normalizer_agent(backend32)
    data = observations()
    at_clip = data.mean(axis=0) + np.sign(FAR) * CLIP * np.sqrt(data.var(axis=0) + 1e-8)
    np.testing.assert_array_equal(agent.normalizer.normalize_host(FAR), np.sign(FAR) * CLIP)
    np.testing.assert_allclose(agent.act(FAR), agent.act(at_clip), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(agent.act(10 * FAR), agent.act(FAR), rtol=0, atol=0)
    # the batches it learns from are clipped alike, on the device
    batch = backend32.to_host(agent.normalizer.normalize(backend32.to_device(np.stack([FAR, -FAR, at_clip]))))
    np.testing.assert_allclose(batch, np.sign([FAR, -FAR, FAR]) * CLIP, rtol=1e-5)


def test_a_dimension_that_never_changed_is_scaled_by_the_square_root_of_eps():
    """var = 0: (x - mean) / sqrt(0 + 1e-8) = (x - mean) * 1e4, clipped: 1e-5 away reads 0.1, 2e-3 away the clip."""
    normalizer = ObservationNormalizer(OBS_DIM, get_backend("numpy", dtype="float64"))
    for x in observations(20):
        normalizer.update([x[0], 2.5, x[2]])
    np.testing.assert_allclose(normalizer.normalize_host([0.0, 2.5 + 1e-5, 0.0])[1], 0.1, rtol=1e-6)
    assert normalizer.normalize_host([0.0, 2.5, 0.0])[1] == 0.0
    assert normalizer.normalize_host([0.0, 2.5 - 2e-3, 0.0])[1] == -CLIP


@pytest.mark.parametrize("change", ["update", "load_state_dict"])
def test_device_normalization_follows_the_statistics_after_an_update_or_a_load(backend32, change):
    """The device copy of mean and 1/std is rebuilt once the statistics change: batches normalized before and
    after the change agree with the host normalization of that moment."""
    normalizer = ObservationNormalizer(OBS_DIM, backend32)
    data = observations()
    for x in data[:100]:
        normalizer.update(x)
    device = backend32.to_device(data[:5])
    np.testing.assert_allclose(backend32.to_host(normalizer.normalize(device)),
                               [normalizer.normalize_host(x) for x in data[:5]], rtol=1e-5, atol=1e-5)
    if change == "update":
        for x in data[100:] + 50.0:  # the statistics move a long way
            normalizer.update(x)
    else:
        other = ObservationNormalizer(OBS_DIM, get_backend("numpy"))
        for x in data[100:] + 50.0:
            other.update(x)
        normalizer.load_state_dict(other.state_dict())
    np.testing.assert_allclose(backend32.to_host(normalizer.normalize(device)),
                               [normalizer.normalize_host(x) for x in data[:5]], rtol=1e-5, atol=1e-5)
