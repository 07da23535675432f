"""Gymnasium environments: making them with clear errors, checking their spaces, seeding their episodes."""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from ..errors import ConfigError
from .config import did_you_mean


@dataclass(frozen=True)
class EnvSpec:
    obs_dim: int
    action_dim: int
    low: np.ndarray  # (action_dim,)
    high: np.ndarray  # (action_dim,)


def make_env(env_id: str, render_mode: str | None = None) -> gym.Env:
    """gym.make with errors that say what to do: unknown ids get close names, missing extras an install hint."""
    if env_id not in gym.envs.registry:
        raise ConfigError(f"env_id={env_id!r} is not a registered gymnasium environment"
                          f"{did_you_mean(env_id, gym.envs.registry.keys())}")
    try:
        return gym.make(env_id, render_mode=render_mode)
    except gym.error.DependencyNotInstalled as error:
        hint = "pip install 'tinyddpg[mujoco]'" if "mujoco" in str(error).lower() else "install the missing package"
        raise ConfigError(f"{env_id} needs a package that is not installed ({error}); fix: {hint}") from None


def env_spec(env: gym.Env) -> EnvSpec:
    """The dimensions and action bounds, or ConfigError when DDPG cannot drive this environment."""
    env_id = env.spec.id if env.spec else type(env).__name__
    action_space, obs_space = env.action_space, env.observation_space
    if not isinstance(action_space, gym.spaces.Box):
        raise ConfigError(f"{env_id} has a {type(action_space).__name__} action space; DDPG needs continuous actions "
                          f"(a bounded Box), since its actor outputs real numbers")
    if len(action_space.shape) != 1 or not (np.all(np.isfinite(action_space.low)) and np.all(np.isfinite(action_space.high))):
        raise ConfigError(f"{env_id} has action space {action_space}; DDPG needs a flat Box with finite bounds, "
                          f"because the actor's tanh output is scaled onto [low, high] (wrap it with "
                          f"gymnasium.wrappers.RescaleAction or ClipAction)")
    if not isinstance(obs_space, gym.spaces.Box) or len(obs_space.shape) != 1:
        raise ConfigError(f"{env_id} has observation space {obs_space}; tinyddpg's networks need a flat Box "
                          f"(a vector); flatten it with gymnasium.wrappers.FlattenObservation")
    return EnvSpec(obs_space.shape[0], action_space.shape[0], action_space.low.astype(np.float64),
                   action_space.high.astype(np.float64))


TRAIN_STREAM, EVAL_STREAM = 0, 1


def episode_seed(run_seed: int, stream: int, episode: int) -> int:
    """The reset seed of an episode, derived from (run seed, stream, episode index): a resumed run replays
    exactly the episodes the uninterrupted run would have, and every evaluation sees the same start states."""
    return int(np.random.SeedSequence([run_seed, stream, episode]).generate_state(1)[0])
