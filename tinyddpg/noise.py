"""Exploration noise, drawn on the host from the run's seeded generator, in units of the action half-range
(the agent multiplies by (high - low) / 2, so one setting fits any action bounds)."""

from __future__ import annotations

import math

import numpy as np

NOISE_CHOICES = ("gaussian", "ou", "none")


class GaussianNoise:
    """eps ~ N(0, std^2), independent per step and per action dimension."""

    def __init__(self, std: float, action_dim: int, rng: np.random.Generator):
        self.std = std
        self.action_dim = action_dim
        self.rng = rng

    def reset(self) -> None:
        """Nothing carries over between steps."""

    def sample(self) -> np.ndarray:
        return self.rng.normal(0.0, self.std, size=self.action_dim)

    def state_dict(self) -> dict[str, np.ndarray]:
        return {}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        pass


class OrnsteinUhlenbeckNoise:
    """Temporally correlated noise (DDPG paper: theta 0.15, sigma 0.2; dt 0.01 is OpenAI Baselines' choice, the
    paper gives none), Euler-Maruyama discretised:

        x <- x + theta (mu - x) dt + sigma sqrt(dt) N(0, 1),   mu = 0

    It reverts to mu at rate theta; its stationary standard deviation is sigma / sqrt(2 theta).
    reset() puts x back to x0 at the start of each episode.
    """

    def __init__(self, action_dim: int, rng: np.random.Generator, theta: float = 0.15, sigma: float = 0.2,
                 dt: float = 1e-2, x0: float = 0.0):
        self.theta = theta
        self.sigma = sigma
        self.dt = dt
        self.x0 = x0
        self.rng = rng
        self.x = np.full(action_dim, x0)

    def reset(self) -> None:
        self.x[:] = self.x0

    def sample(self) -> np.ndarray:
        """x <- x - theta x dt + sigma sqrt(dt) N(0, 1), one self.rng.normal draw per action dimension; a copy of x."""
        self.x += -self.theta * self.x * self.dt + self.sigma * math.sqrt(self.dt) * self.rng.normal(size=self.x.shape)
        return self.x.copy()

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"x": self.x.copy()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.x[:] = state["x"]


class NoNoise:
    """No exploration noise: eps = 0."""

    def __init__(self, action_dim: int):
        self.action_dim = action_dim

    def reset(self) -> None:
        """Nothing to reset."""

    def sample(self) -> np.ndarray:
        return np.zeros(self.action_dim)

    def state_dict(self) -> dict[str, np.ndarray]:
        return {}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        pass


def make_noise(kind: str, scale: float, action_dim: int, rng: np.random.Generator, ou_theta: float, ou_dt: float):
    """The exploration noise `kind` (one of NOISE_CHOICES) with std or sigma `scale`, in action half-ranges."""
    if kind == "gaussian":
        return GaussianNoise(scale, action_dim, rng)
    if kind == "ou":
        return OrnsteinUhlenbeckNoise(action_dim, rng, theta=ou_theta, sigma=scale, dt=ou_dt)
    return NoNoise(action_dim)
