"""How many BLAS threads a run uses: as many as the cores that are free when it starts, and on a resume the
count the run used before.

On a 2-core machine a second BLAS thread makes the Pendulum loop about 1.5x faster when the machine is idle,
but 2x to 10x slower when another process competes for the cores (OpenBLAS's threads then wait on each other;
measured in benchmarks/bench_threads.py, table in docs/speed.md), so neither fixed count is right for both.
The count also changes the rounding of the matrix products, so it is part of what makes a run reproducible:
it is saved in the checkpoint and reused by --resume, and --threads N fixes it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..errors import setting_text
from . import checkpoint as ckpt
from .progress import counted


def free_core_threads() -> tuple[int, str]:
    """One thread per core not busy with other work, at least 1; and why. Busy is the larger of the 1-minute
    load average and the processes running right now: the average lags a competitor that just started by a
    minute (measured: a CPU-bound process started 2 s before the quick start left the average at 0.0, and two
    threads then took 116 s instead of one thread's 65 s)."""
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average (Windows): one thread never collapses
        return 1, "one, as the load is unknown here"
    others = others_running_now()
    busy = max(load, others)
    return max(1, min(cores, round(cores - busy))), (f"load {load:.1f}, {counted(others, 'other process')} running, "
                                                   f"on {counted(cores, 'core')}")


def others_running_now(samples: int = 5, interval_s: float = 0.02) -> int:
    """Processes other than this one on a CPU now (Linux's /proc/stat procs_running, the least of a few samples,
    so a short burst does not count); 0 where there is no /proc."""
    counts = []
    for _ in range(samples):
        try:
            text = Path("/proc/stat").read_text()
        except OSError:
            return 0
        counts.append(next((int(line.split()[1]) for line in text.splitlines() if line.startswith("procs_running ")), 1))
        time.sleep(interval_s)
    return max(0, min(counts) - 1)  # this process is one of them


def saved_threads(run_dir: Path) -> int | None:
    """The BLAS thread count the run in run_dir trained with (None for a checkpoint that did not record it)."""
    return ckpt.read_checkpoint_meta(Path(run_dir) / ckpt.CHECKPOINT_FILE).get("blas_threads")


def blas_threads() -> int | None:
    """The thread count of this process's BLAS (the first one loaded), None if there is none."""
    from threadpoolctl import threadpool_info

    counts = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    return counts[0] if counts else None


def choose_threads(requested: int | None, run_dir: Path, resume: bool) -> tuple[int, str]:
    """--threads if given, else the resumed run's own count, else one per free core; and why."""
    saved = saved_threads(run_dir) if resume else None
    if requested is not None:
        if saved is not None and saved != requested:
            return requested, (f"--threads; the run used {saved} before, so from here on it rounds differently "
                               f"from an uninterrupted run{more_than_the_cores(requested)}")
        return requested, f"--threads{more_than_the_cores(requested)}"
    if saved is not None:
        return saved, f"the run's own, from its checkpoint, so the resume is exact{more_than_the_cores(saved)}"
    return free_core_threads()


def more_than_the_cores(threads: int) -> str:
    """What a thread count above the cores costs (accepted: an exact resume of a run trained on a larger machine
    needs its count); "" when it fits."""
    cores = os.cpu_count() or 1
    if threads <= cores:
        return ""
    return (f"; WARNING: {threads} threads on {cores} cores, the extra ones wait for a core and slow every update, "
            f"up to 300x beside other work; {setting_text('threads', cores)} or fewer is faster")
