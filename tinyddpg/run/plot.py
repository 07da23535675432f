"""Learning curves from run folders: evaluation return against steps (several runs of one setting drawn as
their mean with a min-max band, or as their IQM with its 95% bootstrap interval: stats.py), the critic loss
and mean Q on a second panel, and, when the log has them, the critic's value estimate against the true
discounted return (value_estimate.py) on a third."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import numpy as np

from ..errors import ConfigError, option_value_text
from .config import DDPG_SETTINGS, TD3_SETTINGS, TrainConfig
from .folder import CONFIG_FILE
from .progress import counted
from .runlog import LOG_FILE, read_log
from .stats import bootstrap_interval, iqm

IGNORED_FOR_GROUPING = ("seed",)
LEGEND_WIDTH = 60  # characters per legend line: a longer label wraps instead of pushing the axes off the figure


def find_runs(paths) -> list[Path]:
    """Run folders (holding progress.csv) among paths, each once: a path that is one, or every one at any depth
    below it (a sweep, a folder of sweeps)."""
    runs = []
    for path in map(Path, paths):
        if (path / LOG_FILE).exists():
            found = [path]
        else:
            found = sorted(log.parent for log in path.rglob(LOG_FILE)) if path.is_dir() else []
            if not found:
                what = ("does not exist" if not path.exists() else "is a file, not a run folder" if not path.is_dir()
                        else f"holds no run (no {LOG_FILE} in it or its subfolders)")
                raise ConfigError(f"{path} {what}; give run folders (tinyddpg train --out DIR writes one) or a sweep "
                                  f"folder")
        runs.extend(run for run in found if run not in runs)
    return runs


def run_config(run_dir: Path) -> dict:
    """The run's config flattened to name -> value, every setting there (one its tinyddpg version did not save
    yet has its default); {} when the folder has no readable config."""
    try:
        config = dataclasses.asdict(TrainConfig.from_json((run_dir / CONFIG_FILE).read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    flat = {**{k: v for k, v in config.items() if k != "agent"}, **config["agent"]}
    return {k: (tuple(v) if isinstance(v, list) else v) for k, v in flat.items()}


def run_setting(run_dir: Path) -> dict:
    """The run's config flattened to name -> value, without the seed."""
    return {k: v for k, v in run_config(run_dir).items() if k not in IGNORED_FOR_GROUPING}


def group_runs(run_dirs: list[Path]) -> dict[str, list[Path]]:
    """Runs grouped by setting (runs differing only in seed share a group), labelled by what differs."""
    settings = {run: run_setting(run) for run in run_dirs}
    names = sorted({name for s in settings.values() for name in s})
    varying = [n for n in names if len({repr(s.get(n)) for s in settings.values()}) > 1]
    if "td3" in varying and all(implied_by_td3(s) for s in settings.values()):  # "td3=True" says it all
        varying = [n for n in varying if n not in TD3_SETTINGS]
    groups: dict[str, list[Path]] = {}
    for run, s in settings.items():
        label = ", ".join(f"{n}={option_value_text(s.get(n))}" for n in varying) or s.get("env_id", run.name)
        groups.setdefault(label, []).append(run)
    return groups


def implied_by_td3(setting: dict) -> bool:
    """Whether the run's TD3 fixes are exactly what its td3 switch sets (no fix changed on its own)."""
    implied = TD3_SETTINGS if setting.get("td3") else DDPG_SETTINGS
    return all(setting.get(name, DDPG_SETTINGS[name]) == value for name, value in implied.items())


def column(rows, name: str):
    """(steps, values) of the rows where the column has a value."""
    pairs = [(int(r["step"]), float(r[name])) for r in rows if r.get(name)]
    return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])


def mean_and_band(curves):
    """Mean, min and max over runs at the steps all of them reached."""
    steps, stacked = aligned(curves)
    return steps, stacked.mean(axis=0), stacked.min(axis=0), stacked.max(axis=0)


def iqm_and_interval(curves):
    """IQM over runs and its 95% bootstrap interval at the steps all of them reached (the same resamples of the
    runs at every step; 2,000 of them, enough for a drawn band)."""
    steps, stacked = aligned(curves)
    interval = bootstrap_interval(stacked.T, iqm, resamples=CURVE_RESAMPLES)
    low, high = interval if interval is not None else (None, None)
    return steps, iqm(stacked, axis=0), low, high


def aligned(curves):
    """The steps all runs reached, and each run's values at them, one row per run."""
    common = sorted(set.intersection(*(set(steps.tolist()) for steps, _ in curves)))
    stacked = np.array([[dict(zip(steps.tolist(), values))[s] for s in common] for steps, values in curves])
    return np.array(common), stacked


CURVE_RESAMPLES = 2_000
BANDS = {"minmax": ("mean over seeds, band = min to max", mean_and_band),
         "iqm-ci": ("IQM over seeds, band = its 95% bootstrap CI", iqm_and_interval)}


def plot_runs(paths, output: Path, title: str | None = None, band: str = "minmax") -> Path:
    """The curves of the runs under paths; `band` (a BANDS name) chooses how the seeds of a setting are drawn
    on the return panel (the loss and value panels always show mean and min to max)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grouped = group_runs(find_runs(paths))
    groups = {label: [read_log(run / LOG_FILE) for run in runs] for label, runs in grouped.items()}
    measured = any(row.get("value_true") for logs in groups.values() for rows in logs for row in rows)
    evaluated = any(row.get("eval_return_mean") for logs in groups.values() for rows in logs for row in rows)
    returns = "eval_return_mean" if evaluated else "episode_return"  # no evaluation yet: the training returns
    figure, axes = plt.subplots(3 if measured else 2, 1, figsize=(8, 11 if measured else 8), sharex=True)
    returns_axis, loss_axis = axes[0], axes[1]
    q_axis = loss_axis.twinx()
    for index, (label, logs) in enumerate(groups.items()):
        color = f"C{index % 10}"
        name = textwrap.fill(f"{label} ({runs_text(grouped[label])})", LEGEND_WIDTH)
        _draw(returns_axis, [column(rows, returns) for rows in logs], color, name, band=band)
        _draw(loss_axis, [column(rows, "critic_loss") for rows in logs], color, f"critic loss, {label}")
        _draw(q_axis, [column(rows, "mean_q") for rows in logs], color, f"mean Q, {label}", linestyle="--")
        if measured:  # in each setting's colour, as in the legend above
            _draw(axes[2], [column(rows, "value_estimate") for rows in logs], color, f"estimate Q(s, mu(s)), {label}")
            _draw(axes[2], [column(rows, "value_true") for rows in logs], color, f"true return, {label}", linestyle=":")
    returns_axis.set_ylabel("evaluation return (noise off)" if evaluated else "training episode return (no evaluation yet)")
    returns_axis.set_title(title or default_title(grouped, band))
    if returns_axis.get_legend_handles_labels()[0]:
        returns_axis.legend(loc="lower right", fontsize="small")
    else:
        say_empty(returns_axis, "no episode has ended yet: nothing to draw")
    returns_axis.grid(alpha=0.3)
    if not loss_axis.get_lines():
        say_empty(loss_axis, "no update yet")
        say_empty(q_axis, "")
    else:
        loss_axis.set_yscale("log")
    loss_axis.set_ylabel("critic loss (solid, log scale)")
    q_axis.set_ylabel("mean Q(s, a) (dashed)")
    loss_axis.grid(alpha=0.3)
    if measured:
        axes[2].set_ylabel("value over evaluation states")
        axes[2].set_title("critic's estimate (solid) vs true discounted return (dotted)", fontsize="medium")
        axes[2].grid(alpha=0.3)
    axes[-1].set_xlabel("environment steps")
    figure.tight_layout()
    output = Path(output)
    figure.savefig(output, dpi=110)
    plt.close(figure)
    return output


def say_empty(axis, message: str) -> None:
    """An axis with nothing to draw: the message in its middle, no ticks of an empty 0-1 range."""
    axis.set_xticks([])
    axis.set_yticks([])
    if message:
        axis.text(0.5, 0.5, message, transform=axis.transAxes, ha="center")


def runs_text(runs: list[Path]) -> str:
    """How many runs a curve averages: "3 seeds", "1 seed", or "2 runs of seed 0" when seeds repeat."""
    seeds = sorted({run_config(run).get("seed") for run in runs}, key=str)
    if len(seeds) == len(runs):
        return counted(len(runs), "seed")
    return f"{counted(len(runs), 'run')} of {'seed' if len(seeds) == 1 else 'seeds'} {', '.join(map(str, seeds))}"


def default_title(groups: dict[str, list[Path]], band: str = "minmax") -> str:
    """The plot's title from the run folders of each curve."""
    runs = [run for group in groups.values() for run in group]
    if len(runs) == 1:
        return f"tinyddpg learning curve of one run: {runs[0]}"
    if all(len(group) == 1 for group in groups.values()):
        return "tinyddpg learning curves, one run each"
    return f"tinyddpg learning curve: {BANDS[band][0]}"


def _draw(axis, curves, color, label, linestyle="-", band="minmax"):
    curves = [c for c in curves if len(c[0])]
    if not curves:
        return
    steps, center, low, high = BANDS[band][1](curves)
    axis.plot(steps, center, color=color, label=label, linestyle=linestyle)
    if len(curves) > 1:
        axis.fill_between(steps, low, high, color=color, alpha=0.2, linewidth=0)
