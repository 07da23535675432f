"""Environment steps per second of a whole DDPG training loop: tinyddpg against a plain PyTorch loop.

Usage (from the repository root):

    python benchmarks/bench_loop.py [--preset pendulum|halfcheetah|both] [--learning-steps N] [--repeats R]
                                    [--threads T] [--json PATH]

Each measurement runs in a fresh process with T threads for BLAS and for torch (set before either is
imported), and the two engines alternate (tinyddpg, torch, torch, tinyddpg, ...), so neither shares a process,
a thread pool or a noisy minute with the other. A run takes W = 1,000 uniform random steps (not timed), then
N learning steps, each an environment step plus one update; the figure is N / (time of those N steps).

  tinyddpg   its real training loop, `tinyddpg.run.train.Run.train`, with evaluation and checkpoints pushed past
             the end; the time is read from the loop's own log (the steps_per_s of the rows after step W).
  torch      the same loop written plainly in PyTorch: a NumPy ring buffer, `torch.as_tensor` batches, the
             actor under no_grad for acting, and the textbook update of tests/torch_reference.py (the one the
             parity tests prove equal to tinyddpg's), from the same initial weights.
Both use the preset's batch size and networks: pendulum 400-300 / batch 256, halfcheetah 256-256 / batch 100.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
WARMUP_STEPS = 1_000  # a multiple of both presets' episode lengths (200 and 1,000), so a log row falls on it


def tinyddpg_steps_per_s(preset_name: str, learning_steps: int) -> float:
    sys.path.insert(0, str(REPO_ROOT))
    from tinyddpg.run.config import preset, with_overrides
    from tinyddpg.run.runlog import logged_steps_per_s, read_log
    from tinyddpg.run.train import Run

    total = WARMUP_STEPS + learning_steps
    config = with_overrides(preset(preset_name), {
        "steps": total, "random_steps": WARMUP_STEPS, "update_after": WARMUP_STEPS, "eval_every": total + 1,
        "checkpoint_every": total + 1, "save_buffer": False})
    with tempfile.TemporaryDirectory() as out:
        Run(config, Path(out)).train(show_progress=False)
        return logged_steps_per_s(read_log(Path(out) / "progress.csv"), after_step=WARMUP_STEPS)


def torch_steps_per_s(preset_name: str, learning_steps: int) -> float:
    sys.path.insert(0, str(REPO_ROOT))
    sys.path.insert(0, str(REPO_ROOT / "tests"))
    import numpy as np
    import torch
    from torch_reference import reference_for

    from tinyddpg.agent import DDPG
    from tinyddpg.run.config import preset
    from tinyddpg.run.envs import env_spec, make_env

    config = preset(preset_name)
    env = make_env(config.env_id)
    spec = env_spec(env)
    peer = reference_for(DDPG(spec.obs_dim, spec.action_dim, spec.low, spec.high, config.agent), torch.float32)
    rng = np.random.default_rng(0)
    capacity, size = config.buffer_size, 0
    obs_buf = np.zeros((capacity, spec.obs_dim), np.float32)
    next_obs_buf = np.zeros((capacity, spec.obs_dim), np.float32)
    action_buf = np.zeros((capacity, spec.action_dim), np.float32)
    reward_buf, done_buf = np.zeros(capacity, np.float32), np.zeros(capacity, np.float32)
    noise_std = config.agent.noise_scale * (spec.high - spec.low) / 2
    obs, _ = env.reset(seed=0)
    start = 0.0
    for step in range(WARMUP_STEPS + learning_steps):
        if step == WARMUP_STEPS:
            start = time.perf_counter()
        if step < WARMUP_STEPS:
            action = rng.uniform(spec.low, spec.high)
        else:
            with torch.no_grad():
                action = peer.actor(torch.as_tensor(obs, dtype=torch.float32)[None])[0].numpy()
            action = np.clip(action + noise_std * rng.standard_normal(spec.action_dim), spec.low, spec.high)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        i = step % capacity
        obs_buf[i], action_buf[i], reward_buf[i], next_obs_buf[i], done_buf[i] = obs, action, reward, next_obs, terminated
        size = min(size + 1, capacity)
        if step >= WARMUP_STEPS:
            idx = rng.integers(0, size, config.agent.batch_size)
            peer.update(*(torch.as_tensor(a[idx]) for a in (obs_buf, action_buf, reward_buf, next_obs_buf, done_buf)))
        obs = env.reset()[0] if terminated or truncated else next_obs
    return learning_steps / (time.perf_counter() - start)


def measure_in_fresh_process(engine: str, preset_name: str, learning_steps: int, threads: int) -> float:
    env = {**os.environ, **{v: str(threads) for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}}
    result = subprocess.run([sys.executable, __file__, "--worker", engine, "--preset", preset_name,
                             "--learning-steps", str(learning_steps), "--threads", str(threads)],
                            capture_output=True, text=True, env=env, check=True)
    return float(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=("pendulum", "halfcheetah", "both"), default="both")
    parser.add_argument("--learning-steps", type=int, default=2_000, help="timed steps per run (default 2,000)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per engine and preset (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS and torch threads (default 1)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--worker", choices=("tinyddpg", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        import torch

        torch.set_num_threads(args.threads)
        measure = tinyddpg_steps_per_s if args.worker == "tinyddpg" else torch_steps_per_s
        print(measure(args.preset, args.learning_steps))
        return 0

    presets = ("pendulum", "halfcheetah") if args.preset == "both" else (args.preset,)
    print(f"training loop, {args.learning_steps:,} timed steps after {WARMUP_STEPS:,} random ones; "
          f"{args.threads} thread(s) for BLAS and torch; {args.repeats} alternating runs per engine, each its own process")
    results = {}
    for preset_name in presets:
        rates = {"tinyddpg": [], "torch": []}
        for repeat in range(args.repeats):
            order = ("tinyddpg", "torch") if repeat % 2 == 0 else ("torch", "tinyddpg")
            for engine in order:
                rates[engine].append(measure_in_fresh_process(engine, preset_name, args.learning_steps, args.threads))
                print(f"  {preset_name} run {repeat + 1} {engine}: {rates[engine][-1]:.1f} steps/s", flush=True)
        ratios = [a / b for a, b in zip(rates["tinyddpg"], rates["torch"])]
        results[preset_name] = {**rates, "ratio": ratios}
        print(f"{preset_name:<12} tinyddpg {statistics.median(rates['tinyddpg']):7.1f} steps/s "
              f"({min(rates['tinyddpg']):.1f}-{max(rates['tinyddpg']):.1f})   torch "
              f"{statistics.median(rates['torch']):7.1f} ({min(rates['torch']):.1f}-{max(rates['torch']):.1f})   "
              f"tinyddpg/torch {statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})")
    if args.json:
        Path(args.json).write_text(json.dumps({"threads": args.threads, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
