"""TensorBoard events (setting `tensorboard`): exactly the scalars of progress.csv, at the rows' steps, in the run
folder; a resumed run hides what its checkpoint does not hold; a sweep's runs sit side by side as <setting>/seed<k>.

The event files are read back here with TensorBoard's record format and its Event message, not with anything
tinyddpg writes; the reference is progress.csv itself."""

import shutil
import struct
import sys

import pytest
from helpers import fast_config, run_tinyddpg

from tinyddpg.errors import ConfigError
from tinyddpg.run.config import validate
from tinyddpg.run.runlog import read_log
from tinyddpg.run.sweep import make_spec, plan_runs, run_one
from tinyddpg.run.train import train

event_pb2 = pytest.importorskip("tensorboardX.proto.event_pb2")


def read_events(path):
    """The Event messages of one event file: records of (uint64 length, uint32 crc, data, uint32 crc)."""
    data, offset, events = path.read_bytes(), 0, []
    while offset < len(data):
        (length,) = struct.unpack_from("<Q", data, offset)
        events.append(event_pb2.Event.FromString(data[offset + 12:offset + 12 + length]))
        offset += 12 + length + 4
    return events


def visible_scalars(run_dir):
    """(tag, step) -> value as TensorBoard shows them: the event files in the order written, each file that
    starts a session at a purge step hiding the earlier files' events from that step on."""
    scalars = {}
    for path in sorted(run_dir.glob("events.out.tfevents.*")):
        for event in read_events(path):
            if event.HasField("session_log") and event.session_log.status == event_pb2.SessionLog.START:
                scalars = {key: value for key, value in scalars.items() if key[1] < event.step}
            for value in event.summary.value:
                assert (value.tag, event.step) not in scalars, f"{value.tag} twice at step {event.step}"
                scalars[value.tag, event.step] = value.simple_value
    return scalars


def logged_scalars(run_dir):
    """(column, step) -> value for every filled cell of progress.csv but the step itself."""
    return {(name, int(row["step"])): float(cell) for row in read_log(run_dir / "progress.csv")
            for name, cell in row.items() if name != "step" and cell != ""}


def assert_same_scalars(run_dir):
    logged, shown = logged_scalars(run_dir), visible_scalars(run_dir)
    assert sorted(shown) == sorted(logged)
    for key, value in logged.items():
        assert shown[key] == pytest.approx(value, rel=1e-6, abs=1e-30), key  # events hold float32


def test_a_run_writes_exactly_the_logs_scalars_as_events_in_its_folder(tmp_path):
    train(fast_config(steps=600, tensorboard=True), tmp_path, show_progress=False)
    assert len(list(tmp_path.glob("events.out.tfevents.*"))) == 1
    assert_same_scalars(tmp_path)
    tags = {tag for tag, _ in visible_scalars(tmp_path)}
    assert tags == {"episode", "episode_return", "eval_return_mean", "eval_return_std", "critic_loss", "actor_loss",
                    "mean_q", "steps_per_s"}


def test_without_the_setting_no_events_are_written(tmp_path):
    train(fast_config(steps=200), tmp_path, show_progress=False)
    assert not list(tmp_path.glob("events.out.tfevents.*"))


def test_a_resume_from_an_older_checkpoint_hides_the_events_written_after_it(tmp_path):
    """As after a crash: the checkpoint on disk is older than the last events. The log drops its later rows;
    TensorBoard must hide the later events too, or each curve shows two values at those steps."""
    train(fast_config(steps=400, tensorboard=True), tmp_path, show_progress=False)
    shutil.copy(tmp_path / "checkpoint.npz", tmp_path / "at400.npz")
    train(fast_config(steps=800, tensorboard=True), tmp_path, resume=True, show_progress=False)
    shutil.copy(tmp_path / "at400.npz", tmp_path / "checkpoint.npz")  # the run "crashed" before saving at 800
    train(fast_config(steps=800, tensorboard=True), tmp_path, resume=True, show_progress=False)
    assert len(list(tmp_path.glob("events.out.tfevents.*"))) == 3
    assert_same_scalars(tmp_path)


def test_a_run_started_over_in_the_same_folder_hides_the_earlier_runs_events(tmp_path):
    """As a sweep does with a folder that has a config but no checkpoint yet: progress.csv starts over."""
    train(fast_config(steps=600, tensorboard=True), tmp_path, show_progress=False)
    (tmp_path / "checkpoint.npz").unlink()  # a folder holding a checkpoint is refused to a new run (issue 12)
    train(fast_config(steps=400, seed=1, tensorboard=True), tmp_path, show_progress=False)
    assert len(list(tmp_path.glob("events.out.tfevents.*"))) == 2
    assert_same_scalars(tmp_path)


def test_a_sweeps_runs_write_side_by_side_named_by_setting_and_seed(tmp_path):
    spec = make_spec("pendulum", "0-1", ["batch_size=32,64", "tensorboard=true", "steps=200", "hidden=16,16",
                                         "random_steps=50", "update_after=50", "eval_every=100", "eval_episodes=1"])
    runs = plan_runs(spec, tmp_path)
    for run in runs:
        assert not run_one(run).error
    event_folders = {str(path.parent.relative_to(tmp_path)) for path in tmp_path.rglob("events.out.tfevents.*")}
    assert event_folders == {"batch_size=32/seed0", "batch_size=32/seed1", "batch_size=64/seed0", "batch_size=64/seed1"}
    for run in runs:
        assert_same_scalars(run.run_dir)


def test_the_setting_without_tensorboardx_is_refused_before_any_work_with_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # as if not installed
    with pytest.raises(ConfigError, match=r"tensorboard.*needs tensorboardX.*pip install tensorboardX==2\.6\.5"):
        validate(fast_config(tensorboard=True))


def test_the_cli_flag_writes_the_events(tmp_path):
    result = run_tinyddpg("train", "--out", str(tmp_path), "--steps", "400", "--hidden", "32,32", "--batch-size", "32",
                          "--random-steps", "100", "--update-after", "50", "--eval-every", "200", "--eval-episodes", "1",
                          "--tensorboard", "true")
    assert result.returncode == 0, result.stderr
    assert_same_scalars(tmp_path)
