"""Gymnasium environments: making them with clear errors, checking their spaces, seeding their episodes."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import sys
import traceback
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from ..errors import ConfigError, on_command_line
from .config import did_you_mean, how_to_register


@dataclass(frozen=True)
class EnvSpec:
    obs_dim: int
    action_dim: int
    low: np.ndarray  # (action_dim,)
    high: np.ndarray  # (action_dim,)


def make_env(env_id: str, render_mode: str | None = None) -> gym.Env:
    """gym.make with errors that say what to do: unknown ids get close names, missing extras an install hint.
    Takes ids as gymnasium does: "Pendulum-v1", or "module:EnvId", which first imports the module that registers
    EnvId (your own environment: gymnasium.register(id="EnvId", ...) in module.py)."""
    module, _, name = env_id.rpartition(":")
    if module:
        import_registering_module(module, env_id)
    if name not in gym.envs.registry:
        raise ConfigError(f"env_id={env_id!r} is not a registered gymnasium environment"
                          f"{did_you_mean(name, gym.envs.registry.keys())}{registration_hint(module, name)}")
    try:
        with without_model_deprecation_warnings(name):  # render_mode only when asked: your class may not take it
            return gym.make(name, **({"render_mode": render_mode} if render_mode else {}))
    except gym.error.DependencyNotInstalled as error:
        hint = "pip install 'tinyddpg[mujoco]'" if "mujoco" in str(error).lower() else "install the missing package"
        raise ConfigError(f"{env_id} needs a package that is not installed ({error}); fix: {hint}") from None
    except Exception as error:
        if render_mode and isinstance(error, TypeError) and makes_without_render_mode(name):
            entry_point = gym.envs.registry[name].entry_point
            cls = entry_point.rpartition(":")[2] if isinstance(entry_point, str) else entry_point.__name__
            raise ConfigError(f"{env_id} does not accept render_mode, so it cannot draw frames: give {cls}.__init__ a "
                              f"render_mode=None argument (store it as self.render_mode) and a render() that returns "
                              f"an RGB array when it is {render_mode!r}; the evaluation returns above are "
                              f"unaffected") from None
        if not module:  # gymnasium's own environments: a bug to see in full
            raise
        raise ConfigError(f"env_id={env_id!r}: making the environment failed at {error_location(error)} "
                          f"({type(error).__name__}: {error}); fix it there") from None


def makes_without_render_mode(name: str) -> bool:
    """Whether the environment is made when no render_mode is given."""
    try:
        gym.make(name).close()
    except Exception:
        return False
    return True


def import_registering_module(module: str, env_id: str) -> None:
    """Import the module of a "module:EnvId" id from the current folder or the path (PYTHONPATH), or ConfigError
    saying why it cannot be imported and where. The current folder goes on the end of sys.path, as `python -m`
    would put it first: the `tinyddpg` script and a script run from elsewhere do not have it there."""
    current = os.getcwd()
    if not {"", current} & set(sys.path):
        sys.path.append(current)  # spawned sweep workers inherit it
    try:
        importlib.import_module(module)
    except Exception as error:  # the user's own code: anything can go wrong in it
        if isinstance(error, ModuleNotFoundError) and error.name == module.split(".")[0]:
            path = "PYTHONPATH" if on_command_line() else "sys.path"
            file = f"{module.replace('.', '/')}.py"
            run_there = "run the command" if on_command_line() else "run Python"
            raise ConfigError(f"env_id={env_id!r}: there is no module {module} to import in the current folder "
                              f"({current}) or on {path}; {run_there} from the folder that holds {file}, or put "
                              f"that folder on {path}") from None
        raise ConfigError(f"env_id={env_id!r}: importing {module} failed at {error_location(error)} "
                          f"({type(error).__name__}: {error}); fix it there") from None


def error_location(error: Exception) -> str:
    """file:line where an error in the user's code was raised."""
    if isinstance(error, SyntaxError):
        return f"{error.filename}:{error.lineno}"
    frame = traceback.extract_tb(error.__traceback__)[-1]
    return f"{frame.filename}:{frame.lineno}"


def registration_hint(module: str, name: str) -> str:
    """How to register the environment a "module:EnvId" id names, when importing the module did not."""
    if not module:
        return ""
    entry_point = getattr(sys.modules[module], name, None)
    if isinstance(entry_point, type) and issubclass(entry_point, gym.Env):  # a class given instead of an id
        return f"; {name} is a class, not an id: {how_to_register(entry_point)}"
    return f"; importing {module} did not register it (gymnasium.register(id={name!r}, ...) in {module})"


@contextlib.contextmanager
def without_model_deprecation_warnings(env_id: str):
    """MuJoCo (3.3 and later) warns at every start of HalfCheetah that gymnasium's half_cheetah.xml uses the
    deprecated compiler attribute settotalmass, on stderr and in a MUJOCO_LOG.TXT it writes to the current
    folder: a note for gymnasium's maintainers, not for a user. While a MuJoCo environment is made, those are
    dropped; any other MuJoCo warning goes to stderr as before."""
    if "mujoco" not in str(gym.envs.registry[env_id].entry_point) or importlib.util.find_spec("mujoco") is None:
        yield
        return
    import mujoco

    def warn(message: str) -> None:
        if not (message.startswith("compiler attribute") and "is deprecated" in message):
            print(f"WARNING: {message}", file=sys.stderr)

    previous = mujoco.get_mju_user_warning()
    mujoco.set_mju_user_warning(warn)
    try:
        yield
    finally:
        mujoco.set_mju_user_warning(previous)


def env_spec(env: gym.Env) -> EnvSpec:
    """The dimensions and action bounds, or ConfigError when DDPG cannot drive this environment."""
    env_id = env.spec.id if env.spec else type(env).__name__
    action_space, obs_space = env.action_space, env.observation_space
    if not isinstance(action_space, gym.spaces.Box):
        raise ConfigError(f"{env_id} has a {type(action_space).__name__} action space; DDPG needs continuous actions "
                          f"(a bounded Box), since its actor outputs real numbers")
    if len(action_space.shape) != 1 or not np.all(np.isfinite(action_space.high - action_space.low) &
                                                  (action_space.low < action_space.high)):
        raise ConfigError(f"{env_id} has action space {action_space}; DDPG needs a flat Box with finite bounds, low < high, "
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
