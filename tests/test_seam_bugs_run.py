"""The seam bugs a new user hit first in running, plotting, resuming and sweeping (issue 18, part 2), each driven as
the user drove it (the CLI or a Python script in a subprocess): the right behaviour, or one line that says what is
wrong and a next step that works."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys

import matplotlib.axes
import pytest
from helpers import fast_config, run_tinyddpg

from tinyddpg.backend import cupy_problem
from tinyddpg.run import checkpoint as ckpt
from tinyddpg.run.runlog import read_log
from tinyddpg.run.threads import saved_threads
from tinyddpg.run.train import Counters, train

TINY = ["--hidden", "32,32", "--batch-size", "32", "--random-steps", "100", "--update-after", "50", "--eval-every",
        "200", "--eval-episodes", "1", "--buffer-size", "5000", "--checkpoint-every", "200", "--quiet", "--threads", "1"]


def without_variable(name):
    return {k: v for k, v in os.environ.items() if k != name}


def assert_one_line_refusal(result, message):
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("tinyddpg: error: ") and result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr


def svg_texts(path):
    """The texts a matplotlib SVG draws, in drawing order (it writes each as a comment beside its glyphs)."""
    return re.findall(r"<!-- (.*?) -->", path.read_text())


@pytest.fixture(scope="module")
def run_400(tmp_path_factory):
    """A 400-step run trained by the CLI (two episodes, two evaluations)."""
    out = tmp_path_factory.mktemp("trained") / "run"
    result = run_tinyddpg("train", "--out", str(out), "--steps", "400", *TINY)
    assert result.returncode == 0, result.stderr
    return out


def copy_run(run, to):
    shutil.copytree(run, to, ignore=shutil.ignore_patterns("train.lock"))
    return to


# --- plots -------------------------------------------------------------------------------------------------------
def test_a_single_runs_curve_is_titled_with_its_folder_not_its_log(run_400, tmp_path, monkeypatch):
    plotted = run_tinyddpg("plot", str(run_400), "-o", str(tmp_path / "curve.svg"))
    assert plotted.returncode == 0, plotted.stderr
    texts = svg_texts(tmp_path / "curve.svg")
    assert f"tinyddpg learning curve of one run: {run_400}" in texts
    assert not any("'step'" in text or "eval_return_mean" in text for text in texts)  # no CSV row drawn anywhere
    assert "Pendulum-v1 (1 seed)" in texts

    titles = []  # train() draws curve.png itself: the title it sets there
    original = matplotlib.axes.Axes.set_title
    monkeypatch.setattr(matplotlib.axes.Axes, "set_title", lambda axis, text, *a, **k: (
        titles.append(text), original(axis, text, *a, **k))[1])
    train(fast_config(steps=0, buffer_size=1000), tmp_path / "python run", show_progress=False, announce=False,
          threads=1)
    assert titles[0] == f"tinyddpg learning curve of one run: {tmp_path / 'python run'}"


def test_plot_finds_runs_in_a_folder_of_sweeps_and_counts_runs_of_one_seed_as_runs(run_400, tmp_path):
    sweeps = tmp_path / "sweeps"
    copy_run(run_400, sweeps / "first" / "pendulum" / "seed0")  # the layout `tinyddpg sweep` writes, two sweeps deep
    old = copy_run(run_400, sweeps / "second" / "pendulum" / "seed0")
    config = json.loads((old / "config.json").read_text())  # as a tinyddpg from before the TD3 switches saved it
    for name in ("td3", "tensorboard"):
        del config[name]
    for name in ("twin_critics", "target_noise", "target_noise_clip", "policy_delay"):
        del config["agent"][name]
    (old / "config.json").write_text(json.dumps(config))

    plotted = run_tinyddpg("plot", str(sweeps), "-o", str(tmp_path / "curve.svg"))

    assert plotted.returncode == 0, plotted.stderr
    assert "Warning" not in plotted.stderr
    texts = svg_texts(tmp_path / "curve.svg")
    assert "Pendulum-v1 (2 runs of seed 0)" in texts  # one setting: nothing that does not differ is listed
    assert "tinyddpg learning curve: mean over seeds, band = min to max" in texts


def test_a_legend_too_long_for_one_line_wraps_and_draws_no_warning(run_400, tmp_path):
    for k, value in enumerate(("400,300", "64,64")):
        run = copy_run(run_400, tmp_path / f"run{k}")
        config = json.loads((run / "config.json").read_text())
        config.update(steps=30_000 + k, checkpoint_every=5_000 + k, eval_every=1_000 + k, buffer_size=1_000_000 + k)
        config["agent"].update(hidden=[int(h) for h in value.split(",")], batch_size=256 + k, gamma=0.98 + k / 100)
        (run / "config.json").write_text(json.dumps(config))
    plotted = run_tinyddpg("plot", str(tmp_path / "run0"), str(tmp_path / "run1"), "-o", str(tmp_path / "curve.svg"),
                           env={**os.environ, "PYTHONWARNINGS": "error::UserWarning"})
    assert plotted.returncode == 0 and "Warning" not in plotted.stderr, plotted.stderr
    legend = [text for text in svg_texts(tmp_path / "curve.svg") if "batch_size=" in text]
    assert legend[0].startswith("batch_size=256, buffer_size=1000000, checkpoint_every=5000,")
    assert all(len(line) <= 60 for line in legend)  # wrapped, within the axes


# --- the backend the user asked for --------------------------------------------------------------------------------
def test_tinyddpg_backend_is_honoured_by_train_and_said_in_the_start_line(tmp_path):
    chosen = run_tinyddpg("train", "--out", str(tmp_path / "auto"), "--steps", "0", *TINY,
                          env={**os.environ, "TINYDDPG_BACKEND": "auto"})
    assert chosen.returncode == 0, chosen.stderr
    working = "cupy" if cupy_problem() is None else "numpy"
    assert f"(seed 0, backend {working} (auto; from TINYDDPG_BACKEND), BLAS threads" in chosen.stderr
    assert json.loads((tmp_path / "auto/config.json").read_text())["backend"] == "auto"
    explicit = run_tinyddpg("train", "--out", str(tmp_path / "numpy"), "--steps", "0", "--backend", "numpy", *TINY,
                            env={**os.environ, "TINYDDPG_BACKEND": "auto"})  # --backend wins
    assert explicit.returncode == 0 and "(seed 0, backend numpy, BLAS threads" in explicit.stderr, explicit.stderr


@pytest.mark.parametrize("command", ["train", "sweep"])
def test_a_tinyddpg_backend_that_is_no_backend_is_refused(tmp_path, command):
    result = run_tinyddpg(command, "--out", str(tmp_path / "out"), "--steps", "0",
                          env={**os.environ, "TINYDDPG_BACKEND": "bogus"})
    assert_one_line_refusal(result, "TINYDDPG_BACKEND='bogus' is not a backend: set it to one of numpy, cupy, auto "
                                    "(export TINYDDPG_BACKEND=numpy), or unset it (unset TINYDDPG_BACKEND)")
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(cupy_problem() is None, reason="CuPy works here")
def test_tinyddpg_backend_cupy_without_a_gpu_is_refused_with_the_way_to_the_cpu_and_to_the_gpu(tmp_path):
    result = run_tinyddpg("train", "--out", str(tmp_path / "out"), "--steps", "0",
                          env={**os.environ, "TINYDDPG_BACKEND": "cupy"})
    assert_one_line_refusal(result, f"TINYDDPG_BACKEND=cupy asks for the GPU, but {cupy_problem()}. To fix: install "
                                    f"CuPy for your CUDA version with `pip install 'tinyddpg[cuda12]'`")
    assert "or choose `--backend numpy` (or unset TINYDDPG_BACKEND)" in result.stderr
    assert not (tmp_path / "out").exists()
    cpu = run_tinyddpg("train", "--out", str(tmp_path / "out"), "--steps", "0", "--backend", "numpy", *TINY,
                       env={**os.environ, "TINYDDPG_BACKEND": "cupy"})  # the way it names works
    assert cpu.returncode == 0, cpu.stderr


# --- the Python API chooses the thread count and says so, as the CLI does --------------------------------------
def test_train_from_python_chooses_the_blas_threads_and_prints_the_start_line(tmp_path):
    script = ("import sys; from helpers import fast_config; from tinyddpg import train; "
              "from tinyddpg.run.threads import blas_threads; "
              "train(fast_config(steps=0, buffer_size=1000), sys.argv[1], show_progress=False); "
              "print('threads now', blas_threads())")
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "run")], capture_output=True, text=True,
                            timeout=300, cwd=os.path.dirname(__file__),
                            env={**without_variable("OPENBLAS_NUM_THREADS"), "PYTHONPATH": os.pathsep.join(sys.path)})
    assert result.returncode == 0, result.stderr
    start = re.search(r"training Pendulum-v1 for 0 steps \(seed 0, backend numpy, BLAS threads: \w+ (\d+) \(load "
                      r"[\d.]+, .* running, on \d+ cores?\), memory about .*\) -> " + re.escape(str(tmp_path / "run")),
                      result.stderr)
    assert start, result.stderr
    assert result.stdout == f"threads now {start.group(1)}\n"
    assert saved_threads(tmp_path / "run") == int(start.group(1))


# --- resume ------------------------------------------------------------------------------------------------------
def test_a_resume_to_fewer_steps_than_done_is_refused_naming_the_steps_and_a_command_that_works(run_400, tmp_path):
    run = copy_run(run_400, tmp_path / "run")
    config = (run / "config.json").read_text()
    result = run_tinyddpg("train", "--resume", str(run), "--steps", "100")
    assert_one_line_refusal(result, f"steps=100 is fewer than the 400 steps the run in {run} has done already; "
                                    f"continue it with more, e.g. tinyddpg train --resume {run} --steps 800")
    assert (run / "config.json").read_text() == config
    suggested = result.stderr.strip().split("e.g. ")[1].split()
    again = run_tinyddpg(*suggested[1:], "--quiet")
    assert again.returncode == 0, again.stderr
    assert [int(row["step"]) for row in read_log(run / "progress.csv")] == [200, 400, 600, 800]


@pytest.mark.parametrize("beside, named", [(["--preset", "halfcheetah"], "--preset"), (["--out", "elsewhere"], "--out"),
                                           (["--gamma", "0.5", "--out", "elsewhere"], "--gamma, --out")])
def test_preset_and_out_beside_resume_are_refused_like_other_settings(run_400, tmp_path, beside, named):
    before = {p.name: p.read_bytes() for p in run_400.iterdir()}
    result = run_tinyddpg("train", "--resume", str(run_400), *beside, cwd=tmp_path)
    assert_one_line_refusal(result, f"only --steps may change (got {named}): continue it with tinyddpg train "
                                    f"--resume {run_400} [--steps N], or train a new run with other settings in another "
                                    f"folder (--out)")
    assert {p.name: p.read_bytes() for p in run_400.iterdir()} == before and list(tmp_path.iterdir()) == []


def test_a_resume_whose_log_was_deleted_is_refused_with_a_way_to_go_on(run_400, tmp_path):
    run = copy_run(run_400, tmp_path / "run")
    (run / "progress.csv").unlink()
    result = run_tinyddpg("train", "--resume", str(run), "--steps", "600")
    assert_one_line_refusal(result, f"{run}/progress.csv is missing, so the resumed run's log would lack its first "
                                    f"400 steps; put it back, or continue with a log that starts at step 400: touch ")
    assert not (run / "progress.csv").exists()
    command = result.stderr.split("step 400: ")[1].strip()
    went_on = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=300)
    assert went_on.returncode == 0, went_on.stderr
    assert [int(row["step"]) for row in read_log(run / "progress.csv")] == [600]


def test_a_truncated_checkpoint_names_the_way_forward_and_it_works(run_400, tmp_path):
    run = copy_run(run_400, tmp_path / "a run")  # a space in the path: the command must still copy and paste
    whole = (run / "checkpoint.npz").read_bytes()
    (run / "checkpoint.npz").write_bytes(whole[: len(whole) // 2])
    for command in (["train", "--resume", str(run), "--steps", "600"], ["evaluate", str(run)]):
        result = run_tinyddpg(*command)
        assert_one_line_refusal(result, f"{run}/checkpoint.npz is truncated or corrupt (")
        assert ("Put back a copy of it if you have one, or set it aside and train the run again from its start: mv "
                in result.stderr)
    command = result.stderr.split("from its start: ")[1].strip()
    went_on = subprocess.run(f"{command} --quiet", shell=True, capture_output=True, text=True, timeout=300)
    assert went_on.returncode == 0, went_on.stderr
    assert (run / "checkpoint.npz.damaged").read_bytes() == whole[: len(whole) // 2]  # set aside, not deleted
    assert ckpt.read_checkpoint_meta(run / "checkpoint.npz")["counters"]["step"] == 400


# --- sweeps ------------------------------------------------------------------------------------------------------
def test_sweep_takes_threads_and_quiet_like_train(tmp_path):
    out = tmp_path / "sweep"
    result = run_tinyddpg("sweep", "--seeds", "0", "--out", str(out), "--steps", "100", "--buffer-size", "1000",
                          "--hidden", "32,32", "--batch-size", "32", "--update-after", "50", "--threads", "2", "--quiet")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[0] == f"sweep: 1 run (1 setting x 1 seed) in 1 local worker process -> {out}"
    assert len(result.stderr.splitlines()) == 2 and result.stderr.splitlines()[1].startswith("sweep done in ")
    assert saved_threads(out / "pendulum/seed0") == 2


def test_a_sweep_folder_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("# notes\n")
    result = run_tinyddpg("sweep", "--out", str(tmp_path / "notes.txt"), "--steps", "0")
    assert_one_line_refusal(result, f"--out {tmp_path / 'notes.txt'} is a file, not a folder; give a folder for the "
                                    f"sweep (a new one, or the folder of the sweep to resume), e.g. --out sweeps/batch")
    assert (tmp_path / "notes.txt").read_text() == "# notes\n"


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("address, reason", [
    ("auto", "could not join a Ray cluster (Could not find any running Ray instance"),
    (f"ray://127.0.0.1:{closed_port()}", "no Ray cluster answers there within 5 s (ConnectionRefusedError"),
    ("ray://nohost.invalid", "no Ray cluster answers there within 5 s (gaierror"),
], ids=["auto-no-cluster", "client-closed-port", "client-unknown-host"])
def test_a_ray_cluster_that_is_not_there_is_refused_in_one_line_before_the_sweep_starts(tmp_path, address, reason):
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'tinyddpg[ray]')")
    result = run_tinyddpg("sweep", "--ray", address, "--out", str(tmp_path / "sweep"), "--steps", "0",
                          env=without_variable("RAY_ADDRESS"), timeout=60)
    assert_one_line_refusal(result, f"--ray {address}: {reason}")
    assert result.stderr.strip().endswith("check the address, start the cluster (ray start --head, on its head node), "
                                          "or run without --ray on local workers")
    assert not (tmp_path / "sweep").exists()


# --- counts in the right number ------------------------------------------------------------------------------------
def test_counts_of_one_are_singular(run_400):
    result = run_tinyddpg("evaluate", str(run_400), "--episodes", "1")
    assert result.returncode == 0, result.stderr
    assert " over 1 noise-free episode (min " in result.stdout
    assert str(Counters(step=1_200, episode=1, evaluations=1)) == "1,200 steps, 1 episode, 1 evaluation"
    assert str(Counters(step=1, episode=2, evaluations=0)) == "1 step, 2 episodes, 0 evaluations"
