"""An animated GIF of one noise-free episode, where the environment can render."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from ..agent import DDPG
from ..errors import ConfigError, TinyDDPGError
from .envs import EVAL_STREAM, episode_seed, make_env
from .train import play_episode

FRAME_WIDTH = 250  # pixels: small files, still clear


class RenderError(TinyDDPGError):
    """The environment cannot draw frames on this machine."""


def record_gif(agent: DDPG, env_id: str, path: Path, run_seed: int, fps: int = 30) -> int:
    """Write one noise-free episode as an animated GIF at path (one frame per step, numbered); returns the
    frame count."""
    from PIL import Image, ImageDraw

    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # off-screen drawing: no display needed, no SDL warnings
    try:
        env = make_env(env_id, render_mode="rgb_array")  # refused in words when the environment takes no render_mode
        seed = episode_seed(run_seed, EVAL_STREAM, 0)
        env.reset(seed=seed)  # play_episode resets it again, to the same state
        env.render()
    except ConfigError:  # the environment's own problem, said by make_env
        raise
    except Exception as error:  # renderers fail in many ways: no OpenGL, no display, a missing library
        raise RenderError(f"{env_id} cannot render on this machine ({type(error).__name__}: {error}). For MuJoCo "
                          f"environments set MUJOCO_GL=egl (with a GPU driver) or MUJOCO_GL=osmesa (with "
                          f"libosmesa6 installed); the evaluation returns above are unaffected") from None
    frames = []

    def draw_frame(*_step) -> None:  # (obs, reward, terminated, truncated): the frame is drawn from the env
        image = Image.fromarray(env.render())
        image = image.resize((FRAME_WIDTH, round(FRAME_WIDTH * image.height / image.width)))
        ImageDraw.Draw(image).text((4, 4), f"step {len(frames) + 1}", fill=(0, 0, 0))  # also keeps frames distinct
        frames.append(image)

    with agent.evaluation(), contextlib.closing(env):
        play_episode(agent, env, seed, after_step=draw_frame)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=round(1000 / fps), loop=0)
    return len(frames)
