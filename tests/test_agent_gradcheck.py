"""Gradient checks of the DDPG math itself (float64): the exact functions update() runs."""

import pytest

from tinyddpg.gradcheck import check_gradients

from agent_helpers import host_batch, small_agent, to_device_batch

TOLERANCE = 1e-6


@pytest.fixture
def agent_and_batch(backend64):
    agent = small_agent(backend64)
    return agent, to_device_batch(backend64, host_batch())


def parameter_arrays(net):
    return dict(zip(net.param_keys(), net.parameters()))


def test_critic_loss_gradient_for_every_critic_parameter(agent_and_batch):
    agent, batch = agent_and_batch
    y = agent.td_target(batch)  # targets fixed
    agent.compute_critic_gradients(batch, y)
    analytic = {k: agent.backend.to_host(g).copy() for k, g in zip(agent.critic.param_keys(), agent.critic.grads())}
    report = check_gradients(lambda: agent.compute_critic_gradients(batch, y)[0], parameter_arrays(agent.critic),
                             analytic, agent.backend, title="critic loss")
    assert len(report.rows) == 6 and report.passed(TOLERANCE), str(report)


def test_actor_loss_gradient_for_every_actor_parameter_through_the_critic(agent_and_batch):
    agent, batch = agent_and_batch
    agent.compute_actor_gradients(batch)
    analytic = {k: agent.backend.to_host(g).copy() for k, g in zip(agent.actor.param_keys(), agent.actor.grads())}
    report = check_gradients(lambda: agent.compute_actor_gradients(batch), parameter_arrays(agent.actor),
                             analytic, agent.backend, title="actor loss")
    assert len(report.rows) == 6 and report.passed(TOLERANCE), str(report)


def test_action_gradient_of_the_critic(agent_and_batch):
    agent, batch = agent_and_batch
    xp = agent.backend.xp
    action = batch.action
    agent.critic.forward(batch.obs, action)
    ones = xp.ones((action.shape[0],), dtype=agent.backend.dtype, device=agent.backend.device)
    dq_da = agent.backend.to_host(agent.critic.action_gradient(ones))  # row b: dQ(s_b, a_b)/da_b
    report = check_gradients(lambda: xp.sum(agent.critic.forward(batch.obs, action)), {"dQ/da": action},
                             {"dQ/da": dq_da}, agent.backend, title="dQ/da")
    assert report.passed(TOLERANCE), str(report)


def test_action_gradient_leaves_critic_parameter_gradients_alone(agent_and_batch):
    agent, batch = agent_and_batch
    agent.critic.zero_grad()
    agent.compute_actor_gradients(batch)
    assert not agent.backend.to_host(agent.critic.flat_grads).any()
