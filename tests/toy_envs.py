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
