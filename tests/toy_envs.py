"""Tiny gymnasium environments for the tests, registered under the "tinyddpg-test/" namespace."""

import gymnasium as gym
import numpy as np


class CountingEnv(gym.Env):
    """obs = [t, episode start marker]; terminates when t reaches `terminate_at` (None: never).
    Registered with a time limit, so episodes that do not terminate are truncated."""

    def __init__(self, terminate_at=None, render_mode=None):
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(2,), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.terminate_at = terminate_at
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.0, 1.0], dtype=np.float32), {}

    def step(self, action):
        self.t += 1
        terminated = self.terminate_at is not None and self.t >= self.terminate_at
        return np.array([self.t, 0.0], dtype=np.float32), float(action[0]), terminated, False, {}


def register_toy_envs():
    if "tinyddpg-test/Truncated-v0" not in gym.envs.registry:
        gym.register("tinyddpg-test/Truncated-v0", entry_point=CountingEnv, max_episode_steps=5)
        gym.register("tinyddpg-test/Terminating-v0", entry_point=CountingEnv, kwargs={"terminate_at": 3},
                     max_episode_steps=5)
        gym.register("tinyddpg-test/Image-v0", entry_point=ImageEnv, max_episode_steps=5)
        gym.register("tinyddpg-test/Unbounded-v0", entry_point=UnboundedEnv, max_episode_steps=5)
        gym.register("tinyddpg-test/MultiDiscrete-v0", entry_point=MultiDiscreteEnv, max_episode_steps=5)
        gym.register("tinyddpg-test/DictObs-v0", entry_point=DictObsEnv, max_episode_steps=5)
        gym.register(SEAM_ENV, entry_point=DriftEnv, max_episode_steps=SEAM_EPISODE_STEPS)


class ImageEnv(CountingEnv):
    def __init__(self, render_mode=None):
        super().__init__()
        self.observation_space = gym.spaces.Box(0, 255, shape=(8, 8, 3), dtype=np.uint8)


class UnboundedEnv(CountingEnv):
    def __init__(self, render_mode=None):
        super().__init__()
        self.action_space = gym.spaces.Box(-np.inf, np.inf, shape=(1,), dtype=np.float32)


class MultiDiscreteEnv(CountingEnv):
    def __init__(self, render_mode=None):
        super().__init__()
        self.action_space = gym.spaces.MultiDiscrete([3, 3])


class DictObsEnv(CountingEnv):
    def __init__(self, render_mode=None):
        super().__init__()
        self.observation_space = gym.spaces.Dict({"t": gym.spaces.Box(-np.inf, np.inf, shape=(1,))})


SEAM_ENV = "tinyddpg-test/Drift-v0"
SEAM_LOW, SEAM_HIGH = np.array([-2.0, 0.5]), np.array([1.0, 4.5])  # asymmetric, not +-1, different per dimension
SEAM_EPISODE_STEPS = 7  # the time limit: divides no evaluation interval the seam tests use
SEAM_FALL_AT = 0.8  # terminated when x_1 passes it (about half the episodes with uniform random actions)


def drift(x, action):
    """The DriftEnv step: x' = x / 2 + u, u = the action rescaled from [low, high] to [-1, 1] per dimension."""
    return 0.5 * x + (action - (SEAM_HIGH + SEAM_LOW) / 2) / ((SEAM_HIGH - SEAM_LOW) / 2)


def drift_reward(next_x):
    """r = 1 - |x'|^2 (for one x' or a stack of them): the best actions keep x near 0, inside the bounds."""
    return 1.0 - np.sum(next_x**2, axis=-1)


class DriftEnv(gym.Env):
    """obs = [t, x_1, x_2] in float64: x starts uniform(-1, 1)^2 from the reset seed and moves by `drift`; the
    reward is `drift_reward(x')`; terminated when x'_1 > SEAM_FALL_AT, truncated by the time limit otherwise.
    Its actions have bounds [-2, 1] x [0.5, 4.5], so a bug that assumes +-1, or one half-range for all
    dimensions, shows."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(3,), dtype=np.float64)
    action_space = gym.spaces.Box(SEAM_LOW, SEAM_HIGH, dtype=np.float64)

    def __init__(self, render_mode=None):
        self.render_mode = render_mode

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.x = 0, self.np_random.uniform(-1.0, 1.0, size=2)
        return self.observation(), {}

    def step(self, action):
        self.t, self.x = self.t + 1, drift(self.x, np.asarray(action, dtype=np.float64))
        return self.observation(), float(drift_reward(self.x)), bool(self.x[0] > SEAM_FALL_AT), False, {}

    def observation(self):
        return np.array([self.t, *self.x])
