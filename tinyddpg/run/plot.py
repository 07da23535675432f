"""Learning curves from run folders: evaluation return against steps (several runs of one setting drawn as
their mean with a min-max band), and the critic loss and mean Q on a second panel."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .runlog import LOG_FILE, read_log

IGNORED_FOR_GROUPING = ("seed",)


def find_runs(paths) -> list[Path]:
    """Run folders (holding progress.csv) among paths, looking one and two levels down (sweeps)."""
    runs = []
    for path in map(Path, paths):
        if (path / LOG_FILE).exists():
            runs.append(path)
        else:
            found = sorted(p.parent for p in list(path.glob(f"*/{LOG_FILE}")) + list(path.glob(f"*/*/{LOG_FILE}")))
            if not found:
                what = ("does not exist" if not path.exists() else "is a file, not a run folder" if not path.is_dir()
                        else f"holds no run (no {LOG_FILE} in it or its subfolders)")
                raise ConfigError(f"{path} {what}; give run folders (tinyddpg train --out DIR writes one) or a sweep "
                                  f"folder")
            runs.extend(found)
    return runs


def run_setting(run_dir: Path) -> dict:
    """The run's config flattened to name -> value, without the seed."""
    config = json.loads((run_dir / "config.json").read_text()) if (run_dir / "config.json").exists() else {}
    flat = {**{k: v for k, v in config.items() if k != "agent"}, **config.get("agent", {})}
    return {k: (tuple(v) if isinstance(v, list) else v) for k, v in flat.items() if k not in IGNORED_FOR_GROUPING}


def group_runs(run_dirs: list[Path]) -> dict[str, list[Path]]:
    """Runs grouped by setting (runs differing only in seed share a group), labelled by what differs."""
    settings = {run: run_setting(run) for run in run_dirs}
    names = sorted({name for s in settings.values() for name in s})
    varying = [n for n in names if len({repr(s.get(n)) for s in settings.values()}) > 1]
    groups: dict[str, list[Path]] = {}
    for run, s in settings.items():
        label = ", ".join(f"{n}={_short(s.get(n))}" for n in varying) or s.get("env_id", run.name)
        groups.setdefault(label, []).append(run)
    return groups


def _short(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def column(rows, name: str):
    """(steps, values) of the rows where the column has a value."""
    pairs = [(int(r["step"]), float(r[name])) for r in rows if r.get(name)]
    return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])


def mean_and_band(curves):
    """Mean, min and max over runs at the steps all of them reached."""
    common = sorted(set.intersection(*(set(steps.tolist()) for steps, _ in curves)))
    stacked = np.array([[dict(zip(steps.tolist(), values))[s] for s in common] for steps, values in curves])
    return np.array(common), stacked.mean(axis=0), stacked.min(axis=0), stacked.max(axis=0)


def plot_runs(paths, output: Path, title: str | None = None) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = group_runs(find_runs(paths))
    figure, (returns_axis, loss_axis) = plt.subplots(2, 1, figsize=(8, 8), sharex=True)
    q_axis = loss_axis.twinx()
    for index, (label, runs) in enumerate(groups.items()):
        color = f"C{index % 10}"
        logs = [read_log(run / LOG_FILE) for run in runs]
        name = f"{label} ({len(runs)} seed{'s' if len(runs) > 1 else ''})"
        _draw(returns_axis, [column(rows, "eval_return_mean") for rows in logs], color, name)
        _draw(loss_axis, [column(rows, "critic_loss") for rows in logs], color, f"critic loss, {label}")
        _draw(q_axis, [column(rows, "mean_q") for rows in logs], color, f"mean Q, {label}", linestyle="--")
    returns_axis.set_ylabel("evaluation return (noise off)")
    returns_axis.set_title(title or default_title(groups))
    if returns_axis.get_legend_handles_labels()[0]:
        returns_axis.legend(loc="lower right", fontsize="small")
    else:
        returns_axis.text(0.5, 0.5, "no evaluation yet", transform=returns_axis.transAxes, ha="center")
    returns_axis.grid(alpha=0.3)
    loss_axis.set_yscale("log")
    loss_axis.set_ylabel("critic loss (solid, log scale)")
    q_axis.set_ylabel("mean Q(s, a) (dashed)")
    loss_axis.set_xlabel("environment steps")
    loss_axis.grid(alpha=0.3)
    figure.tight_layout()
    output = Path(output)
    figure.savefig(output, dpi=110)
    plt.close(figure)
    return output


def default_title(groups: dict[str, list[Path]]) -> str:
    runs = [run for group in groups.values() for run in group]
    if len(runs) == 1:
        return f"tinyddpg learning curve of one run: {runs[0]}"
    if all(len(group) == 1 for group in groups.values()):
        return "tinyddpg learning curves, one run each"
    return "tinyddpg learning curve: mean over seeds, band = min to max"


def _draw(axis, curves, color, label, linestyle="-"):
    curves = [c for c in curves if len(c[0])]
    if not curves:
        return
    steps, mean, low, high = mean_and_band(curves)
    axis.plot(steps, mean, color=color, label=label, linestyle=linestyle)
    if len(curves) > 1:
        axis.fill_between(steps, low, high, color=color, alpha=0.2, linewidth=0)
