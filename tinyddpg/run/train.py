"""The training loop: collect with exploration, update once per step, evaluate with noise off, log, checkpoint.

    Run.train: lock the run folder, restore the checkpoint or write config.json, then Run.loop:
    for step in 1 .. steps:
        a = uniform random while step <= random_steps,                  Run.choose_action
            else clip(mu(s) + noise)
        s', r, terminated, truncated = env.step(a)                      Run.step
        buffer <- (s, a, r, s', terminated)     truncated is *not* stored: a time limit is not a terminal state
        agent.update(buffer.sample(B))          once step >= update_after
        episode end: count it, its return goes in the log row           Run.end_episode
        every eval_every steps: N noise-free episodes on a separate environment   Run.evaluate
        a log row at each episode end and each evaluation               Run.write_row
        episode end: checkpoint once checkpoint_every steps have passed Run.checkpoint_if_due
    save the final state                                                Run.finish

Episodes start lazily (the reset seed derives from (run seed, episode)), so a checkpoint at an episode end
resumes exactly. The first SIGINT or SIGTERM lets the loop finish the episode, save and raise
TrainingInterrupted (the resumed run is then the uninterrupted one); a second stops after the current step.
A failure (NaN, out of memory) says what to do next: run the same command again when no checkpoint was saved
yet (it starts over), or resume from the checkpoint.
"""

from __future__ import annotations

import math
import os
import shlex
import signal
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..agent import DDPG
from ..backend import get_backend, limit_blas_threads, make_rng
from ..buffer import ReplayBuffer
from ..errors import (
    CheckpointError,
    ConfigError,
    NumericalError,
    TinyDDPGError,
    another_folder_text,
    on_command_line,
    resume_text,
    setting_text,
)
from . import checkpoint as ckpt
from .config import TrainConfig, validate
from .envs import EVAL_STREAM, TRAIN_STREAM, env_spec, episode_seed, make_env
from .folder import CONFIG_FILE, RunFolderLock, run_folder_problem
from .memory import OutOfMemory, available_bytes, check_fits, estimate, size_text
from .progress import Progress, counted
from .runlog import LOG_FILE, RunLog, read_log
from .tensorboard import TensorBoardLog
from .threads import blas_threads, choose_threads
from .value_estimate import EvaluationEpisodes

PLOT_FILE = "curve.png"


class TrainingInterrupted(TinyDDPGError):
    """Training stopped by a signal after saving; `signal_number` tells which, `step` where, `mid_episode` whether
    the second signal cut an episode."""

    def __init__(self, message: str, signal_number: int, step: int = 0, mid_episode: bool = False):
        super().__init__(message, signal_number, step, mid_episode)  # all in args: it pickles across processes
        self.signal_number, self.step, self.mid_episode = signal_number, step, mid_episode

    def __str__(self) -> str:
        return self.args[0]


@dataclass
class Counters:
    step: int = 0  # environment steps taken
    episode: int = 0  # episodes finished
    evaluations: int = 0

    def __str__(self) -> str:
        """ "1,200 steps, 6 episodes, 1 evaluation" """
        return ", ".join(counted(n, noun) for n, noun in ((self.step, "step"), (self.episode, "episode"),
                                                           (self.evaluations, "evaluation")))


def play_episode(agent: DDPG, env, seed: int, after_step: Callable | None = None) -> float:
    """One episode from env.reset(seed) with the agent's actions (noise-free in evaluation mode); calls
    after_step(obs, reward, terminated, truncated) after every step, with the state the step started from
    (render draws a frame there, EvaluationEpisodes.add records the step); returns the episode's return."""
    obs, _ = env.reset(seed=seed)
    episode_return, done = 0.0, False
    while not done:
        next_obs, reward, terminated, truncated, _ = env.step(agent.act(obs))
        if after_step is not None:
            after_step(obs, reward, terminated, truncated)
        obs = next_obs
        episode_return += float(reward)
        done = terminated or truncated
    return episode_return


def evaluate(agent: DDPG, env, episodes: int, run_seed: int, after_step: Callable | None = None) -> np.ndarray:
    """Returns of `episodes` noise-free episodes (agent.eval()); the agent's mode is restored afterwards.
    after_step goes to play_episode."""
    with agent.evaluation():
        return np.array([play_episode(agent, env, episode_seed(run_seed, EVAL_STREAM, k), after_step)
                         for k in range(episodes)])


class Run:
    """One training run in a folder: its environments, agent, buffer, random generator, counters and log."""

    def __init__(self, config: TrainConfig, out_dir: Path):
        validate(config)
        self.config, self.out_dir = config, Path(out_dir)
        self.env, self.eval_env = make_env(config.env_id), make_env(config.env_id)
        self.spec = env_spec(self.env)
        backend = get_backend(config.backend, config.dtype)
        self.memory = estimate(config, self.spec.obs_dim, self.spec.action_dim)
        check_fits(self.memory, available_bytes())
        self.rng = make_rng(config.seed)
        try:
            self.agent = DDPG(self.spec.obs_dim, self.spec.action_dim, self.spec.low, self.spec.high, config.agent,
                              backend=backend, rng=self.rng)
            self.buffer = ReplayBuffer(config.buffer_size, self.spec.obs_dim, self.spec.action_dim, backend=backend,
                                       rng=self.rng)
        except MemoryError as error:
            raise OutOfMemory(f"out of memory while allocating the networks and the replay buffer ({error}); the "
                              f"estimate was {self.memory}: lower {setting_text('buffer_size')}, or free memory") from None
        self.counters = Counters()
        self.checkpoint_path = self.out_dir / ckpt.CHECKPOINT_FILE

    # --- saving and resuming --------------------------------------------------------------------------------
    def save(self) -> None:
        arrays = ckpt.prefixed("agent", self.agent.state_dict())
        if self.config.save_buffer:
            arrays.update(ckpt.prefixed("buffer", self.buffer.state_dict()))
        meta = {"config": self.config.to_json(), "counters": vars(self.counters),
                "rng": self.rng.bit_generator.state, "env_id": self.config.env_id,
                "obs_dim": self.spec.obs_dim, "action_dim": self.spec.action_dim, "blas_threads": blas_threads()}
        ckpt.save_checkpoint(self.checkpoint_path, arrays, meta)
        self.saved_step = self.counters.step

    def restore(self) -> None:
        arrays, meta = ckpt.load_checkpoint(self.checkpoint_path)
        if (meta.get("env_id"), meta.get("obs_dim"), meta.get("action_dim")) != (
                self.config.env_id, self.spec.obs_dim, self.spec.action_dim):
            raise CheckpointError(f"{self.checkpoint_path} is for {meta.get('env_id')} (obs {meta.get('obs_dim')}, "
                                  f"action {meta.get('action_dim')}), not this run's {self.config.env_id} "
                                  f"(obs {self.spec.obs_dim}, action {self.spec.action_dim})")
        restore_agent(self.agent, arrays, self.checkpoint_path)
        if self.config.save_buffer:
            try:
                self.buffer.load_state_dict(ckpt.unprefixed("buffer", arrays))
            except (KeyError, ValueError) as error:
                raise CheckpointError(f"{self.checkpoint_path} does not fit the run's replay buffer: {error}") from None
        self.rng.bit_generator.state = meta["rng"]
        self.counters = Counters(**meta["counters"])

    # --- the loop -------------------------------------------------------------------------------------------
    def train(self, resume: bool = False, show_progress: bool = True) -> Counters:
        """Train to config.steps (with resume: from the checkpoint on); the loop of the module docstring. The
        folder is locked meanwhile: a second process training in it is refused."""
        with self.folder_lock():
            self.open_folder(resume)
            try:
                self.loop(show_progress)
            except NumericalError as error:
                raise NumericalError(f"{error}; {self.next_step()}") from None
            except MemoryError as error:
                raise OutOfMemory(f"out of memory at step {self.counters.step:,} ({type(error).__name__}: {error}); "
                                  f"the estimate was {self.memory}. Lower {setting_text('batch_size')} or "
                                  f"{setting_text('buffer_size')}, or free memory; {self.next_step()}") from None
        return self.counters

    def loop(self, show_progress: bool) -> None:
        """The steps, with the log and the progress display open; ends with finish()."""
        self.log = RunLog(self.out_dir / LOG_FILE, keep_rows_up_to_step=self.counters.step if self.resumed else None)
        self.board = TensorBoardLog(self.out_dir, self.counters.step) if self.config.tensorboard else None
        self.progress = Progress(self.config.steps, self.counters.step, steady_from=self.config.update_after,
                                 enabled=show_progress)
        try:
            with stop_signals() as stop:
                while self.counters.step < self.config.steps and not stop.now:
                    episode_ended = self.step()
                    row = self.end_episode() if episode_ended else {}
                    if self.counters.step % self.config.eval_every == 0:
                        row.update(self.evaluate())
                    if row:
                        self.write_row(row)
                    if episode_ended:
                        self.checkpoint_if_due()
                        if stop.requested:
                            break
                    self.show_progress()
                self.finish(stop)
        finally:
            self.progress.close()
            self.log.close()
            if self.board:
                self.board.close()

    def folder_lock(self) -> RunFolderLock:
        """The run folder, created, and locked while inside: a second process training in it is refused."""
        self.make_folder()
        return RunFolderLock(self.out_dir)

    def write_curve(self) -> Path:
        """The learning curve of the run, curve.png in its folder."""
        from .plot import plot_runs

        return plot_runs([self.out_dir], self.out_dir / PLOT_FILE)

    def make_folder(self) -> None:
        """Create the run folder, or ConfigError saying why it cannot be written."""
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise ConfigError(f"{self.out_dir} is a file, not a folder; choose {another_folder_text()}")
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            if not os.access(self.out_dir, os.W_OK):
                raise PermissionError(13, "Permission denied")
        except OSError as error:
            raise unwritable(self.out_dir, error) from None

    def open_folder(self, resume: bool) -> None:
        """Restore the checkpoint (resume) or write the config of a new run; set up the loop's bookkeeping."""
        self.resumed = resume
        if resume:
            self.restore()
        else:
            check_new_run_folder(self.out_dir)
        try:  # a resume may extend the steps: config.json always says what the run is training for
            (self.out_dir / CONFIG_FILE).write_text(self.config.to_json() + "\n")
        except OSError as error:
            raise unwritable(self.out_dir, error) from None
        self.losses, self.rate = LossMeans(), RateMeter(self.counters.step)
        self.last_return, self.last_eval = None, None
        self.next_checkpoint = next_multiple(self.counters.step, self.config.checkpoint_every)
        self.saved_step = self.counters.step if resume else None  # the step the checkpoint on disk holds
        self.obs = None  # episodes start lazily, so a checkpoint at an episode end holds the state before the reset

    def step(self) -> bool:
        """One environment step: act, store the transition, update once update_after is reached; returns
        whether the episode ended."""
        if self.obs is None:
            self.obs = self.start_episode()
        action = self.choose_action(self.obs)
        next_obs, reward, terminated, truncated, _ = self.env.step(action)
        with at_step(self.counters.step + 1):  # a NaN from the environment: refused before the normalizer sees it
            self.buffer.add(self.obs, action, float(reward), next_obs, terminated)
        self.agent.observe(next_obs)
        self.counters.step += 1
        self.episode_return += float(reward)
        if self.counters.step >= self.config.update_after:
            with at_step(self.counters.step):
                stats = self.agent.update(self.buffer.sample(self.config.agent.batch_size))
            self.losses.add(self.counters.step, stats)
            check_gradients_finite(self.counters.step, self.agent)
        episode_ended = terminated or truncated
        self.obs = None if episode_ended else next_obs
        return episode_ended

    def start_episode(self):
        """Reset the environment with the episode's derived seed and restart the exploration noise."""
        obs, _ = self.env.reset(seed=episode_seed(self.config.seed, TRAIN_STREAM, self.counters.episode))
        self.agent.observe(obs)
        self.agent.noise.reset()
        self.episode_return = 0.0
        return obs

    def choose_action(self, obs) -> np.ndarray:
        if self.counters.step < self.config.random_steps:
            return self.rng.uniform(self.spec.low, self.spec.high)
        action = self.agent.act(obs)
        if not np.all(np.isfinite(action)):
            raise NumericalError(f"step {self.counters.step + 1}: the action is not finite ({action}); "
                                 f"training stopped (lower the learning rates, or check the observations)")
        return action

    def end_episode(self) -> dict:
        """Count the finished episode; its return for the log row."""
        self.counters.episode += 1
        self.last_return = self.episode_return
        return {"episode_return": self.episode_return}

    def evaluate(self) -> dict:
        """Noise-free evaluation episodes; their mean and std, and the critic's estimate vs the true value, for the
        log row."""
        episodes = EvaluationEpisodes()
        returns = evaluate(self.agent, self.eval_env, self.config.eval_episodes, self.config.seed, episodes.add)
        self.counters.evaluations += 1
        self.last_eval = (float(returns.mean()), float(returns.std()))
        return {"eval_return_mean": self.last_eval[0], "eval_return_std": self.last_eval[1],
                **episodes.value_columns(self.agent)}

    def write_row(self, row: dict) -> None:
        """One log row: the episode return and/or evaluation, the loss means since the last row, the speed."""
        row = dict(step=self.counters.step, episode=self.counters.episode, **row, **self.losses.take(),
                   steps_per_s=self.rate.take(self.counters.step))
        self.log.write(**row)
        if self.board:
            self.board.write(row)  # the same scalars as TensorBoard events

    def checkpoint_if_due(self) -> None:
        """At an episode end, save once checkpoint_every steps have passed since the last scheduled save."""
        if self.counters.step >= self.next_checkpoint:
            self.save()
            self.next_checkpoint = next_multiple(self.counters.step, self.config.checkpoint_every)

    def show_progress(self, force: bool = False) -> None:
        self.progress.show(self.counters.step, self.counters.episode, self.last_return, self.last_eval, force=force)

    def finish(self, stop: StopFlag) -> None:
        """Save the final state (unless just saved), show the last progress line, report a stop by signal."""
        if self.saved_step != self.counters.step:
            self.save()
        self.show_progress(force=True)
        if stop.signal is not None:
            mid_episode = ("; it stopped mid-episode, so the resumed run starts that episode over and its log differs "
                           "from an uninterrupted run's from here" if self.obs is not None else "")
            raise TrainingInterrupted(
                f"stopped by {signal.Signals(stop.signal).name} at step {self.counters.step}; checkpoint and log "
                f"saved in {self.out_dir}. Continue with: {resume_text(self.out_dir)}{mid_episode}",
                stop.signal, self.counters.step, self.obs is not None)

    def next_step(self) -> str:
        """What to do after a failure, depending on whether a checkpoint was saved."""
        if self.saved_step is None:
            return ("no checkpoint was saved yet, so nothing is lost: fix the cause and run the same command again "
                    "(it starts the run over)")
        return (f"the checkpoint of step {self.saved_step:,} is untouched: continue it with {resume_text(self.out_dir)} "
                f"once the cause is gone, or start over with other settings in {another_folder_text()}")


def unwritable(out_dir: Path, error: OSError) -> ConfigError:
    return ConfigError(f"cannot write to the run folder {out_dir}: {error.strerror or error}; choose "
                       f"{another_folder_text()}, a writable one")


def next_multiple(step: int, every: int) -> int:
    """The first multiple of `every` after `step`."""
    return (step // every + 1) * every


@contextmanager
def at_step(step: int):
    """A NumericalError raised inside names the step it happened at."""
    try:
        yield
    except NumericalError as error:
        raise NumericalError(f"step {step}: {error}") from None


def check_gradients_finite(step: int, agent: DDPG) -> None:
    """Raise NumericalError when a gradient of this update holds a NaN or infinity (one sum per network: every
    critic, TD3's two included, and the actor)."""
    for name, net in (*zip(("critic", "critic2"), agent.critics), ("actor", agent.actor)):
        total = float(agent.backend.xp.sum(net.flat_grads))
        if not math.isfinite(total):
            raise NumericalError(f"step {step}: the {name} gradient holds NaN or infinity; training stopped (lower the "
                                 f"learning rates, or check the rewards)")


class LossMeans:
    """Means of the update statistics since the last log row; a NaN or infinity stops training."""

    def __init__(self):
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}  # per statistic: with a policy delay, actor_loss comes every d-th update

    def add(self, step: int, stats: dict[str, float]) -> None:
        for name, value in stats.items():
            if not math.isfinite(value):
                raise NumericalError(f"step {step}: {name} is {value}; training stopped (lower the learning rates, "
                                     f"or check the rewards for NaN)")
            self.sums[name] = self.sums.get(name, 0.0) + value
            self.counts[name] = self.counts.get(name, 0) + 1

    def take(self) -> dict[str, float]:
        means = {name: total / self.counts[name] for name, total in self.sums.items()}
        self.sums, self.counts = {}, {}
        return means


class RateMeter:
    """Environment steps per second since the last log row (the log's steps_per_s column)."""

    def __init__(self, step: int):
        self.row_step, self.row_time = step, time.perf_counter()

    def take(self, step: int) -> float:
        now = time.perf_counter()
        rate = (step - self.row_step) / max(now - self.row_time, 1e-9)
        self.row_step, self.row_time = step, now
        return round(rate, 1)


class StopFlag:
    """The stop signals received so far."""

    signal: int | None = None  # the first stop signal received
    count: int = 0

    @property
    def requested(self) -> bool:
        """A stop was asked for: the loop finishes the episode, then saves and stops."""
        return self.count >= 1

    @property
    def now(self) -> bool:
        """A second stop signal: the loop stops after the current step."""
        return self.count >= 2


STOP_FROM_PARENT: StopFlag | None = None  # a sweep worker's: the sweep process counts the signals (sweep.py)


@contextmanager
def stop_signals():
    """While inside, SIGINT and SIGTERM set a flag instead of killing the process: the first lets the loop
    finish the episode, save and stop; the second stops it after the current step. In a sweep worker, which
    ignores signals, the flag is the one its sweep process sets (STOP_FROM_PARENT)."""
    if STOP_FROM_PARENT is not None:
        yield STOP_FROM_PARENT
        return
    flag = StopFlag()
    handled = (signal.SIGINT, signal.SIGTERM)

    def handler(signal_number, frame):
        flag.count += 1
        if flag.count == 1:
            flag.signal = signal_number
            name = signal.Signals(signal_number).name
            note = f"\n{name}: finishing the episode, then saving (a second {name} stops after the current step)\n"
            os.write(2, note.encode())  # a raw write: safe even when the signal lands inside a print

    try:
        previous = {s: signal.signal(s, handler) for s in handled}
    except ValueError:  # not the main thread: signals cannot be caught here
        previous = {}
    try:
        yield flag
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def train(config: TrainConfig, out_dir: Path, resume: bool = False, show_progress: bool = True,
          threads: int | None = None, announce: bool = True, backend_note: str = "") -> Counters:
    """Train (or, with resume, continue) the run in out_dir, then draw its curve.png; returns its counters.

    Sets this process's BLAS thread count first (threads.choose_threads: `threads` if given, else the resumed
    run's own count, else one per free core) and, with announce, says on stderr what it trains, where, and with
    which backend, thread count and memory estimate (the command line's start line; backend_note says why that
    backend, in brackets after it)."""
    check_arguments(config, out_dir)
    run = Run(config, out_dir)  # settings, environment, backend and memory checked; nothing written yet
    done = check_resumable(config, Path(out_dir)) if resume else 0
    count, why = choose_threads(threads, Path(out_dir), resume)
    threads_text = f"{limit_blas_threads(count)} ({why})"
    with run.folder_lock():  # refuses a second process before anything is printed or written
        if announce:
            notes = "; ".join(note for note in ("auto" if config.backend == "auto" else "", backend_note) if note)
            backend = run.agent.backend.name + (f" ({notes})" if notes else "")
            what = (f"continuing {config.env_id} from step {done:,} to {config.steps:,} "
                    f"({counted(config.steps - done, 'step')} to go; " if resume else
                    f"training {config.env_id} for {counted(config.steps, 'step')} (")
            print(f"{what}seed {config.seed}, backend {backend}, {threads_text}, memory about "
                  f"{size_text(run.memory.total)}) -> {out_dir}", file=sys.stderr)
            for note in short_run_notes(config):
                print(f"NOTE: {note}", file=sys.stderr)
        counters = run.train(resume=resume, show_progress=show_progress)
    run.write_curve()
    return counters


def short_run_notes(config: TrainConfig) -> list[str]:
    """What a run too short for its preset's defaults will not do (a few-thousand-step run of a preset made for
    30,000): never let the policy act, never update, never evaluate; each with the setting that fixes it."""
    steps, shorter = config.steps, max(1, config.steps // 3)
    notes = []
    if steps <= config.random_steps:
        notes.append(f"steps {steps:,} <= random_steps {config.random_steps:,}: the policy never acts (every action is "
                     f"random); give {setting_text('random_steps', shorter)} or more {setting_text('steps')}")
    if steps < config.update_after:
        notes.append(f"steps {steps:,} < update_after {config.update_after:,}: the networks are never updated; give "
                     f"{setting_text('update_after', shorter)} or more {setting_text('steps')}")
    if steps < config.eval_every:
        notes.append(f"steps {steps:,} < eval_every {config.eval_every:,}: no evaluation runs, so {PLOT_FILE} shows the "
                     f"training returns (with exploration noise); give {setting_text('eval_every', shorter)} or more "
                     f"{setting_text('steps')}")
    return notes


def check_arguments(config: TrainConfig, out_dir: Path) -> None:
    """ConfigError naming the argument when config is no TrainConfig or out_dir no path."""
    if not isinstance(config, TrainConfig):
        example = f"with_overrides(preset('pendulum'), {config!r})" if isinstance(config, dict) else "preset('pendulum')"
        raise ConfigError(f"config={config!r:.80} is not allowed: must be a TrainConfig, e.g. {example}")
    if not isinstance(out_dir, (str, os.PathLike)):
        raise ConfigError(f"out_dir={out_dir!r:.80} is not allowed: must be a folder path (a str or pathlib.Path), "
                          f"e.g. 'runs/p1'")


def check_resumable(config: TrainConfig, out_dir: Path) -> int:
    """The steps the run in out_dir has done; ConfigError, before anything is written, when a resume would not
    continue it: fewer steps than it has done, or its log gone (a new one would silently lack the steps done)."""
    done = ckpt.read_checkpoint_meta(out_dir / ckpt.CHECKPOINT_FILE)["counters"]["step"]
    if config.steps < done:
        raise ConfigError(f"steps={config.steps:,} is fewer than the {done:,} steps the run in {out_dir} has done "
                          f"already; continue it with more, e.g. {resume_text(out_dir, 2 * done)}")
    log = out_dir / LOG_FILE
    if done > 0 and not log.exists():
        start_empty = f"touch {shlex.quote(str(log))} &&" if on_command_line() else f"open({str(log)!r}, 'w'), then"
        raise ConfigError(f"{log} is missing, so the resumed run's log would lack its first {done:,} steps; put it "
                          f"back, or continue with a log that starts at step {done:,}: {start_empty} "
                          f"{resume_text(out_dir, config.steps)}")
    return done


def check_new_run_folder(out_dir: Path) -> None:
    """ConfigError when out_dir is a file, or holds a checkpoint that a new run would overwrite. (A run that
    stopped before its first checkpoint saved nothing to lose, so it is started over.)"""
    if Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise ConfigError(f"{out_dir} is a file, not a folder; choose {another_folder_text()}")
    if (Path(out_dir) / ckpt.CHECKPOINT_FILE).exists():
        raise ConfigError(f"{out_dir} already holds a run; continue it with `{resume_text(out_dir)}` "
                          f"or choose {another_folder_text()}")


def saved_config(out_dir: Path) -> tuple[TrainConfig, bool]:
    """The config of the run in out_dir and whether it has a checkpoint (else it comes from config.json);
    ConfigError saying what the path is when it holds no run."""
    out_dir = Path(out_dir)
    problem = run_folder_problem(out_dir)
    checkpoint_path, config_path = out_dir / ckpt.CHECKPOINT_FILE, out_dir / CONFIG_FILE
    if problem is None:
        return TrainConfig.from_json(ckpt.read_checkpoint_meta(checkpoint_path)["config"]), True
    if not config_path.is_file():
        raise ConfigError(problem)
    try:
        config = TrainConfig.from_json(config_path.read_text())
    except (ValueError, KeyError, TypeError) as error:
        raise ConfigError(f"{config_path} is not a readable tinyddpg config ({type(error).__name__}: {error}); "
                          f"{out_dir} has no checkpoint, so nothing saved is lost: train in another folder") from None
    check_checkpoint_not_lost(config, out_dir)
    return config, False


def check_checkpoint_not_lost(config: TrainConfig, out_dir: Path) -> None:
    """CheckpointError when the run in out_dir has no checkpoint but its log shows an episode end at or past the
    first scheduled checkpoint (one was saved there, so it was deleted or moved, not set aside as damaged): not
    "stopped before its first checkpoint", and not silently started over."""
    log = out_dir / LOG_FILE
    ends = [int(row["step"]) for row in read_log(log) if row.get("episode_return")] if log.is_file() else []
    path = out_dir / ckpt.CHECKPOINT_FILE
    if ends and max(ends) >= config.checkpoint_every and not ckpt.set_aside(path).exists():  # not set aside as told
        start_over = (f"mv {shlex.quote(str(log))} {shlex.quote(str(log) + '.old')} &&" if on_command_line() else
                      f"rename {str(log)!r} (e.g. to {log.name + '.old'!r}), then")
        raise CheckpointError(f"{path} is missing, but the log shows the run got to step {max(ends):,} (it saves a "
                              f"checkpoint every {config.checkpoint_every:,} steps): the checkpoint was deleted or "
                              f"moved. Put it back to continue the run, or start the run over in its folder: "
                              f"{start_over} {resume_text(out_dir)}")


def load_run_config(out_dir: Path) -> TrainConfig:
    """The config of the run in out_dir, from its checkpoint; ConfigError saying what the path is otherwise."""
    config, has_checkpoint = saved_config(out_dir)
    if not has_checkpoint:
        raise CheckpointError(f"{run_folder_problem(out_dir)}: it has nothing to load yet; train it again with "
                              f"{resume_text(out_dir)} (it starts over from its {CONFIG_FILE})")
    return config


def load_agent(out_dir: Path) -> tuple[DDPG, TrainConfig]:
    """The trained agent of the run in out_dir (from its checkpoint), in evaluation mode, and its config."""
    config = load_run_config(out_dir)
    spec = env_spec(make_env(config.env_id))
    agent = DDPG(spec.obs_dim, spec.action_dim, spec.low, spec.high, config.agent,
                 backend=get_backend(config.backend, config.dtype), rng=make_rng(config.seed))
    path = Path(out_dir) / ckpt.CHECKPOINT_FILE
    arrays, _ = ckpt.load_checkpoint(path)
    restore_agent(agent, arrays, path)
    return agent.eval(), config


def restore_agent(agent: DDPG, arrays: dict[str, np.ndarray], path: Path) -> None:
    """Load the checkpoint's agent arrays, or raise CheckpointError when a name or shape does not fit."""
    try:
        agent.load_state_dict(ckpt.unprefixed("agent", arrays))
    except (KeyError, ValueError) as error:
        raise CheckpointError(f"{path} does not fit the run's networks: {error}") from None
