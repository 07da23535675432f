"""Small shared helpers for the tests."""

import subprocess
import sys

import numpy as np

from tinyddpg.backend import make_rng
from tinyddpg.run.config import preset, with_overrides
from tinyddpg.run.runlog import WALL_CLOCK_COLUMNS

FAST = {"hidden": (32, 32), "batch_size": 32, "random_steps": 100, "update_after": 50, "eval_every": 200,
        "eval_episodes": 2, "buffer_size": 10_000, "checkpoint_every": 200}


def fast_config(**overrides):
    """The pendulum preset shrunk to run in seconds, with overrides."""
    return with_overrides(preset("pendulum"), {**FAST, **overrides})


def run_tinyddpg(*args, timeout=300, **kwargs):
    """`python -m tinyddpg ARGS` in a subprocess, as a user would run it."""
    return subprocess.run([sys.executable, "-m", "tinyddpg", *args], capture_output=True, text=True, timeout=timeout,
                          **kwargs)


def without_wall_clock(rows):
    """Log or summary rows without the columns that differ between identical runs."""
    return [{k: v for k, v in row.items() if k not in WALL_CLOCK_COLUMNS} for row in rows]


def normal_input(backend, shape, seed=0, away_from_zero=0.0):
    """A random normal input on the backend; `away_from_zero` keeps entries off ReLU's kink."""
    x = make_rng(seed).normal(size=shape)
    return backend.to_device(np.sign(x) * (away_from_zero + np.abs(x)))
