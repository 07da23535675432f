"""What a new user tried, driven as they did it (the CLI's main(), or a subprocess where a signal or a second
process is what is tested): each bad input is refused before any work with one line that says what is wrong and a
command that works, nothing is created or damaged, and no failure leaves a dead end."""

import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from helpers import run_cli, run_tinyddpg

from tinyddpg.run import checkpoint as ckpt
from tinyddpg.run.runlog import read_log
from tinyddpg.run.train import train

FAST_CLI = ["--hidden", "32,32", "--batch-size", "32", "--random-steps", "100", "--update-after", "50",
            "--eval-every", "200", "--eval-episodes", "1", "--buffer-size", "5000", "--checkpoint-every", "200", "--quiet",
            "--threads", "1"]


def fast_config(**overrides):
    from helpers import fast_config as shrunk

    return shrunk(**{"eval_episodes": 1, "buffer_size": 5000, **overrides})  # as FAST_CLI


def assert_refused(result, message):
    assert result.returncode == 2, result.stderr
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr
    assert not any(line.startswith("training ") for line in result.stderr.splitlines())  # no start line


def folder_state(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def start_cli(*args):
    return subprocess.Popen([sys.executable, "-m", "tinyddpg", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def wait_for(predicate, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("trained") / "run"
    train(fast_config(steps=200), out, show_progress=False)
    return out


# --- evaluate: --episodes and --gif checked before the evaluation runs ----------------------------------------
@pytest.mark.parametrize("args, message", [
    (["--episodes", "0"], "argument --episodes: '0' is not allowed: must be an integer >= 1, e.g. --episodes 10"),
    (["--episodes", "-3"], "argument --episodes: '-3' is not allowed: must be an integer >= 1, e.g. --episodes 10"),
    (["--gif", "out/swing.gif"], "argument --gif: 'out/swing.gif': the folder out does not exist; create it first "
                                 "(mkdir -p out) or write to the current folder, e.g. --gif swing.gif"),
    (["--gif", "swing.mp4"], "argument --gif: 'swing.mp4' must end in .gif, e.g. --gif swing.gif"),
])
def test_bad_evaluate_options_are_refused_before_the_evaluation(trained, tmp_path, args, message):
    before = folder_state(trained)
    result = run_cli("evaluate", str(trained), *args, cwd=tmp_path)
    assert_refused(result, message)
    assert result.stdout == ""  # no evaluation ran
    assert list(tmp_path.iterdir()) == [] and folder_state(trained) == before


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_text("# notes\n"), "is a file, not a run folder; give the folder that holds checkpoint.npz"),
    (lambda p: None, "does not exist; give a run folder (e.g. runs/quickstart"),
    (lambda p: p.mkdir(), "is a folder that holds no tinyddpg run (no checkpoint.npz or config.json in it)"),
])
def test_evaluate_and_resume_say_what_the_path_is(tmp_path, make, message):
    path = tmp_path / "README.md"
    make(path)
    before = path.read_bytes() if path.is_file() else None
    assert_refused(run_cli("evaluate", str(path)), f"{path} {message}")
    assert_refused(run_cli("train", "--resume", str(path)), f"{path} {message}")
    assert (path.read_bytes() if path.is_file() else None) == before
    assert not path.is_dir() or list(path.iterdir()) == []


@pytest.mark.parametrize("output, message", [
    ("nodir/curve.png", "argument -o/--output: 'nodir/curve.png': the folder nodir does not exist; create it first"),
    ("curve.mp4", "argument -o/--output: 'curve.mp4' must end in .png or .pdf or .svg or .jpg or .jpeg, e.g. -o curve.png"),
])
def test_bad_plot_outputs_are_refused_before_drawing(trained, tmp_path, output, message):
    assert_refused(run_cli("plot", str(trained), "-o", output, cwd=tmp_path), message)
    assert list(tmp_path.iterdir()) == []


# --- train: numbers, environments, memory ---------------------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    (["--actor-lr", "inf"], "actor_lr='inf' is not allowed: must be a finite number, e.g. --actor-lr 0.001"),
    (["--gamma", "nan"], "gamma='nan' is not allowed: must be a finite number, e.g. --gamma 0.99"),
    (["--noise-scale=-inf"], "noise_scale='-inf' is not allowed: must be a finite number"),
    (["--env", "Pendulm-v1"], "env_id='Pendulm-v1' is not a registered gymnasium environment (did you mean 'Pendulum-v1'"),
    (["--threads", "0"], "argument --threads: '0' is not allowed: must be an integer >= 1, e.g. --threads 1"),
    (["--seed", "-1"], "seed=-1 is not allowed: must be an integer >= 0 (NumPy seeds its generators with those), e.g. "
                       "--seed 0"),
    (["--hidden", "64,,64"], "hidden='64,,64' is not a valid tuple[int, ...]: give comma-separated integers, e.g. "
                             "--hidden 400,300"),
    (["--hidden", "64,64,"], "hidden='64,64,' is not a valid tuple[int, ...]: give comma-separated integers"),
    (["--batch-size", "100000000", "--buffer-size", "100000000"],  # the whole ring is allocated, 30,000 rows saved
     "this run needs about 3,150.8 GiB (replay buffer 3.4 GiB, networks and Adam 7.5 MiB, one update's activations "
     "3,147.1 GiB), but the machine has"),
])
def test_bad_train_settings_are_refused_before_anything_is_written(tmp_path, args, message):
    result = run_cli("train", "--out", str(tmp_path / "run"), *args)
    assert_refused(result, message)
    assert not (tmp_path / "run").exists()


def test_a_run_folder_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "README.md").write_text("# notes\n")
    assert_refused(run_cli("train", "--out", str(tmp_path / "README.md")),
                   "README.md is a file, not a folder; choose another folder with --out")
    assert (tmp_path / "README.md").read_text() == "# notes\n"


# --- no dead end after a run that failed before its first checkpoint -------------------------------------------
def test_a_run_killed_before_its_first_checkpoint_starts_over_with_the_same_command_or_resume(tmp_path):
    out = tmp_path / "run"
    command = ["train", "--out", str(out), "--steps", "2000", *FAST_CLI, "--checkpoint-every", "5000"]  # (room for
    # the kill to land long before the run ends: the only checkpoint is the final one)
    process = start_cli(*command)
    wait_for(lambda: (out / "progress.csv").exists() and len(read_log(out / "progress.csv")) >= 1)
    process.kill()  # a crash in the first steps: a config and a log, no checkpoint
    process.communicate()
    assert not (out / "checkpoint.npz").exists()
    again = run_cli(*command)
    assert again.returncode == 0, again.stderr
    assert [int(r["step"]) for r in read_log(out / "progress.csv")] == list(range(200, 2001, 200))
    (out / "checkpoint.npz").unlink()  # and once more, as if it had failed again
    resumed = run_cli("train", "--resume", str(out), "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert f"{out} has no checkpoint yet (its run stopped before the first one): starting it over" in resumed.stderr
    assert [int(r["step"]) for r in read_log(out / "progress.csv")] == list(range(200, 2001, 200))


# --- one writer per run folder ---------------------------------------------------------------------------------
def test_a_second_process_on_a_training_folder_is_refused_naming_the_first(tmp_path):
    out = tmp_path / "run"
    first = start_cli("train", "--out", str(out), "--steps", "100000", *FAST_CLI)
    try:
        wait_for(lambda: (out / "checkpoint.npz").exists())
        for second in (["train", "--resume", str(out)], ["train", "--out", str(out), "--steps", "300"]):
            result = run_tinyddpg(*second)
            assert_refused(result, f"{out} is in use by process {first.pid} on ")
            assert f"then continue with: tinyddpg train --resume {out}" in result.stderr
        assert first.poll() is None  # the first one trains on, undisturbed
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=120)
    assert first.returncode == 130
    assert not (out / "train.lock").exists()
    steps = [int(row["step"]) for row in read_log(out / "progress.csv")]
    assert steps == sorted(set(steps))  # one writer: no row twice


# --- Ctrl-C mid-episode, then --resume: exactly the uninterrupted run -----------------------------------------
def test_ctrl_c_mid_episode_then_resume_gives_exactly_the_uninterrupted_log_and_weights(tmp_path):
    steps = ["--steps", "800", *FAST_CLI, "--hidden", "256,256", "--batch-size", "256"]  # slow enough steps that
    # the signal lands long before the end even on an idle machine (with 32-32 networks a run finished first)
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    assert run_cli("train", "--out", str(whole), *steps).returncode == 0
    process = start_cli("train", "--out", str(stopped), *steps)
    wait_for(lambda: (stopped / "progress.csv").exists() and len(read_log(stopped / "progress.csv")) >= 1)
    time.sleep(0.1)  # into the second episode
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "SIGINT: finishing the episode, then saving" in stderr
    _, meta = ckpt.load_checkpoint(stopped / "checkpoint.npz")
    stopped_at = meta["counters"]["step"]
    assert 0 < stopped_at < 800 and stopped_at % 200 == 0  # at an episode end (Pendulum: 200 steps)
    resumed = run_cli("train", "--resume", str(stopped), "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert " 1 (the run's own, from its checkpoint, so the resume is exact)" in resumed.stderr
    drop_speed = [{k: v for k, v in row.items() if k != "steps_per_s"} for row in read_log(whole / "progress.csv")]
    assert [{k: v for k, v in row.items() if k != "steps_per_s"}
            for row in read_log(stopped / "progress.csv")] == drop_speed
    whole_arrays, _ = ckpt.load_checkpoint(whole / "checkpoint.npz")
    stopped_arrays, _ = ckpt.load_checkpoint(stopped / "checkpoint.npz")
    assert sorted(whole_arrays) == sorted(stopped_arrays)
    for name, array in whole_arrays.items():  # networks, targets, Adam states and the replay buffer
        np.testing.assert_array_equal(stopped_arrays[name], array, err_msg=name)


@pytest.mark.parametrize("cores, load, others, threads", [(2, 0.1, 0, 2), (2, 0.6, 0, 1), (2, 1.0, 0, 1), (2, 6.5, 0, 1),
                                                          (1, 0.0, 0, 1), (16, 3.2, 0, 13), (2, 0.0, 1, 1), (16, 1.0, 5, 11)])
def test_the_default_thread_count_is_one_per_free_core(monkeypatch, cores, load, others, threads):
    from tinyddpg.run import threads as threads_module

    monkeypatch.setattr(threads_module.os, "cpu_count", lambda: cores)
    monkeypatch.setattr(threads_module.os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(threads_module, "others_running_now", lambda: others)
    processes, on_cores = ("1 other process" if others == 1 else f"{others} other processes"), (
        "1 core" if cores == 1 else f"{cores} cores")  # in the right number: "1 other process", "on 1 core"
    assert threads_module.free_core_threads() == (threads, f"load {load:.1f}, {processes} running, on {on_cores}")


def test_a_process_that_just_started_counts_as_busy_before_the_load_average_sees_it():
    from tinyddpg.run.threads import others_running_now

    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        assert others_running_now() >= 1  # the 1-minute load average would still read about 0.0
    finally:
        hog.kill()
        hog.wait()


def test_a_second_ctrl_c_stops_after_the_current_step_and_says_what_the_resume_then_differs_in(tmp_path):
    out = tmp_path / "run"
    process = start_cli("train", "--out", str(out), "--steps", "100000", *FAST_CLI, "--hidden", "256,256",
                        "--batch-size", "256")  # slower steps: the two signals land in one episode
    wait_for(lambda: (out / "progress.csv").exists() and len(read_log(out / "progress.csv")) >= 1)
    time.sleep(0.1)  # into the second episode
    process.send_signal(signal.SIGINT)
    time.sleep(0.05)  # (two signals sent at once would arrive as one)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    _, meta = ckpt.load_checkpoint(out / "checkpoint.npz")
    stopped_at = meta["counters"]["step"]
    assert f"stopped by SIGINT at step {stopped_at};" in stderr and stopped_at < 400  # not at the episode's end
    if stopped_at % 200:  # (unless the second signal landed on an episode's last step: 1 in 200)
        assert "it stopped mid-episode, so the resumed run starts that episode over" in stderr
