import numpy as np
import pytest
import torch
from agent_helpers import ACTION_DIM, HIGH, LOW, OBS_DIM, host_batch, small_agent, to_device_batch
from torch_reference import TorchDDPG

from tinyddpg.backend import get_backend

UPDATES = 5


def run_updates(agent, backend):
    for k in range(UPDATES):
        stats = agent.update(to_device_batch(backend, host_batch(seed=k)))
    return stats


def four_networks(agent):
    return [agent.backend.to_host(net.flat_params) for net in
            (agent.actor, agent.critic, agent.actor_target, agent.critic_target)]


@pytest.mark.parametrize("dtype, torch_dtype", [("float64", torch.float64), ("float32", torch.float32)])
def test_several_updates_equal_a_textbook_pytorch_ddpg(dtype, torch_dtype):
    backend = get_backend("numpy", dtype=dtype)
    agent = small_agent(backend, rho=0.9, actor_lr=1e-2, critic_lr=1e-2)  # big steps: differences would show
    reference = TorchDDPG(OBS_DIM, ACTION_DIM, LOW, HIGH, (16, 12), actor_lr=1e-2, critic_lr=1e-2, gamma=0.99, rho=0.9,
                          dtype=torch_dtype).load_weights(agent)  # built from sizes and bounds; raw weights copied
    for k in range(UPDATES):
        stats = agent.update(to_device_batch(backend, host_batch(seed=k)))
        theirs = reference.update(*reference.tensors(host_batch(seed=k)))
        assert stats["critic_loss"] == pytest.approx(theirs["critic_loss"], rel=1e-5)
        assert stats["actor_loss"] == pytest.approx(theirs["actor_loss"], rel=1e-4, abs=1e-6)
        assert stats["mean_q"] == pytest.approx(theirs["mean_q"], rel=1e-4, abs=1e-6)
    for ours, expected in zip(four_networks(agent), reference.networks()):
        if dtype == "float64":
            assert np.max(np.abs(ours - expected)) <= 1e-10
        else:
            assert np.max(np.abs(ours - expected)) / np.max(np.abs(expected)) <= 1e-5


def test_update_on_every_backend_equals_numpys_and_keeps_float32(backend32):
    reference = small_agent(get_backend("numpy"))
    agent = small_agent(backend32)
    run_updates(reference, reference.backend)
    stats = run_updates(agent, backend32)
    assert all(isinstance(v, float) for v in stats.values())
    for net in (agent.actor, agent.critic, agent.actor_target, agent.critic_target):
        assert net.flat_params.dtype == backend32.xp.float32
    assert agent.actor_optimizer.m[0].dtype == backend32.xp.float32
    for ours, expected in zip(four_networks(agent), four_networks(reference)):
        np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6)


def test_targets_start_as_exact_copies():
    agent = small_agent(get_backend("numpy"))
    np.testing.assert_array_equal(agent.actor_target.flat_params, agent.actor.flat_params)
    np.testing.assert_array_equal(agent.critic_target.flat_params, agent.critic.flat_params)
    assert agent.actor_target.flat_params is not agent.actor.flat_params


def test_polyak_moves_targets_by_one_minus_rho():
    agent = small_agent(get_backend("numpy", dtype="float64"), rho=0.75)
    before = agent.critic_target.flat_params.copy()
    agent.update(to_device_batch(agent.backend, host_batch()))
    np.testing.assert_allclose(agent.critic_target.flat_params, 0.75 * before + 0.25 * agent.critic.flat_params)


def test_adam_step_counter_advances_once_per_update():
    agent = small_agent(get_backend("numpy"))
    run_updates(agent, agent.backend)
    assert agent.actor_optimizer.t == agent.critic_optimizer.t == UPDATES


def test_critic_gradient_is_divided_by_the_batch_size_once():
    """With Q's head zeroed, dL/db_head = mean(2 (Q - y)) = -2 mean(y): no extra 1/B."""
    backend = get_backend("numpy", dtype="float64")
    agent = small_agent(backend)
    head = agent.critic.layers[-1]
    head.W[...] = 0.0
    head.b[...] = 0.0
    batch = to_device_batch(backend, host_batch())
    y = agent.td_target(batch)
    agent.compute_critic_gradients(batch, y)
    assert head.db[0] == pytest.approx(-2.0 * np.mean(y))


def test_q_head_has_one_output_and_q_has_shape_batch():
    agent = small_agent(get_backend("numpy"))
    assert agent.critic.layers[-1].W.shape == (12, 1)
    batch = to_device_batch(agent.backend, host_batch(batch_size=5))
    assert agent.critic.forward(batch.obs, batch.action).shape == (5,)
    assert agent.td_target(batch).shape == (5,)


def test_actions_respect_asymmetric_bounds_and_exploration_noise_is_random():
    agent = small_agent(get_backend("numpy"), noise_scale=0.5)
    obs = np.zeros(OBS_DIM)
    actions = np.array([agent.act(obs) for _ in range(200)])
    assert actions.shape == (200, ACTION_DIM) and (actions >= LOW).all() and (actions <= HIGH).all()
    assert (actions == HIGH).any() or (actions == LOW).any()  # some were clipped
    assert len(np.unique(actions[:, 0])) > 150  # not a deterministic "noise"
    mu = agent.actor.forward(obs[None, :])[0]
    assert ((mu > LOW) & (mu < HIGH)).all()  # tanh scaled into (low, high)


def test_eval_mode_is_deterministic_and_refuses_updates():
    agent = small_agent(get_backend("numpy"), noise_scale=0.5)
    obs = np.ones(OBS_DIM)
    agent.eval()
    first = agent.act(obs)
    np.testing.assert_array_equal(agent.act(obs), first)
    with pytest.raises(RuntimeError, match=r"evaluation mode: call agent.train\(\)"):
        agent.update(to_device_batch(agent.backend, host_batch()))
    agent.train()
    assert not np.array_equal(agent.act(obs), first)
    agent.update(to_device_batch(agent.backend, host_batch()))
    np.testing.assert_array_equal(agent.act(obs, explore=False), agent.act(obs, explore=False))


def test_state_dict_restores_all_networks_and_optimizers_exactly():
    backend = get_backend("numpy")
    agent = small_agent(backend, seed=0)
    run_updates(agent, backend)
    clone = small_agent(backend, seed=1)
    clone.load_state_dict(agent.state_dict())
    for a, b in zip(four_networks(clone), four_networks(agent)):
        np.testing.assert_array_equal(a, b)
    batch = to_device_batch(backend, host_batch(seed=99))
    assert clone.update(batch) == agent.update(batch)  # Adam moments and step counters came along too
