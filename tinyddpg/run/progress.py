"""Training progress on stderr, fitted to where it runs:

    Jupyter or Colab      a tqdm progress bar widget (tqdm.auto picks it inside a notebook kernel with ipywidgets)
    a terminal            a tqdm bar redrawn in place on one line, twice a second
    a file or a pipe      a plain line every 30 seconds, so a log stays readable

All three show steps done, steps/s, episodes finished, the last episode's return, the last evaluation and the ETA.
Steps/s and the ETA come from the last RATE_WINDOW_STEPS steps (a recent window, not the run's average), so they
follow a change of pace within a few hundred steps. The ETA waits until that window holds only steps taken at
full cost (from `steady_from` on, the first update step): the update-free warm-up runs many times faster and
would promise an end far too early.
"""

from __future__ import annotations

import math
import sys
import time
from collections import deque

from tqdm.auto import tqdm as auto_tqdm
from tqdm.std import tqdm as terminal_tqdm

RATE_WINDOW_STEPS = 300
TERMINAL_EVERY_S = 0.5
FILE_EVERY_S = 30.0
BAR_FORMAT = "{percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]"  # our steps/s and ETA, not tqdm's


class RecentRate:
    """Steps per second over the last `window_steps` steps, from (time, step) samples."""

    def __init__(self, step: int, now: float, window_steps: int = RATE_WINDOW_STEPS):
        self.window_steps = window_steps
        self.samples = deque([(now, step)])

    def add(self, step: int, now: float) -> None:
        self.samples.append((now, step))
        while len(self.samples) > 2 and self.samples[1][1] <= step - self.window_steps:
            self.samples.popleft()  # the oldest kept sample is the last one at least a window behind

    def steps_per_s(self) -> float:
        (old_time, old_step), (new_time, new_step) = self.samples[0], self.samples[-1]
        return (new_step - old_step) / (new_time - old_time) if new_time > old_time else 0.0

    def first_step(self) -> int:
        return self.samples[0][1]


class Progress:
    def __init__(self, total_steps: int, start_step: int = 0, steady_from: int = 0, enabled: bool = True,
                 stream=None, clock=time.perf_counter):
        """total_steps: the run's last step; start_step: where this session starts (a resume); steady_from:
        the first step taken at full cost (the ETA waits for a window of such steps)."""
        self.total, self.steady_from, self.enabled, self.clock = total_steps, steady_from, enabled, clock
        self.stream = stream or sys.stderr
        self.rate = RecentRate(start_step, clock())
        self.last_shown = -math.inf
        self.bar = None
        if not enabled:
            return
        bar = {"total": total_steps, "initial": start_step, "bar_format": BAR_FORMAT}
        if in_notebook():
            self.bar, self.every_s = auto_tqdm(**bar), TERMINAL_EVERY_S
        elif self.stream.isatty():
            self.bar, self.every_s = terminal_tqdm(**bar, file=self.stream, dynamic_ncols=True), TERMINAL_EVERY_S
        else:
            self.every_s = FILE_EVERY_S

    def show(self, step: int, episodes: int, last_return, last_eval, force: bool = False) -> None:
        """Record that `step` is done; redraw when the display is due (always with force)."""
        if not self.enabled:
            return
        now = self.clock()
        self.rate.add(step, now)
        if not force and now - self.last_shown < self.every_s:
            return
        self.last_shown = now
        status = self.status(step, episodes, last_return, last_eval)
        if self.bar is not None:
            self.bar.n = step
            self.bar.set_postfix_str(status)  # redraws the bar
        else:
            self.stream.write(f"step {step:,}/{self.total:,} ({100.0 * step / max(1, self.total):.0f}%) | {status}\n")
            self.stream.flush()

    def status(self, step: int, episodes: int, last_return, last_eval) -> str:
        steps_per_s = self.rate.steps_per_s()
        steady = self.rate.first_step() >= self.steady_from and step - self.rate.first_step() >= self.rate.window_steps
        if step >= self.total:
            eta = 0.0
        else:
            eta = (self.total - step) / steps_per_s if steady and steps_per_s > 0 else float("nan")
        # The ETA comes early: a terminal too narrow for the whole line cuts its end.
        return " | ".join([f"{steps_per_s:,.0f} steps/s", "ETA " + duration(eta), f"episodes {episodes}",
                           "return " + ("-" if last_return is None else f"{last_return:.1f}"),
                           "eval " + ("-" if last_eval is None else f"{last_eval[0]:.1f} ± {last_eval[1]:.1f}")])

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def in_notebook() -> bool:
    """True when tqdm.auto chose its notebook bar: inside a Jupyter or Colab kernel that has ipywidgets."""
    notebook = sys.modules.get("tqdm.notebook")  # imported by tqdm.auto only inside a notebook kernel
    return notebook is not None and issubclass(auto_tqdm, notebook.tqdm)


def duration(seconds: float) -> str:
    """"1h02m", "3m05s", or "-" when not known."""
    if not math.isfinite(seconds):
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def counted(n: int, noun: str) -> str:
    """"1 seed", "2 seeds", "10,000 steps": a count with its noun in the right number (nouns plural in -s; "process"
    becomes "processes")."""
    plural = noun + ("es" if noun.endswith("s") else "s")
    return f"{n:,} {noun if n == 1 else plural}"
