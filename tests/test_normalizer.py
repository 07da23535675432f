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
    agent.eval()
    agent.observe(np.full(OBS_DIM, 1e6))
    assert agent.normalizer.count == 50
    clone = small_agent(get_backend("numpy"), seed=1, normalize_obs=True)
    clone.load_state_dict(agent.state_dict())
    assert clone.normalizer.count == 50
    np.testing.assert_array_equal(clone.normalizer.mean, agent.normalizer.mean)
    obs = observations(1, seed=5)[0]
    np.testing.assert_array_equal(clone.eval().act(obs), agent.act(obs))


@pytest.mark.parametrize("report_of", [critic_loss_report, actor_loss_report, action_gradient_report])
def test_gradient_checks_still_pass_with_normalization_on(backend64, report_of):
    agent = small_agent(backend64, normalize_obs=True, final_init_bound=CHECK_FINAL_INIT_BOUND)
    for x in observations(100):
        agent.observe(x)
    batch = agent.normalize_batch(to_device_batch(backend64, host_batch()))
    assert report_of(agent, batch).passed(1e-6)
