"""Sweeps: the cross product of settings times seeds, one run folder each, trained in parallel worker processes
(or as tasks on a Ray cluster), then a summary table and one plot.

    tinyddpg sweep --preset pendulum --seeds 0-4 --set buffer_size=1000,10000,100000 --set batch_size=64,256 --out DIR

    DIR/sweep.json                                      the spec; running the same command again resumes the sweep
    DIR/buffer_size=1000,batch_size=64/seed0/ ...       one run folder each, exactly as `tinyddpg train` writes it
    DIR/summary.csv                                     setting, seed, final, mean of the last k and best evaluation
                                                        return, steps/s (stats.py)
    DIR/summary_settings.csv                            per setting: mean and IQM over seeds with 95% bootstrap CIs
    DIR/curve.png                                       one curve per setting: mean over seeds, band = min to max

A `--set` with one value is a fixed override for every run (`--set steps=3000`). Values are separated by commas,
except for list-valued settings, whose values are separated by slashes (`--set hidden=64,64/256,256`).
Run again, a sweep skips finished runs (checkpoint step >= steps) and resumes unfinished ones from their
checkpoints; a folder with a config but no checkpoint yet starts over. Run again after it finished, a sweep
trains nothing and rewrites the summaries (with --last-k, for another k).
"""

from __future__ import annotations

import csv
import dataclasses
import itertools
import json
import math
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from multiprocessing import resource_tracker
from pathlib import Path

from ..errors import ConfigError, TinyDDPGError, option_value_text
from . import train as training
from .atomic import replaced_atomically
from .checkpoint import CHECKPOINT_FILE, read_checkpoint_meta
from .config import TrainConfig, did_you_mean, field_names, parse_value, preset, validate, with_overrides
from .envs import env_spec, make_env
from .plot import plot_runs
from .progress import counted
from .runlog import LOG_FILE, logged_steps_per_s, read_log
from .stats import LAST_K, SETTING_COLUMNS, last_k_column, run_scores, setting_summaries, settings_table
from .train import CONFIG_FILE, PLOT_FILE, StopFlag, TrainingInterrupted, train

SPEC_FILE = "sweep.json"
SUMMARY_FILE = "summary.csv"
SETTINGS_SUMMARY_FILE = "summary_settings.csv"
RAY_RETRIES = 3  # Ray re-runs a task whose worker or node died; the task then resumes from the run's checkpoint
# One BLAS thread per run: a sweep fills the cores with runs side by side, and a run's results then do not depend
# on --workers or Ray (OpenBLAS with 2 threads sums batch-256 products in another order than with 1, and on a busy
# machine its threads wait on each other: about 10x slower than 1 thread in our measurement).
BLAS_THREADS = 1
RAY_CLIENT_PORT = 10001  # Ray Client's default port
RAY_CLIENT_PROBE_S = 5.0


class SweepFailed(TinyDDPGError):
    """Some runs of a sweep failed; the others finished and are in the summary."""


@dataclass(frozen=True)
class SweepSpec:
    preset: str
    seeds: tuple[int, ...]
    settings: tuple[tuple[str, tuple], ...]  # (name, values) in command-line order; one value = a fixed override

    def to_json(self) -> str:
        settings = {name: list(values) for name, values in self.settings}
        return json.dumps({"preset": self.preset, "seeds": list(self.seeds), "settings": settings})


@dataclass(frozen=True)
class SweepRun:
    setting: str  # the swept values, e.g. "buffer_size=1000,batch_size=64"
    seed: int
    config: TrainConfig
    run_dir: Path


@dataclass(frozen=True)
class RunResult:
    setting: str
    seed: int
    action: str = ""  # "trained", "resumed" or "skipped" (already finished)
    steps: int = 0
    eval_returns: tuple[float, ...] = ()  # each evaluation's mean return in order; empty: none yet
    steps_per_s: float | None = None  # None: no log row measured it
    error: str = ""  # why the run failed; empty if it did not
    stopped: str = ""  # how a stop signal left it: "episode end", "mid-episode" or "not started"; empty if none did

    def scores(self, last_k: int = LAST_K) -> dict[str, float | None]:
        """The run's final, last-k mean and best evaluation return (stats.run_scores, as summary.csv has them)."""
        return run_scores(self.eval_returns, last_k)

    @property
    def final_eval_return(self) -> float | None:
        return self.scores()["final_eval_return"]

    @property
    def best_eval_return(self) -> float | None:
        return self.scores()["best_eval_return"]


# --- the spec: parsed and checked before any run starts ------------------------------------------------------
def parse_seeds(text: str) -> tuple[int, ...]:
    """Seeds from "0-4", "0,2,5" or "3" (parts may be mixed: "0-2,7")."""
    seeds: list[int] = []
    for part in text.split(","):
        first, dash, last = part.strip().partition("-")
        if not (first.isdigit() and (not dash or last.isdigit())):
            raise ConfigError(f"--seeds {text!r}: {part.strip()!r} is not a seed or a range; write e.g. 0-4, 0,2,5 or 3")
        low, high = int(first), int(last) if dash else int(first)
        if low > high:
            raise ConfigError(f"--seeds {text!r}: the range {part.strip()} is empty ({low} > {high}); write it as {high}-{low}")
        seeds.extend(range(low, high + 1))
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        raise ConfigError(f"--seeds {text!r} lists seed {repeated[0]} more than once")
    return tuple(seeds)


def parse_setting(text: str, base: TrainConfig) -> tuple[str, tuple]:
    """("batch_size", (64, 256)) from "batch_size=64,256"; list-valued settings separate values by "/"."""
    name, equals, values_text = text.partition("=")
    name = name.strip()
    if not equals or not name:
        raise ConfigError(f"--set {text!r}: expected NAME=VALUE[,VALUE...], e.g. --set batch_size=64,256")
    if name == "seed":
        raise ConfigError(f"--set {text!r}: choose seeds with --seeds (e.g. --seeds 0-4), not --set seed=...")
    if name not in field_names():
        raise ConfigError(f"--set {text!r}: unknown setting {name!r}{did_you_mean(name, field_names())}")
    separator = "/" if isinstance(_value(base, name), tuple) else ","
    parts = [part.strip() for part in values_text.split(separator)]
    if not values_text.strip():
        raise ConfigError(f"--set {text!r}: no values given; list one or more, e.g. --set "
                          f"{name}={option_value_text(_value(base, name))}")
    if "" in parts:
        raise ConfigError(f"--set {text!r}: an empty value between separators ({separator!r})")
    try:
        values = tuple(parse_value(name, part) for part in parts)
    except ConfigError as error:
        raise ConfigError(f"--set {text!r}: {error}") from None
    repeated = [v for v in values if values.count(v) > 1]
    if repeated:
        raise ConfigError(f"--set {text!r}: the value {option_value_text(repeated[0])} is listed more than once")
    return name, values


def make_spec(preset_name: str, seeds: str, settings: list[str], fixed: dict[str, object] | None = None) -> SweepSpec:
    """The sweep spec from command-line text, refusing unknown names, empty lists and malformed values. `fixed`
    holds the settings given as `train`-style flags (--steps 400): one value for every run, like --set steps=400."""
    base = preset(preset_name)
    parsed = [parse_setting(text, base) for text in settings]
    for name, value in (fixed or {}).items():
        if name in (n for n, _ in parsed):
            raise ConfigError(f"{name} is given both as --{name.replace('_', '-')} and as --set {name}=...; give it once")
        parsed.append((name, (value,)))
    names = [name for name, _ in parsed]
    repeated = [n for n in names if names.count(n) > 1]
    if repeated:
        raise ConfigError(f"--set {repeated[0]} is given more than once; list all its values in one --set")
    return SweepSpec(preset_name, parse_seeds(seeds), tuple(parsed))


def plan_runs(spec: SweepSpec, out_dir: Path) -> list[SweepRun]:
    """Every (setting, seed) run with its config, each config validated."""
    fixed = {name: values[0] for name, values in spec.settings if len(values) == 1}
    swept = [(name, values) for name, values in spec.settings if len(values) > 1]
    base = with_overrides(preset(spec.preset), fixed)
    runs = []
    for combination in itertools.product(*(values for _, values in swept)):
        overrides = dict(zip((name for name, _ in swept), combination))
        setting = ",".join(f"{name}={option_value_text(value)}" for name, value in overrides.items()) or spec.preset
        for seed in spec.seeds:
            config = with_overrides(base, {**overrides, "seed": seed})
            try:
                validate(config)
            except ConfigError as error:
                raise ConfigError(f"setting {setting}: {error}") from None
            runs.append(SweepRun(setting, seed, config, Path(out_dir) / setting.replace("/", "_") / f"seed{seed}"))
    for env_id in sorted({run.config.env_id for run in runs}):  # unknown ids or unusable spaces, before any run
        env = make_env(env_id)
        env_spec(env)
        env.close()
    return runs


def claim_folder(spec: SweepSpec, out_dir: Path) -> None:
    """Write the spec to out_dir/sweep.json, or check that the sweep already there is the same one."""
    out_dir, text = Path(out_dir), spec.to_json()
    spec_path = out_dir / SPEC_FILE
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"--out {out_dir} is a file, not a folder; give a folder for the sweep (a new one, or the "
                          f"folder of the sweep to resume), e.g. --out sweeps/batch")
    if spec_path.exists():
        if json.dumps(json.loads(spec_path.read_text())) != text:  # the order of the --set options counts too
            raise ConfigError(f"{out_dir} holds a different sweep (see {spec_path}); run it with the same --preset, "
                              f"--seeds and --set options to resume it, or choose another --out")
        return
    if out_dir.exists() and any(out_dir.iterdir()):
        raise ConfigError(f"{out_dir} is not empty and holds no {SPEC_FILE}; choose another --out for the sweep")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        spec_path.write_text(text + "\n")
    except OSError as error:
        raise ConfigError(f"cannot write the sweep folder {out_dir} ({error.strerror or error}); choose a folder you "
                          f"can write with --out, e.g. --out sweeps/batch") from None


def _value(config: TrainConfig, name: str):
    return getattr(config.agent, name) if field_names()[name] == "agent" else getattr(config, name)


# --- one run, in a worker process or a Ray task ---------------------------------------------------------------
def run_one(run: SweepRun, threads: int = BLAS_THREADS) -> RunResult:
    """Skip, resume or start the run with `threads` BLAS threads; never raises (a failure comes back as
    RunResult.error)."""
    try:
        step = _checkpoint_step(run) if (run.run_dir / CHECKPOINT_FILE).exists() else None
        if step is not None and step >= run.config.steps:
            return summarize(run, "skipped", step)
        if training.STOP_FROM_PARENT is not None and training.STOP_FROM_PARENT.requested:
            return RunResult(run.setting, run.seed, steps=step or 0, stopped="not started")
        # never checkpointed: start over (train rewrites config.json and progress.csv); else resume
        counters = train(run.config, run.run_dir, resume=step is not None, show_progress=False, threads=threads,
                         announce=False)  # and curve.png
        return summarize(run, "trained" if step is None else "resumed", counters.step)
    except TrainingInterrupted as stop:  # Ctrl-C: the checkpoint is saved
        return RunResult(run.setting, run.seed, steps=stop.step,
                         stopped="mid-episode" if stop.mid_episode else "episode end")
    except Exception as error:
        if not isinstance(error, TinyDDPGError):
            traceback.print_exc()
        return RunResult(run.setting, run.seed, error=f"{type(error).__name__}: {error}")


def _checkpoint_step(run: SweepRun) -> int:
    meta = read_checkpoint_meta(run.run_dir / CHECKPOINT_FILE)
    saved = TrainConfig.from_json(meta["config"])
    if dataclasses.replace(saved, steps=run.config.steps) != run.config:
        raise ConfigError(f"{run.run_dir} holds a run with other settings than this sweep gives it "
                          f"(compare its {CONFIG_FILE}); move it away to start the run over")
    return int(meta["counters"]["step"])


def summarize(run: SweepRun, action: str, steps: int) -> RunResult:
    """The evaluation returns and the training speed (logged steps / their training time) from the log."""
    rows = read_log(run.run_dir / LOG_FILE)
    returns = tuple(float(r["eval_return_mean"]) for r in rows if r["eval_return_mean"])
    speed = logged_steps_per_s(rows)
    return RunResult(run.setting, run.seed, action, steps=steps, eval_returns=returns,
                     steps_per_s=round(speed, 1) if math.isfinite(speed) else None)


STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


class SweepStop(StopFlag):
    """The stop signals the sweep process received, in memory it shares with its workers: their training loops
    read it as their own (train.STOP_FROM_PARENT)."""

    def __init__(self, context):
        self.context, self.received = context, []  # the workers' (spawn); signals noted by the handler
        self.shared_count, self.first_signal = context.RawValue("i", 0), context.RawValue("i", 0)

    def __getstate__(self):  # to a worker: the shared values, not the context
        return {"shared_count": self.shared_count, "first_signal": self.first_signal, "received": []}

    @property
    def count(self) -> int:
        return self.shared_count.value

    @property
    def signal(self) -> int | None:
        return self.first_signal.value or None

    def add(self, signal_number: int) -> None:
        """Count a stop signal (in the sweep process) and say what it does."""
        self.shared_count.value += 1
        if self.count == 1:
            self.first_signal.value = signal_number
        name = signal.Signals(signal_number).name
        note = (f"{name}: each running run finishes its episode and saves; no new run starts (a second {name} stops "
                f"them after the current step)" if self.count == 1 else f"{name} again: the runs stop after the "
                                                                         f"current step and save")
        print(f"\n{note}", file=sys.stderr)

    @contextmanager
    def signals_held(self):
        """While inside, SIGINT and SIGTERM are counted by take_signals(), between waits, instead of raising
        KeyboardInterrupt wherever the sweep process happens to be (inside the pool's machinery, a lock held: the
        hang of issue 25). They are blocked in this thread, so the worker processes it starts are born with them
        blocked; a thread of a library (BLAS) may still receive one, and this handler notes it."""
        if threading.current_thread() is not threading.main_thread():  # signals are the main thread's to handle
            yield self
            return
        received = self.received = []
        previous = {s: signal.signal(s, lambda number, frame: received.append(number)) for s in STOP_SIGNALS}
        resource_tracker.ensure_running()  # started later, it would unblock them (it blocks them around its start)
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            yield self
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)  # one still pending comes to the handler now
            for stop_signal, handler in previous.items():
                signal.signal(stop_signal, handler)
            self.take_signals()

    def take_signals(self) -> None:
        """Count the stop signals that arrived since the last look: pending in this thread, or noted by the
        handler."""
        while (info := signal.sigtimedwait(STOP_SIGNALS, 0)) is not None:
            self.add(info.si_signo)
        while self.received:
            self.add(self.received.pop(0))


def _init_worker(threads: int, stop: SweepStop) -> None:
    """Runs in each new local worker, born with SIGINT and SIGTERM blocked: it ignores them from then on (a
    terminal's Ctrl-C reaches every process of the sweep, but only the sweep process counts it) and reads the
    stop from the sweep process instead; BLAS libraries loaded later get the same thread limit as those already
    loaded (limited by train)."""
    for stop_signal in STOP_SIGNALS:
        signal.signal(stop_signal, signal.SIG_IGN)  # one that came while blocked is dropped here
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    training.STOP_FROM_PARENT = stop
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(threads)


# --- executing the runs ---------------------------------------------------------------------------------------
Report = Callable[[SweepRun, RunResult], None]


def run_local(runs: list[SweepRun], workers: int, threads: int, report: Report, stop: SweepStop) -> None:
    """Runs in `workers` spawned processes, each run with `threads` BLAS threads, inside stop.signals_held(). Only
    as many runs are handed out as there are workers, so that after a stop no queued run starts: the loop looks
    for stop signals between waits, counts them in the memory it shares with the workers (whose training loops
    then save and stop), and waits for every running run to return."""
    with ProcessPoolExecutor(workers, mp_context=stop.context, initializer=_init_worker,
                             initargs=(threads, stop)) as pool:
        waiting, running = iter(runs), {}

        def hand_out() -> None:
            for run in itertools.islice(waiting, 0 if stop.requested else workers - len(running)):
                running[pool.submit(run_one, run, threads)] = run

        hand_out()
        while running:
            for future in wait(running, timeout=STOP_POLL_S, return_when=FIRST_COMPLETED).done:
                run = running.pop(future)
                report(run, _result(run, future))
            stop.take_signals()
            hand_out()
        for run in waiting:  # left in the queue by a stop
            report(run, RunResult(run.setting, run.seed, stopped="not started"))


STOP_POLL_S = 0.2  # how often the sweep process looks for a stop signal while it waits for its runs


def _result(run: SweepRun, future) -> RunResult:
    """The run's result; a worker that died (its result lost) as a failed run."""
    try:
        return future.result()
    except Exception as error:
        return RunResult(run.setting, run.seed, error=f"{type(error).__name__}: {error}")


def connect_ray(address: str) -> None:
    """Join the Ray cluster at address ("auto", "ray://host:10001", or "local" for a new one on this machine),
    or ConfigError in one line saying what to do; a Ray already initialized in this process is used as it is.
    A Ray Client address is first probed for RAY_CLIENT_PROBE_S (Ray's own client retries for half a minute)."""
    try:
        import ray
    except ImportError:
        raise ConfigError("--ray needs Ray: pip install 'tinyddpg[ray]'") from None
    if ray.is_initialized():
        return
    fix = ("check the address, start the cluster (ray start --head, on its head node), or run without --ray on "
           "local workers")
    if address.startswith("ray://"):
        host, _, port = address.removeprefix("ray://").partition(":")
        try:
            socket.create_connection((host, int(port or RAY_CLIENT_PORT)), timeout=RAY_CLIENT_PROBE_S).close()
        except (OSError, ValueError) as error:
            raise ConfigError(f"--ray {address}: no Ray cluster answers there within {RAY_CLIENT_PROBE_S:g} s "
                              f"({type(error).__name__}: {error}); {fix}") from None
    try:
        ray.init(address=address)
    except (ConnectionError, RuntimeError, ValueError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ConfigError(f"--ray {address}: could not join a Ray cluster ({reason}); {fix}") from None


def run_ray(runs: list[SweepRun], threads: int, report: Report) -> None:
    """Runs as Ray tasks (one CPU each, `threads` BLAS threads) on the cluster connect_ray joined."""
    import ray

    task = ray.remote(num_cpus=1, max_retries=RAY_RETRIES)(run_one)
    pending = {task.remote(run, threads): run for run in runs}
    try:
        while pending:
            [ready], _ = ray.wait(list(pending), num_returns=1)
            run = pending.pop(ready)
            try:
                result = ray.get(ready)
            except ray.exceptions.RayError as error:  # retries spent, or the task was cancelled
                result = RunResult(run.setting, run.seed, error=f"{type(error).__name__}: {error}")
            report(run, result)
    except KeyboardInterrupt:
        for ref in pending:
            ray.cancel(ref)
        raise


def run_sweep(spec: SweepSpec, out_dir: Path, workers: int | None = None, ray_address: str | None = None,
              threads: int = BLAS_THREADS, quiet: bool = False, last_k: int = LAST_K,
              again: str | None = None) -> list[RunResult]:
    """Run (or resume) every run of the sweep, each with `threads` BLAS threads, then write DIR/summary.csv,
    DIR/summary_settings.csv (each run scored also by the mean of its last `last_k` evaluations) and
    DIR/curve.png.

    Progress goes to stderr (with quiet, only the start, the failures and the end), the per-setting table to
    stdout; raises SweepFailed (after writing the summary) if some runs failed, and TrainingInterrupted when a
    stop signal stopped it (each running run saved; `again`, the command that continues it, is named)."""
    out_dir = Path(out_dir).absolute()  # Ray workers do not share this process's working directory
    if workers is not None and (workers < 1 or ray_address):
        raise ConfigError(f"--workers {workers}: must be >= 1" if workers < 1 else
                          "--workers is for local runs; on Ray the cluster's CPUs decide how many run at once")
    runs = plan_runs(spec, out_dir)
    if ray_address:
        connect_ray(ray_address)
    claim_folder(spec, out_dir)
    workers = min(workers or os.cpu_count() or 1, len(runs))
    where = f"on Ray ({ray_address})" if ray_address else f"in {counted(workers, 'local worker process')}"
    settings = counted(len(runs) // len(spec.seeds), "setting")
    start, results = time.perf_counter(), {}

    def report(run: SweepRun, result: RunResult) -> None:
        results[run.run_dir] = result
        if result.error:
            outcome = f"FAILED: {result.error}"
        elif result.stopped:
            outcome = STOPPED_TEXT[result.stopped].format(step=result.steps)
        else:
            returns = ("no evaluation yet" if result.final_eval_return is None else
                       f"final {result.final_eval_return:.1f}, best {result.best_eval_return:.1f}")
            speed = "" if result.steps_per_s is None else f", {result.steps_per_s:,.0f} steps/s"
            outcome = f"{result.action}, {returns}{speed}"
        if not quiet or result.error or result.stopped:
            print(f"[{len(results)}/{len(runs)} {_clock(time.perf_counter() - start)}] "
                  f"{run.run_dir.relative_to(out_dir)}: {outcome}", file=sys.stderr)

    stop = SweepStop(multiprocessing.get_context("spawn"))
    with nullcontext() if ray_address else stop.signals_held():  # from the start line on, a stop is counted
        print(f"sweep: {counted(len(runs), 'run')} ({settings} x {counted(len(spec.seeds), 'seed')}) {where} "
              f"-> {out_dir}", file=sys.stderr)
        try:
            if ray_address:
                run_ray(runs, threads, report)
            else:
                run_local(runs, workers, threads, report, stop)
        except KeyboardInterrupt:  # on Ray
            finished = sum(1 for r in results.values() if not r.error)
            print(f"sweep interrupted: {finished} of {len(runs)} runs finished; run the same command again to "
                  f"resume (finished runs are skipped, the others continue from their checkpoints)", file=sys.stderr)
            raise
    if stop.signal is not None:
        raise TrainingInterrupted(stopped_text(stop.signal, list(results.values()), len(runs), out_dir, again),
                                  stop.signal)
    ordered = [results[run.run_dir] for run in runs]
    settings = write_summary(out_dir, [r for r in ordered if not r.error], last_k)
    if settings:
        print(settings_table(settings))
    if any(not r.error for r in ordered):
        plot_runs([out_dir], out_dir / PLOT_FILE, title=f"sweep {out_dir.name}: mean over seeds, band = min to max")
    print(f"sweep done in {_clock(time.perf_counter() - start)}: summary {out_dir / SUMMARY_FILE} and "
          f"{out_dir / SETTINGS_SUMMARY_FILE}, curves {out_dir / PLOT_FILE}", file=sys.stderr)
    failed = [(run, r) for run, r in zip(runs, ordered) if r.error]
    if failed:
        names = ", ".join(str(run.run_dir.relative_to(out_dir)) for run, _ in failed)
        raise SweepFailed(f"{len(failed)} of {len(runs)} runs failed ({names}; why is shown above); fix the cause and "
                          f"run the same command again: finished runs are skipped, the others resume or start over")
    return ordered


STOPPED_TEXT = {"episode end": "stopped at step {step:,}, saved at an episode end",
                "mid-episode": "stopped at step {step:,}, saved mid-episode (its resume starts that episode over)",
                "not started": "not started"}


def stopped_text(signal_number: int, results: list[RunResult], total: int, out_dir: Path, again: str | None) -> str:
    """What a stop signal left: how many runs finished, saved, did not start or failed, and how to continue."""
    finished = sum(1 for r in results if not (r.error or r.stopped))
    counts = [(sum(1 for r in results if r.stopped == how), text) for how, text in (
        ("episode end", "saved at an episode end"), ("mid-episode", "saved mid-episode"),
        ("not started", "not started"))] + [(sum(1 for r in results if r.error), "failed (why is shown above)")]
    parts = "".join(f", {n} {text}" for n, text in counts if n)
    how = f"the same command: {again}" if again else f"the same call: run_sweep(spec, {str(out_dir)!r})"
    return (f"sweep stopped by {signal.Signals(signal_number).name}: {finished} of {total} runs finished{parts}; "
            f"continue it with {how}")


def write_summary(out_dir: Path, results: list[RunResult], last_k: int) -> list[dict[str, object]]:
    """DIR/summary.csv, one row per run, and DIR/summary_settings.csv, one row per setting and score (final,
    mean of the last k) with the statistics across seeds; returns the latter's rows."""
    scores = [r.scores(last_k) for r in results]
    runs = [{"setting": r.setting, "seed": r.seed, "steps": r.steps, "evaluations": len(r.eval_returns), **s,
             "steps_per_s": r.steps_per_s} for r, s in zip(results, scores)]
    columns = ("setting", "seed", "steps", "evaluations", "final_eval_return", last_k_column(last_k),
               "best_eval_return", "steps_per_s")
    _write_csv(out_dir / SUMMARY_FILE, columns, runs)
    settings = [summary.row() for summary in setting_summaries([(r.setting, s) for r, s in zip(results, scores)], last_k)]
    _write_csv(out_dir / SETTINGS_SUMMARY_FILE, SETTING_COLUMNS, settings)
    return settings


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[dict[str, object]]) -> None:
    """Written atomically: a crash leaves the previous file or the new one, never half."""
    with replaced_atomically(path, newline="") as file:
        writer = csv.writer(file)
        writer.writerow(columns)
        writer.writerows([_cell(row[column]) for column in columns] for row in rows)


def _cell(value) -> object:
    return "" if value is None else value  # an empty cell: not measured (as in progress.csv)


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}m{seconds:02d}s"
