"""Observation normalization: running mean and variance of the observations collected while training.

    normalized = clip((obs - mean) / sqrt(var + eps), -clip, clip)

The statistics are kept on the host in float64 and updated one observation at a time (Welford's algorithm:
delta = x - mean; mean += delta / n; M2 += delta * (x - mean); var = M2 / n). The replay buffer stores raw
observations and batches are normalized when sampled, so old transitions use today's statistics, not stale ones.
"""

from __future__ import annotations

import numpy as np

from .backend import Backend


class ObservationNormalizer:
    def __init__(self, obs_dim: int, backend: Backend, eps: float = 1e-8, clip: float = 10.0):
        self.backend = backend
        self.eps = eps
        self.clip = clip
        self.count = 0
        self.mean = np.zeros(obs_dim)
        self.m2 = np.zeros(obs_dim)  # sum of squared deviations from the mean
        self._device_stats = None  # (mean, 1 / std) on the device, rebuilt after an update

    @property
    def var(self) -> np.ndarray:
        """Population variance of the observations seen (1 before any)."""
        return self.m2 / self.count if self.count else np.ones_like(self.mean)

    def update(self, obs) -> None:
        """Fold one observation into the running statistics."""
        x = np.asarray(obs, dtype=np.float64)
        self.count += 1
        delta = x - self.mean
        self.mean += delta / self.count
        self.m2 += delta * (x - self.mean)
        self._device_stats = None

    def normalize_host(self, obs) -> np.ndarray:
        """One host observation, normalized (for acting)."""
        return np.clip((np.asarray(obs) - self.mean) / np.sqrt(self.var + self.eps), -self.clip, self.clip)

    def normalize(self, obs):
        """A device batch (B, obs_dim), normalized with the same statistics."""
        if self._device_stats is None:
            self._device_stats = (self.backend.to_device(self.mean),
                                  self.backend.to_device(1.0 / np.sqrt(self.var + self.eps)))
        mean, inverse_std = self._device_stats
        return self.backend.xp.clip((obs - mean) * inverse_std, -self.clip, self.clip)

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"count": np.asarray(self.count), "mean": self.mean.copy(), "m2": self.m2.copy()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        if state["mean"].shape != self.mean.shape:
            raise ValueError(f"normalizer mean: saved shape {state['mean'].shape} != {self.mean.shape}")
        self.count = int(state["count"])
        self.mean[:] = state["mean"]
        self.m2[:] = state["m2"]
        self._device_stats = None
