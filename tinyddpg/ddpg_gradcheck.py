"""Gradient checks of the DDPG math itself: the very functions DDPG.update() runs, checked in float64.

    critic loss   dL_Q/dtheta_Q for every critic parameter, with the TD target y held fixed; with TD3's twin
                  critics L_Q = L_Q1 + L_Q2 and both critics' parameters are checked (the min over the twin
                  targets sits inside y, which is not differentiated)
    actor loss    dL_mu/dtheta_mu for every actor parameter, through the critic's dQ/da
    dQ/da         the critic's gradient with respect to its action input, row by row

The checked agents start their final layers at uniform(-0.3, 0.3) instead of the paper's +-3e-3: the math is the
same, but with +-3e-3 the hidden layers' gradients are ~1e-3 and the relative error mostly measures the
finite difference's round-off (|error| ~ 1e-16 * L / h = 1e-10), not the backward pass.
"""

from __future__ import annotations

import numpy as np

from .agent import DDPG, DDPGConfig
from .backend import Backend, get_backend, make_rng
from .buffer import Batch
from .gradcheck import GradCheckReport, check_gradients, parameters_and_gradients

CHECK_FINAL_INIT_BOUND = 0.3


def critic_loss_report(agent: DDPG, batch: Batch, **options) -> GradCheckReport:
    """dL_Q/dtheta_Q from agent.compute_critic_gradients against finite differences of L_Q, y held fixed.
    `options` go to check_gradients (step, max_entries, rng)."""
    y = agent.td_target(batch)  # computed once: with target noise on, each call would draw new noise
    agent.compute_critic_gradients(batch, y)
    arrays, analytic = {}, {}
    for index, critic in enumerate(agent.critics, start=1):  # keys "Q1 0.W", ... and, for twins, "Q2 0.W", ...
        params, grads = parameters_and_gradients(critic)
        arrays.update({f"Q{index} {key}": value for key, value in params.items()})
        analytic.update({f"Q{index} {key}": value for key, value in grads.items()})
    title = "critic loss L_Q = " + " + ".join(f"mean((Q{i}(s,a) - y)^2)" for i in range(1, len(agent.critics) + 1))
    return check_gradients(lambda: agent.compute_critic_gradients(batch, y)[0], arrays, analytic, agent.backend,
                           title=title, **options)


def actor_loss_report(agent: DDPG, batch: Batch, **options) -> GradCheckReport:
    """dL_mu/dtheta_mu from agent.compute_actor_gradients (through the critic's dQ/da) against finite
    differences of L_mu = -mean(Q(s, mu(s))). `options` go to check_gradients."""
    agent.compute_actor_gradients(batch)
    return check_gradients(lambda: agent.compute_actor_gradients(batch), *parameters_and_gradients(agent.actor),
                           agent.backend, title="actor loss L_mu = -mean(Q(s, mu(s)))",
                           **options)


def action_gradient_report(agent: DDPG, batch: Batch, **options) -> GradCheckReport:
    """L = sum_b Q(s_b, a_b), so dL/da_b = dQ(s_b, a_b)/da_b, which critic.action_gradient(ones) returns."""
    xp, backend = agent.backend.xp, agent.backend
    agent.critic.forward(batch.obs, batch.action)
    ones = xp.ones((batch.action.shape[0],), dtype=backend.dtype, device=backend.device)
    analytic = backend.to_host(agent.critic.action_gradient(ones)).copy()
    return check_gradients(lambda: xp.sum(agent.critic.forward(batch.obs, batch.action)), {"dQ/da": batch.action},
                           {"dQ/da": analytic}, backend, title="dQ/da, the critic's action gradient", **options)


def random_batch(backend: Backend, obs_dim: int, low, high, batch_size: int, seed: int = 0) -> Batch:
    """A batch of random transitions (about 30% terminal) on the backend."""
    rng = make_rng([seed, 7])
    return Batch(*(backend.to_device(x) for x in (
        rng.normal(size=(batch_size, obs_dim)), rng.uniform(low, high, size=(batch_size, len(low))),
        rng.normal(size=batch_size), rng.normal(size=(batch_size, obs_dim)),
        (rng.random(batch_size) < 0.3).astype(float))))


def agent_reports(obs_dim: int = 3, low=(-2.0,), high=(2.0,), hidden=(32, 32), batch_size: int = 16,
                  seed: int = 0) -> list[GradCheckReport]:
    """The three reports for a small float64 agent on a random batch."""
    agent, batch = small_agent_and_batch(obs_dim, low, high, hidden, batch_size, seed)
    return [critic_loss_report(agent, batch), actor_loss_report(agent, batch), action_gradient_report(agent, batch)]


def td3_reports(obs_dim: int = 3, low=(-2.0,), high=(2.0,), hidden=(32, 32), batch_size: int = 16,
                seed: int = 0) -> list[GradCheckReport]:
    """TD3's one new gradient: the twin critics' summed loss, for a small float64 agent with all three fixes on."""
    agent, batch = small_agent_and_batch(obs_dim, low, high, hidden, batch_size, seed, twin_critics=True,
                                         target_noise=0.2, target_noise_clip=0.5, policy_delay=2)
    return [critic_loss_report(agent, batch)]


def small_agent_and_batch(obs_dim, low, high, hidden, batch_size, seed, **td3) -> tuple[DDPG, Batch]:
    backend = get_backend("numpy", dtype="float64")
    config = DDPGConfig(hidden=tuple(hidden), batch_size=batch_size, final_init_bound=CHECK_FINAL_INIT_BOUND, **td3)
    agent = DDPG(obs_dim, len(low), low, high, config, backend=backend, rng=make_rng(seed))
    return agent, random_batch(backend, obs_dim, np.asarray(low), np.asarray(high), batch_size, seed)
