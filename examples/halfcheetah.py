"""DDPG on MuJoCo's HalfCheetah-v5 (`pip install -e ".[mujoco]"`), with checkpoints and resume.

    python examples/halfcheetah.py                       # 100,000 steps, Gaussian noise (Spinning Up's setup)
    python examples/halfcheetah.py --noise ou            # the DDPG paper's Ornstein-Uhlenbeck noise (sigma 0.2)
    python examples/halfcheetah.py --steps 300000        # rerun with more steps: it resumes from the checkpoint

Ctrl-C at any time saves a checkpoint; running the same command again continues the run exactly.
A checkpoint is also written every 10,000 steps, so even a crash loses at most that much.
"""

import argparse
from pathlib import Path

from tinyddpg.run.cli import exit_status
from tinyddpg.run.config import preset, with_overrides
from tinyddpg.run.envs import make_env
from tinyddpg.run.plot import plot_runs
from tinyddpg.run.render import RenderError, record_gif
from tinyddpg.run.train import evaluate, load_agent, train


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=preset("halfcheetah").steps)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--noise", choices=("gaussian", "ou"), default="gaussian")
    parser.add_argument("--out", default=None, help="run folder (default runs/example-halfcheetah-<noise>)")
    args = parser.parse_args()
    return exit_status(lambda: run(args), program="halfcheetah.py")  # a bad setting is one line, not a traceback


def run(args) -> int:
    out = Path(args.out or f"runs/example-halfcheetah-{args.noise}")
    resume = (out / "checkpoint.npz").exists()
    noise = {"noise": "ou", "noise_scale": 0.2} if args.noise == "ou" else {"noise": "gaussian"}  # paper: sigma 0.2
    config = with_overrides(preset("halfcheetah"), {"steps": args.steps, "seed": args.seed, **noise})
    if resume:
        print(f"resuming {out} from its checkpoint")
    train(config, out, resume=resume)  # Ctrl-C saves, and exit_status says how to continue

    agent, config = load_agent(out)
    returns = evaluate(agent, make_env(config.env_id), episodes=10, run_seed=config.seed)
    print(f"evaluation: {returns.mean():.0f} ± {returns.std():.0f} over 10 noise-free episodes "
          f"(Spinning Up's PyTorch DDPG: about 4.3k at 100k steps, on HalfCheetah-v3)")
    print("learning curve:", plot_runs([out], out / "curve.png"))
    try:
        record_gif(agent, config.env_id, out / "halfcheetah.gif", config.seed)
        print("animation:", out / "halfcheetah.gif")
    except RenderError as error:
        print(f"no animation: {error}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
