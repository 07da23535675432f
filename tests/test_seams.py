"""Tests at the seams: the real trainer (`Run`) on DriftEnv (tests/toy_envs.py), whose action bounds [-2, 1] x
[0.5, 4.5] are asymmetric, not +-1 and different per dimension, and whose 7-step episodes (some end earlier, by
termination) do not line up with the evaluations every 20 steps, over the matrix {DDPG, TD3} x {raw, normalized
observations} x {Gaussian, OU noise}.

Each cell trains once per module (`record`): the whole run, watched where its parts meet (every call of both
environments, every noise draw, every batch the agent learns from); and, when a test first asks, the same run in
two halves with a resume and the same run without evaluations. The tests check invariants on what it stored (the
buffer), logged (progress.csv), saved (checkpoint.npz) and did. References come from the config, the
environment's own dynamics and the docs, never from the part under test.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from helpers import without_wall_clock
from toy_envs import SEAM_ENV, SEAM_EPISODE_STEPS, SEAM_FALL_AT, SEAM_HIGH, SEAM_LOW, drift, drift_reward, register_toy_envs

from tinyddpg.errors import NumericalError
from tinyddpg.nn import Sequential
from tinyddpg.noise import OrnsteinUhlenbeckNoise
from tinyddpg.normalizer import ObservationNormalizer
from tinyddpg.optim import Adam
from tinyddpg.run.checkpoint import CHECKPOINT_FILE, load_checkpoint
from tinyddpg.run.config import preset, with_overrides
from tinyddpg.run.envs import EVAL_STREAM, TRAIN_STREAM, episode_seed
from tinyddpg.run.runlog import LOG_FILE, read_log
from tinyddpg.run.train import Run

register_toy_envs()

SEED, STEPS, RANDOM_STEPS, UPDATE_AFTER, EVAL_EVERY, EVAL_EPISODES = 3, 240, 60, 30, 20, 2
NOISE_SCALE, OU_THETA, OU_DT = 0.3, 0.5, 1.0  # OU with dt = 1: each step's innovation has std sigma, like Gaussian
GAMMA = 0.3  # horizon 4 steps: a 7-step episode cut by the time limit gives its first 4 states to the value columns
NORMALIZER_EPS, NORMALIZER_CLIP = 1e-8, 10.0  # tinyddpg/normalizer.py's documented defaults
OBS_DIM, ACTION_DIM = 3, 2
HALF_RANGE = (SEAM_HIGH - SEAM_LOW) / 2


@dataclass(frozen=True)
class Cell:
    td3: bool
    normalize_obs: bool
    noise: str

    @property
    def id(self) -> str:
        return "-".join(["TD3" if self.td3 else "DDPG", "normalized" if self.normalize_obs else "raw obs",
                         "OU" if self.noise == "ou" else "Gaussian"])


CELLS = [Cell(td3, normalize_obs, noise) for td3 in (False, True) for normalize_obs in (False, True)
         for noise in ("gaussian", "ou")]


def cell_config(cell: Cell, **overrides):
    """Tiny networks, a few hundred steps; updates start inside the warm-up, checkpoints come every 50 steps."""
    return with_overrides(preset("pendulum"), {
        "env_id": SEAM_ENV, "steps": STEPS, "seed": SEED, "dtype": "float64", "hidden": (8, 8), "batch_size": 16,
        "buffer_size": 1_000, "random_steps": RANDOM_STEPS, "update_after": UPDATE_AFTER, "eval_every": EVAL_EVERY,
        "eval_episodes": EVAL_EPISODES, "checkpoint_every": 50, "gamma": GAMMA, "td3": cell.td3,
        "normalize_obs": cell.normalize_obs, "noise": cell.noise, "noise_scale": NOISE_SCALE, "ou_theta": OU_THETA,
        "ou_dt": OU_DT, "actor_lr": 1e-4, **overrides})


# --- watching a run where its parts meet -----------------------------------------------------------------------
@dataclass
class EnvStep:
    obs: np.ndarray  # the state the step started from
    action: np.ndarray  # what the environment received
    noise_free: np.ndarray | None = None  # mu(s) by hand at that moment (training environment only)
    draws: list = field(default_factory=list)  # [(noise state before, sample)] drawn since the previous step


class EnvCalls(gym.Wrapper):
    """Records every reset (seed, first observation) and every step of the environment it wraps; `on_step(step)`
    adds to the record what only the test's caller knows at that moment."""

    def __init__(self, env, on_step=None):
        super().__init__(env)
        self.resets, self.steps, self.on_step, self.obs = [], [], on_step, None

    def reset(self, *, seed=None, options=None):
        self.obs, info = self.env.reset(seed=seed, options=options)
        self.resets.append((seed, self.obs.copy()))
        return self.obs, info

    def step(self, action):
        step = EnvStep(self.obs.copy(), np.array(action, dtype=np.float64))
        if self.on_step is not None:
            self.on_step(step)
        self.steps.append(step)
        result = self.env.step(action)
        self.obs = result[0]
        return result


def noise_free_action(agent, obs) -> np.ndarray:
    """mu(s) computed by hand: the documented normalization (with the normalizer's current statistics), then the
    actor."""
    x = np.asarray(obs, dtype=np.float64)
    if agent.normalizer is not None:
        stats = agent.normalizer
        x = np.clip((x - stats.mean) / np.sqrt(stats.var + NORMALIZER_EPS), -NORMALIZER_CLIP, NORMALIZER_CLIP)
    return agent.backend.to_host(agent.actor.forward(agent.backend.to_device(x[None, :])))[0]


def watch(run: Run):
    """Wrap the run's environments, its noise and its updates to record what crosses each seam; returns
    (training env calls, evaluation env calls, batches as (filled slots at that moment, host rows))."""
    agent, draws, batches = run.agent, [], []

    def on_training_step(step):
        step.noise_free, step.draws = noise_free_action(agent, step.obs), list(draws)
        draws.clear()

    sample = agent.noise.sample

    def recorded_sample():
        before = agent.noise.x.copy() if hasattr(agent.noise, "x") else None
        drawn = sample()
        draws.append((before, np.array(drawn)))
        return drawn

    update = agent.update

    def recorded_update(batch):
        rows = np.column_stack([agent.backend.to_host(column).reshape(len(column), -1) for column in batch])
        batches.append((len(run.buffer), rows))
        return update(batch)

    agent.noise.sample, agent.update = recorded_sample, recorded_update
    run.env, run.eval_env = EnvCalls(run.env, on_training_step), EnvCalls(run.eval_env)
    return run.env, run.eval_env, batches


@dataclass
class Recorded:
    """One cell's whole run, watched; the same run in two halves and the same run without evaluations are trained
    when first asked for (a planted bug in the zoo needs only what its test reads)."""

    cell: Cell
    folder: Path
    run: Run  # the whole run, after training
    train_env: EnvCalls
    eval_env: EnvCalls
    batches: list

    @property
    def rows(self) -> np.ndarray:
        return self.run.agent.backend.to_host(self.run.buffer.rows[:len(self.run.buffer)])

    @cached_property
    def log(self) -> list[dict[str, str]]:
        return read_log(self.folder / "whole" / LOG_FILE)

    @cached_property
    def checkpoint(self) -> tuple[dict[str, np.ndarray], dict]:
        return load_checkpoint(self.folder / "whole" / CHECKPOINT_FILE)

    @cached_property
    def resumed(self) -> Run:
        """The same run in two halves: the first stops at the episode end nearest the middle (a checkpoint at an
        episode end resumes exactly), the second resumes it to the end."""
        episode_ends = [int(row["step"]) for row in self.log if row["episode_return"]]
        halfway = min(episode_ends, key=lambda step: abs(step - STEPS // 2))
        trained(cell_config(self.cell, steps=halfway), self.folder / "halves")
        return trained(cell_config(self.cell), self.folder / "halves", resume=True)

    @cached_property
    def without_evaluation(self) -> Run:
        return trained(cell_config(self.cell, eval_every=STEPS + 1), self.folder / "no evaluation")


def trained(config, folder: Path, resume: bool = False) -> Run:
    run = Run(config, folder)
    run.train(resume=resume, show_progress=False)
    return run


def record(cell: Cell, folder: Path) -> Recorded:
    """Train one cell of the matrix, watched."""
    run = Run(cell_config(cell), folder / "whole")
    calls = watch(run)
    run.train(show_progress=False)
    return Recorded(cell, folder, run, *calls)


@pytest.fixture(scope="module", params=CELLS, ids=[cell.id for cell in CELLS])
def recorded(request, tmp_path_factory) -> Recorded:
    return record(request.param, tmp_path_factory.mktemp("seams"))


def split(rows: np.ndarray):
    """The buffer's columns: obs, action, reward, next_obs, terminated."""
    edges = np.cumsum([OBS_DIM, ACTION_DIM, 1, OBS_DIM])
    obs, action, reward, next_obs, terminated = np.split(rows, edges, axis=1)
    return obs, action, reward[:, 0], next_obs, terminated[:, 0]


# --- what the run stored --------------------------------------------------------------------------------------
def test_every_stored_transition_continues_the_previous_one_or_starts_a_fresh_episode(recorded):
    obs, action, reward, next_obs, terminated = split(recorded.rows)
    assert len(obs) == STEPS
    # each transition is one DriftEnv step from its own state with its own action
    np.testing.assert_array_equal(next_obs[:, 0], obs[:, 0] + 1)
    np.testing.assert_array_equal(next_obs[:, 1:], drift(obs[:, 1:], action))
    np.testing.assert_array_equal(reward, drift_reward(next_obs[:, 1:]))
    np.testing.assert_array_equal(terminated, next_obs[:, 1] > SEAM_FALL_AT)  # a time limit is never stored
    # s' of one is s of the next, unless the episode ended: then the next starts at its own reset
    ended = (terminated == 1.0) | (next_obs[:, 0] == SEAM_EPISODE_STEPS)
    starts = [first_obs for _, first_obs in recorded.train_env.resets]
    np.testing.assert_array_equal(obs[0], starts[0])
    for i in range(1, STEPS):
        np.testing.assert_array_equal(obs[i], starts[int(ended[:i].sum())] if ended[i - 1] else next_obs[i - 1])
    assert len(starts) == ended[:-1].sum() + 1  # one reset per episode, no other
    assert terminated.any() and (ended & (terminated == 0.0)).any()  # both ways to end an episode happened


def test_warm_up_actions_cover_low_to_high_in_every_dimension_and_draw_no_noise(recorded):
    warm_up = split(recorded.rows)[1][:RANDOM_STEPS]
    assert (warm_up >= SEAM_LOW).all() and (warm_up <= SEAM_HIGH).all()
    span = SEAM_HIGH - SEAM_LOW
    assert (warm_up.min(axis=0) < SEAM_LOW + 0.15 * span).all() and (warm_up.max(axis=0) > SEAM_HIGH - 0.15 * span).all()
    np.testing.assert_array_equal(warm_up, [step.action for step in recorded.train_env.steps[:RANDOM_STEPS]])
    assert not any(step.draws for step in recorded.train_env.steps[:RANDOM_STEPS])


def test_exploration_noise_has_std_noise_scale_half_ranges_per_dimension(recorded):
    """After the warm-up each step draws one noise sample eps and acts clip(mu(s) + (high - low) / 2 * eps), so the
    noise in the actions has std noise_scale * (high - low) / 2 per dimension (for OU: its innovation per step,
    with dt = 1). OU noise restarts at 0 with every episode and carries over from step to step within one."""
    acting = recorded.train_env.steps[RANDOM_STEPS:]
    assert [len(step.draws) for step in acting] == [1] * len(acting)
    actions, noise_free = np.array([s.action for s in acting]), np.array([s.noise_free for s in acting])
    drawn, before = [s.draws[0][1] for s in acting], [s.draws[0][0] for s in acting]
    np.testing.assert_allclose(actions, np.clip(noise_free + HALF_RANGE * np.array(drawn), SEAM_LOW, SEAM_HIGH),
                               rtol=0, atol=1e-12)
    first_of_episode = np.array([s.obs[0] == 0 for s in acting])
    decay = 1.0 - OU_THETA * OU_DT if recorded.cell.noise == "ou" else 0.0
    if recorded.cell.noise == "ou":
        for k in range(len(acting)):  # the state it started from: 0 at an episode's start (warm-up draws none)
            expected = drawn[k - 1] if k > 0 and not first_of_episode[k] else np.zeros(ACTION_DIM)
            np.testing.assert_array_equal(before[k], expected)
    noise = actions - noise_free
    previous = np.vstack([np.zeros(ACTION_DIM), noise[:-1]])  # the warm-up before the first step drew none
    previous[first_of_episode] = 0.0
    inside = ((actions > SEAM_LOW) & (actions < SEAM_HIGH)).all(axis=1)
    usable = inside & (first_of_episode | np.concatenate([[True], inside[:-1]]))
    measured = (noise - decay * previous)[usable].std(axis=0)
    assert usable.sum() > 150
    np.testing.assert_allclose(measured / (NOISE_SCALE * HALF_RANGE), 1.0, atol=0.25)


def test_every_batch_the_agent_learns_from_holds_only_stored_transitions(recorded):
    assert len(recorded.batches) == STEPS - UPDATE_AFTER + 1  # one update per step from update_after on
    stored = [tuple(row) for row in recorded.rows]
    for filled, batch in recorded.batches:
        assert {tuple(row) for row in batch} <= set(stored[:filled])


def test_episodes_start_from_their_derived_seeds_and_the_normalizer_sees_each_training_observation_once(recorded):
    """Every episode resets with the seed derived from (run seed, stream, episode index): training episodes each
    their own, every evaluation the same ones. With normalization on, the statistics are those of every
    observation the training environment gave (each episode's first and every step's next), none from evaluation."""
    seeds = [seed for seed, _ in recorded.train_env.resets]
    assert seeds == [episode_seed(SEED, TRAIN_STREAM, k) for k in range(len(seeds))]
    fresh = gym.make(SEAM_ENV)
    for seed, first_obs in recorded.train_env.resets:
        np.testing.assert_array_equal(first_obs, fresh.reset(seed=seed)[0])
    evaluations = STEPS // EVAL_EVERY
    assert [seed for seed, _ in recorded.eval_env.resets] == [
        episode_seed(SEED, EVAL_STREAM, k) for k in range(EVAL_EPISODES)] * evaluations
    normalizer = recorded.run.agent.normalizer
    assert (normalizer is not None) == recorded.cell.normalize_obs
    if normalizer is not None:
        observed = np.vstack([[first_obs for _, first_obs in recorded.train_env.resets], split(recorded.rows)[3]])
        assert normalizer.count == len(observed) == STEPS + len(seeds)
        np.testing.assert_allclose(normalizer.mean, observed.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(normalizer.var, observed.var(axis=0), rtol=1e-10)


# --- what it saved --------------------------------------------------------------------------------------------
def owned_state(run: Run) -> dict[str, np.ndarray]:
    """Every array the run and its agent own, found by walking the agent's attributes (not the checkpoint
    writer's list): each network's parameters, each Adam's moments and step count, the normalizer's statistics,
    the noise's state, the count of critic updates; and the buffer's filled rows and ring position. One flat array
    per part."""
    host, state = run.agent.backend.to_host, {}
    for name, part in vars(run.agent).items():
        if isinstance(part, Sequential):
            state[f"agent/{name}"] = host(part.flat_params)
        elif isinstance(part, Adam):
            state[f"agent/{name}"] = np.concatenate([*(host(m).ravel() for m in part.m + part.v), [part.t]])
        elif isinstance(part, ObservationNormalizer):
            state[f"agent/{name}"] = np.concatenate([[part.count], part.mean, part.m2])
        elif isinstance(part, OrnsteinUhlenbeckNoise):
            state[f"agent/{name}"] = part.x.copy()
        elif name == "critic_updates":  # TD3's policy delay counts these
            state[f"agent/{name}"] = np.asarray([part])
    buffer = run.buffer
    state["buffer"] = np.concatenate([host(buffer.rows[:len(buffer)]).ravel(), [buffer.next_index, len(buffer)]])
    return state


def expected_sizes(config) -> dict[str, int]:
    """How many numbers each part holds, from the config and DriftEnv's sizes alone."""
    agent = config.agent

    def parameters(sizes):
        return sum((fan_in + 1) * fan_out for fan_in, fan_out in itertools.pairwise(sizes))

    actor, critic = parameters((OBS_DIM, *agent.hidden, ACTION_DIM)), parameters((OBS_DIM + ACTION_DIM, *agent.hidden, 1))
    critics = ["critic", "critic2"] if agent.twin_critics else ["critic"]
    sizes = {"agent/actor": actor, "agent/actor_target": actor, "agent/actor_optimizer": 2 * actor + 1,
             "agent/critic_optimizer": 2 * critic * len(critics) + 1, "agent/critic_updates": 1,
             "buffer": config.steps * (2 * OBS_DIM + ACTION_DIM + 2) + 2}
    for name in critics:
        sizes.update({f"agent/{name}": critic, f"agent/{name}_target": critic})
    if agent.normalize_obs:
        sizes["agent/normalizer"] = 1 + 2 * OBS_DIM
    if agent.noise == "ou":
        sizes["agent/noise"] = ACTION_DIM
    return sizes


def test_the_checkpoint_holds_every_array_the_run_owns(recorded):
    """The parts the config implies are the parts the agent has; the checkpoint holds each one's numbers (compared
    as sorted values, whatever its keys), nothing else, and the run's random state and counters."""
    run = recorded.run
    state = owned_state(run)
    assert {name: len(values) for name, values in state.items()} == expected_sizes(run.config)
    arrays, meta = recorded.checkpoint
    assert {key.rsplit("/", 1)[0] for key in arrays} == set(state)
    for name, values in state.items():
        saved = [np.ravel(array) for key, array in arrays.items() if key.rsplit("/", 1)[0] == name]
        assert saved, f"{name} is not in the checkpoint"
        np.testing.assert_array_equal(np.sort(np.concatenate(saved)), np.sort(values), err_msg=name)
    assert meta["rng"] == run.rng.bit_generator.state
    assert meta["counters"] == dataclasses.asdict(run.counters)


def assert_same_state(run: Run, other: Run) -> None:
    ours, theirs = owned_state(run), owned_state(other)
    assert set(ours) == set(theirs)
    for name in ours:
        np.testing.assert_array_equal(theirs[name], ours[name], err_msg=name)
    assert other.rng.bit_generator.state == run.rng.bit_generator.state


def test_a_resume_is_exact(recorded):
    assert_same_state(recorded.run, recorded.resumed)
    assert recorded.resumed.counters == recorded.run.counters
    resumed_log = read_log(recorded.folder / "halves" / LOG_FILE)
    assert without_wall_clock(resumed_log) == without_wall_clock(recorded.log)


# --- evaluation -----------------------------------------------------------------------------------------------
def test_evaluation_never_touches_the_training_env_or_the_training_random_state(recorded):
    assert len(recorded.train_env.steps) == STEPS
    mid_episode = [row for row in recorded.log if row["eval_return_mean"] and not row["episode_return"]]
    assert mid_episode, "no evaluation fell inside an episode: this cell cannot see an evaluation that leaks"
    assert len(recorded.eval_env.resets) == EVAL_EPISODES * STEPS // EVAL_EVERY
    # the run without evaluations collected, learned and drew exactly the same
    assert_same_state(recorded.run, recorded.without_evaluation)
    counters = dataclasses.replace(recorded.without_evaluation.counters, evaluations=STEPS // EVAL_EVERY)
    assert counters == recorded.run.counters


def horizon_by_hand(gamma: float) -> int:
    """The fewest steps n with gamma^n <= 1% (value_estimate.py's documented cut)."""
    n = 1
    while gamma**n > 0.01:
        n += 1
    return n


def test_the_value_estimate_equals_a_hand_computation(recorded):
    """The last evaluation (at the final step, with the final agent) replayed by hand: the same evaluation episodes,
    observations normalized with statistics computed from the stored observations, Q1(s, mu(s)) and the
    discounted return-to-go over the states a time-limit cut leaves complete."""
    agent = recorded.run.agent
    if agent.normalizer is not None:
        observed = np.vstack([[first_obs for _, first_obs in recorded.train_env.resets], split(recorded.rows)[3]])
        mean, std = observed.mean(axis=0), np.sqrt(observed.var(axis=0) + NORMALIZER_EPS)
    else:
        mean, std = np.zeros(OBS_DIM), np.ones(OBS_DIM)

    def normalized(states):
        return agent.backend.to_device(np.clip((states - mean) / std, -NORMALIZER_CLIP, NORMALIZER_CLIP))

    def q_of_mu(x):
        return agent.backend.to_host(agent.critic.forward(x, agent.actor.forward(x)))

    env, states, values, returns = gym.make(SEAM_ENV), [], [], []
    for k in range(EVAL_EPISODES):
        obs, _ = env.reset(seed=episode_seed(SEED, EVAL_STREAM, k))
        visited, rewards, done = [], [], False
        while not done:
            action = np.clip(agent.backend.to_host(agent.actor.forward(normalized(obs[None, :])))[0], SEAM_LOW, SEAM_HIGH)
            visited.append(obs)
            obs, reward, terminated, truncated, _ = env.step(action)
            rewards.append(reward)
            done = terminated or truncated
        to_go = [sum(GAMMA**j * r for j, r in enumerate(rewards[t:])) for t in range(len(rewards))]
        usable = len(rewards) if terminated else max(len(rewards) - horizon_by_hand(GAMMA) + 1, 0)
        states += visited[:usable]
        values += to_go[:usable]
        returns.append(sum(rewards))
    last = recorded.log[-1]
    assert int(last["step"]) == STEPS and states
    assert float(last["eval_return_mean"]) == pytest.approx(np.mean(returns), rel=1e-12)
    assert float(last["value_true"]) == pytest.approx(np.mean(values), rel=1e-12)
    estimate = np.mean(q_of_mu(normalized(np.array(states))))
    assert float(last["value_estimate"]) == pytest.approx(estimate, rel=1e-9)
    if agent.normalizer is not None:  # the critic depends on its input: skipping the normalization would show
        raw = np.mean(q_of_mu(agent.backend.to_device(np.array(states))))
        assert abs(raw - estimate) > 1e-6 * abs(estimate)


# --- the trainer's gradient check -----------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_a_non_finite_gradient_of_the_second_critic_stops_training_at_once(tmp_path, monkeypatch):
    """TD3 has two critics: the trainer's per-update check looks at both, not only the first."""
    import tinyddpg.agent as agent_module

    real = agent_module.DDPG.compute_critic_gradients

    def poisoned(self, batch, y):
        result = real(self, batch, y)
        self.critic2.flat_grads[0] = float("inf")
        return result

    monkeypatch.setattr(agent_module.DDPG, "compute_critic_gradients", poisoned)
    run = Run(cell_config(Cell(td3=True, normalize_obs=False, noise="gaussian")), tmp_path)
    with pytest.raises(NumericalError, match="step 30: the critic2 gradient holds NaN or infinity"):
        run.train(show_progress=False)
