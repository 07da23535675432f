import csv
import shutil

import pytest
from helpers import run_tinyddpg, without_wall_clock

from tinyddpg.errors import ConfigError
from tinyddpg.run.config import with_overrides
from tinyddpg.run.plot import find_runs, group_runs
from tinyddpg.run.runlog import read_log
from tinyddpg.run.sweep import SweepFailed, make_spec, parse_seeds, plan_runs, run_sweep
from tinyddpg.run.train import train

FAST = ["steps=400", "hidden=32,32", "random_steps=100", "update_after=50", "eval_every=200", "eval_episodes=1",
        "buffer_size=10000", "checkpoint_every=200"]
SPEC = make_spec("pendulum", "0-1", ["batch_size=32,64", *FAST])
RUNS = ["batch_size=32/seed0", "batch_size=32/seed1", "batch_size=64/seed0", "batch_size=64/seed1"]


def read_summary(out, name="summary.csv"):
    with open(out / name, newline="") as file:
        return list(csv.DictReader(file))


def logged_returns(run_dir):
    return [float(row["eval_return_mean"]) for row in read_log(run_dir / "progress.csv") if row["eval_return_mean"]]


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    """The tiny sweep (2 settings x 2 seeds, 400 steps) on 2 local worker processes, run once for the module."""
    out = tmp_path_factory.mktemp("sweeps") / "local"
    run_sweep(SPEC, out, workers=2)
    return out


def test_a_sweep_writes_one_train_style_run_per_setting_and_seed_a_summary_and_a_plot(local_sweep, tmp_path):
    assert sorted(str(run.relative_to(local_sweep)) for run in find_runs([local_sweep])) == RUNS
    for run in RUNS:
        assert {p.name for p in (local_sweep / run).iterdir()} == {"config.json", "progress.csv", "checkpoint.npz",
                                                                   "curve.png"}
    summary = read_summary(local_sweep)
    assert [(row["setting"], row["seed"], row["steps"], row["evaluations"]) for row in summary] == [
        ("batch_size=32", "0", "400", "2"), ("batch_size=32", "1", "400", "2"), ("batch_size=64", "0", "400", "2"),
        ("batch_size=64", "1", "400", "2")]
    for run, row in zip(RUNS, summary):  # evaluations at steps 200 and 400; the last 5 are both of them
        first, final = logged_returns(local_sweep / run)
        assert float(row["final_eval_return"]) == pytest.approx(final, rel=1e-5)
        assert float(row["last5_mean_eval_return"]) == pytest.approx((first + final) / 2, rel=1e-5)
        assert float(row["best_eval_return"]) == pytest.approx(max(first, final), rel=1e-5)
        assert -2000 < final < 0 and float(row["steps_per_s"]) > 0
    # each run is exactly the run `train` makes with the same config
    config = plan_runs(SPEC, local_sweep)[3].config
    train(config, tmp_path / "alone", show_progress=False)
    assert without_wall_clock(read_log(tmp_path / "alone/progress.csv")) == without_wall_clock(
        read_log(local_sweep / RUNS[3] / "progress.csv"))
    # the plot: one curve per setting, each over two seeds
    assert (local_sweep / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    groups = group_runs(find_runs([local_sweep]))
    assert sorted(groups) == ["batch_size=32", "batch_size=64"] and all(len(runs) == 2 for runs in groups.values())
    for band in ("minmax", "iqm-ci"):
        plotted = run_tinyddpg("plot", str(local_sweep), "--band", band, "-o", str(tmp_path / f"{band}.png"))
        assert plotted.returncode == 0, plotted.stderr
        assert (tmp_path / f"{band}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_sweep_run_again_skips_finished_runs_resumes_unfinished_ones_and_restarts_unsaved_ones(local_sweep, tmp_path):
    out = tmp_path / "sweep"
    shutil.copytree(local_sweep, out)
    unfinished, unsaved, finished = RUNS[3], RUNS[0], (RUNS[1], RUNS[2])
    # unfinished: as if stopped at step 200 (its checkpoint says 200 of 400 steps)
    shutil.rmtree(out / unfinished)
    config = plan_runs(SPEC, out)[3].config
    train(with_overrides(config, {"steps": 200}), out / unfinished, show_progress=False)
    # unsaved: stopped before its first checkpoint (a config and part of a log, no checkpoint)
    (out / unsaved / "checkpoint.npz").unlink()
    log = (out / unsaved / "progress.csv").read_text().splitlines(keepends=True)
    (out / unsaved / "progress.csv").write_text("".join(log[:2]))
    untouched = {run: (out / run / "progress.csv").stat().st_mtime_ns for run in finished}

    results = run_sweep(SPEC, out, workers=2)

    assert [r.action for r in results] == ["trained", "skipped", "skipped", "resumed"]
    assert {run: (out / run / "progress.csv").stat().st_mtime_ns for run in finished} == untouched
    for run in RUNS:  # every log as the uninterrupted sweep wrote it
        assert without_wall_clock(read_log(out / run / "progress.csv")) == without_wall_clock(
            read_log(local_sweep / run / "progress.csv"))
    assert without_wall_clock(read_summary(out)) == without_wall_clock(read_summary(local_sweep))


def test_the_settings_summary_has_each_settings_mean_and_iqm_over_seeds_with_the_range_of_two_seeds_as_interval(
        local_sweep):
    rows = read_summary(local_sweep, "summary_settings.csv")
    assert [(row["setting"], row["score"], row["seeds"]) for row in rows] == [
        ("batch_size=32", "final_eval_return", "2"), ("batch_size=32", "last5_mean_eval_return", "2"),
        ("batch_size=64", "final_eval_return", "2"), ("batch_size=64", "last5_mean_eval_return", "2")]
    for row in rows:
        logs = [logged_returns(local_sweep / row["setting"] / f"seed{seed}") for seed in (0, 1)]
        scores = [log[-1] if row["score"] == "final_eval_return" else sum(log) / len(log) for log in logs]
        for statistic in ("mean", "iqm"):  # two seeds: the IQM is the mean, the interval their range
            assert float(row[statistic]) == pytest.approx(sum(scores) / 2, rel=1e-5)
            assert float(row[f"{statistic}_ci_low"]) == pytest.approx(min(scores), rel=1e-5)
            assert float(row[f"{statistic}_ci_high"]) == pytest.approx(max(scores), rel=1e-5)


def test_a_finished_sweep_run_again_trains_nothing_and_rewrites_its_summaries_with_another_k(local_sweep, tmp_path):
    """As on a sweep folder written before the statistics existed: the old summary.csv columns, no
    summary_settings.csv."""
    out = tmp_path / "sweep"
    shutil.copytree(local_sweep, out)
    (out / "summary.csv").write_text("setting,seed,steps,final_eval_return,best_eval_return,steps_per_s\n")
    (out / "summary_settings.csv").unlink()
    logs = {run: (out / run / "progress.csv").read_bytes() for run in RUNS}

    results = run_sweep(SPEC, out, workers=2, last_k=1)

    assert [r.action for r in results] == ["skipped"] * 4
    assert {run: (out / run / "progress.csv").read_bytes() for run in RUNS} == logs
    summary = read_summary(out)
    assert list(summary[0]) == ["setting", "seed", "steps", "evaluations", "final_eval_return", "last1_mean_eval_return",
                                "best_eval_return", "steps_per_s"]
    assert all(row["last1_mean_eval_return"] == row["final_eval_return"] != "" for row in summary)
    assert [row["score"] for row in read_summary(out, "summary_settings.csv")] == [
        "final_eval_return", "last1_mean_eval_return"] * 2


def test_a_failing_run_does_not_stop_the_others_and_the_sweep_reports_it(local_sweep, tmp_path):
    out = tmp_path / "sweep"
    shutil.copytree(local_sweep, out)
    (out / RUNS[1] / "checkpoint.npz").write_bytes(b"not a checkpoint")
    (out / RUNS[2] / "checkpoint.npz").unlink()  # this one trains again meanwhile

    with pytest.raises(SweepFailed, match=r"1 of 4 runs failed \(batch_size=32/seed1; why is shown above\)"):
        run_sweep(SPEC, out, workers=2)

    assert [(row["setting"], row["seed"]) for row in read_summary(out)] == [
        ("batch_size=32", "0"), ("batch_size=64", "0"), ("batch_size=64", "1")]
    assert without_wall_clock(read_log(out / RUNS[2] / "progress.csv")) == without_wall_clock(
        read_log(local_sweep / RUNS[2] / "progress.csv"))


def test_a_sweep_on_ray_started_here_gives_the_summary_of_local_workers(local_sweep, tmp_path):
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'tinyddpg[ray]')")
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        run_sweep(SPEC, tmp_path / "ray", ray_address="local")
    finally:
        ray.shutdown()
    assert sorted(str(run.relative_to(tmp_path / "ray")) for run in find_runs([tmp_path / "ray"])) == RUNS
    assert without_wall_clock(read_summary(tmp_path / "ray")) == without_wall_clock(read_summary(local_sweep))
    assert (tmp_path / "ray/curve.png").exists()


def test_seeds_are_a_range_a_list_or_one_seed():
    assert parse_seeds("0-4") == (0, 1, 2, 3, 4)
    assert parse_seeds("0,2,5") == (0, 2, 5)
    assert parse_seeds("3") == (3,)
    with pytest.raises(ConfigError, match="lists seed 1 more than once"):
        parse_seeds("0-2,1")


def test_list_valued_settings_separate_their_values_by_slashes():
    spec = make_spec("pendulum", "0", ["hidden=64,64/256,256", "steps=300"])
    assert spec.settings == (("hidden", ((64, 64), (256, 256))), ("steps", (300,)))
    assert [run.setting for run in plan_runs(spec, "out")] == ["hidden=64,64", "hidden=256,256"]


@pytest.mark.parametrize("args, message", [
    (["--set", "bach_size=64,256"], "--set 'bach_size=64,256': unknown setting 'bach_size' (did you mean 'batch_size'"),
    (["--set", "batch_size="], "--set 'batch_size=': no values given"),
    (["--set", "batch_size=64,abc"], "--set 'batch_size=64,abc': batch_size='abc' is not a valid int"),
    (["--set", "batch_size"], "--set 'batch_size': expected NAME=VALUE[,VALUE...]"),
    (["--seeds", "4-2"], "--seeds '4-2': the range 4-2 is empty (4 > 2)"),
    (["--seeds", "x"], "--seeds 'x': 'x' is not a seed or a range"),
    (["--set", "buffer_size=100", "--set", "batch_size=64,256"],
     "setting batch_size=256: batch_size=256 is not allowed: must be <= buffer_size (100)"),
])
def test_bad_sweep_specs_are_refused_before_any_run_starts(tmp_path, args, message):
    result = run_tinyddpg("sweep", "--out", str(tmp_path / "sweep"), *args)
    assert result.returncode == 2 and f"tinyddpg: error: {message}" in result.stderr, result.stderr
    assert not (tmp_path / "sweep").exists()


@pytest.mark.parametrize("args, message", [
    (["sweep", "--out", "sweep", "--last-k", "0"], "argument --last-k: '0' is not allowed: must be an integer >= 1, e.g. "
                                                    "--last-k 5"),
    (["plot", ".", "--band", "ci"], "argument --band: invalid choice: 'ci' (choose from"),
])
def test_a_bad_last_k_or_band_is_refused_in_one_line_before_any_work(tmp_path, args, message):
    result = run_tinyddpg(*args, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr.splitlines()[-1], result.stderr
    assert "Traceback" not in result.stderr and not any(tmp_path.iterdir())


def test_a_different_sweep_in_the_same_folder_is_refused(local_sweep):
    spec = (local_sweep / "sweep.json").read_text()
    result = run_tinyddpg("sweep", "--out", str(local_sweep), "--seeds", "0-1", "--set", "batch_size=32,128", *(
        arg for setting in FAST for arg in ("--set", setting)))
    assert result.returncode == 2 and "holds a different sweep" in result.stderr
    assert (local_sweep / "sweep.json").read_text() == spec


def test_every_train_setting_is_also_a_sweep_flag_fixing_it_for_every_run():
    assert make_spec("pendulum", "0-1", ["batch_size=32,64"], fixed={"steps": 400, "hidden": (32, 32)}) == make_spec(
        "pendulum", "0-1", ["batch_size=32,64", "steps=400", "hidden=32,32"])
    with pytest.raises(ConfigError, match=r"steps is given both as --steps and as --set steps=\.\.\.; give it once"):
        make_spec("pendulum", "0", ["steps=300"], fixed={"steps": 400})


def test_a_sweep_from_the_command_line_with_train_flags_and_no_evaluation_yet_shows_no_nan(tmp_path):
    out = tmp_path / "sweep"
    result = run_tinyddpg("sweep", "--preset", "pendulum", "--seeds", "0-1", "--steps", "100", "--hidden", "32,32",
                          "--batch-size", "32", "--random-steps", "50", "--update-after", "50", "--buffer-size", "1000",
                          "--workers", "1", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "trained, no evaluation yet" in result.stderr and "nan" not in result.stderr.lower()
    summary = read_summary(out)
    assert [(row["seed"], row["steps"], row["final_eval_return"], row["best_eval_return"]) for row in summary] == [
        ("0", "100", "", ""), ("1", "100", "", "")]
    assert [(row["seeds"], row["mean"], row["iqm_ci_low"]) for row in read_summary(out, "summary_settings.csv")] == [
        ("0", "", "")] * 2
    assert "nan" not in (out / "summary.csv").read_text().lower() + result.stdout.lower()
    assert "nan" not in (out / "summary_settings.csv").read_text().lower()
