"""The classic DDPG run on Pendulum-v1, end to end: train with the `pendulum` preset, evaluate with the noise
off, draw the learning curve and record an animation of the learned swing-up.

    python examples/pendulum.py                  # 30,000 steps (the preset), ~5 minutes on a laptop CPU
    python examples/pendulum.py --steps 20000 --seed 3 --out runs/my-pendulum
"""

import argparse
import sys
from pathlib import Path

from tinyddpg.run.cli import exit_status
from tinyddpg.run.config import preset, with_overrides
from tinyddpg.run.envs import make_env
from tinyddpg.run.plot import plot_runs
from tinyddpg.run.render import record_gif
from tinyddpg.run.train import evaluate, load_agent, train


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=preset("pendulum").steps)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/example-pendulum")
    args = parser.parse_args()
    return exit_status(lambda: run(args), program="pendulum.py")  # a bad setting is one line, not a traceback


def run(args) -> int:
    out = Path(args.out)
    config = with_overrides(preset("pendulum"), {"steps": args.steps, "seed": args.seed})
    train(config, out, resume=(out / "checkpoint.npz").exists())  # rerunning continues where it stopped

    agent, config = load_agent(out)  # in evaluation mode: no exploration noise
    returns = evaluate(agent, make_env(config.env_id), episodes=10, run_seed=config.seed)
    print(f"evaluation: {returns.mean():.1f} ± {returns.std():.1f} over 10 noise-free episodes "
          f"(a random policy scores about -1200; published DDPG about -150)")
    print("learning curve:", plot_runs([out], out / "curve.png"))
    frames = record_gif(agent, config.env_id, out / "pendulum.gif", config.seed)
    print(f"animation: {out / 'pendulum.gif'} ({frames} frames)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
