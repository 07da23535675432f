"""The critic's overestimation, measured at evaluation (as in the TD3 paper's Figure 1, Fujimoto et al. 2018).

For the noise-free policy mu, over the states s_t visited by the evaluation episodes:

    value_estimate = mean over t of Q(s_t, mu(s_t))                 what the critic believes (the first critic)
    value_true     = mean over t of G_t = sum_k gamma^k r_{t+k}     what the policy actually collected from s_t

An episode that terminates at T (the robot fell) has its whole future in hand: every state counts. An episode cut
by a time limit after T steps misses the tail gamma^(T - t) V(s_T) of G_t, so only the states with
T - t >= horizon(gamma) count, where gamma^horizon <= TAIL_FRACTION: the missing tail is then at most 1% of
|V(s_T)|, a value of the same size as the values being compared (gamma 0.99: horizon 459 steps, so a 1,000-step
episode contributes its first 542 states). A 200-step Pendulum episode contributes none: the columns stay empty.
"""

from __future__ import annotations

import math

import numpy as np

from ..agent import DDPG

TAIL_FRACTION = 0.01  # the largest missing tail, as a fraction of the value at the time-limit cut


def horizon(gamma: float) -> int | float:
    """The fewest steps n with gamma^n <= TAIL_FRACTION (no n exists for gamma = 1: then math.inf)."""
    if gamma == 0.0:
        return 1
    if gamma >= 1.0:
        return math.inf
    return math.ceil(math.log(TAIL_FRACTION) / math.log(gamma))


def returns_to_go(rewards: np.ndarray, gamma: float) -> np.ndarray:
    """G_t = r_t + gamma G_{t+1}, G_T = 0, for t = 0 .. T-1."""
    returns, following = np.zeros(len(rewards)), 0.0
    for t in range(len(rewards) - 1, -1, -1):
        following = returns[t] = rewards[t] + gamma * following
    return returns


def usable_states(length: int, terminated: bool, gamma: float) -> int:
    """How many of an episode's first states have a G_t complete to within TAIL_FRACTION: all when it terminated,
    those with length - t >= horizon(gamma) when a time limit cut it."""
    return length if terminated else max(length - horizon(gamma) + 1, 0)


class EvaluationEpisodes:
    """Records the evaluation episodes step by step (pass `add` to train.evaluate), then measures them."""

    def __init__(self):
        self.observations, self.rewards, self.finished = [[]], [[]], []

    def add(self, obs, reward: float, terminated: bool, truncated: bool) -> None:
        """One step: the state it started from, its reward, and whether the episode ended there and how."""
        self.observations[-1].append(np.asarray(obs, dtype=np.float64))
        self.rewards[-1].append(float(reward))
        if terminated or truncated:
            self.finished.append(bool(terminated))
            self.observations.append([])
            self.rewards.append([])

    def value_columns(self, agent: DDPG) -> dict[str, float]:
        """{"value_estimate", "value_true"} over the usable states of the finished episodes; {} when none is usable."""
        gamma = agent.config.gamma
        states, true_values = [], []
        for obs, rewards, terminated in zip(self.observations, self.rewards, self.finished):
            count = usable_states(len(rewards), terminated, gamma)
            states.extend(obs[:count])
            true_values.extend(returns_to_go(np.asarray(rewards), gamma)[:count])
        if not states:
            return {}
        return {"value_estimate": float(np.mean(critic_estimates(agent, np.stack(states)))),
                "value_true": float(np.mean(true_values))}


def critic_estimates(agent: DDPG, observations: np.ndarray) -> np.ndarray:
    """Q1(s, mu(s)) for host observations (N, obs_dim), normalized as the agent normalizes them.  (N,)"""
    obs = agent.backend.to_device(observations)
    if agent.normalizer is not None:
        obs = agent.normalizer.normalize(obs)
    return agent.backend.to_host(agent.critic.forward(obs, agent.actor.forward(obs)))
