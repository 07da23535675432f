"""The bug zoo: classic bugs of backprop and DDPG, and bugs where two parts meet, each planted in process
(monkeypatch; no file is edited), each with the test that must catch it. Every bug here must turn its test red;
docs/bug_zoo.md shows the table and its lessons: a gradient check proves the backward agrees with the forward,
never that the forward is the right algorithm; and parts proven one by one can still disagree where they meet.

Each plant wraps the real code where it can (so it keeps working as the engine changes) and re-implements a
few lines only where the bug sits inside them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import test_agent
import test_agent_gradcheck
import test_buffer
import test_essentials
import test_nn
import test_optim
import test_sb3_parity
import test_seams
import test_train
import torch

import tinyddpg.agent
import tinyddpg.run.train
import tinyddpg.run.value_estimate
from tinyddpg.agent import DDPG
from tinyddpg.backend import get_backend, make_rng
from tinyddpg.buffer import Batch, ReplayBuffer
from tinyddpg.ddpg_gradcheck import action_gradient_report, agent_reports, critic_loss_report
from tinyddpg.gradcheck import standard_reports
from tinyddpg.networks import Actor, Critic, ScaleShift
from tinyddpg.nn import Dense, ReLU, Tanh
from tinyddpg.optim import Adam
from tinyddpg.run.train import Run

GRADIENT_CHECK, REFERENCE, DIRECT, LEARNING, SEAM = ("gradient check", "independent reference", "direct semantic test",
                                                     "learning test", "seam test")
GRADIENT_TOLERANCE = 1e-6  # as `tinyddpg gradcheck` and the gradient tests use
DOCS = Path(__file__).resolve().parent.parent / "docs" / "bug_zoo.md"


@dataclass(frozen=True)
class Bug:
    name: str  # what a student wrote
    kind: str  # which kind of check catches it
    test: Callable  # the test that catches it
    plant: Callable[[pytest.MonkeyPatch], None]
    run: Callable[[Callable, Path], None]  # runs `test` with its arguments (tmp_path where it needs one)

    @property
    def test_name(self) -> str:
        return f"{self.test.__module__}.py::{self.test.__name__}"


def plain(test, tmp_path):
    test()


def with_tmp_path(test, tmp_path):
    test(tmp_path)


def float64_numpy():
    return get_backend("numpy", dtype="float64")


def float32_numpy():
    return get_backend("numpy")


# --- the plants -------------------------------------------------------------------------------------------------
def wrap(monkeypatch, owner, name, make_buggy):
    """Replace owner.name by make_buggy(original)."""
    monkeypatch.setattr(owner, name, make_buggy(getattr(owner, name)))


def tanh_derivative_without_square(monkeypatch):
    monkeypatch.setattr(Tanh, "backward", lambda self, dout, need_input_grad=True, need_param_grads=True:
                        dout * (1.0 - self.y))


def relu_backward_without_mask(monkeypatch):
    monkeypatch.setattr(ReLU, "backward", lambda self, dout, need_input_grad=True, need_param_grads=True: dout)


def dense_dw_transposed(monkeypatch):
    def make(original):
        def backward(self, dout, need_input_grad=True, need_param_grads=True):
            dx = original(self, dout, need_input_grad, need_param_grads)
            if self.dW.shape[0] == self.dW.shape[1]:  # dout^T @ x: only a square layer accepts it silently
                self.dW[...] = self.dW.T.copy()
            return dx
        return backward
    wrap(monkeypatch, Dense, "backward", make)


def dense_db_averaged_over_the_batch(monkeypatch):
    def make(original):
        def backward(self, dout, need_input_grad=True, need_param_grads=True):
            before = self.db.copy()
            dx = original(self, dout, need_input_grad, need_param_grads)
            self.db[...] = before + (self.db - before) / dout.shape[0]  # mean instead of sum
            return dx
        return backward
    wrap(monkeypatch, Dense, "backward", make)


def critic_gradient_divided_by_the_batch_twice(monkeypatch):
    def make(original):
        def mse(prediction, target):
            loss, gradient = original(prediction, target)
            return loss, gradient / prediction.shape[0]
        return mse
    wrap(monkeypatch, tinyddpg.agent, "mse", make)


def action_gradient_slice_off_by_one(monkeypatch):
    def action_gradient(self, dq):
        dx = self.backward(dq, need_input_grad=True, need_param_grads=False)
        return dx[:, self.obs_dim - 1:-1]
    monkeypatch.setattr(Critic, "action_gradient", action_gradient)


def actor_without_tanh(monkeypatch):
    def make(original):
        def __init__(self, *args, **kwargs):
            original(self, *args, **kwargs)
            self.layers = [layer for layer in self.layers if not isinstance(layer, Tanh)]
        return __init__
    wrap(monkeypatch, Actor, "__init__", make)


def action_scale_high_minus_low(monkeypatch):
    def make(original):
        def __init__(self, low, high, backend):
            original(self, low, high, backend)
            self.scale = self.scale * 2.0  # high - low instead of (high - low) / 2
        return __init__
    wrap(monkeypatch, ScaleShift, "__init__", make)


def terminal_mask_ignored(monkeypatch):
    wrap(monkeypatch, DDPG, "td_target", lambda original: lambda self, batch:
         original(self, batch._replace(terminated=batch.terminated * 0.0)))


def with_attributes(method, replacements):
    """method, run with some of self's attributes replaced (replacements(self) -> {name: value}), then restored."""
    def run(self, *args, **kwargs):
        new = replacements(self)
        saved = {name: getattr(self, name) for name in new}
        for name, value in new.items():
            setattr(self, name, value)
        try:
            return method(self, *args, **kwargs)
        finally:
            for name, value in saved.items():
                setattr(self, name, value)
    return run


def online_networks_in_the_td_target(monkeypatch):
    wrap(monkeypatch, DDPG, "td_target", lambda original: with_attributes(original, lambda agent: {
        "actor_target": agent.actor, "critic_target": agent.critic}))


def target_critic_in_the_actor_loss(monkeypatch):
    wrap(monkeypatch, DDPG, "compute_actor_gradients", lambda original: with_attributes(original, lambda agent: {
        "critic": agent.critic_target}))


def actor_loss_sign_flipped(monkeypatch):
    def make(original):
        def compute_actor_gradients(self, batch):
            loss = original(self, batch)
            self.actor.flat_grads *= -1.0  # L_mu = +mean Q, with its own gradient: descends Q instead of ascending
            return -loss
        return compute_actor_gradients
    wrap(monkeypatch, DDPG, "compute_actor_gradients", make)


def discount_missing(monkeypatch):
    wrap(monkeypatch, DDPG, "td_target", lambda original: with_attributes(original, lambda agent: {
        "config": dataclasses.replace(agent.config, gamma=1.0)}))  # y = r + (1 - d) Q'(s', mu'(s'))


def next_obs_left_unnormalized(monkeypatch):
    wrap(monkeypatch, DDPG, "normalize_batch", lambda original: lambda self, batch:
         original(self, batch)._replace(next_obs=batch.next_obs))


def act_skips_normalization(monkeypatch):
    wrap(monkeypatch, DDPG, "act", lambda original: with_attributes(original, lambda agent: {"normalizer": None}))


def noise_left_on_in_evaluation(monkeypatch):
    wrap(monkeypatch, DDPG, "act", lambda original: with_attributes(original, lambda agent: {"training": True}))


def next_obs_slice_shifted_by_one(monkeypatch):
    def sample(self, batch_size):
        indices = self.backend.indices_to_device(self.rng.integers(0, self.size, size=batch_size))
        rows = self.backend.xp.take(self.rows, indices, axis=0)
        o, a = self.obs_dim, self.action_dim
        return Batch(rows[:, :o], rows[:, o:o + a], rows[:, o + a], rows[:, o + a + 2:2 * o + a + 2], rows[:, -1])
    monkeypatch.setattr(ReplayBuffer, "sample", sample)


def previous_reward_stored(monkeypatch):
    def make(original):
        def add(self, obs, action, reward, next_obs, terminated):
            previous = getattr(self, "previous_reward", 0.0)  # the loop stores r_(t-1) with (s_t, a_t)
            self.previous_reward = reward
            original(self, obs, action, previous, next_obs, terminated)
        return add
    wrap(monkeypatch, ReplayBuffer, "add", make)


class TruncationAsTermination(gym.Wrapper):
    """What the trainer sees when it stores `terminated or truncated`: a time limit as a terminal state."""

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated or truncated, truncated, info


def time_limit_stored_as_terminal(monkeypatch):
    wrap(monkeypatch, tinyddpg.run.train, "make_env", lambda original: lambda env_id:
         TruncationAsTermination(original(env_id)))


def adam_without_bias_correction(monkeypatch):
    def make(original):
        def step(self):
            t, self.t = self.t, 10**9  # beta^t = 0: both corrections become 1
            original(self)
            self.t = t + 1
        return step
    wrap(monkeypatch, Adam, "step", make)


def adam_counter_advanced_twice(monkeypatch):
    def make(original):
        def step(self):
            original(self)
            self.t += 1
        return step
    wrap(monkeypatch, Adam, "step", make)


def polyak_direction_reversed(monkeypatch):
    wrap(monkeypatch, tinyddpg.agent, "soft_update", lambda original: lambda target, online, rho:
         original(online, target, rho))  # the online network is dragged toward the target


def targets_not_copied_at_the_start(monkeypatch):
    def make(original):
        def __init__(self, *args, **kwargs):
            original(self, *args, **kwargs)
            rng = make_rng(123)  # a second random initialisation instead of a copy
            for target in (self.actor_target, self.critic_target):
                target.flat_params[...] = self.backend.to_device(rng.uniform(-0.1, 0.1, size=target.flat_params.shape))
        return __init__
    wrap(monkeypatch, DDPG, "__init__", make)


# where two parts meet: each one line in the real code, each passed every test before tests/test_seams.py
def twin_target_critic_left_out_of_the_checkpoint(monkeypatch):
    wrap(monkeypatch, DDPG, "_parts", lambda original: lambda self: {
        part: obj for part, obj in original(self).items() if part != "critic2_target"})


def buffer_samples_never_filled_slots(monkeypatch):
    wrap(monkeypatch, ReplayBuffer, "sample", lambda original: with_attributes(original, lambda buffer: {
        "size": buffer.capacity}))  # integers(0, capacity) instead of integers(0, size)


def exploration_noise_not_scaled_by_the_half_range(monkeypatch):
    wrap(monkeypatch, DDPG, "act", lambda original: with_attributes(original, lambda agent: {
        "action_scale": np.ones_like(agent.action_scale)}))


def warm_up_actions_drawn_in_minus_one_to_one(monkeypatch):
    wrap(monkeypatch, Run, "choose_action", lambda original: with_attributes(original, lambda run: {
        "spec": dataclasses.replace(run.spec, low=-np.ones_like(run.spec.low), high=np.ones_like(run.spec.high))}))


def evaluation_steps_the_training_environment(monkeypatch):
    wrap(monkeypatch, Run, "evaluate", lambda original: with_attributes(original, lambda run: {"eval_env": run.env}))


def value_estimate_skips_normalization(monkeypatch):
    wrap(monkeypatch, tinyddpg.run.value_estimate, "critic_estimates", lambda original: with_attributes(
        original, lambda agent: {"normalizer": None}))


# --- how each catching test is called ---------------------------------------------------------------------------
def single_layer_check(layer, away_from_zero):
    return lambda test, tmp_path: test(float64_numpy(), layer, away_from_zero)


def with_backend(make_backend):
    return lambda test, tmp_path: test(make_backend())


SEAM_CELL = test_seams.Cell(td3=True, normalize_obs=True, noise="ou")  # the cell where all six can show


def on_the_seam_cell(test, tmp_path):
    test(test_seams.record(SEAM_CELL, tmp_path))


BUGS = [
    Bug("Tanh backward uses 1 - tanh(x) instead of 1 - tanh(x)^2", GRADIENT_CHECK,
        test_nn.test_single_layer_gradients_match_finite_differences, tanh_derivative_without_square,
        single_layer_check(lambda backend: Tanh(backend), 0.0)),
    Bug("ReLU backward passes dout through without the x > 0 mask", GRADIENT_CHECK,
        test_nn.test_single_layer_gradients_match_finite_differences, relu_backward_without_mask,
        single_layer_check(lambda backend: ReLU(backend), 0.1)),
    Bug("Dense dW transposed (dout^T x), hidden by a square layer", GRADIENT_CHECK,
        test_nn.test_mlp_gradients_match_finite_differences, dense_dw_transposed, with_backend(float64_numpy)),
    Bug("Dense db averaged over the batch instead of summed", GRADIENT_CHECK,
        test_nn.test_mlp_gradients_match_finite_differences, dense_db_averaged_over_the_batch,
        with_backend(float64_numpy)),
    Bug("critic gradient divided by the batch size twice", GRADIENT_CHECK,
        test_agent_gradcheck.test_ddpg_gradients_match_finite_differences, critic_gradient_divided_by_the_batch_twice,
        lambda test, tmp_path: test(gradcheck_agent_and_batch(), critic_loss_report, 6)),
    Bug("dQ/da sliced one column early from dL/d[s, a]", GRADIENT_CHECK,
        test_agent_gradcheck.test_ddpg_gradients_match_finite_differences, action_gradient_slice_off_by_one,
        lambda test, tmp_path: test(gradcheck_agent_and_batch(), action_gradient_report, 1)),
    Bug("actor without its tanh", DIRECT,
        test_essentials.test_the_actor_saturates_exactly_at_the_bounds_and_centres_between_them, actor_without_tanh,
        with_backend(float32_numpy)),
    Bug("action scale high - low instead of (high - low) / 2", DIRECT,
        test_essentials.test_the_actor_saturates_exactly_at_the_bounds_and_centres_between_them,
        action_scale_high_minus_low, with_backend(float32_numpy)),
    Bug("terminal mask ignored: the TD target always bootstraps", DIRECT,
        test_essentials.test_a_terminal_transition_has_target_y_equal_to_r_exactly, terminal_mask_ignored, plain),
    Bug("online networks instead of the targets in the TD target", DIRECT,
        test_essentials.test_the_td_target_depends_only_on_the_target_networks, online_networks_in_the_td_target,
        plain),
    Bug("actor loss sign flipped: +mean Q", DIRECT, test_essentials.test_one_actor_step_raises_mean_q_of_its_batch,
        actor_loss_sign_flipped, plain),
    Bug("next_obs left unnormalized in the update (normalization on)", DIRECT,
        test_essentials.test_an_update_with_normalization_equals_one_without_on_a_batch_normalized_by_hand,
        next_obs_left_unnormalized, plain),
    Bug("act() skips observation normalization", DIRECT,
        test_essentials.test_act_is_the_actor_on_the_normalized_observation, act_skips_normalization, plain),
    Bug("next_obs column slice of the buffer shifted by one", DIRECT,
        test_buffer.test_every_column_of_a_sample_comes_back_whole, next_obs_slice_shifted_by_one,
        lambda test, tmp_path: test(float32_numpy(), 13)),
    Bug("time-limit truncation stored as a terminal state", DIRECT,
        test_train.test_time_limit_truncation_is_not_stored_as_terminal, time_limit_stored_as_terminal, with_tmp_path),
    Bug("exploration noise left on in evaluation mode", DIRECT,
        test_agent.test_eval_mode_is_deterministic_and_refuses_updates, noise_left_on_in_evaluation, plain),
    Bug("Polyak direction reversed: online pulled toward the target", DIRECT,
        test_agent.test_polyak_moves_targets_by_one_minus_rho, polyak_direction_reversed, plain),
    Bug("target networks start from their own random weights, not copies", DIRECT,
        test_agent.test_targets_start_as_exact_copies, targets_not_copied_at_the_start, plain),
    Bug("Adam's step counter advanced twice per update", DIRECT,
        test_agent.test_adam_step_counter_advances_once_per_update, adam_counter_advanced_twice, plain),
    Bug("Adam without bias correction", REFERENCE, test_optim.test_adam_equals_torch_adam_in_float64,
        adam_without_bias_correction, plain),
    Bug("discount gamma missing from the TD target", REFERENCE,
        test_sb3_parity.test_updates_equal_stable_baselines3_ddpg_on_all_four_networks_and_both_losses,
        discount_missing, plain),
    Bug("target critic instead of the critic in the actor loss", REFERENCE,
        test_agent.test_several_updates_equal_a_textbook_pytorch_ddpg, target_critic_in_the_actor_loss,
        lambda test, tmp_path: test("float64", torch.float64)),
    Bug("the trainer stores the previous step's reward (off by one in the loop)", LEARNING,
        test_essentials.test_a_contextual_bandit_is_learned_in_seconds, previous_reward_stored, with_tmp_path),
    Bug("the TD3 checkpoint leaves out the second target critic", SEAM,
        test_seams.test_the_checkpoint_holds_every_array_the_run_owns, twin_target_critic_left_out_of_the_checkpoint,
        on_the_seam_cell),
    Bug("the buffer samples never-filled slots (integers(0, capacity))", SEAM,
        test_seams.test_every_batch_the_agent_learns_from_holds_only_stored_transitions,
        buffer_samples_never_filled_slots, on_the_seam_cell),
    Bug("exploration noise not scaled by the half-range in act()", SEAM,
        test_seams.test_exploration_noise_has_std_noise_scale_half_ranges_per_dimension,
        exploration_noise_not_scaled_by_the_half_range, on_the_seam_cell),
    Bug("random warm-up actions drawn in [-1, 1] instead of [low, high]", SEAM,
        test_seams.test_warm_up_actions_cover_low_to_high_in_every_dimension_and_draw_no_noise,
        warm_up_actions_drawn_in_minus_one_to_one, on_the_seam_cell),
    Bug("evaluation steps the training environment", SEAM,
        test_seams.test_evaluation_never_touches_the_training_env_or_the_training_random_state,
        evaluation_steps_the_training_environment, on_the_seam_cell),
    Bug("the value estimate skips observation normalization", SEAM,
        test_seams.test_the_value_estimate_equals_a_hand_computation, value_estimate_skips_normalization,
        on_the_seam_cell),
]


def gradcheck_agent_and_batch():
    backend = float64_numpy()
    return (test_agent_gradcheck.small_agent(backend, final_init_bound=test_agent_gradcheck.CHECK_FINAL_INIT_BOUND),
            test_agent_gradcheck.to_device_batch(backend, test_agent_gradcheck.host_batch()))


@pytest.mark.parametrize("bug", BUGS, ids=[bug.name for bug in BUGS])
def test_every_planted_bug_turns_its_test_red(bug, monkeypatch, tmp_path):
    with monkeypatch.context() as planted:
        bug.plant(planted)
        with pytest.raises(AssertionError):
            bug.run(bug.test, tmp_path)


NOT_FOR_THE_GRADIENT_CHECK = [bug for bug in BUGS if bug.kind != GRADIENT_CHECK]


@pytest.mark.parametrize("bug", NOT_FOR_THE_GRADIENT_CHECK, ids=[bug.name for bug in NOT_FOR_THE_GRADIENT_CHECK])
def test_the_gradient_check_passes_on_every_other_bug(bug, monkeypatch):
    """The lesson of the table, checked: these bugs change what is computed, and the backward still agrees with
    that forward, so every layer and DDPG gradient report passes with the bug in place."""
    with monkeypatch.context() as planted:
        bug.plant(planted)
        reports = standard_reports() + agent_reports(hidden=(8, 8), batch_size=8)
    assert all(report.passed(GRADIENT_TOLERANCE) for report in reports), [str(r) for r in reports]


def markdown_table() -> str:
    rows = [f"| {i} | {bug.name} | `{bug.test_name}` | {bug.kind} |" for i, bug in enumerate(BUGS, 1)]
    return "\n".join(["| # | planted bug | the test that catches it | kind of check |", "|---|---|---|---|", *rows])


def test_the_docs_table_is_the_zoo():
    assert len(BUGS) >= 15 and {bug.kind for bug in BUGS} == {GRADIENT_CHECK, REFERENCE, DIRECT, LEARNING, SEAM}
    assert markdown_table() in DOCS.read_text(), f"docs/bug_zoo.md must hold this table:\n{markdown_table()}"


if __name__ == "__main__":
    print(markdown_table())
