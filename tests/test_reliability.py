"""Bad input gets a clear error before any work; saved state survives signals, kill -9, NaN and disk faults."""

import errno
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import helpers
import numpy as np
import pytest
from helpers import run_tinyddpg
from toy_envs import register_toy_envs

from tinyddpg.errors import CheckpointError, ConfigError, NumericalError
from tinyddpg.run import checkpoint as ckpt
from tinyddpg.run.memory import OutOfMemory
from tinyddpg.run.runlog import read_log
from tinyddpg.run.train import Run, train

register_toy_envs()

FAST_CLI = ["--hidden", "32,32", "--batch-size", "32", "--random-steps", "100", "--update-after", "50",
            "--eval-every", "200", "--eval-episodes", "1", "--buffer-size", "50000", "--checkpoint-every", "200", "--quiet",
            "--threads", "1"]


def fast_config(**overrides):
    return helpers.fast_config(**{"eval_episodes": 1, "buffer_size": 50_000, **overrides})  # as FAST_CLI


def start_cli(*args):
    return subprocess.Popen([sys.executable, "-m", "tinyddpg", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def assert_clean_error(result, message):
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


# --- 1. validation before any work ----------------------------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    (["--gamma", "1.5"], "gamma=1.5 is not allowed: must be in [0, 1]"),
    (["--rho", "1"], "rho=1.0 is not allowed: must be in [0, 1)"),
    (["--actor-lr", "0"], "actor_lr=0.0 is not allowed: must be > 0"),
    (["--critic-lr=-1e-3"], "critic_lr=-0.001 is not allowed: must be > 0"),
    (["--noise-scale", "-0.1"], "noise_scale=-0.1 is not allowed: must be >= 0"),
    (["--hidden", ""], "hidden=() is not allowed: needs at least one layer"),
    (["--hidden", "64,0"], "hidden=(64, 0) is not allowed"),
    (["--steps", "-5"], "steps=-5 is not allowed: must be an integer >= 0"),
    (["--steps", "ten"], "steps='ten' is not a valid int: give an integer, e.g. --steps 30000"),
    (["--td3", "maybe"], "td3='maybe' is not a valid bool: give true or false, e.g. --td3 false"),
    (["--batch-size", "512", "--buffer-size", "100"], "batch_size=512 is not allowed: must be <= buffer_size (100)"),
    (["--noise", "pink"], "noise='pink' is not allowed: choose one of gaussian, ou, none"),
    (["--backend", "tensorflow"], "backend='tensorflow' is not allowed: choose one of numpy, cupy, auto"),
    (["--preset", "pendullum"], "invalid choice: 'pendullum'"),
    (["--env", "Pendulm-v1"], "env_id='Pendulm-v1' is not a registered gymnasium environment (did you mean 'Pendulum-v1'"),
    (["--env", "CartPole-v1"], "CartPole-v1 has a Discrete action space; DDPG needs continuous actions"),
])
def test_bad_settings_are_refused_before_any_work(tmp_path, args, message):
    out = tmp_path / "run"
    result = run_tinyddpg("train", "--out", str(out), *args)
    assert message in result.stderr and result.returncode == 2
    assert "Traceback" not in result.stderr
    assert not any(line.startswith("training ") for line in result.stderr.splitlines())  # no start line
    assert not out.exists()


@pytest.mark.skipif(__import__("tinyddpg.backend").backend.cupy_problem() is None, reason="a CUDA device works here")
def test_cupy_backend_without_a_device_is_refused(tmp_path):
    assert_clean_error(run_tinyddpg("train", "--out", str(tmp_path / "run"), "--backend", "cupy"),
                       "backend 'cupy' is not available")


@pytest.mark.parametrize("env_id, message", [
    ("tinyddpg-test/MultiDiscrete-v0", "has a MultiDiscrete action space; DDPG needs continuous actions"),
    ("tinyddpg-test/Unbounded-v0", "DDPG needs a flat Box with finite bounds"),
    ("tinyddpg-test/Image-v0", "need a flat Box (a vector); flatten it with gymnasium.wrappers.FlattenObservation"),
    ("tinyddpg-test/DictObs-v0", "need a flat Box (a vector)"),
])
def test_unsupported_spaces_are_refused(tmp_path, env_id, message):
    with pytest.raises(ConfigError) as error:
        Run(fast_config(env_id=env_id), tmp_path / "run")
    assert message in str(error.value)
    assert not (tmp_path / "run").exists()


def test_unwritable_run_folder_is_refused_up_front():
    with pytest.raises(ConfigError, match="cannot write to the run folder /sys/tinyddpg-test-run"):
        train(fast_config(steps=10), Path("/sys/tinyddpg-test-run"), show_progress=False)


# --- 2. checkpoints that cannot hurt you -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("good") / "run"
    train(fast_config(steps=400), out, show_progress=False)
    return out


def copy_run(good_run, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    for name in ("config.json", "progress.csv"):
        (out / name).write_bytes((good_run / name).read_bytes())
    return out


def write_arrays(path, arrays, meta=None):
    payload = dict(arrays)
    if meta is not None:
        payload["meta"] = np.asarray(meta)
    with open(path, "wb") as file:
        np.savez(file, **payload)


class CreatesAFile:
    """Unpickling this would create a marker file: proof that loading never unpickles."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def crafted_checkpoints(good_run, tmp_path):
    good = (good_run / "checkpoint.npz").read_bytes()
    arrays, meta = ckpt.load_checkpoint(good_run / "checkpoint.npz")
    return {
        "truncated": (lambda p: p.write_bytes(good[: len(good) // 2]), "is truncated or corrupt"),
        "random bytes": (lambda p: p.write_bytes(np.random.default_rng(0).bytes(5000)), "is truncated or corrupt"),
        "not tinyddpg": (lambda p: write_arrays(p, {"weights": np.ones(3)}), "is not a tinyddpg checkpoint"),
        "other format": (lambda p: write_arrays(p, arrays, json.dumps({**meta, "format": "other"})),
                         "is not a tinyddpg checkpoint (format 'other')"),
        "newer version": (lambda p: write_arrays(p, arrays, json.dumps({**meta, "version": 99})),
                          "format version 99, newer than this tinyddpg reads (1); upgrade tinyddpg"),
        "object arrays": (lambda p: write_arrays(p, {**arrays, "agent/actor/0.W": np.array(
                          [CreatesAFile(tmp_path / "pwned")], dtype=object)}, json.dumps(meta)),
                          "holds object arrays, which would need unpickling; refused"),
        "wrong shapes": (lambda p: write_arrays(p, {**arrays, "agent/actor/0.W": np.zeros((3, 7), np.float32)},
                         json.dumps(meta)), "does not fit the run's networks: 0.W: saved shape (3, 7) != module shape (3, 32)"),
    }


@pytest.mark.parametrize("case", ["truncated", "random bytes", "not tinyddpg", "other format", "newer version",
                                  "object arrays", "wrong shapes"])
def test_crafted_checkpoints_are_refused_cleanly(good_run, tmp_path, case):
    out = copy_run(good_run, tmp_path)
    craft, message = crafted_checkpoints(good_run, tmp_path)[case]
    craft(out / "checkpoint.npz")
    assert_clean_error(run_tinyddpg("evaluate", str(out), "--episodes", "1"), message)
    assert_clean_error(run_tinyddpg("train", "--resume", str(out)), message)
    assert not (tmp_path / "pwned").exists()
    if case == "object arrays":  # positive control: the payload is real, unpickling it does create the file
        pickle.loads(pickle.dumps(CreatesAFile(tmp_path / "control"))).close()
        assert (tmp_path / "control").exists()


def test_saved_config_with_an_unknown_setting_is_refused_and_an_old_layout_migrated(good_run):
    from tinyddpg.run.config import TrainConfig

    config = json.loads((good_run / "config.json").read_text())
    with pytest.raises(ConfigError, match="saved config has settings this tinyddpg does not know: warp_drive"):
        TrainConfig.from_json(json.dumps({**config, "warp_drive": 9}))
    old_layout = {**config, "normalize_obs": True, "agent": {k: v for k, v in config["agent"].items() if k != "normalize_obs"}}
    assert TrainConfig.from_json(json.dumps(old_layout)).agent.normalize_obs is True


def test_a_folder_without_a_checkpoint_has_nothing_to_evaluate_and_says_how_to_train_it(tmp_path, good_run):
    out = copy_run(good_run, tmp_path)
    log = (out / "progress.csv").read_text().splitlines(keepends=True)
    (out / "progress.csv").write_text(log[0])  # stopped before its first episode end (a later one: test_first_hour)
    assert_clean_error(run_tinyddpg("evaluate", str(out)), f"{out} holds a run that stopped before its first "
                       f"checkpoint: it has nothing to load yet; train it again with tinyddpg train --resume {out}")
    with pytest.raises(CheckpointError, match=r"no checkpoint at .*: the file does not exist"):
        ckpt.load_checkpoint(out / "checkpoint.npz")


def test_checkpoint_of_another_environment_or_network_is_refused(good_run, tmp_path):
    out = copy_run(good_run, tmp_path)
    (out / "checkpoint.npz").write_bytes((good_run / "checkpoint.npz").read_bytes())
    with pytest.raises(CheckpointError, match=r"is for Pendulum-v1 .* not this run's tinyddpg-test/Truncated-v0"):
        Run(fast_config(env_id="tinyddpg-test/Truncated-v0"), out).train(resume=True, show_progress=False)
    with pytest.raises(CheckpointError, match=r"does not fit the run's networks: 0\.W: saved shape \(3, 32\)"):
        Run(fast_config(hidden=(16, 16)), out).train(resume=True, show_progress=False)


# --- 3. stops lose nothing -------------------------------------------------------------------------------------
def wait_for(predicate, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


@pytest.mark.parametrize("sent, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_saves_a_checkpoint_and_says_how_to_resume(tmp_path, sent, status):
    out = tmp_path / "run"
    process = start_cli("train", "--out", str(out), "--steps", "100000", *FAST_CLI)
    wait_for(lambda: (out / "checkpoint.npz").exists())
    process.send_signal(sent)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == status
    assert f"stopped by {signal.Signals(sent).name} at step" in stderr
    assert f"Continue with: tinyddpg train --resume {out}" in stderr
    _, meta = ckpt.load_checkpoint(out / "checkpoint.npz")
    stopped_at = meta["counters"]["step"]
    assert f"at step {stopped_at};" in stderr and stopped_at > 0
    assert all(int(row["step"]) <= stopped_at for row in read_log(out / "progress.csv"))
    resumed = run_tinyddpg("train", "--resume", str(out), "--steps", str(stopped_at + 200), "--quiet")
    assert resumed.returncode == 0, resumed.stderr


def test_kill_9_leaves_a_checkpoint_and_log_that_resume_continues(tmp_path):
    out = tmp_path / "run"
    process = start_cli("train", "--out", str(out), "--steps", "100000", *FAST_CLI)
    wait_for(lambda: (out / "checkpoint.npz").exists() and len(read_log(out / "progress.csv")) >= 3)
    process.kill()
    process.communicate()
    assert str(process.pid) in (out / "train.lock").read_text()  # a stale lock, left by the killed process...
    _, meta = ckpt.load_checkpoint(out / "checkpoint.npz")
    step = meta["counters"]["step"]
    resumed = run_tinyddpg("train", "--resume", str(out), "--steps", str(step + 400), "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    steps = [int(row["step"]) for row in read_log(out / "progress.csv")]
    assert steps == sorted(set(steps)) and steps[-1] == step + 400  # rows after the checkpoint were replaced
    assert not (out / "train.lock").exists()  # ...did not block the resume, which released its own


def test_kill_9_during_a_save_leaves_the_previous_checkpoint_loadable(tmp_path):
    out = tmp_path / "run"

    def saving():  # the save's temporary file (run/atomic.py), whatever its unique name
        return any(out.glob(".checkpoint.npz.*.tmp"))

    for _ in range(30):
        if out.exists():
            for file in out.iterdir():
                file.unlink()
        process = start_cli("train", "--out", str(out), "--steps", "100000", *FAST_CLI)
        wait_for(lambda: (out / "checkpoint.npz").exists())
        while process.poll() is None and not saving():
            pass
        process.kill()
        process.communicate()
        if saving():
            break
    else:
        pytest.fail("no kill landed during a save in 30 attempts")
    arrays, meta = ckpt.load_checkpoint(out / "checkpoint.npz")  # the previous checkpoint, whole
    assert meta["counters"]["step"] > 0 and "agent/actor/0.W" in arrays
    resumed = run_tinyddpg("train", "--resume", str(out), "--steps", str(meta["counters"]["step"] + 200), "--quiet")
    assert resumed.returncode == 0, resumed.stderr


# --- 4. numerical faults ---------------------------------------------------------------------------------------
def test_nan_loss_stops_with_the_step_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    import tinyddpg.agent as agent_module

    calls = {"n": 0}
    real_mse = agent_module.mse

    def mse_turning_nan(prediction, target):
        calls["n"] += 1
        loss, grad = real_mse(prediction, target)
        return (loss * float("nan"), grad) if calls["n"] >= 300 else (loss, grad)

    monkeypatch.setattr(agent_module, "mse", mse_turning_nan)
    out = tmp_path / "run"
    with pytest.raises(NumericalError, match=r"step 349: the critic loss is nan; this update changed no weight: the "
                       r"batch is finite, so the networks diverged \(lower the learning rates\); the checkpoint of step "
                       r"200 is untouched: continue it with train\(config, '.*run', resume=True\) once the cause is "
                       r"gone, or start over with other settings in another out_dir"):
        train(fast_config(steps=1000), out, show_progress=False)
    _, meta = ckpt.load_checkpoint(out / "checkpoint.npz")
    assert meta["counters"]["step"] == 200


def test_nan_before_the_first_checkpoint_says_the_same_command_starts_over(tmp_path, monkeypatch):
    import tinyddpg.agent as agent_module

    real_mse = agent_module.mse
    monkeypatch.setattr(agent_module, "mse", lambda p, t: (real_mse(p, t)[0] * float("nan"), real_mse(p, t)[1]))
    out = tmp_path / "run"
    with pytest.raises(NumericalError, match=r"step 50: the critic loss is nan; .* no checkpoint was saved yet, so nothing "
                                             r"is lost: fix the cause and run the same command again \(it starts"):
        train(fast_config(steps=400), out, show_progress=False)
    monkeypatch.undo()
    train(fast_config(steps=400), out, show_progress=False)  # the same call again: it starts over and finishes
    assert [int(row["step"]) for row in read_log(out / "progress.csv")] == [200, 400]


def test_out_of_memory_during_an_update_is_one_line_with_the_estimate_and_the_next_step(tmp_path, monkeypatch):
    import tinyddpg.agent as agent_module

    def update_out_of_memory(self, batch):
        return np.empty((2**45,), np.float32)  # 128 TiB: NumPy's allocation fails at once

    monkeypatch.setattr(agent_module.DDPG, "update", update_out_of_memory)
    with pytest.raises(OutOfMemory, match=r"out of memory at step 50 \(MemoryError: Unable to allocate 128. TiB"
                                          r".*\); the estimate was about .*Lower batch_size or buffer_size, or "
                                          r"free memory; no checkpoint was saved yet"):
        train(fast_config(steps=400), tmp_path / "run", show_progress=False)


def test_a_run_that_needs_more_memory_than_the_machine_has_is_refused_before_allocating(tmp_path, monkeypatch):
    import tinyddpg.run.train as train_module

    monkeypatch.setattr(train_module, "available_bytes", lambda: 8 * 2**30)
    with pytest.raises(OutOfMemory, match=r"this run needs about 31.8 GiB \(replay buffer 34.7 MiB, networks and "
                                          r"Adam 7.5 MiB, one update's activations 31.5 GiB\), but the machine has 8.0 GiB "
                                          r"available; lower batch_size \(the largest part\), or free memory"):
        Run(helpers.fast_config(hidden=(400, 300), batch_size=1_000_000, buffer_size=1_000_000, steps=10_000),
            tmp_path / "run")
    assert not (tmp_path / "run").exists()



@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_nan_gradient_is_named(tmp_path, monkeypatch):
    import tinyddpg.agent as agent_module

    real = agent_module.DDPG.compute_actor_gradients

    def poisoned(self, batch):
        loss = real(self, batch)
        self.actor.flat_grads[0] = float("inf")
        return loss

    monkeypatch.setattr(agent_module.DDPG, "compute_actor_gradients", poisoned)
    with pytest.raises(NumericalError, match="step 50: the actor gradient holds NaN or infinity"):
        train(fast_config(steps=300), tmp_path / "run", show_progress=False)


# --- 5. disk faults --------------------------------------------------------------------------------------------
def test_full_disk_during_a_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    out = tmp_path / "run"
    train(fast_config(steps=200), out, show_progress=False)
    before = (out / "checkpoint.npz").read_bytes()
    real_savez = np.savez

    def savez_then_disk_full(file, **arrays):
        real_savez(file, **arrays)  # a partial file exists on disk...
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # ...when the disk fills up

    monkeypatch.setattr(ckpt.np, "savez", savez_then_disk_full)
    with pytest.raises(CheckpointError, match=r"could not write checkpoint .*: No space left on device; the previous"):
        train(fast_config(steps=400), out, resume=True, show_progress=False)
    assert (out / "checkpoint.npz").read_bytes() == before
    assert not list(out.glob("*.tmp"))
    monkeypatch.undo()
    train(fast_config(steps=400), out, resume=True, show_progress=False)  # and the run continues from it
