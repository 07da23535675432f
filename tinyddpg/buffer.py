"""The replay buffer: a preallocated ring of transitions on the backend, sampled uniformly.

Each transition is one row of a single (capacity, width) array:

    [ obs (obs_dim) | action (action_dim) | reward (1) | next_obs (obs_dim) | terminated (1) ]

so `add` is one device write and `sample` one gather, and memory is exactly the raw numbers:
bytes per transition = (2 * obs_dim + action_dim + 2) * itemsize  (float32: HalfCheetah-v5, obs 17 and
action 6, takes 168 bytes, so 1,000,000 transitions take 168 MB). No Python object is kept per transition.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .backend import Backend
from .errors import NumericalError


class Batch(NamedTuple):
    """A batch of transitions as device arrays (B = batch size): obs (B, obs_dim), action (B, action_dim),
    reward (B,), next_obs (B, obs_dim), terminated (B,): 1.0 where the episode really ended, 0.0 otherwise
    (a time-limit truncation is 0.0)."""

    obs: object  # (B, obs_dim)
    action: object  # (B, action_dim)
    reward: object  # (B,)
    next_obs: object  # (B, obs_dim)
    terminated: object  # (B,) 1.0 where the episode really ended (not a time-limit truncation)

    def nonfinite_text(self, xp, or_else: str) -> str:
        """Which parts hold a NaN or infinity ("the batch's reward holds NaN or infinity"), or `or_else`."""
        parts = [name for name, part in self._asdict().items() if not bool(xp.all(xp.isfinite(part)))]
        verb = "hold" if len(parts) > 1 else "holds"
        return f"the batch's {' and '.join(parts)} {verb} NaN or infinity" if parts else or_else


class ReplayBuffer:
    def __init__(self, capacity: int, obs_dim: int, action_dim: int, *, backend: Backend, rng: np.random.Generator):
        self.capacity = capacity
        self.obs_dim = obs_dim
        self.action_dim = action_dim
        self.backend = backend
        self.rng = rng
        self.width = 2 * obs_dim + action_dim + 2
        self.rows = backend.zeros((capacity, self.width))
        self.next_index = 0  # the slot the next transition goes to (the oldest once full)
        self.size = 0

    def __len__(self) -> int:
        return self.size

    @property
    def nbytes(self) -> int:
        """Bytes held: capacity x (2 obs_dim + action_dim + 2) numbers, nothing else."""
        return self.capacity * self.width * np.dtype(self.backend.dtype_name).itemsize

    def add(self, obs, action, reward: float, next_obs, terminated: bool) -> None:
        """Store one transition (host values), overwriting the oldest when full."""
        row = np.concatenate([np.ravel(obs), np.ravel(action), [reward], np.ravel(next_obs), [float(terminated)]])
        if not np.all(np.isfinite(row)):  # one check on a small host row: a NaN never enters the buffer
            raise NumericalError(f"a transition with NaN or infinity is not stored (obs {obs}, action {action}, reward "
                                 f"{reward}, next_obs {next_obs}); check the environment's rewards and observations")
        self.rows[self.next_index, :] = self.backend.to_device(row)
        self.next_index = (self.next_index + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int) -> Batch:
        """batch_size transitions drawn uniformly, with replacement, from the filled slots, by self.rng."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        indices = self.backend.indices_to_device(self.rng.integers(0, self.size, size=batch_size))
        rows = self.backend.xp.take(self.rows, indices, axis=0)  # (B, width): one gather
        o, a = self.obs_dim, self.action_dim  # a row: [obs (o) | action (a) | reward | next_obs (o) | terminated]
        return Batch(obs=rows[:, :o],
                     action=rows[:, o:o + a],
                     reward=rows[:, o + a],
                     next_obs=rows[:, o + a + 1:2 * o + a + 1],
                     terminated=rows[:, -1])

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"rows": self.backend.to_host(self.rows[:self.size, :]).copy(),
                "next_index": np.asarray(self.next_index), "size": np.asarray(self.size)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        size = int(state["size"])
        if size > self.capacity or state["rows"].shape != (size, self.width):
            raise ValueError(f"saved buffer rows {state['rows'].shape} do not fit capacity {self.capacity} x width {self.width}")
        self.rows[:size, :] = self.backend.to_device(state["rows"])
        self.next_index = int(state["next_index"])
        self.size = size
