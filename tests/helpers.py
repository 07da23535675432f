"""Small shared helpers for the tests."""

import contextlib
import io
import os
import subprocess
import sys
import traceback
import warnings

import numpy as np

from tinyddpg.backend import make_rng
from tinyddpg.run.config import preset, with_overrides
from tinyddpg.run.runlog import WALL_CLOCK_COLUMNS

FAST = {"hidden": (32, 32), "batch_size": 32, "random_steps": 100, "update_after": 50, "eval_every": 200,
        "eval_episodes": 2, "buffer_size": 10_000, "checkpoint_every": 200}


def fast_config(**overrides):
    """The pendulum preset shrunk to run in seconds, with overrides."""
    return with_overrides(preset("pendulum"), {**FAST, **overrides})


def run_tinyddpg(*args, timeout=300, **kwargs):
    """`python -m tinyddpg ARGS` in a subprocess, as a user would run it."""
    return subprocess.run([sys.executable, "-m", "tinyddpg", *args], capture_output=True, text=True, timeout=timeout,
                          **kwargs)


# A fresh interpreter's warning filters (Python's documented defaults): DeprecationWarning shown only for __main__
PROCESS_WARNING_FILTERS = [("default", DeprecationWarning, "__main__"), ("ignore", DeprecationWarning, ""),
                           ("ignore", PendingDeprecationWarning, ""), ("ignore", ImportWarning, ""),
                           ("ignore", ResourceWarning, "")]


def run_cli(*args, cwd=None, env=None):
    """`tinyddpg ARGS` as run_tinyddpg gives it (returncode, stdout, stderr), but by calling main() in this
    process: no interpreter start and no imports, so a refusal costs milliseconds instead of a second or two.
    For what a subprocess is not about; keep run_tinyddpg for signals, a real process, the console script and
    anything that must start clean (a user's own modules, import-time state). Like a fresh process: cwd and env
    apply only to the call, warnings are printed to stderr under the interpreter's default filters, an exception
    that escapes main() is a traceback on stderr with status 1, and the BLAS thread count is restored after."""
    from threadpoolctl import threadpool_limits

    from tinyddpg.run.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    saved_environ, saved_cwd, saved_path = dict(os.environ), os.getcwd(), list(sys.path)
    try:
        if env is not None:
            os.environ.clear()
            os.environ.update(env)
        if cwd is not None:
            os.chdir(cwd)
        with (threadpool_limits(limits=None), warnings.catch_warnings(), contextlib.redirect_stdout(stdout),
              contextlib.redirect_stderr(stderr)):
            warnings.resetwarnings()
            for action, category, module in reversed(PROCESS_WARNING_FILTERS):
                warnings.filterwarnings(action, category=category, module=module)
            warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: sys.stderr.write(
                warnings.formatwarning(message, category, filename, lineno, line))
            try:
                returncode = main(list(args))
            except SystemExit as stop:  # argparse's refusals and --help
                returncode = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
                if stop.code is not None and not isinstance(stop.code, int):
                    print(stop.code, file=sys.stderr)
            except Exception:  # what a subprocess would show: a traceback and status 1
                traceback.print_exc()
                returncode = 1
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_environ)
        sys.path[:] = saved_path
    return subprocess.CompletedProcess(["tinyddpg", *args], returncode, stdout.getvalue(), stderr.getvalue())


def without_wall_clock(rows):
    """Log or summary rows without the columns that differ between identical runs."""
    return [{k: v for k, v in row.items() if k not in WALL_CLOCK_COLUMNS} for row in rows]


def normal_input(backend, shape, seed=0, away_from_zero=0.0):
    """A random normal input on the backend; `away_from_zero` keeps entries off ReLU's kink."""
    x = make_rng(seed).normal(size=shape)
    return backend.to_device(np.sign(x) * (away_from_zero + np.abs(x)))
