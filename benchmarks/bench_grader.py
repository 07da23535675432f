"""What a process per part costs the grader: a fresh interpreter that loads the grader, against one part graded in a
fork of the zygote (a stub part: the process, the plant and one failed check, nothing more); and the whole grade of
the solution copy, 15 parts without training.

    python benchmarks/bench_grader.py [--rounds 20]

Prints the load average first (the machine may be shared), then the medians in milliseconds.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tinyddpg.coursework.assignment import choose_parts, new_assignment
from tinyddpg.coursework.grade import grade
from tinyddpg.coursework.zygote import Zygote, child_environment


def milliseconds(run, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    print(f"load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as scratch:
        stubs, solution = Path(scratch) / "stubs", Path(scratch) / "solution"
        new_assignment(stubs, ["relu_backward"])
        new_assignment(solution, choose_parts("all", td3=True), solution=True)
        fresh = milliseconds(lambda: subprocess.run([sys.executable, "-c", "import tinyddpg.coursework.run_part"],
                                                    env=child_environment(), check=True), max(3, rounds // 4))
        zygote = Zygote(Path(scratch))
        zygote.grade(stubs, "relu_backward", 20.0, 30.0)  # the zygote's own start, once
        forked = milliseconds(lambda: zygote.grade(stubs, "relu_backward", 20.0, 30.0), rounds)
        zygote.close()
        whole = milliseconds(lambda: grade(solution, training=False), 3)
    print(f"a fresh interpreter loading the grader: {fresh:.0f} ms; a stub part graded in a fork: {forked:.1f} ms; "
          f"the solution's 15 parts: {whole:.0f} ms")


if __name__ == "__main__":
    main()
