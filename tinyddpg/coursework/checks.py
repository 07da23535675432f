"""The checks of each part, run on the engine after run_part.py planted the student's function into it.

Three kinds, as in docs/bug_zoo.md: gradient checks for the backward passes (float64 finite differences), direct
semantic tests (a terminal transition has y = r exactly; one actor step raises Q), and references written out
here from the equations (Adam, the TD target, Polyak, the OU step), never by calling the engine's code for the
part under test. Every check reaches the part through its module or class at call time (losses.mse,
agent.soft_update, DDPG.td_target), so it runs whatever was planted. A check passes by returning and fails by
raising Mismatch("expected ...", "got ...") or any error of the student's code.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np

from .. import agent as agent_module
from .. import losses
from ..backend import get_backend, make_rng
from ..buffer import ReplayBuffer
from ..ddpg_gradcheck import action_gradient_report, actor_loss_report, critic_loss_report, small_agent_and_batch
from ..gradcheck import check_module
from ..nn import Dense, ReLU, Sequential, Tanh, mlp
from ..noise import OrnsteinUhlenbeckNoise
from ..optim import Adam

GRADIENT_TOLERANCE = 1e-6  # as `tinyddpg gradcheck`
LOW, HIGH = (-1.0, -3.0), (2.0, 1.0)  # asymmetric, non-unit action bounds: a forgotten scale or offset shows
CHECKS: dict[str, list[Callable[[], None]]] = {}


class Mismatch(AssertionError):
    def __init__(self, expected: str, got: str):
        super().__init__(f"expected {expected}; got {got}")


def check(part: str, title: str):
    """Register the decorated function as one check of `part`, titled for the report."""
    def register(function):
        function.title = title
        CHECKS.setdefault(part, []).append(function)
        return function
    return register


def float64():
    return get_backend("numpy", dtype="float64")


def agent_and_batch(**config):
    """A small float64 agent (obs 3, action 2 in [-1, 2] x [-3, 1], hidden 16, 16) and a batch of 12, 6 terminal."""
    agent, batch = small_agent_and_batch(3, LOW, HIGH, (16, 16), 12, 0, **config)
    return agent, batch._replace(terminated=np.tile([1.0, 0.0], 6))


def gradients_match(report) -> None:
    if not report.passed(GRADIENT_TOLERANCE):
        wrong = ", ".join(f"{row.name} {row.rel_error:.1e}" for row in report.rows if row.rel_error > GRADIENT_TOLERANCE)
        raise Mismatch(f"relative error <= {GRADIENT_TOLERANCE:g} against finite differences", f"{wrong}")


def close(name: str, got, expected, tolerance: float = 1e-10) -> None:
    """got equals expected in shape and, entry by entry, to a relative and absolute tolerance."""
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    if got.shape != expected.shape:
        raise Mismatch(f"{name} of shape {expected.shape}", f"shape {got.shape}")
    if not np.allclose(got, expected, rtol=tolerance, atol=tolerance):
        worst = np.unravel_index(np.argmax(np.abs(got - expected)), got.shape) if got.shape else ()
        at = f"[{', '.join(map(str, worst))}]" if worst else ""
        raise Mismatch(f"{name}{at} = {expected[worst]:.6g}", f"{got[worst]:.6g} (the largest difference)")


def perturb(network, scale: float, seed: int) -> None:
    network.flat_params += scale * make_rng(seed).normal(size=network.flat_params.shape)


# --- the layers' backward passes --------------------------------------------------------------------------------
@check("dense_backward", "gradient check of Dense(4, 3): dL/dx, dL/dW, dL/db")
def dense_gradients():
    backend, rng = float64(), make_rng(0)
    gradients_match(check_module(Dense(4, 3, backend=backend, rng=rng), rng.normal(size=(5, 4))))


@check("dense_backward", "gradient check of a square Dense(3, 3), where a transposed dW has the right shape")
def square_dense_gradients():
    backend, rng = float64(), make_rng(1)
    gradients_match(check_module(Dense(3, 3, backend=backend, rng=rng), rng.normal(size=(5, 3))))


@check("dense_backward", "dW and db land in the network's flat gradient array (written in place: +=, not =)")
def dense_gradients_in_place():
    backend, rng = float64(), make_rng(2)
    network = Sequential(Dense(4, 3, backend=backend, rng=rng), backend=backend)
    x, dout = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    network.zero_grad()
    network.forward(x)
    network.backward(dout)
    close("flat_grads = [x^T dout, sum of dout over the batch]", network.flat_grads,
          np.concatenate([(x.T @ dout).ravel(), dout.sum(axis=0)]))


@check("relu_backward", "gradient check of ReLU (inputs at least 0.1 away from the kink)")
def relu_gradients():
    x = make_rng(3).normal(size=(5, 4))
    gradients_match(check_module(ReLU(float64()), np.sign(x) * (0.1 + np.abs(x))))


@check("relu_backward", "dx = dout where x > 0 and 0 where x <= 0 (the subgradient 0 at x = 0)")
def relu_mask():
    relu = ReLU(float64())
    relu.forward(np.array([[-1.5, 0.0, 2.0, 0.5]]))
    close("dx", relu.backward(np.array([[5.0, 6.0, 7.0, 8.0]])), [[0.0, 0.0, 7.0, 8.0]])


@check("tanh_backward", "gradient check of Tanh")
def tanh_gradients():
    gradients_match(check_module(Tanh(float64()), make_rng(4).normal(size=(5, 4))))


@check("tanh_backward", "saturated inputs x = -20 and 20 pass no gradient: dx = 0")
def tanh_saturated():
    tanh = Tanh(float64())
    tanh.forward(np.array([[-20.0, 20.0]]))
    close("dx", tanh.backward(np.array([[3.0, 3.0]])), [[0.0, 0.0]], tolerance=1e-12)


# --- the loss and the optimizer ---------------------------------------------------------------------------------
@check("mse", "loss = mean((p - t)^2) and dL/dp = 2 (p - t) / N for a (B,) prediction")
def mse_vector():
    rng = make_rng(5)
    prediction, target = rng.normal(size=6), rng.normal(size=6)
    loss, gradient = losses.mse(prediction, target)
    close("loss", loss, np.mean((prediction - target) ** 2))
    close("dL/dprediction", gradient, 2.0 * (prediction - target) / 6)


@check("mse", "for a (B, 2) prediction N counts every element (N = 2 B)")
def mse_matrix():
    rng = make_rng(6)
    prediction, target = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    loss, gradient = losses.mse(prediction, target)
    close("loss", loss, np.mean((prediction - target) ** 2))
    close("dL/dprediction", gradient, 2.0 * (prediction - target) / 8)


@check("mse", "a (B, 1) prediction against a (B,) target is refused with a ValueError")
def mse_refuses_broadcasting():
    try:
        losses.mse(np.zeros((4, 1)), np.zeros(4))
    except ValueError:
        return
    raise Mismatch("a ValueError (the shapes would broadcast to (4, 4))", "no error")


def adam_and_reference(steps: int):
    """Adam (lr 0.05, betas 0.8, 0.95, eps 1e-3: large enough that where eps goes matters) run `steps` times on two
    parameter arrays, and the parameters Adam's paper gives, written out here: (optimizer, params, expected)."""
    rng, backend = make_rng(7), float64()
    params = [rng.normal(size=(3, 2)), rng.normal(size=5)]
    grads = [np.zeros_like(p) for p in params]
    optimizer = Adam(params, grads, backend, lr=0.05, betas=(0.8, 0.95), eps=1e-3)
    expected = [p.copy() for p in params]
    m, v = [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params]
    for t in range(1, steps + 1):
        for i, g in enumerate(grads):
            g[...] = rng.normal(size=g.shape)
            m[i] = 0.8 * m[i] + 0.2 * g
            v[i] = 0.95 * v[i] + 0.05 * g * g
            m_hat, v_hat = m[i] / (1 - 0.8**t), v[i] / (1 - 0.95**t)
            expected[i] = expected[i] - 0.05 * m_hat / (np.sqrt(v_hat) + 1e-3)
        optimizer.step()
    return optimizer, params, expected


@check("adam_step", "five steps equal Adam's rule: bias-corrected m and v, eps added after the square root")
def adam_rule():
    _, params, expected = adam_and_reference(5)
    for i, (p, e) in enumerate(zip(params, expected)):
        close(f"parameter {i} after 5 steps", p, e)


@check("adam_step", "the step counter t advances by exactly one per step")
def adam_counter():
    optimizer, _, _ = adam_and_reference(3)
    if optimizer.t != 3:
        raise Mismatch("t = 3 after 3 steps", f"t = {optimizer.t}")


@check("adam_step", "the parameter arrays it was given change in place (p -= ..., not p = ...)")
def adam_in_place():
    rng, backend = make_rng(8), float64()
    params, grads = [rng.normal(size=4)], [rng.normal(size=4)]
    before = params[0].copy()
    Adam(params, grads, backend).step()
    if np.array_equal(params[0], before):
        raise Mismatch("the given parameter array to move after one step", "it did not change")


# --- the DDPG update ----------------------------------------------------------------------------------------------
def target_q(agent, batch):
    """Q'(s', mu'(s')) from the target networks."""
    return agent.critic_target.forward(batch.next_obs, agent.actor_target.forward(batch.next_obs))


@check("td_target", "a terminal transition has y = r exactly")
def td_target_terminal():
    agent, batch = agent_and_batch()
    y = np.asarray(agent.td_target(batch))
    if y.shape != batch.reward.shape or not np.array_equal(y[0::2], batch.reward[0::2]):
        raise Mismatch(f"y = r on the terminal rows 0, 2, 4, ...: {np.round(batch.reward[0::2][:3], 4)} ...",
                       f"{np.round(y.reshape(-1)[0::2][:3], 4)} ... (shape {y.shape})")


@check("td_target", "y = r + gamma (1 - terminated) Q'(s', mu'(s')), gamma = 0.9, shape (B,)")
def td_target_equation():
    agent, batch = agent_and_batch(gamma=0.9)
    perturb(agent.actor, 0.5, 1)  # the online networks now differ from the targets
    perturb(agent.critic, 0.5, 2)
    close("y", agent.td_target(batch), batch.reward + 0.9 * (1.0 - batch.terminated) * target_q(agent, batch))


@check("td_target", "y uses only the target networks: moving the online ones leaves it unchanged")
def td_target_ignores_online_networks():
    agent, batch = agent_and_batch()
    y = np.array(agent.td_target(batch))
    perturb(agent.actor, 0.5, 3)
    perturb(agent.critic, 0.5, 4)
    close("y after moving the online networks", agent.td_target(batch), y, tolerance=1e-14)


@check("td_target", "a' comes from self.target_action(s') and Q' from self.target_q(s', a') (where TD3 changes them)")
def td_target_uses_target_action_and_target_q():
    agent, batch = agent_and_batch()
    smoothed, asked = np.full((12, 2), 0.25), []
    agent.target_action = lambda next_obs: smoothed
    agent.target_q = lambda next_obs, next_action: asked.append(next_action) or np.arange(12.0)
    y = agent.td_target(batch)
    if len(asked) != 1 or asked[0] is not smoothed:
        raise Mismatch("one call target_q(s', target_action(s'))", f"{len(asked)} calls of target_q with other actions"
                       if asked else "no call of target_q")
    close("y", y, batch.reward + 0.99 * (1.0 - batch.terminated) * np.arange(12.0))


@check("critic_gradients", "gradient check of L_Q = mean((Q(s, a) - y)^2) for every critic parameter")
def critic_gradients():
    gradients_match(critic_loss_report(*agent_and_batch()))


@check("critic_gradients", "returns (L_Q, Q(s, a)) with L_Q = mean((Q(s, a) - y)^2)")
def critic_loss_value():
    agent, batch = agent_and_batch()
    y = agent.td_target(batch)
    loss, q = agent.compute_critic_gradients(batch, y)
    expected_q = agent.critic.forward(batch.obs, batch.action)
    close("Q(s, a)", q, expected_q)
    close("L_Q", loss, np.mean((expected_q - y) ** 2))


def fresh_gradients(network, compute) -> None:
    """Two calls of compute() leave the same gradients as one: each starts from zero."""
    compute()
    once = np.array(network.flat_grads)
    compute()
    close("the gradients after a second call (the same as after one: zero_grad() first)", network.flat_grads, once)


@check("critic_gradients", "each call starts from zero gradients (zero_grad() before backward)")
def critic_gradients_fresh():
    agent, batch = agent_and_batch()
    y = agent.td_target(batch)
    fresh_gradients(agent.critic, lambda: agent.compute_critic_gradients(batch, y))


@check("action_gradient", "gradient check of dQ/da against finite differences in the action")
def action_gradient():
    gradients_match(action_gradient_report(*agent_and_batch()))


@check("action_gradient", "dL/da has shape (B, action_dim) and the critic's parameter gradients stay untouched")
def action_gradient_leaves_parameters_alone():
    agent, batch = agent_and_batch()
    marker = make_rng(9).normal(size=agent.critic.flat_grads.shape)
    agent.critic.flat_grads[...] = marker
    agent.critic.forward(batch.obs, batch.action)
    da = np.asarray(agent.critic.action_gradient(np.ones(12)))
    if da.shape != (12, 2):
        raise Mismatch("dL/da of shape (12, 2)", f"shape {da.shape}")
    close("critic.flat_grads after action_gradient (unchanged)", agent.critic.flat_grads, marker, tolerance=0.0)


@check("actor_gradient", "gradient check of L_mu = -mean(Q(s, mu(s))) for every actor parameter")
def actor_gradients():
    gradients_match(actor_loss_report(*agent_and_batch()))


@check("actor_gradient", "returns L_mu = -mean(Q(s, mu(s))) of the online critic (not the target)")
def actor_loss_value():
    agent, batch = agent_and_batch()
    perturb(agent.critic_target, 0.5, 5)
    expected = -np.mean(agent.critic.forward(batch.obs, agent.actor.forward(batch.obs)))
    close("L_mu", agent.compute_actor_gradients(batch), expected)


@check("actor_gradient", "one actor step raises mean Q(s, mu(s)) of its batch (gradient ascent on Q)")
def actor_step_raises_q():
    agent, batch = agent_and_batch(actor_lr=1e-4)

    def mean_q():
        return float(np.mean(agent.critic.forward(batch.obs, agent.actor.forward(batch.obs))))

    before = mean_q()
    agent.compute_actor_gradients(batch)
    agent.actor_optimizer.step()
    if not mean_q() > before + 1e-6:
        raise Mismatch(f"mean Q above {before:.6f} after one step", f"{mean_q():.6f}")


@check("actor_gradient", "each call starts from zero gradients (zero_grad() before backward)")
def actor_gradients_fresh():
    agent, batch = agent_and_batch()
    fresh_gradients(agent.actor, lambda: agent.compute_actor_gradients(batch))


def two_networks():
    backend = float64()
    return mlp((3, 4, 2), backend=backend, rng=make_rng(10)), mlp((3, 4, 2), backend=backend, rng=make_rng(11))


@check("polyak", "target <- 0.7 target + 0.3 online with rho = 0.7; the online network unchanged")
def polyak_rule():
    target, online = two_networks()
    target_before, online_before = np.array(target.flat_params), np.array(online.flat_params)
    agent_module.soft_update(target, online, 0.7)
    close("target", target.flat_params, 0.7 * target_before + 0.3 * online_before)
    close("online (unchanged)", online.flat_params, online_before, tolerance=0.0)


@check("polyak", "in place: the target's layers (views of its flat_params) see the new weights")
def polyak_in_place():
    target, online = two_networks()
    expected = 0.7 * np.array(target.flat_params) + 0.3 * np.array(online.flat_params)
    agent_module.soft_update(target, online, 0.7)
    close("the target layers' W and b", np.concatenate([np.ravel(p) for p in target.parameters()]), expected)


# --- replay and exploration ----------------------------------------------------------------------------------
def filled_buffer(seed: int = 12) -> ReplayBuffer:
    """10 of 50 slots filled; transition i has obs i + (.1, .2, .3), action i + (.4, .5), reward i,
    next_obs i + (.6, .7, .8), terminated i % 2: every field names its row."""
    buffer = ReplayBuffer(50, 3, 2, backend=float64(), rng=make_rng(seed))
    for i in range(10):
        buffer.add(i + np.array([0.1, 0.2, 0.3]), i + np.array([0.4, 0.5]), float(i), i + np.array([0.6, 0.7, 0.8]),
                   bool(i % 2))
    return buffer


@check("replay_sample", "each sampled row is one stored transition, whole: obs (B, 3), action (B, 2), reward (B,), "
       "next_obs (B, 3), terminated (B,)")
def replay_rows_whole():
    batch = filled_buffer().sample(64)
    index = np.asarray(batch.reward).astype(int) if np.shape(batch.reward) == (64,) else None
    for name, offsets in (("obs", [0.1, 0.2, 0.3]), ("action", [0.4, 0.5]), ("reward", None),
                          ("next_obs", [0.6, 0.7, 0.8]), ("terminated", None)):
        got = np.asarray(getattr(batch, name))
        shape = (64, len(offsets)) if offsets else (64,)
        if got.shape != shape or index is None:
            raise Mismatch(f"{name} of shape {shape}", f"shape {got.shape}")
        expected = index[:, None] + np.array(offsets) if offsets else (index if name == "reward" else index % 2)
        close(f"{name} of the transitions drawn", got, expected)


@check("replay_sample", "draws only the 10 filled slots of 50, each about equally often (5,000 draws)")
def replay_uniform():
    rewards = np.asarray(filled_buffer().sample(5000).reward)
    counts = np.bincount(rewards.astype(int), minlength=50)
    if counts[10:].any() or counts[:10].min() < 400 or counts[:10].max() > 600:
        raise Mismatch("about 500 draws of each of slots 0-9 (400 to 600) and none of slots 10-49",
                       f"counts {counts[:10].tolist()} and {int(counts[10:].sum())} from empty slots")


@check("replay_sample", "draws from the buffer's own seeded generator self.rng (the same seed, the same batch)")
def replay_reproducible():
    first, second = filled_buffer(13).sample(16).reward, filled_buffer(13).sample(16).reward
    close("the second buffer's sample (same seed)", second, first, tolerance=0.0)


@check("ou_noise", "50 steps equal x <- x - theta x dt + sigma sqrt(dt) N(0, 1) (theta 0.3, sigma 0.5, dt 0.05, "
       "x0 0.5), drawn from self.rng")
def ou_steps():
    noise = OrnsteinUhlenbeckNoise(2, make_rng(14), theta=0.3, sigma=0.5, dt=0.05, x0=0.5)
    reference_rng, x = make_rng(14), np.full(2, 0.5)
    for step in range(1, 51):
        x = x - 0.3 * x * 0.05 + 0.5 * np.sqrt(0.05) * reference_rng.normal(size=2)
        close(f"x at step {step}", noise.sample(), x, tolerance=1e-12)


@check("ou_noise", "sample() returns a copy: changing what it returned does not change the process")
def ou_returns_copy():
    noise = OrnsteinUhlenbeckNoise(2, make_rng(15), theta=0.3, sigma=0.5, dt=0.05)
    sample = noise.sample()
    expected = np.array(sample)
    sample[...] = 100.0
    close("the process state x", noise.x, expected, tolerance=0.0)


# --- TD3's three fixes --------------------------------------------------------------------------------------------
@check("td3_clipped_double_q", "one critic: Q'(s', a') = Q_target(s', a'), shape (B,)")
def td3_single_target_critic():
    agent, batch = agent_and_batch()
    close("Q'(s', a')", agent.target_q(batch.next_obs, batch.action), agent.critic_target.forward(batch.next_obs, batch.action))


@check("td3_clipped_double_q", "twin critics: Q'(s', a') = min(Q1_target(s', a'), Q2_target(s', a')), row by row")
def td3_min_of_two_targets():
    agent, batch = agent_and_batch(twin_critics=True)
    perturb(agent.critic2_target, 0.5, 6)  # the two targets now disagree, each the smaller on some rows
    q1, q2 = (critic.forward(batch.next_obs, batch.action) for critic in agent.critic_targets)
    close("Q'(s', a')", agent.target_q(batch.next_obs, batch.action), np.minimum(q1, q2))


@check("td3_target_smoothing", "with target_noise = 0, a' = mu'(s') exactly")
def td3_no_noise():
    agent, batch = agent_and_batch()
    close("a'", agent.target_action(batch.next_obs), agent.actor_target.forward(batch.next_obs), tolerance=0.0)


@check("td3_target_smoothing", "a' = clip(mu'(s') + clip(sigma eps, -c, c) scale, low, high), eps ~ N(0, 1) of shape "
       "(B, action_dim) from the agent's rng (sigma 0.6, c 0.3)")
def td3_smoothed_action():
    agent, batch = agent_and_batch(target_noise=0.6, target_noise_clip=0.3)
    perturb(agent.actor_target, 3.0, 7)  # large weights: mu'(s') near the bounds, where the last clip acts
    rng = copy.deepcopy(agent.rng)
    scale = (np.array(HIGH) - np.array(LOW)) / 2.0
    noise = np.clip(0.6 * rng.standard_normal((12, 2)), -0.3, 0.3) * scale
    expected = np.clip(agent.actor_target.forward(batch.next_obs) + noise, LOW, HIGH)
    close("a'", agent.target_action(batch.next_obs), expected, tolerance=1e-12)


def written_out_update(agent, batch, step: int) -> None:
    """The TD3 update as the agent.py notes state it, from the engine's other parts: the reference."""
    agent.compute_critic_gradients(batch, agent.td_target(batch))
    agent.critic_optimizer.step()
    if step % agent.config.policy_delay == 0:
        agent.compute_actor_gradients(batch)
        agent.actor_optimizer.step()
        for target, online in zip([agent.actor_target, *agent.critic_targets], [agent.actor, *agent.critics]):
            agent_module.soft_update(target, online, agent.config.rho)


TD3_SETTINGS = dict(twin_critics=True, target_noise=0.2, policy_delay=2, rho=0.9)
NETWORKS = ("actor", "actor_target", "critic", "critic2", "critic_target", "critic2_target")


@check("td3_policy_delay", "policy_delay = 2: the critics step on every update, the actor and the targets only on "
       "updates 2 and 4; stats have actor_loss exactly then")
def td3_delay_pattern():
    agent, batch = agent_and_batch(**TD3_SETTINGS)
    for step in range(1, 5):
        before = {name: np.array(getattr(agent, name).flat_params) for name in NETWORKS}
        stats = agent.update(batch)
        moved = {name for name in NETWORKS if not np.array_equal(getattr(agent, name).flat_params, before[name])}
        expected = {"critic", "critic2"} | (set(NETWORKS) if step % 2 == 0 else set())
        keys = {"critic_loss", "mean_q"} | ({"actor_loss"} if step % 2 == 0 else set())
        if moved != expected or set(stats) != keys:
            raise Mismatch(f"update {step} to move {sorted(expected)} and return {sorted(keys)}",
                           f"{sorted(moved)} moved, returned {sorted(stats)}")


@check("td3_policy_delay", "four updates equal the update written out from the TD3 notes (all six networks)")
def td3_update_equals_reference():
    agent, batch = agent_and_batch(**TD3_SETTINGS)
    reference, _ = agent_and_batch(**TD3_SETTINGS)
    for step in range(1, 5):
        agent.update(batch)
        written_out_update(reference, batch, step)
    for name in NETWORKS:
        close(f"{name} after 4 updates", getattr(agent, name).flat_params, getattr(reference, name).flat_params)
