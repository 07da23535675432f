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
from ..ddpg_gradcheck import action_gradient_report, actor_loss_report, small_agent_and_batch
from ..gradcheck import check_gradients, check_module, parameters_and_gradients
from ..nn import Dense, ReLU, Sequential, Tanh, mlp
from ..noise import OrnsteinUhlenbeckNoise
from ..optim import Adam

GRADIENT_TOLERANCE = 1e-6  # as `tinyddpg gradcheck`; a dW off by 1e-4 of itself fails it (tests/test_checks.py)
# close()'s tolerance by the dtype of the student's answer, as a fraction of the largest |value| expected: float64 is
# held to 1e-7 (a float32 constant such as gamma rounds at 6e-8, a real mistake moves answers by far more); float32
# arithmetic accumulates round-off of about 1e-7 per operation over a network's sums, so it gets 1e-4
TOLERANCES = {"float64": 1e-7, "float32": 1e-4}
LOW, HIGH = (-1.0, -3.0), (2.0, 1.0)  # asymmetric, non-unit action bounds: a forgotten scale or offset shows
CHECKS: dict[str, list[Callable[[], None]]] = {}


class Mismatch(AssertionError):
    def __init__(self, expected: str, got: str):
        super().__init__(f"expected {expected}; got {got}")


def check(part: str, title: str, td3_only: bool = False):
    """Register the decorated function as one check of `part`, titled for the report; a td3_only check runs only in
    an assignment that has TD3's parts (where the engine has twin critics to handle)."""
    def register(function):
        function.title, function.td3_only = title, td3_only
        CHECKS.setdefault(part, []).append(function)
        return function
    return register


def checks_for(part: str, td3: bool) -> list[Callable[[], None]]:
    """The checks of `part` in a DDPG assignment, or in a TD3 one (td3: with the twin-critic checks)."""
    return [function for function in CHECKS[part] if td3 or not function.td3_only]


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


def distinct(expected: float, got: float) -> tuple[str, str]:
    """The two numbers with as many significant digits as it takes to tell them apart (6 at least)."""
    for digits in range(6, 18):
        if f"{expected:.{digits}g}" != f"{got:.{digits}g}":
            return f"{expected:.{digits}g}", f"{got:.{digits}g}"
    return repr(float(expected)), repr(float(got))


def close(name: str, got, expected, tolerance: float | None = None) -> None:
    """got equals expected in shape and, entry by entry, to within tolerance x the largest |expected| (0: exactly).
    The tolerance defaults to the one for the dtype of got (TOLERANCES): a float32 answer is held to float32."""
    dtype = np.asarray(got).dtype.name
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    if got.shape != expected.shape:
        raise Mismatch(f"{name} of shape {expected.shape}", f"shape {got.shape}")
    tolerance = TOLERANCES.get(dtype, TOLERANCES["float64"]) if tolerance is None else tolerance
    allowed = tolerance * float(np.max(np.abs(expected), initial=0.0))
    difference = np.abs(got - expected)
    if got.size and not np.max(difference) <= allowed:  # `not <=`: a NaN fails
        worst = np.unravel_index(np.argmax(np.where(np.isnan(difference), np.inf, difference)), got.shape)
        at = f"[{', '.join(map(str, worst))}]" if worst else ""
        shown_expected, shown_got = distinct(expected[worst], got[worst])
        allowance = f"{allowed:.2g} allowed for {dtype}" if tolerance else "it must be exact"
        raise Mismatch(f"{name}{at} = {shown_expected}",
                       f"{shown_got} (the largest difference, {difference[worst]:.2g}; {allowance})")


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


@check("dense_backward", "two backward calls add up: dW and db after two calls are twice those after one (+=, not =)")
def dense_gradients_accumulate():
    backend, rng = float64(), make_rng(16)
    layer = Dense(4, 3, backend=backend, rng=rng)
    x, dout = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    layer.zero_grad()
    layer.forward(x)
    layer.backward(dout)
    layer.backward(dout)
    close("dW after two backward calls (2 x^T dout)", layer.dW, 2.0 * x.T @ dout)
    close("db after two backward calls (2 x the sum of dout over the batch)", layer.db, 2.0 * dout.sum(axis=0))


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
    close("dx", tanh.backward(np.array([[3.0, 3.0]])), [[0.0, 0.0]])


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


@check("mse", "a (B, 1) prediction against a (B,) target is refused with a ValueError (or a failed assert)")
def mse_refuses_broadcasting():
    try:
        losses.mse(np.zeros((4, 1)), np.zeros(4))
    except (ValueError, AssertionError):
        return
    raise Mismatch("a ValueError or an AssertionError (the shapes would broadcast to (4, 4))", "no error")


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
    y = np.asarray(agent.td_target(batch))  # r exactly, in the dtype y comes in
    if y.shape != batch.reward.shape or not np.array_equal(y[0::2], batch.reward[0::2].astype(y.dtype)):
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


def critic_gradient_check(agent, batch) -> None:
    """The gradients compute_critic_gradients leaves in every critic against finite differences of L_Q computed
    here, sum over the critics of mean((Q_i(s, a) - y)^2): a loss that leaves out a critic is caught."""
    y = agent.td_target(batch)
    agent.compute_critic_gradients(batch, y)
    arrays, analytic = {}, {}
    for index, critic in enumerate(agent.critics, start=1):
        params, grads = parameters_and_gradients(critic)
        arrays.update({f"Q{index} {key}": value for key, value in params.items()})
        analytic.update({f"Q{index} {key}": value for key, value in grads.items()})

    def loss() -> float:
        return sum(float(np.mean((critic.forward(batch.obs, batch.action) - y) ** 2)) for critic in agent.critics)

    gradients_match(check_gradients(loss, arrays, analytic, agent.backend))


@check("critic_gradients", "gradient check of L_Q = mean((Q(s, a) - y)^2) for every critic parameter")
def critic_gradients():
    critic_gradient_check(*agent_and_batch())


@check("critic_gradients", "returns (L_Q, Q(s, a)) with L_Q = mean((Q(s, a) - y)^2)")
def critic_loss_value():
    agent, batch = agent_and_batch()
    y = agent.td_target(batch)
    loss, q = agent.compute_critic_gradients(batch, y)
    expected_q = agent.critic.forward(batch.obs, batch.action)
    close("Q(s, a)", q, expected_q)
    close("L_Q", loss, np.mean((expected_q - y) ** 2))


def layer_gradients(network) -> np.ndarray:
    """The gradients the network's layers hold (views of the flat array its optimizer steps with), end to end."""
    return np.concatenate([np.ravel(g) for g in network.grads()])


def fresh_gradients(network, compute) -> None:
    """Two calls of compute() leave the same gradients in the layers as one: each starts from zero. Read from the
    layers, since they and the optimizer share one array: rebinding network.flat_grads to a new one zeroes nothing."""
    compute()
    once = layer_gradients(network)
    compute()
    close("the layers' gradients after a second call (the same as after one: zero_grad() first)",
          layer_gradients(network), once)


@check("critic_gradients", "each call starts from zero gradients (zero_grad() before backward)")
def critic_gradients_fresh():
    agent, batch = agent_and_batch()
    y = agent.td_target(batch)
    fresh_gradients(agent.critic, lambda: agent.compute_critic_gradients(batch, y))


@check("critic_gradients", "TD3's twin critics: gradient check of L_Q = L_Q1 + L_Q2 for both critics' parameters",
       td3_only=True)
def twin_critic_gradients():
    critic_gradient_check(*agent_and_batch(twin_critics=True))


@check("critic_gradients", "TD3's twin critics: returns (L_Q1 + L_Q2, Q1(s, a)); each critic's gradients start from "
       "zero", td3_only=True)
def twin_critic_loss_value():
    agent, batch = agent_and_batch(twin_critics=True)
    perturb(agent.critic2, 0.5, 17)  # the two critics now disagree
    y = agent.td_target(batch)
    loss, q = agent.compute_critic_gradients(batch, y)
    q1, q2 = (critic.forward(batch.obs, batch.action) for critic in agent.critics)
    close("Q1(s, a)", q, q1)
    close("L_Q1 + L_Q2", loss, np.mean((q1 - y) ** 2) + np.mean((q2 - y) ** 2))
    fresh_gradients(agent.critic2, lambda: agent.compute_critic_gradients(batch, y))


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
    buffer = filled_buffer(13)
    before = copy.deepcopy(buffer.rng.bit_generator.state)
    first, second = buffer.sample(16).reward, filled_buffer(13).sample(16).reward
    close("the second buffer's sample (same seed)", second, first, tolerance=0.0)
    if buffer.rng.bit_generator.state == before:
        raise Mismatch("the draw to advance the buffer's generator self.rng", "self.rng unchanged (another generator)")


@check("ou_noise", "50 steps equal x <- x - theta x dt + sigma sqrt(dt) N(0, 1) (theta 0.3, sigma 0.5, dt 0.05, "
       "x0 0.5), drawn from self.rng")
def ou_steps():
    noise = OrnsteinUhlenbeckNoise(2, make_rng(14), theta=0.3, sigma=0.5, dt=0.05, x0=0.5)
    reference_rng, x = make_rng(14), np.full(2, 0.5)
    for step in range(1, 51):
        x = x - 0.3 * x * 0.05 + 0.5 * np.sqrt(0.05) * reference_rng.normal(size=2)
        close(f"x at step {step}", noise.sample(), x)


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
    close("a'", agent.target_action(batch.next_obs), expected)


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


@check("td3_policy_delay", "the delay counts self.critic_updates (which a checkpoint restores): an agent at critic "
       "update 1 steps the actor and the targets on its next update, and the count becomes 2")
def td3_delay_counted_by_the_agent():
    agent, batch = agent_and_batch(**TD3_SETTINGS)
    agent.critic_updates = 1  # as load_state_dict leaves it after one update (the optimizers' own t is 0 here)
    before = np.array(agent.actor.flat_params)
    agent.update(batch)
    if agent.critic_updates != 2 or np.array_equal(agent.actor.flat_params, before):
        raise Mismatch("the actor to step on update 2 of self.critic_updates, and critic_updates = 2",
                       f"critic_updates = {agent.critic_updates}, the actor "
                       f"{'unchanged' if np.array_equal(agent.actor.flat_params, before) else 'moved'}")


@check("td3_policy_delay", "with observation normalization on, four updates learn from normalize_batch(batch) and "
       "equal the update written out on the normalized batch")
def td3_update_normalizes_the_batch():
    agent, batch = agent_and_batch(normalize_obs=True, **TD3_SETTINGS)
    reference, _ = agent_and_batch(normalize_obs=True, **TD3_SETTINGS)
    for observations in (batch.obs * 3.0 + 1.0, batch.next_obs * 3.0 + 1.0):  # statistics far from (0, 1)
        for obs in observations:
            agent.observe(obs)
            reference.observe(obs)
    for step in range(1, 5):
        agent.update(batch)
        written_out_update(reference, reference.normalize_batch(batch), step)
    for name in NETWORKS:
        close(f"{name} after 4 updates", getattr(agent, name).flat_params, getattr(reference, name).flat_params)


def refused(update, error_name: str) -> str:
    """'' when update() raised an error of the class named error_name (or a subclass), else what it did."""
    try:
        update()
    except Exception as error:
        names = [cls.__name__ for cls in type(error).__mro__]
        return "" if error_name in names else f"{type(error).__name__}: {error}"
    return "no error"


@check("td3_policy_delay", "refuses, before any weight moves: in evaluation mode with a RuntimeError, and on a batch "
       "whose critic loss is not finite with a NumericalError")
def td3_update_refusals():
    agent, batch = agent_and_batch(**TD3_SETTINGS)
    before = {name: np.array(getattr(agent, name).flat_params) for name in NETWORKS}
    agent.eval()
    in_eval = refused(lambda: agent.update(batch), "RuntimeError")
    agent.train()
    reward = np.array(batch.reward)
    reward[3] = np.nan
    on_nan = refused(lambda: agent.update(batch._replace(reward=reward)), "NumericalError")
    moved = [name for name in NETWORKS if not np.array_equal(getattr(agent, name).flat_params, before[name])]
    if in_eval or on_nan or moved:
        raise Mismatch("a RuntimeError in evaluation mode, a NumericalError on a NaN reward, no network moved",
                       f"{in_eval or 'a RuntimeError'} in evaluation mode, {on_nan or 'a NumericalError'} on a NaN "
                       f"reward, {', '.join(moved) or 'no network'} moved")
