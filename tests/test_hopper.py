"""A short Hopper-v5 run (the first preset whose episodes terminate): falls are stored as terminated=1, and
nothing else is. Whether the robot fell is judged here from the stored next observation by Hopper-v5's published
health rule (gymnasium's Hopper-v5 documentation), not by asking the loop."""

import importlib.util

import numpy as np
import pytest

from tinyddpg.run.config import preset, with_overrides
from tinyddpg.run.train import Run

pytestmark = pytest.mark.skipif(importlib.util.find_spec("mujoco") is None, reason="MuJoCo not installed")

OBS_DIM, ACTION_DIM = 11, 3
HEALTHY_Z, HEALTHY_ANGLE, HEALTHY_STATE = 0.7, 0.2, 100.0  # Hopper-v5 defaults


def fell(next_obs: np.ndarray) -> np.ndarray:
    """Hopper-v5 is unhealthy when z <= 0.7, |angle| >= 0.2 or any other state entry leaves (-100, 100);
    its observation starts with z and the angle (x is excluded)."""
    z, angle, state = next_obs[:, 0], next_obs[:, 1], next_obs[:, 1:]
    return (z <= HEALTHY_Z) | (np.abs(angle) >= HEALTHY_ANGLE) | np.any(np.abs(state) >= HEALTHY_STATE, axis=1)


def test_a_short_hopper_td3_run_stores_terminated_only_for_falls(tmp_path):
    steps = 400
    config = with_overrides(preset("hopper"), {"td3": True, "steps": steps, "random_steps": 200, "update_after": 200,
                                               "hidden": (32, 32), "eval_every": 400, "eval_episodes": 2})
    run = Run(config, tmp_path)
    counters = run.train(show_progress=False)
    rows = run.buffer.rows[:steps].astype(np.float64)
    next_obs = rows[:, OBS_DIM + ACTION_DIM + 1: 2 * OBS_DIM + ACTION_DIM + 1]
    terminated = rows[:, -1]
    assert counters.episode >= 5 and terminated.sum() >= 5  # random and untrained hopping falls within tens of steps
    np.testing.assert_array_equal(terminated == 1, fell(next_obs))
    assert run.agent.critic_optimizer.t == steps - 200 + 1 and run.agent.actor_optimizer.t == (steps - 200 + 1) // 2
