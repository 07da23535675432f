"""Regenerate the guide's failure-mode figures: short Pendulum-v1 runs, each with one thing broken on purpose,
drawn beside the same run unbroken (docs/guide.md, "Reading a run").

Usage (from the repository root; a few minutes a run on one core, run it niced on a shared machine):

    nice -n 10 python benchmarks/failure_modes.py                 # every run, then every figure
    nice -n 10 python benchmarks/failure_modes.py --only rho_zero  # one failure (the baseline runs first if missing)

Every run is the `pendulum` preset with 64-64 networks, 1,000 random steps, 12,000 steps, 5 evaluation episodes
every 1,000 steps and seed 0. The breakages live here, not in the package:

  baseline             nothing broken
  tiny_buffer          buffer_size = 400: two episodes of memory
  rho_zero             rho = 0: the targets are the online networks (no target networks)
  reward_x10           the training environment's rewards multiplied by 10 (evaluation reports true returns)
  truncation_terminal  the time limit stored as terminal (terminated = terminated or truncated)
  tanh_saturated       the actor's last layer starts uniform(-30, 30) instead of (-3e-3, 3e-3): tanh saturated

Runs go to runs/failure_modes/NAME (a finished run is reused), figures to docs/failure_NAME.png; the summary
table printed at the end is the one the guide quotes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tinyddpg.run.config import preset, with_overrides
from tinyddpg.run.plot import column
from tinyddpg.run.runlog import LOG_FILE, read_log
from tinyddpg.run.train import Run

BASE = {"hidden": (64, 64), "steps": 12_000, "random_steps": 1_000, "eval_every": 1_000, "eval_episodes": 5,
        "checkpoint_every": 100_000, "save_buffer": False, "seed": 0}
SATURATED_FINAL_BOUND = 30.0


class TruncationAsTerminal(gym.Wrapper):
    """The bug: a time limit reported (and so stored) as a terminal state."""

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated or truncated, truncated, info


def scale_rewards(env):
    return gym.wrappers.TransformReward(env, lambda reward: 10.0 * reward)


def saturate_actor(agent) -> None:
    """Restart the actor's last Dense layer uniform(-30, 30), online and target alike."""
    last = agent.actor.layers[-3]  # Dense, Tanh, ScaleShift
    last.W[...] = agent.backend.uniform(agent.rng, -SATURATED_FINAL_BOUND, SATURATED_FINAL_BOUND, last.W.shape)
    last.b[...] = agent.backend.uniform(agent.rng, -SATURATED_FINAL_BOUND, SATURATED_FINAL_BOUND, last.b.shape)
    agent.actor_target.flat_params[...] = agent.actor.flat_params


FAILURES = {  # name: (overrides, wrapper of the training env, change to the agent, what the figure shows)
    "baseline": ({}, None, None, "nothing broken"),
    "tiny_buffer": ({"buffer_size": 400}, None, None, "buffer_size = 400"),
    "rho_zero": ({"rho": 0.0}, None, None, "rho = 0 (no target networks)"),
    "reward_x10": ({}, scale_rewards, None, "training rewards x 10"),
    "truncation_terminal": ({}, TruncationAsTerminal, None, "truncation stored as terminal"),
    "tanh_saturated": ({}, None, saturate_actor, "actor's tanh saturated at the start"),
}


def train_one(name: str, root: Path) -> Path:
    out = root / name
    if (out / LOG_FILE).exists() and any(int(r["step"]) >= BASE["steps"] for r in read_log(out / LOG_FILE)):
        return out
    overrides, wrap, change, _ = FAILURES[name]
    run = Run(with_overrides(preset("pendulum"), {**BASE, **overrides}), out)
    if wrap is not None:
        run.env = wrap(run.env)
    if change is not None:
        change(run.agent)
    run.train(show_progress=False)
    bounds = saturated_share(run)
    (out / "saturated_share.txt").write_text(f"{bounds:.3f}\n")
    return out


def saturated_share(run) -> float:
    """Share of replayed states where the actor's tanh passes almost no gradient: 1 - u^2 < 1e-4."""
    batch = run.buffer.sample(min(run.buffer.size, 4096))
    action = run.agent.backend.to_host(run.agent.actor.forward(batch.obs))
    half = (run.spec.high - run.spec.low) / 2.0
    u = (action - (run.spec.high + run.spec.low) / 2.0) / half
    return float(np.mean(1.0 - u * u < 1e-4))


def summary(name: str, out: Path) -> str:
    rows = read_log(out / LOG_FILE)
    steps, returns = column(rows, "eval_return_mean")
    _, loss = column(rows, "critic_loss")
    _, mean_q = column(rows, "mean_q")
    passed = steps[returns >= -200]
    share = (out / "saturated_share.txt").read_text().strip() if (out / "saturated_share.txt").exists() else "?"
    return (f"{name:<20} {returns[-1]:>8.1f} {returns.max():>8.1f} {passed[0] if len(passed) else 'never':>7} "
            f"{loss[-1]:>10.3g} {loss.max():>10.3g} {mean_q[-1]:>8.1f} {mean_q.min():>8.1f} {mean_q.max():>8.1f} {share:>9}")


def figure(name: str, root: Path, docs: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (returns_axis, loss_axis) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    q_axis = loss_axis.twinx()
    for color, run in (("C0", "baseline"), ("C3", name)):
        rows = read_log(root / run / LOG_FILE)
        label = FAILURES[run][3]
        returns_axis.plot(*column(rows, "eval_return_mean"), color=color, label=label)
        loss_axis.plot(*column(rows, "critic_loss"), color=color, label=f"critic loss, {label}")
        q_axis.plot(*column(rows, "mean_q"), color=color, linestyle="--", label=f"mean Q, {label}")
    returns_axis.axhline(-200, color="grey", linewidth=0.8, linestyle=":")
    returns_axis.set_ylabel("evaluation return (noise off)")
    returns_axis.set_title(f"Pendulum-v1, 64-64, seed 0: {FAILURES[name][3]} vs nothing broken", fontsize="medium")
    returns_axis.legend(loc="lower right", fontsize="small")
    returns_axis.grid(alpha=0.3)
    loss_axis.set_yscale("log")
    loss_axis.set_ylabel("critic loss (solid, log scale)")
    q_axis.set_ylabel("mean Q(s, a_buffer) (dashed)")
    loss_axis.set_xlabel("environment steps (python benchmarks/failure_modes.py)")
    loss_axis.grid(alpha=0.3)
    fig.tight_layout()
    path = docs / f"failure_{name}.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=[n for n in FAILURES if n != "baseline"], action="append")
    parser.add_argument("--runs", type=Path, default=REPO_ROOT / "runs" / "failure_modes")
    parser.add_argument("--docs", type=Path, default=REPO_ROOT / "docs")
    args = parser.parse_args()
    names = ["baseline", *(args.only or [n for n in FAILURES if n != "baseline"])]
    print(f"{'run':<20} {'final':>8} {'best':>8} {'-200 at':>7} {'loss end':>10} {'loss max':>10} "
          f"{'Q end':>8} {'Q min':>8} {'Q max':>8} {'dead tanh':>9}")
    for name in names:
        out = train_one(name, args.runs)
        print(summary(name, out), flush=True)
        if name != "baseline":
            figure(name, args.runs, args.docs)


if __name__ == "__main__":
    main()
