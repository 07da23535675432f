"""What a sweep's summaries, the plots and benchmarks/results_table.py make of runs whose evaluations are known: run
folders written by hand (config.json and progress.csv, no training), five or more seeds so that the IQM is not
the mean, scores of exactly 0, and a best evaluation outside the last-k window. Values are computed by hand."""

import csv
import importlib.util
from pathlib import Path

import matplotlib.figure
import numpy as np
import pytest

from tinyddpg.run.config import preset, with_overrides
from tinyddpg.run.plot import find_runs, group_runs, plot_runs
from tinyddpg.run.runlog import LOG_FILE, RunLog
from tinyddpg.run.stats import iqm
from tinyddpg.run.sweep import RunResult, make_spec, plan_runs, write_summary

ROOT = Path(__file__).resolve().parent.parent
EVAL_STEPS = (100, 200, 300, 400)
# per seed, the evaluation returns at EVAL_STEPS: seed 0 scores exactly 0, seed 1 had its best first
RETURNS = {0: [-20.0, 0.0, 0.0, 0.0], 1: [500.0, -100.0, -200.0, -300.0], 2: [-50.0, -40.0, -30.0, -20.0],
           3: [-1000.0, -900.0, -800.0, -700.0], 4: [100.0, 200.0, 300.0, 400.0]}
# last 3: 0, -200, -30, -800, 300; finals: 0, -300, -20, -700, 400; bests: 0, 500, -20, -700, 400
LAST3 = [0.0, -200.0, -30.0, -800.0, 300.0]
FINALS = [0.0, -300.0, -20.0, -700.0, 400.0]


def write_run(folder: Path, config, returns) -> Path:
    """A run folder as `tinyddpg train` leaves it, with these evaluation returns at EVAL_STEPS."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(config.to_json() + "\n")
    log = RunLog(folder / LOG_FILE)
    for step, value in zip(EVAL_STEPS, returns):
        log.write(step=step, eval_return_mean=value, eval_return_std=0.0)
    log.close()
    return folder


def write_seeds(folder: Path, **overrides) -> list[Path]:
    base = with_overrides(preset("pendulum"), overrides)
    return [write_run(folder / f"seed{seed}", with_overrides(base, {"seed": seed}), returns)
            for seed, returns in RETURNS.items()]


def read_csv(path):
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


# --- one value formatter: folders, summaries and legends write a value alike -----------------------------------
def test_sweep_folders_and_plot_legends_write_each_setting_alike(tmp_path):
    """A td3 sweep: the folder td3=true,actor_lr=0.0003 and the legend "actor_lr=0.0003, td3=true" (not
    td3=True) name the same values."""
    runs = plan_runs(make_spec("pendulum", "0-1", ["td3=false,true", "actor_lr=0.001,0.0003"]), tmp_path)
    for run in runs:
        write_run(run.run_dir, run.config, [-100.0])
    labels = {run: label for label, members in group_runs(find_runs([tmp_path])).items() for run in members}
    assert len(labels) == len(runs) == 8
    for run in runs:
        folder_setting = run.run_dir.parent.name
        assert set(folder_setting.split(",")) == set(labels[run.run_dir].split(", ")), (folder_setting, labels)
    assert {run.run_dir.parent.name for run in runs} == {"td3=false,actor_lr=0.001", "td3=false,actor_lr=0.0003",
                                                         "td3=true,actor_lr=0.001", "td3=true,actor_lr=0.0003"}


# --- the sweep's summary files ----------------------------------------------------------------------------------
def test_a_sweeps_summaries_of_five_seeds_keep_zero_scores_the_best_before_the_window_and_the_iqm(tmp_path):
    results = [RunResult("batch_size=64", seed, "trained", steps=400, eval_returns=tuple(returns), steps_per_s=0.0)
               for seed, returns in RETURNS.items()]
    settings = write_summary(tmp_path, results, last_k=3)
    runs = read_csv(tmp_path / "summary.csv")
    assert [(row["seed"], row["evaluations"], row["final_eval_return"], row["last3_mean_eval_return"],
             row["best_eval_return"], row["steps_per_s"]) for row in runs] == [
        ("0", "4", "0.0", "0.0", "0.0", "0.0"), ("1", "4", "-300.0", "-200.0", "500.0", "0.0"),
        ("2", "4", "-20.0", "-30.0", "-20.0", "0.0"), ("3", "4", "-700.0", "-800.0", "-700.0", "0.0"),
        ("4", "4", "400.0", "300.0", "400.0", "0.0")]
    rows = read_csv(tmp_path / "summary_settings.csv")
    assert [{k: v for k, v in row.items() if "_ci_" not in k} for row in rows] == [
        {"setting": "batch_size=64", "score": "final_eval_return", "seeds": "5", "mean": "-124.0",
         "iqm": "-106.667"},  # (0 - 300 - 20 - 700 + 400) / 5; the middle three: (-300 - 20 + 0) / 3
        {"setting": "batch_size=64", "score": "last3_mean_eval_return", "seeds": "5", "mean": "-146.0",
         "iqm": "-76.6667"}]  # the middle three of the last-3 means: (-200 - 30 + 0) / 3
    for row, scores in zip(rows, (FINALS, LAST3)):
        for name in ("mean", "iqm"):
            assert min(scores) <= float(row[f"{name}_ci_low"]) < float(row[name]) < float(row[f"{name}_ci_high"]) \
                <= max(scores)
    assert [row["seeds"] for row in settings] == [5, 5]


# --- plots: the legend counts the seeds, the band is what its title says -----------------------------------------
@pytest.fixture
def drawn(monkeypatch):
    """The figures plot_runs saves."""
    figures = []
    original = matplotlib.figure.Figure.savefig
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig",
                        lambda figure, *args, **kwargs: (figures.append(figure), original(figure, *args, **kwargs))[1])
    return figures


def return_panel(figure):
    """(legend labels, {label: (steps, center)}, [band y-values at each step, per band]) of the return panel."""
    axis = figure.axes[0]
    lines = {line.get_label(): (line.get_xdata(), line.get_ydata()) for line in axis.get_lines()}
    bands = []
    for band in axis.collections:
        vertices = band.get_paths()[0].vertices
        by_step = {}
        for x, y in vertices:
            by_step.setdefault(x, set()).add(y)
        bands.append({x: (min(ys), max(ys)) for x, ys in by_step.items()})
    return [text.get_text() for text in axis.get_legend().get_texts()], lines, bands


@pytest.mark.parametrize("band", ["minmax", "iqm-ci"])
def test_the_plot_draws_one_curve_per_setting_with_its_seeds_and_the_band_its_title_names(tmp_path, drawn, band):
    write_seeds(tmp_path / "sweep" / "td3=false", td3=False)
    write_seeds(tmp_path / "sweep" / "td3=true", td3=True)
    plot_runs([tmp_path / "sweep"], tmp_path / "curve.png", band=band)
    labels, lines, bands = return_panel(drawn[0])
    assert labels == ["td3=false (5 seeds)", "td3=true (5 seeds)"]
    stacked = np.array(list(RETURNS.values()))  # (seeds, steps)
    center = stacked.mean(axis=0) if band == "minmax" else iqm(stacked, axis=0)
    for label in labels:
        steps, values = lines[label]
        np.testing.assert_array_equal(steps, EVAL_STEPS)
        np.testing.assert_allclose(values, center, rtol=1e-12)
    assert len(bands) == 2  # one band per setting, the same runs' values in both
    for drawn_band in bands:
        assert sorted(drawn_band) == list(EVAL_STEPS)
        lows, highs = np.array([drawn_band[s] for s in EVAL_STEPS]).T
        if band == "minmax":
            np.testing.assert_array_equal(lows, stacked.min(axis=0))
            np.testing.assert_array_equal(highs, stacked.max(axis=0))
        else:  # the IQM's interval: around the IQM, inside the seeds' range, narrower than it at every step
            assert np.all((stacked.min(axis=0) <= lows) & (lows <= center) & (center <= highs)
                          & (highs <= stacked.max(axis=0)))
            assert np.all(highs - lows < stacked.max(axis=0) - stacked.min(axis=0))
    title = drawn[0].axes[0].get_title()
    assert title == ("tinyddpg learning curve: mean over seeds, band = min to max" if band == "minmax" else
                     "tinyddpg learning curve: IQM over seeds, band = its 95% bootstrap CI")


# --- benchmarks/results_table.py: the same per-run scores and statistics as the sweep's summaries ---------------
@pytest.fixture(scope="module")
def results_table():
    spec = importlib.util.spec_from_file_location("results_table", ROOT / "benchmarks" / "results_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def table_rows(text: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in text.splitlines()
            if line.startswith("|") and not line.startswith("|---")]


def test_the_results_table_scores_each_run_and_setting_as_the_sweep_summary_does(tmp_path, capsys, results_table):
    write_seeds(tmp_path / "runs")
    assert results_table.main([str(tmp_path / "runs"), "--last-k", "3"]) == 0
    rows = table_rows(capsys.readouterr().out)
    per_run = [row for row in rows[1:] if len(row) == 9]
    assert [row[1:6] for row in per_run] == [  # seed, steps, final, mean of the last 3, best
        ["0", "400", "0", "0", "0"], ["1", "400", "-300", "-200", "500"], ["2", "400", "-20", "-30", "-20"],
        ["3", "400", "-700", "-800", "-700"], ["4", "400", "400", "300", "400"]]
    per_setting = rows[len(per_run) + 2:]
    assert [[*row[1:4], row[5]] for row in per_setting] == [["5", "final", "-124", "-107"],
                                                            ["5", "mean of last 3", "-146", "-77"]]


def test_the_results_table_cut_at_a_step_scores_only_the_evaluations_up_to_it(tmp_path, capsys, results_table):
    write_seeds(tmp_path / "runs")
    assert results_table.main([str(tmp_path / "runs"), "--last-k", "2", "--at-step", "200"]) == 0
    per_run = [row for row in table_rows(capsys.readouterr().out) if len(row) == 9][1:]
    assert [row[2:6] for row in per_run] == [["200", "0", "-10", "0"], ["200", "-100", "200", "500"],
                                             ["200", "-40", "-45", "-40"], ["200", "-900", "-950", "-900"],
                                             ["200", "200", "150", "200"]]


@pytest.mark.parametrize("option", ["--last-k", "--at-step"])
def test_the_results_table_refuses_a_last_k_or_step_below_1_in_one_line(tmp_path, capsys, results_table, option):
    write_seeds(tmp_path / "runs")
    with pytest.raises(SystemExit) as exit_:
        results_table.main([str(tmp_path / "runs"), option, "0"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err == (f"results_table.py: error: argument {option}: '0' is not allowed: must be an integer >= 1, e.g. "
                   f"{option} {5 if option == '--last-k' else 150000}; see results_table.py --help\n")


def test_the_results_table_refuses_a_folder_without_runs_in_one_line(tmp_path, capsys, results_table):
    assert results_table.main([str(tmp_path)]) == 2
    assert capsys.readouterr().err == (f"results_table.py: error: {tmp_path} holds no run (no progress.csv in it or "
                                       f"its subfolders); give run folders (tinyddpg train --out DIR writes one) or a "
                                       f"sweep folder\n")


@pytest.mark.parametrize("seeds", [1, 2])
def test_two_seeds_are_drawn_with_their_band_and_one_seed_without(tmp_path, drawn, seeds):
    base = preset("pendulum")
    for seed in range(seeds):
        write_run(tmp_path / "runs" / f"seed{seed}", with_overrides(base, {"seed": seed}), RETURNS[seed + 1])
    plot_runs([tmp_path / "runs"], tmp_path / "curve.png")
    labels, lines, bands = return_panel(drawn[0])
    assert labels == [f"Pendulum-v1 ({seeds} seed{'s' if seeds > 1 else ''})"]
    np.testing.assert_allclose(lines[labels[0]][1], np.mean([RETURNS[seed + 1] for seed in range(seeds)], axis=0))
    if seeds == 1:
        assert bands == []
    else:  # seeds 1 and 2 of RETURNS: from the lower to the higher at each step
        assert bands == [{100: (-50.0, 500.0), 200: (-100.0, -40.0), 300: (-200.0, -30.0), 400: (-300.0, -20.0)}]
