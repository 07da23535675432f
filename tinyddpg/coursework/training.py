"""The last two parts: the engine trains with every part the student wrote at once, on a contextual bandit (seconds),
then on Pendulum-v1 (a short run). They are the only parts a mistake in another part can cost; when one fails, its
message names the parts whose own checks fail with all of the student's code in place, where it can."""

from __future__ import annotations

import tempfile
from pathlib import Path

import gymnasium as gym
import numpy as np

from ..run.config import preset, with_overrides
from ..run.runlog import read_log
from ..run.train import Run
from .checks import CHECKS, Mismatch, checks_for
from .parts import PARTS_BY_NAME, TRAINING_BY_NAME


class ContextualBandit(gym.Env):
    """One-step episodes: obs s ~ U(-1, 1)^2, reward -(a - s_0 / 2)^2 for the action a in [-1, 1], then terminal.
    A random policy scores about -0.4 per episode; the best one 0."""

    observation_space = gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float64)
    action_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)

    def __init__(self, render_mode=None):
        self.render_mode = render_mode

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.obs = self.np_random.uniform(-1.0, 1.0, size=2)
        return self.obs, {}

    def step(self, action):
        return self.obs.copy(), -float((action[0] - self.obs[0] / 2) ** 2), True, False, {}


BANDIT_ID = "tinyddpg-coursework/Bandit-v0"


BANDIT, PENDULUM = TRAINING_BY_NAME["training_bandit"], TRAINING_BY_NAME["training_pendulum"]
TRAINING_RUNS = {  # part: (environment, settings over the pendulum preset, passing mean evaluation return, baseline)
    "training_bandit": (BANDIT_ID, {"hidden": (32, 32), "batch_size": 32, "steps": BANDIT.steps, "random_steps": 300,
                                    "update_after": 100, "eval_episodes": 50}, BANDIT.passing, BANDIT.baseline),
    "training_pendulum": ("Pendulum-v1", {"hidden": (64, 64), "batch_size": 64, "steps": PENDULUM.steps,
                                          "random_steps": 1_000, "update_after": 500, "eval_episodes": 5},
                          PENDULUM.passing, PENDULUM.baseline),
}


def final_evaluation(env_id: str, settings: dict, td3: bool) -> float:
    """Train from seed 0 with these settings; the mean return of the one evaluation at the end."""
    if BANDIT_ID not in gym.envs.registry:
        gym.register(BANDIT_ID, entry_point=ContextualBandit)
    steps = settings["steps"]
    config = with_overrides(preset("pendulum"), {"buffer_size": 10_000, **settings, "env_id": env_id, "seed": 0,
                                                 "eval_every": steps, "checkpoint_every": steps, "td3": td3})
    with tempfile.TemporaryDirectory() as folder:
        Run(config, Path(folder) / "run").train(show_progress=False)
        return float(read_log(Path(folder) / "run" / "progress.csv")[-1]["eval_return_mean"])


def training_check(part: str, td3: bool) -> str:
    """The final return, as a note; raises Mismatch when the agent trained for `part` ends below its passing one."""
    env_id, settings, passing, baseline = TRAINING_RUNS[part]
    final = final_evaluation(env_id, settings, td3)
    if not final > passing:
        raise Mismatch(f"a mean evaluation return above {passing:g} on {env_id} after {settings['steps']:,} steps "
                       f"({baseline})", f"{final:.4g}; {suspects_text(td3)}")
    return f"mean evaluation return {final:.4g}, passing above {passing:g}"


def suspects_text(td3: bool) -> str:
    """Where a failed training run points: the parts (of those the student wrote, planted now) whose own checks fail
    with everything the student wrote in place, or, when none does, that the parts meet wrongly."""
    failing = []
    for part in CHECKS:
        if td3 or not PARTS_BY_NAME[part].td3:
            for check in checks_for(part, td3):
                try:
                    check()
                except Exception:  # the part's own report says what; here only which part
                    failing.append(part)
                    break
    if failing:
        return f"look first at {', '.join(failing)}: with all of your code in place, their own checks fail"
    return ("every part passes its own checks with all of your code in place: look for what the checks do not fix, "
            "such as a state your functions keep between calls or a float32 you cast to")
