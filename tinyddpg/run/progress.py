"""A one-line progress display on stderr: redrawn in place on a terminal, a plain line now and then otherwise."""

from __future__ import annotations

import math
import sys
import time


class Progress:
    def __init__(self, total_steps: int, enabled: bool = True, stream=None):
        self.total, self.enabled = total_steps, enabled
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty()
        self.every_s = 0.5 if self.interactive else 30.0
        self.last_shown = 0.0
        self.start_time = time.perf_counter()

    def show(self, step: int, steps_per_s: float, episodes: int, last_return, last_eval, force: bool = False) -> None:
        now = time.perf_counter()
        if not self.enabled or (not force and now - self.last_shown < self.every_s):
            return
        self.last_shown = now
        percent = 100.0 * step / max(1, self.total)
        eta = (self.total - step) / steps_per_s if steps_per_s > 0 else float("nan")
        parts = [f"step {step:,}/{self.total:,} ({percent:.0f}%)", f"{steps_per_s:,.0f} steps/s", f"episodes {episodes}",
                 "return " + ("-" if last_return is None else f"{last_return:.1f}"),
                 "eval " + ("-" if last_eval is None else f"{last_eval[0]:.1f} ± {last_eval[1]:.1f}"),
                 "ETA " + _duration(eta)]
        line = " | ".join(parts)
        if self.interactive:
            self.stream.write("\r\033[K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.interactive:
            self.stream.write("\n")
            self.stream.flush()


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
