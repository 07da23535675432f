"""Statistics of results over seeds: per run, the mean of its last k evaluations beside the final one; per
setting, the mean and the interquartile mean (IQM) of those scores across seeds, each with a 95% bootstrap
confidence interval.

The method is rliable's (Agarwal et al. 2021, "Deep Reinforcement Learning at the Edge of the Statistical
Precipice", NeurIPS; github.com/google-research/rliable): the IQM is scipy.stats.trim_mean(scores, 0.25), and
the interval is the percentile interval of a stratified bootstrap (resampling runs with replacement within each
task; 50,000 resamples by default). A setting here is one task (one environment), so the stratified bootstrap is
the plain bootstrap over the setting's runs. It is written here rather than imported from rliable because
rliable 1.2.0 installs arch, scipy, pandas, seaborn and absl-py for these few lines of NumPy.

With few seeds the percentile interval covers the true value less often than 95% (tests/test_stats.py measures
it): read it as a minimum of the uncertainty, not a guarantee. One seed gives no interval at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

LAST_K = 5  # evaluations averaged per run, by default
CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 50_000  # rliable's default
BOOTSTRAP_SEED = 0  # the same resamples every time: a summary recomputed from the same logs is the same summary


def last_k_column(k: int) -> str:
    """The summary's name for the per-run score "mean of the last k evaluations"."""
    return f"last{k}_mean_eval_return"


def run_scores(eval_returns: Sequence[float], last_k: int) -> dict[str, float | None]:
    """The final evaluation, the mean of the last k (of all of them if there are fewer) and the best, to 6
    significant digits; None for a run without an evaluation."""
    if not eval_returns:
        return {"final_eval_return": None, last_k_column(last_k): None, "best_eval_return": None}
    last = eval_returns[-last_k:]
    return {"final_eval_return": significant(eval_returns[-1]), last_k_column(last_k): significant(sum(last) / len(last)),
            "best_eval_return": significant(max(eval_returns))}


def iqm(scores, axis: int = -1):
    """Interquartile mean along axis, exactly as scipy.stats.trim_mean(scores, proportiontocut=0.25): sort, drop
    int(n / 4) values at each end (rounded down), average the rest. So n = 2 or 3 drops nothing (the IQM is the
    mean), n = 4 to 7 drops one value at each end, n = 8 to 11 two, and so on."""
    ordered = np.sort(np.asarray(scores, dtype=float), axis=axis)
    n = ordered.shape[axis]
    cut = int(0.25 * n)
    return np.take(ordered, np.arange(cut, n - cut), axis=axis).mean(axis=axis)


def mean(scores, axis: int = -1):
    return np.asarray(scores, dtype=float).mean(axis=axis)


def bootstrap_interval(scores, statistic: Callable, confidence: float = CONFIDENCE,
                       resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED):
    """The percentile bootstrap interval of statistic(scores along the last axis): draw `resamples` sets of n
    runs with replacement (the same draws for every leading index, e.g. every step of a curve), apply the
    statistic to each, and take its (1 - confidence) / 2 and (1 + confidence) / 2 quantiles (np.percentile's
    linear interpolation, as arch's conf_int that rliable calls). Returns (low, high) arrays, or None for n < 2,
    where there is nothing to resample."""
    scores = np.asarray(scores, dtype=float)
    n = scores.shape[-1]
    if n < 2:
        return None
    draws = np.random.default_rng(seed).integers(n, size=(resamples, n))
    values = statistic(scores[..., draws], axis=-1)  # (..., resamples)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(values, [tail, 100 - tail], axis=-1)
    return low, high


STATISTICS = {"mean": mean, "iqm": iqm}
SETTING_COLUMNS = ("setting", "score", "seeds", *(f"{name}{part}" for name in STATISTICS for part in
                                                  ("", "_ci_low", "_ci_high")))


@dataclass(frozen=True)
class SettingSummary:
    setting: str
    score: str  # the per-run column summarized, e.g. "last5_mean_eval_return"
    scores: tuple[float, ...]  # one per seed that has it

    def row(self) -> dict[str, object]:
        """The seeds, and each statistic with its interval; empty cells where there is no value or no interval
        (one seed)."""
        row: dict[str, object] = {"setting": self.setting, "score": self.score, "seeds": len(self.scores)}
        for name, statistic in STATISTICS.items():
            interval = bootstrap_interval(self.scores, statistic) if self.scores else None
            row[name] = significant(float(statistic(self.scores))) if self.scores else None
            row[f"{name}_ci_low"], row[f"{name}_ci_high"] = (None, None) if interval is None else (
                significant(float(interval[0])), significant(float(interval[1])))
        return row


def setting_summaries(runs: Sequence[tuple[str, dict[str, float | None]]], last_k: int) -> list[SettingSummary]:
    """Per setting (in the order they first appear) and per score (final, mean of the last k): the scores of
    its runs. `runs` holds (setting, run_scores(...)) pairs, so the statistics follow from summary.csv's cells."""
    settings = list(dict.fromkeys(setting for setting, _ in runs))
    return [SettingSummary(setting, score, tuple(s[score] for name, s in runs if name == setting and s[score] is not None))
            for setting in settings for score in ("final_eval_return", last_k_column(last_k))]


def settings_table(rows: Sequence[dict[str, object]]) -> str:
    """The per-setting rows as aligned text, each statistic followed by its interval, and a note when a setting
    has too few seeds for its interval to hold the true value 95% of the time."""
    header = ["setting", "score", "seeds", "mean", "95% CI", "IQM", "95% CI"]
    lines = [header]
    for row in rows:
        line = [str(row["setting"]), str(row["score"]), str(row["seeds"])]
        for name in STATISTICS:
            low, high = row[f"{name}_ci_low"], row[f"{name}_ci_high"]
            no_interval = "none (1 seed)" if row["seeds"] == 1 else "-"
            line += [_number(row[name]), no_interval if low is None else f"[{_number(low)}, {_number(high)}]"]
        lines.append(line)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = "\n".join("  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths)))
                     .rstrip() for line in lines)
    if any(row["seeds"] in (2, 3) for row in rows):
        text += ("\nnote: with 2 or 3 seeds the 95% interval is the range of the seeds, which holds the true "
                 "value only about 50% or 75% of the time")
    return text


def significant(value: float, digits: int = 6) -> float:
    """value rounded to `digits` significant digits: 2251.3377... -> 2251.34, so the CSV reads in a spreadsheet."""
    return float(f"{value:.{digits}g}")


def _number(value) -> str:
    return "-" if value is None else f"{value:,.1f}"
