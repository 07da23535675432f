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

import sys
from pathlib import Path

import numpy as np

from tinyddpg.run.cli import ArgumentParser, exit_status, positive_int
from tinyddpg.run.plot import find_runs, group_runs, run_config
from tinyddpg.run.runlog import LOG_FILE, read_log
from tinyddpg.run.stats import LAST_K, last_k_column, run_scores, setting_summaries


def evaluations(run: Path, at_step: int | None) -> list[dict[str, str]]:
    """The run's evaluation rows, up to at_step if given."""
    rows = [row for row in read_log(run / LOG_FILE) if row.get("eval_return_mean")]
    return [row for row in rows if at_step is None or int(row["step"]) <= at_step]


def run_row(run: Path, rows: list[dict[str, str]], last_k: int) -> dict[str, object]:
    """The run's scores (stats.run_scores, as a sweep's summary.csv has them) and the critic's estimate against
    the true return over its last k evaluations; empty cells for a run without an evaluation (yet)."""
    measured = [row for row in rows[-last_k:] if row.get("value_estimate") and row.get("value_true")]
    estimate = float(np.mean([float(row["value_estimate"]) for row in measured])) if measured else None
    true = float(np.mean([float(row["value_true"]) for row in measured])) if measured else None
    return {"seed": run_config(run).get("seed"), "steps": int(rows[-1]["step"]) if rows else None,
            **run_scores([float(row["eval_return_mean"]) for row in rows], last_k), "estimate": estimate,
            "true": true, "ratio": None if not measured else estimate / true}


def number(value, digits: int = 0) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def interval_text(row: dict[str, object], statistic: str) -> str:
    low, high = row[f"{statistic}_ci_low"], row[f"{statistic}_ci_high"]
    return "no interval (1 seed)" if low is None else f"[{number(low)}, {number(high)}]"


def parse_args(argv: list[str] | None = None):
    parser = ArgumentParser(prog="results_table.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", help="run folders or sweep folders")
    parser.add_argument("--last-k", type=positive_int("--last-k 5"), default=LAST_K,
                        help=f"evaluations averaged per run (default {LAST_K})")
    parser.add_argument("--at-step", type=positive_int("--at-step 150000"), help="read every run up to this step only")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Print the tables; a bad argument or path is refused in one line (exit status 2)."""
    args = parse_args(argv)
    return exit_status(lambda: print_tables(args), program="results_table.py")


def print_tables(args) -> int:
    groups = group_runs(find_runs(args.paths))
    k, last_k = args.last_k, last_k_column(args.last_k)
    print(f"| setting | seed | steps | final eval return | mean of last {k} evals | best eval return "
          f"| estimate Q(s, mu(s)), last {k} | true return-to-go, last {k} | estimate / true |")
    print("|---|---|---|---|---|---|---|---|---|")
    rows = {setting: [run_row(run, evaluations(run, args.at_step), k) for run in runs] for setting, runs in groups.items()}
    for setting, members in rows.items():
        for row in members:
            print(f"| {setting} | {row['seed']} | {number(row['steps'])} | {number(row['final_eval_return'])} "
                  f"| {number(row[last_k])} | {number(row['best_eval_return'])} | {number(row['estimate'])} "
                  f"| {number(row['true'])} | {number(row['ratio'], 2)} |")
    print(f"\n| setting | seeds | score | mean | 95% CI | IQM | 95% CI | estimate / true (mean of seeds' last {k}) |")
    print("|---|---|---|---|---|---|---|---|")
    summaries = setting_summaries([(setting, row) for setting, members in rows.items() for row in members], k)
    for summary in summaries:
        ratios = [row["ratio"] for row in rows[summary.setting] if row["ratio"] is not None]
        ratio = number(float(np.mean(ratios)), 2) if ratios and summary.score == "final_eval_return" else ""
        name = "final" if summary.score == "final_eval_return" else f"mean of last {k}"
        row = summary.row()
        print(f"| {summary.setting} | {row['seeds']} | {name} | {number(row['mean'])} | {interval_text(row, 'mean')} "
              f"| {number(row['iqm'])} | {interval_text(row, 'iqm')} | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
