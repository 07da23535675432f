"""The grader's checks, in process and fast: tolerances that follow the dtype of the answer and messages that never
show two equal numbers; the gradient tolerance held by a negative control; and each check added for issue 24 red on
the mistake it exists for (planted by monkeypatching the engine, as the grader plants a student's function) while
the engine's own code passes it. tests/test_solutions.py grades the same mistakes end to end through `tinyddpg grade`.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinyddpg.agent
from tinyddpg.agent import DDPG
from tinyddpg.buffer import ReplayBuffer
from tinyddpg.coursework import checks, training
from tinyddpg.coursework.checks import Mismatch, checks_for, close
from tinyddpg.networks import Critic
from tinyddpg.nn import Dense


def run(check) -> str:
    """'' when the check passes, else its message."""
    try:
        check()
    except Mismatch as mismatch:
        return str(mismatch)
    return ""


# --- tolerances and messages ------------------------------------------------------------------------------------
def test_a_float32_answer_right_to_float32_passes_a_float64_check():
    expected = np.random.default_rng(0).normal(size=(12, 3)) * 5.0
    close("y", expected.astype(np.float32), expected)


def test_a_float64_answer_is_held_to_float64_precision():
    expected = np.random.default_rng(0).normal(size=12)
    off = expected.copy()
    off[4] += 1e-6 * np.max(np.abs(expected))  # right to float32, wrong for float64
    with pytest.raises(Mismatch, match=r"^expected y\[4\] = "):
        close("y", off, expected)
    close("y", off.astype(np.float32), expected)  # the same numbers as a float32 answer pass


def test_a_failure_message_shows_the_digits_that_differ_and_the_difference():
    expected = np.array([0.5, -0.232127456])
    with pytest.raises(Mismatch) as raised:
        close("y", expected + np.array([0.0, 3e-7]), expected)  # equal to 6 digits, off by 6 times the allowed 5e-8
    message = str(raised.value)
    shown_expected, shown_got = message.split("expected y[1] = ")[1].split("; got ")[0], message.split("; got ")[1].split()[0]
    assert (shown_expected, shown_got) == ("-0.2321275", "-0.2321272"), message
    assert "the largest difference, 3e-07;" in message and "allowed for float64" in message, message


def test_a_nan_answer_fails_and_says_nan():
    with pytest.raises(Mismatch, match=r"got nan"):
        close("y", [1.0, np.nan], [1.0, 2.0])


def test_a_td_target_with_a_float32_gamma_passes_its_part(monkeypatch):
    original = DDPG.td_target

    def float32_gamma(self, batch):
        gamma = np.float32(self.config.gamma)
        next_q = self.target_q(batch.next_obs, self.target_action(batch.next_obs))
        return batch.reward + gamma * (1.0 - batch.terminated) * next_q

    monkeypatch.setattr(DDPG, "td_target", float32_gamma)
    assert [run(check) for check in checks_for("td_target", False)] == ["", "", "", ""]
    monkeypatch.setattr(DDPG, "td_target", lambda self, batch: original(self, batch).astype(np.float32))
    assert [run(check) for check in checks_for("td_target", False)] == ["", "", "", ""]


# --- the gradient tolerance: a negative control ---------------------------------------------------------------
@pytest.mark.parametrize("error", [1e-2, 1e-4], ids=["dW off by 1%", "dW off by 1e-4 of itself"])
def test_a_small_real_gradient_error_fails_the_gradient_check(error, monkeypatch):
    def backward(self, dout, need_input_grad=True, need_param_grads=True):
        if need_param_grads:
            self.dW += (1.0 + error) * (self.x.T @ dout)
            self.db += dout.sum(axis=0)
        return dout @ self.W.T

    assert run(checks.dense_gradients) == ""
    monkeypatch.setattr(Dense, "backward", backward)
    assert "relative error <= 1e-06" in run(checks.dense_gradients)


# --- the new checks, each red on its mistake --------------------------------------------------------------------
def test_a_dense_dw_overwritten_fails_the_accumulation_check_only(monkeypatch):
    def overwrites(self, dout, need_input_grad=True, need_param_grads=True):
        if need_param_grads:
            self.dW[...] = self.x.T @ dout
            self.db[...] = dout.sum(axis=0)
        return dout @ self.W.T

    monkeypatch.setattr(Dense, "backward", overwrites)
    failing = [check.__name__ for check in checks_for("dense_backward", False) if run(check)]
    assert failing == ["dense_gradients_accumulate"]


def test_critic_gradients_zeroed_by_rebinding_flat_grads_fail_the_zeroing_check(monkeypatch):
    def rebinds(self, batch, y):
        q = self.critic.forward(batch.obs, batch.action)
        loss, dq = tinyddpg.agent.mse(q, y)
        self.critic.flat_grads = np.zeros_like(self.critic.flat_grads)  # the layers keep the old array
        self.critic.backward(dq)
        return loss, q

    monkeypatch.setattr(DDPG, "compute_critic_gradients", rebinds)
    assert "the layers' gradients after a second call" in run(checks.critic_gradients_fresh)


def test_critic_gradients_that_ignore_the_second_critic_fail_only_a_td3_assignment(monkeypatch):
    def first_critic_only(self, batch, y):
        q = self.critic.forward(batch.obs, batch.action)
        loss, dq = tinyddpg.agent.mse(q, y)
        self.critic.zero_grad()
        self.critic.backward(dq)
        return loss, q

    monkeypatch.setattr(DDPG, "compute_critic_gradients", first_critic_only)
    assert not [check for check in checks_for("critic_gradients", td3=False) if run(check)]
    failing = [check.__name__ for check in checks_for("critic_gradients", td3=True) if run(check)]
    assert failing == ["twin_critic_gradients", "twin_critic_loss_value"]


def student_update(normalizes=True, refuses_eval=True, refuses_nan=True, counts="agent"):
    """DDPG.update as a student writes it, each duty of its docstring switchable off."""
    def update(self, batch):
        if refuses_eval and not self.training:
            raise RuntimeError("evaluation mode")
        batch = self.normalize_batch(batch) if normalizes else batch
        loss, q = self.compute_critic_gradients(batch, self.td_target(batch))
        if refuses_nan and not np.isfinite(float(loss)):
            raise tinyddpg.agent.NumericalError("the critic loss is not finite")
        self.critic_optimizer.step()
        self.critic_updates += 1
        count = self.critic_updates if counts == "agent" else self.critic_optimizer.t
        stats = {"critic_loss": float(loss), "mean_q": float(np.mean(q))}
        if count % self.config.policy_delay == 0:
            stats["actor_loss"] = float(self.compute_actor_gradients(batch))
            self.actor_optimizer.step()
            for target, online in zip([self.actor_target, *self.critic_targets], [self.actor, *self.critics]):
                tinyddpg.agent.soft_update(target, online, self.config.rho)
        return stats
    return update


DUTIES = {"normalize_batch skipped": (dict(normalizes=False), "td3_update_normalizes_the_batch", "after 4 updates"),
          "no refusal in evaluation mode": (dict(refuses_eval=False), "td3_update_refusals", "no error in evaluation mode"),
          "no refusal of a NaN loss": (dict(refuses_nan=False), "td3_update_refusals", "no error on a NaN reward"),
          "delay counted by the critic optimizer": (dict(counts="adam"), "td3_delay_counted_by_the_agent",
                                                    "critic_updates = 2, the actor unchanged")}


def test_a_student_update_doing_every_duty_passes_every_check(monkeypatch):
    monkeypatch.setattr(DDPG, "update", student_update())
    assert [run(check) for check in checks_for("td3_policy_delay", True)] == [""] * 5


@pytest.mark.parametrize("duty", DUTIES)
def test_an_update_missing_one_duty_fails_the_check_of_that_duty_only(duty, monkeypatch):
    switches, failing, says = DUTIES[duty]
    monkeypatch.setattr(DDPG, "update", student_update(**switches))
    messages = {check.__name__: run(check) for check in checks_for("td3_policy_delay", True)}
    assert [name for name, message in messages.items() if message] == [failing], messages
    assert says in messages[failing], messages[failing]


def test_an_mse_shape_check_written_as_assert_passes_and_none_fails(monkeypatch):
    def with_assert(prediction, target):
        assert prediction.shape == target.shape, "shapes differ"
        return np.mean((prediction - target) ** 2), 2.0 * (prediction - target) / prediction.size

    monkeypatch.setattr(checks.losses, "mse", with_assert)
    assert [run(check) for check in checks_for("mse", False)] == ["", "", ""]
    monkeypatch.setattr(checks.losses, "mse", lambda p, t: (np.mean((p - t) ** 2), 2.0 * (p - t) / p.size))
    assert "no error" in run(checks.mse_refuses_broadcasting)


def test_a_buffer_drawing_from_another_seeded_generator_fails_the_generator_check(monkeypatch):
    original = ReplayBuffer.sample

    def own_generator(self, batch_size):
        rng, self.rng = self.rng, np.random.default_rng(0)
        try:
            return original(self, batch_size)
        finally:
            self.rng = rng

    monkeypatch.setattr(ReplayBuffer, "sample", own_generator)
    assert "self.rng unchanged" in run(checks.replay_reproducible)


def test_a_failed_training_run_names_the_parts_whose_checks_fail(monkeypatch):
    monkeypatch.setattr(training, "final_evaluation", lambda env_id, settings, td3: -0.3)
    with pytest.raises(Mismatch, match=r"every part passes its own checks"):
        training.training_check("training_bandit", td3=False)
    original = Critic.action_gradient
    monkeypatch.setattr(Critic, "action_gradient", lambda self, dq: -original(self, dq))  # dQ/da's sign flipped
    with pytest.raises(Mismatch, match=r"got -0\.3; look first at action_gradient, actor_gradient: with all of your "):
        training.training_check("training_bandit", td3=False)
