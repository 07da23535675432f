"""The memory a run needs, estimated before anything is allocated, and refused when the machine has less.

    replay buffer   buffer_size rows of (2 obs + action + 2) numbers, allocated in full at the start (CuPy
                    takes them all at once, and NumPy's request for them fails when the machine has less);
                    with save_buffer, once more the rows filled by the end, min(buffer_size, steps), which the
                    checkpoint copies to the host
    networks        NETWORK_COPIES x the parameters of actor and critic(s): themselves, their targets, gradients,
                    Adam's m, v and work array (7), and a margin for the small per-layer arrays
    activations     ACTIVATION_FACTOR x batch x (obs + action + the hidden widths) numbers: the forward caches
                    and backward temporaries of one update (measured: 8.7 to 10.7, see tests/test_memory.py);
                    with twin critics the critics' half of it twice (not measured separately)
    base            the interpreter, NumPy, gymnasium and matplotlib
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass

from ..errors import TinyDDPGError, setting_text

ACTIVATION_FACTOR = 12
NETWORK_COPIES = 8
BASE_BYTES = 300 * 2**20


class OutOfMemory(TinyDDPGError):
    """The run needs more memory than the machine has, or an allocation failed."""


@dataclass(frozen=True)
class MemoryEstimate:
    buffer: int
    networks: int
    activations: int
    base: int = BASE_BYTES

    @property
    def total(self) -> int:
        return self.buffer + self.networks + self.activations + self.base

    def __str__(self) -> str:
        return (f"about {size_text(self.total)} (replay buffer {size_text(self.buffer)}, networks and Adam "
                f"{size_text(self.networks)}, one update's activations {size_text(self.activations)})")


def estimate(config, obs_dim: int, action_dim: int) -> MemoryEstimate:
    """The bytes the run of `config` (a TrainConfig) needs on an environment of these dimensions."""
    itemsize = 8 if config.dtype == "float64" else 4
    hidden = config.agent.hidden
    saved_rows = min(config.buffer_size, config.steps) if config.save_buffer else 0
    buffer = (config.buffer_size + saved_rows) * (2 * obs_dim + action_dim + 2) * itemsize
    actor_sizes, critic_sizes = [obs_dim, *hidden, action_dim], [obs_dim + action_dim, *hidden, 1]
    critics = 2 if config.agent.twin_critics else 1
    actor, critic = (sum((a + 1) * b for a, b in itertools.pairwise(sizes)) for sizes in (actor_sizes, critic_sizes))
    activations = ACTIVATION_FACTOR * config.agent.batch_size * (obs_dim + action_dim + sum(hidden)) * itemsize
    activations = activations * (1 + critics) // 2
    parameters = actor + critics * critic
    return MemoryEstimate(buffer, NETWORK_COPIES * parameters * itemsize, activations)


def available_bytes() -> int | None:
    """Memory the machine can still give (Linux: MemAvailable; elsewhere free pages), None where unknown."""
    try:
        with open("/proc/meminfo") as file:
            for line in file:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_fits(needed: MemoryEstimate, available: int | None) -> None:
    """Raise OutOfMemory with the figures and the fix when the estimate exceeds the available memory."""
    if available is None or needed.total <= available:
        return
    largest = max(("batch_size", needed.activations), ("buffer_size", needed.buffer), key=lambda pair: pair[1])
    raise OutOfMemory(f"this run needs {needed}, but the machine has {size_text(available)} available; lower "
                      f"{setting_text(largest[0])} (the largest part), or free memory")


def size_text(n: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n} bytes"
