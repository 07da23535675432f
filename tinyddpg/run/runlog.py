"""A run's CSV log (progress.csv): one row at each episode end and each evaluation.

Columns: step, episode (episodes finished so far), episode_return, eval_return_mean, eval_return_std,
value_estimate, value_true (the critic's Q(s, mu(s)) and the true discounted return-to-go over the evaluation's
states: value_estimate.py), critic_loss, actor_loss, mean_q (means over the updates since the previous row),
steps_per_s.
Empty cells mean "not measured at this row". Every row is flushed at once, so a killed run keeps its log.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from .atomic import replaced_atomically

LOG_FILE = "progress.csv"
COLUMNS = ("step", "episode", "episode_return", "eval_return_mean", "eval_return_std", "value_estimate", "value_true",
           "critic_loss", "actor_loss", "mean_q", "steps_per_s")
WALL_CLOCK_COLUMNS = ("steps_per_s",)  # the only columns that differ between identical runs


class RunLog:
    def __init__(self, path: Path, keep_rows_up_to_step: int | None = None):
        """Open the log for appending; with keep_rows_up_to_step (a resume), drop the rows written after the
        checkpoint and any half-written last line, so the resumed run continues the log exactly."""
        self.path = Path(path)
        if keep_rows_up_to_step is None or not self.path.exists():
            with open(self.path, "w", newline="") as file:
                csv.writer(file).writerow(COLUMNS)
        else:
            kept = [row for row in read_log(self.path) if int(row["step"]) <= keep_rows_up_to_step]
            with replaced_atomically(self.path, newline="") as file:
                writer = csv.DictWriter(file, COLUMNS)
                writer.writeheader()
                writer.writerows(kept)
        self.file = open(self.path, "a", newline="")  # noqa: SIM115 - open for the whole run; close() closes it
        self.writer = csv.writer(self.file)

    def write(self, **values) -> None:
        self.writer.writerow([_cell(values.get(column)) for column in COLUMNS])
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return repr(value) if isinstance(value, float) else str(value)


def read_log(path: Path) -> list[dict[str, str]]:
    """The complete rows of a log (a half-written last line from a killed run is skipped). A log written before
    a column was added (value_estimate, value_true) reads with the columns it has."""
    with open(path, newline="") as file:
        text = file.read()
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines = lines[:-1]
    return [row for row in csv.DictReader(lines) if None not in row.values() and None not in row]  # no cell short or extra


def logged_steps_per_s(rows: list[dict[str, str]], after_step: int = 0) -> float:
    """Environment steps per second over the rows after `after_step`, from the steps_per_s column, so the time
    between the sessions of a resumed run is not counted; NaN when no row has a rate."""
    steps, seconds, previous = 0, 0.0, 0
    for row in rows:
        step, rate = int(row["step"]), float(row["steps_per_s"] or 0)
        if previous >= after_step and rate > 0:
            steps += step - previous
            seconds += (step - previous) / rate
        previous = step
    return steps / seconds if seconds else float("nan")
