"""Steps/s of the Pendulum quick start's training loop with 1 and 2 BLAS threads, interleaved in one process
so that a changing machine load affects both alike; optionally beside one CPU-bound process.

    python benchmarks/bench_threads.py [--hog] [--rounds 5] [--chunk 200]

Prints the load average with each round (the machine may be shared), then the median steps/s per setting.
"""

import argparse
import multiprocessing
import os
import statistics
import tempfile
import time

from threadpoolctl import threadpool_limits

from tinyddpg.run.config import preset, with_overrides
from tinyddpg.run.train import Run


def burn() -> None:
    while True:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hog", action="store_true", help="run beside one CPU-bound process")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--chunk", type=int, default=200, help="steps per measurement")
    parser.add_argument("--threads", default="1,2", help="thread counts to compare")
    args = parser.parse_args()
    counts = [int(t) for t in args.threads.split(",")]
    config = with_overrides(preset("pendulum"), {"steps": 10**9, "random_steps": 0, "update_after": 256})
    hog = multiprocessing.Process(target=burn, daemon=True) if args.hog else None
    with tempfile.TemporaryDirectory() as folder:
        run = Run(config, folder)
        run.open_folder(resume=False)
        while run.counters.step < 300:  # past update_after: every step updates from here on
            run.step()
        if hog:
            hog.start()
            time.sleep(1.0)
        rates = {t: [] for t in counts}
        for round_index in range(args.rounds):
            for t in counts:
                with threadpool_limits(t, user_api="blas"):
                    start = time.perf_counter()
                    for _ in range(args.chunk):
                        run.step()
                    rates[t].append(args.chunk / (time.perf_counter() - start))
            print(f"round {round_index + 1}: load {os.getloadavg()[0]:.2f}  " +
                  "  ".join(f"{t} thread(s) {rates[t][-1]:.1f} steps/s" for t in counts), flush=True)
        if hog:
            hog.terminate()
    condition = "beside one CPU-bound process" if hog else "no extra process"
    print(f"{condition}, {os.cpu_count()} cores: " +
          ", ".join(f"{t} thread(s) {statistics.median(rates[t]):.1f} steps/s" for t in counts))


if __name__ == "__main__":
    main()
