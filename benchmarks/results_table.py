"""The results tables of the README and FAQ 9, from run folders (or sweep folders): per run the final evaluation,
the mean of its last k evaluations, the best, and the critic's estimate against the true discounted return over
the same last k evaluations; per setting the mean and the IQM across seeds of the final and of the last-k mean,
each with its 95% bootstrap interval (tinyddpg/run/stats.py, rliable's method).

    python benchmarks/results_table.py runs/walker2d --last-k 5
    python benchmarks/results_table.py runs/walker2d --at-step 150000    # every run cut at the same step

--at-step compares runs that have not all reached the same step: each is read up to that step only.
Prints Markdown tables, ready to paste.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from tinyddpg.run.plot import find_runs, group_runs, run_config
from tinyddpg.run.runlog import LOG_FILE, read_log
from tinyddpg.run.stats import LAST_K, bootstrap_interval, iqm, mean


def evaluations(run: Path, at_step: int | None) -> list[dict[str, str]]:
    """The run's evaluation rows, up to at_step if given."""
    rows = [row for row in read_log(run / LOG_FILE) if row.get("eval_return_mean")]
    return [row for row in rows if at_step is None or int(row["step"]) <= at_step]


def run_row(run: Path, rows: list[dict[str, str]], last_k: int) -> dict[str, object]:
    returns = [float(row["eval_return_mean"]) for row in rows]
    last = rows[-last_k:]
    measured = [row for row in last if row.get("value_estimate") and row.get("value_true")]
    estimate = np.mean([float(row["value_estimate"]) for row in measured]) if measured else None
    true = np.mean([float(row["value_true"]) for row in measured]) if measured else None
    return {"seed": run_config(run)["seed"], "steps": int(rows[-1]["step"]), "final": returns[-1],
            "last_k": float(np.mean(returns[-last_k:])), "best": max(returns), "estimate": estimate, "true": true,
            "ratio": None if not measured else estimate / true}


def number(value, digits: int = 0) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def interval_text(scores, statistic) -> str:
    interval = bootstrap_interval(scores, statistic)
    return "no interval (1 seed)" if interval is None else f"[{number(interval[0])}, {number(interval[1])}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", help="run folders or sweep folders")
    parser.add_argument("--last-k", type=int, default=LAST_K, help=f"evaluations averaged per run (default {LAST_K})")
    parser.add_argument("--at-step", type=int, help="read every run up to this step only")
    args = parser.parse_args()
    groups = group_runs(find_runs(args.paths))
    k = args.last_k
    print(f"| setting | seed | steps | final eval return | mean of last {k} evals | best eval return "
          f"| estimate Q(s, mu(s)), last {k} | true return-to-go, last {k} | estimate / true |")
    print("|---|---|---|---|---|---|---|---|---|")
    rows = {setting: [run_row(run, evaluations(run, args.at_step), k) for run in runs] for setting, runs in groups.items()}
    for setting, members in rows.items():
        for row in members:
            print(f"| {setting} | {row['seed']} | {row['steps']:,} | {number(row['final'])} | {number(row['last_k'])} "
                  f"| {number(row['best'])} | {number(row['estimate'])} | {number(row['true'])} "
                  f"| {number(row['ratio'], 2)} |")
    print(f"\n| setting | seeds | score | mean | 95% CI | IQM | 95% CI | estimate / true (mean of seeds' last {k}) |")
    print("|---|---|---|---|---|---|---|---|")
    for setting, members in rows.items():
        ratios = [row["ratio"] for row in members if row["ratio"] is not None]
        ratio = number(float(np.mean(ratios)), 2) if ratios else ""
        for score, name in (("final", "final"), ("last_k", f"mean of last {k}")):
            scores = [row[score] for row in members]
            print(f"| {setting} | {len(members)} | {name} | {number(float(mean(scores)))} | {interval_text(scores, mean)} "
                  f"| {number(float(iqm(scores)))} | {interval_text(scores, iqm)} | {ratio if score == 'final' else ''} |")

if __name__ == "__main__":
    main()
