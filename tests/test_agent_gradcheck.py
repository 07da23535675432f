"""Gradient checks of the DDPG math itself (float64): the exact functions update() runs."""

import pytest
from agent_helpers import host_batch, small_agent, to_device_batch

from tinyddpg.ddpg_gradcheck import (
    CHECK_FINAL_INIT_BOUND,
    action_gradient_report,
    actor_loss_report,
    agent_reports,
    critic_loss_report,
)

TOLERANCE = 1e-6


@pytest.fixture
def agent_and_batch(backend64):
    return small_agent(backend64, final_init_bound=CHECK_FINAL_INIT_BOUND), to_device_batch(backend64, host_batch())


@pytest.mark.parametrize("report_of, rows", [(critic_loss_report, 6), (actor_loss_report, 6), (action_gradient_report, 1)])
def test_ddpg_gradients_match_finite_differences(agent_and_batch, report_of, rows):
    report = report_of(*agent_and_batch)
    assert len(report.rows) == rows and report.passed(TOLERANCE), str(report)


def test_action_gradient_leaves_critic_parameter_gradients_alone(agent_and_batch):
    agent, batch = agent_and_batch
    agent.critic.zero_grad()
    agent.compute_actor_gradients(batch)
    assert not agent.backend.to_host(agent.critic.flat_grads).any()


def test_negative_control_a_critic_gradient_divided_by_the_batch_twice_fails(agent_and_batch):
    agent, batch = agent_and_batch
    original = agent.compute_critic_gradients

    def divided_twice(batch, y):
        loss, q = original(batch, y)
        agent.critic.flat_grads[...] = agent.critic.flat_grads / 8
        return loss, q

    agent.compute_critic_gradients = divided_twice
    assert not critic_loss_report(agent, batch).passed(1e-2)


def test_whole_agent_report_for_students():
    reports = agent_reports()
    assert len(reports) == 3 and all(r.passed(TOLERANCE) for r in reports)
