"""run/atomic.py: a file replaced whole or not at all, by any number of writers at once, and no temporary file
left behind by a failed write."""

import os
import stat
import threading

import pytest

from tinyddpg.run.atomic import replaced_atomically

WRITES = 150
SIZE = 50_000  # characters per write: long enough for writes to overlap


def content(writer: int, write: int) -> str:
    """One write's whole content: one letter repeated, then its own tag."""
    return "abcdefgh"[writer] * SIZE + f"\n{writer} {write}\n"


def is_whole(text: str) -> bool:
    _, _, tag = text.partition("\n")
    writer, write = map(int, tag.split())
    return text == content(writer, write)


def test_concurrent_writers_of_one_file_each_replace_it_whole_and_leave_no_temporary_file(tmp_path):
    """Four threads write the same file 150 times each while a fifth reads it: every write succeeds, every read
    is one writer's whole content, and only the file is left."""
    path = tmp_path / "summary.csv"
    path.write_text(content(0, -1))
    errors, reads = [], []

    def write(writer: int) -> None:
        try:
            for i in range(WRITES):
                with replaced_atomically(path) as file:
                    file.write(content(writer, i))
        except Exception as error:  # a collision on a shared temporary name shows up here
            errors.append(error)

    writers = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in writers:
        thread.start()
    while any(thread.is_alive() for thread in writers):
        reads.append(path.read_text())
    for thread in writers:
        thread.join()
    assert errors == []
    assert reads and all(is_whole(text) for text in reads)
    assert is_whole(path.read_text())
    assert os.listdir(tmp_path) == ["summary.csv"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    path = tmp_path / "checkpoint.npz"
    path.write_bytes(b"old")
    with pytest.raises(OSError, match="disk full"), replaced_atomically(path, "wb") as file:
        file.write(b"half of the new")
        raise OSError("disk full")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["checkpoint.npz"]


def test_a_new_file_gets_the_mode_a_plain_write_gives_it(tmp_path):
    plain, atomic = tmp_path / "plain.json", tmp_path / "atomic.json"
    plain.write_text("{}")
    with replaced_atomically(atomic) as file:
        file.write("{}")
    assert stat.S_IMODE(atomic.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
