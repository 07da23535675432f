"""What each pass cut of issue 26 saved: Adam's step and ReLU's forward of this tree against those of another
commit (default 6a0a208, before the cuts), interleaved in one process, one BLAS thread, float32, with the page
faults each call causes (a freed big temporary is given back to the OS and faulted in again, zeroed, next time).

Usage (from the repository root):

    python benchmarks/bench_passes.py [--before REV] [--repeats N]

Shapes: Adam over a flat array of 122,601 parameters (the 400-300 critic of Pendulum, obs 3 + action 1), ReLU on
a (256, 400) batch. Reported: median (min-max) over the repeats of each block's median, microseconds per call,
the paired ratio after/before, and the minor page faults per call; then the page faults of one whole update of
each engine at both shapes. The machine's load is printed beside them.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
from pathlib import Path

import numpy as np
import threadpoolctl

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_update's timing and engine_at
import bench_update as bench  # puts this working tree first on the path

from tinyddpg import nn, optim
from tinyddpg.backend import get_backend

PARAMETERS = 122_601
RELU_SHAPE = (256, 400)


def faults_per_call(fn, calls: int = 50) -> float:
    start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        fn()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start) / calls


def adam_step(module, backend):
    rng = np.random.default_rng(0)
    params = [backend.to_device(rng.standard_normal(PARAMETERS))]
    grads = [backend.to_device(rng.standard_normal(PARAMETERS))]
    return module.Adam(params, grads, backend, lr=1e-4).step


def relu_forward_backward(module, backend):
    relu = module.ReLU(backend)
    x = backend.to_device(np.random.default_rng(1).standard_normal(RELU_SHAPE))

    def run():
        relu.backward(relu.forward(x))

    return run


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="6a0a208", help="the commit to compare with (default 6a0a208)")
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args(argv)
    threadpoolctl.threadpool_limits(limits=1, user_api="blas")
    with tempfile.TemporaryDirectory() as before_dir:
        bench.engine_at(args.before, Path(before_dir))
        old_nn, old_optim = sys.modules["tinyddpg_before.nn"], sys.modules["tinyddpg_before.optim"]
        old_backend = sys.modules["tinyddpg_before.backend"].get_backend("numpy", dtype="float32")
        backend = get_backend("numpy", dtype="float32")
        print(f"before: {args.before}, after: this tree; numpy {np.__version__}, 1 BLAS thread, float32; "
              f"load (1 min) {os.getloadavg()[0]:.2f}")
        print(f"{'what':<34} {'before us':>22} {'after us':>22} {'after/before':>18} {'faults/call b, a':>18}")
        for what, make in ((f"Adam step, {PARAMETERS:,} parameters", adam_step),
                           (f"ReLU forward + backward {RELU_SHAPE}", relu_forward_backward)):
            before = make(old_optim if make is adam_step else old_nn, old_backend)
            after = make(optim if make is adam_step else nn, backend)
            t = bench.interleaved({"before": before, "after": after}, args.repeats, 50, 20, lambda: None)
            b, a = bench.Stat.of(t["before"], 1e6, "us"), bench.Stat.of(t["after"], 1e6, "us")
            ratio = bench.paired_ratio(t["after"], t["before"])
            faults = f"{faults_per_call(before):.0f}, {faults_per_call(after):.0f}"
            print(f"{what:<34} {b.text(1):>22} {a.text(1):>22} {ratio.text():>18} {faults:>18}")
        print("whole update (DDPG.update), minor page faults per update, before -> after:")
        for shape in bench.SHAPES:
            batch = bench.filled_buffer(10_000, shape, backend, chunk=10_000).sample(shape.batch)
            agents = {"before": bench.make_agent(shape, backend, engine=sys.modules["tinyddpg_before.agent"]),
                      "after": bench.make_agent(shape, backend)}
            faults = {}
            for name, agent in agents.items():
                faults_per_call(lambda agent=agent, batch=batch: agent.update(batch), 10)  # warm up
                faults[name] = faults_per_call(lambda agent=agent, batch=batch: agent.update(batch))
            print(f"  {shape.name}: {faults['before']:.1f} -> {faults['after']:.1f}")
        print(f"load (1 min) at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
