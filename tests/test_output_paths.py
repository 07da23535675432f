"""Every output path the command line takes, refused in one line before any work when it cannot be written, and
in one line, never a traceback, when writing it fails all the same: evaluate --gif, plot -o, grade --gradescope
(one checker, cli.output_file), train --out, sweep --out and assignment new DIR. Driven in-process (cli.main)."""

import errno
import os

import pytest

from tinyddpg.run import cli
from tinyddpg.run.cli import main

# (command line with {out} for the output path, the option's name in messages, a working example)
FILE_OUTPUTS = {
    "evaluate --gif": (["evaluate", "{tmp}/run", "--gif", "{out}"], "argument --gif", ".gif", "--gif swing.gif"),
    "plot -o": (["plot", "{tmp}/run", "-o", "{out}"], "argument -o/--output", ".png", "-o curve.png"),
    "grade --gradescope": (["grade", "{tmp}/hw", "--gradescope", "{out}"], "argument --gradescope", ".json",
                           "--gradescope results.json"),
}


def refused(capsys, argv) -> str:
    """The one stderr line of a command refused with exit status 2, by argparse or by the command."""
    try:
        status = main(argv)
    except SystemExit as exit_:
        status = exit_.code
    err = capsys.readouterr().err
    assert status == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err.strip()


def state(folder):
    return sorted((str(p.relative_to(folder)), p.is_dir() or p.read_bytes()) for p in folder.rglob("*"))


@pytest.fixture
def tmp(tmp_path):
    """A folder holding a file notes.txt and a folder figures.png (a folder with a file's name)."""
    (tmp_path / "notes.txt").write_text("mine\n")
    (tmp_path / "figures.png").mkdir()
    return tmp_path


@pytest.mark.parametrize("command", list(FILE_OUTPUTS))
@pytest.mark.parametrize("case", ["wrong suffix", "folder missing", "folder under a file", "folder not writable",
                                  "a folder"])
def test_a_file_output_that_cannot_be_written_is_refused_before_any_work(tmp, capsys, monkeypatch, command, case):
    argv, option, suffix, example = FILE_OUTPUTS[command]
    out = {"wrong suffix": f"{tmp}/out.txt", "folder missing": f"{tmp}/new/out{suffix}",
           "folder under a file": f"{tmp}/notes.txt/out{suffix}", "folder not writable": f"{tmp}/locked/out{suffix}",
           "a folder": f"{tmp}/folder{suffix}"}[case]
    if case == "folder not writable":  # as a folder another user owns looks (root may write anywhere: simulated)
        (tmp / "locked").mkdir()
        real_access = os.access
        monkeypatch.setattr(cli.os, "access", lambda path, mode: (
            False if str(path) == f"{tmp}/locked" and mode == os.W_OK else real_access(path, mode)))
    if case == "a folder":
        (tmp / f"folder{suffix}").mkdir()
    before = state(tmp)
    line = refused(capsys, [arg.format(tmp=tmp, out=out) for arg in argv])
    prefix = f"tinyddpg {argv[0]}: error: {option}: {out!r}"
    assert line == {
        "wrong suffix": f"{prefix} must end in {suffix}" + (" or .pdf or .svg or .jpg or .jpeg" if suffix == ".png"
                                                            else "") + f", e.g. {example}",
        "folder missing": f"{prefix}: the folder {tmp}/new does not exist; create it first (mkdir -p {tmp}/new) or "
                          f"write to the current folder, e.g. {example}",
        "folder under a file": f"{prefix}: {tmp}/notes.txt is a file, not a folder; write to a folder, e.g. {example}",
        "folder not writable": f"{prefix} is in {tmp}/locked, which is not writable; choose another file, e.g. "
                               f"{example}",
        "a folder": f"{prefix} is a folder; choose another file, e.g. {example}",
    }[case] + f"; see tinyddpg {argv[0]} --help"
    assert state(tmp) == before  # nothing created, nothing changed


def test_a_plot_whose_file_cannot_be_written_after_all_says_so_in_one_line(tmp, capsys, monkeypatch):
    """A full disk while saving (or a folder that refuses even root): one line, no traceback."""
    from helpers import fast_config

    from tinyddpg.run.train import Run, train

    monkeypatch.setattr(Run, "write_curve", lambda run: None)
    train(fast_config(steps=0, buffer_size=1000), tmp / "run", show_progress=False, announce=False, threads=1)

    def disk_full(figure, path, **options):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr("matplotlib.figure.Figure.savefig", disk_full)
    assert refused(capsys, ["plot", f"{tmp}/run", "-o", f"{tmp}/curve.png"]) == (
        f"tinyddpg: error: could not write {tmp}/curve.png (No space left on device); choose a file in a folder you "
        f"can write, e.g. -o curve.png")


def test_a_gif_that_cannot_be_written_after_all_says_so_in_one_line(tmp, capsys, monkeypatch):
    from helpers import fast_config

    from tinyddpg.run import render
    from tinyddpg.run.train import Run, train

    monkeypatch.setattr(Run, "write_curve", lambda run: None)
    train(fast_config(steps=0, buffer_size=1000), tmp / "run", show_progress=False, announce=False, threads=1)

    def disk_full(agent, env_id, path, seed):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(render, "record_gif", disk_full)
    assert refused(capsys, ["evaluate", f"{tmp}/run", "--episodes", "1", "--gif", f"{tmp}/swing.gif"]) == (
        f"tinyddpg: error: could not write {tmp}/swing.gif (No space left on device); choose a file in a folder you "
        f"can write, e.g. --gif swing.gif")


def test_gradescope_results_that_cannot_be_written_after_grading_say_so_and_how_to_rerun(tmp, capsys, monkeypatch):
    from tinyddpg.coursework import grade
    from tinyddpg.coursework.assignment import new_assignment

    new_assignment(tmp / "hw", ["relu_backward"])

    def disk_full(path, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(grade, "write_json_atomically", disk_full)
    try:
        main(["grade", f"{tmp}/hw", "--gradescope", f"{tmp}/results.json"])
    except SystemExit as exit_:
        pytest.fail(f"exited {exit_.code}")
    err = capsys.readouterr().err
    assert err == (f"tinyddpg: error: graded, but {tmp}/results.json could not be written (No space left on device); "
                   f"run again with --gradescope in a folder you can write, e.g. --gradescope results.json\n")
    assert not (tmp / "results.json").exists()


# --- folders: train --out, sweep --out, assignment new DIR -------------------------------------------------------
UNWRITABLE = "/sys/tinyddpg-test-output"  # refused even to root


@pytest.mark.parametrize("argv, message", [
    (["train", "--out", "{tmp}/notes.txt", "--steps", "100"],
     "tinyddpg: error: {tmp}/notes.txt is a file, not a folder; choose another folder with --out"),
    (["train", "--out", "{tmp}/notes.txt/run", "--steps", "100"],
     "tinyddpg: error: cannot write to the run folder {tmp}/notes.txt/run: Not a directory; choose another folder "
     "with --out, a writable one"),
    (["sweep", "--out", "{tmp}/notes.txt", "--steps", "100"],
     "tinyddpg: error: --out {tmp}/notes.txt is a file, not a folder; give a folder for the sweep (a new one, or the "
     "folder of the sweep to resume), e.g. --out sweeps/batch"),
    (["sweep", "--out", "{tmp}/notes.txt/sweep", "--steps", "100"],
     "tinyddpg: error: cannot write the sweep folder {tmp}/notes.txt/sweep (Not a directory); choose a folder you can "
     "write with --out, e.g. --out sweeps/batch"),
    (["sweep", "--out", UNWRITABLE, "--steps", "100"],
     f"tinyddpg: error: cannot write the sweep folder {UNWRITABLE} (Operation not permitted); choose a folder you "
     f"can write with --out, e.g. --out sweeps/batch"),
    (["sweep", "--out", "{tmp}", "--steps", "100"],
     "tinyddpg: error: {tmp} is not empty and holds no sweep.json; choose another --out for the sweep"),
    (["assignment", "new", "{tmp}/notes.txt"],
     "tinyddpg: error: {tmp}/notes.txt already exists and is not an empty folder; choose a new one, e.g. tinyddpg "
     "assignment new notes.txt-2"),
    (["assignment", "new", "{tmp}/notes.txt/hw"],  # mkdir's reason: notes.txt exists (as a file)
     "tinyddpg: error: cannot write {tmp}/notes.txt/hw (File exists); choose a folder you can write, e.g. "
     "tinyddpg assignment new ~/hw1"),
    (["assignment", "new", f"{UNWRITABLE}/hw"],
     f"tinyddpg: error: cannot write {UNWRITABLE}/hw (Operation not permitted); choose a folder you can write, e.g. "
     f"tinyddpg assignment new ~/hw1"),
], ids=["train: a file", "train: under a file", "sweep: a file", "sweep: under a file", "sweep: not writable",
        "sweep: another folder's files", "assignment: a file", "assignment: under a file", "assignment: not writable"])
def test_an_output_folder_that_cannot_be_written_is_refused_in_one_line_and_nothing_changes(tmp, capsys, argv,
                                                                                            message):
    if UNWRITABLE in " ".join(argv) and not os.path.ismount("/sys"):
        pytest.skip("no sysfs at /sys here")
    before = state(tmp)
    assert refused(capsys, [arg.format(tmp=tmp) for arg in argv]) == message.format(tmp=tmp)
    assert state(tmp) == before


@pytest.mark.parametrize("suffixes, text", [(cli.PLOT_SUFFIXES, "CURVE.PNG"), (cli.PLOT_SUFFIXES, "curve.Svg"),
                                            ((".gif",), "SWING.GIF"), ((".json",), "Results.JSON")])
def test_a_suffix_in_capitals_is_accepted(tmp_path, monkeypatch, suffixes, text):
    monkeypatch.chdir(tmp_path)
    assert cli.output_file(suffixes, "e.g.")(text) == cli.Path(text)
