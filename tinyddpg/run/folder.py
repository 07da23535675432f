"""A run folder: what a path holds (for messages that say it), and its lock, so one process writes it at a time.

The lock is an advisory lock (flock) on DIR/train.lock, which names the process holding it. The operating
system drops the lock when that process ends in any way, kill -9 included, so a lock file left behind by a
killed run never blocks the next one.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import ClassVar

from ..errors import ConfigError, resume_text
from .checkpoint import CHECKPOINT_FILE

CONFIG_FILE = "config.json"
LOCK_FILE = "train.lock"


def run_folder_problem(path: Path) -> str | None:
    """Why path is not a run folder with a checkpoint (missing, a file, no run, no checkpoint yet), or None."""
    path = Path(path)
    example = "e.g. runs/quickstart after the README's quick start"
    if not path.exists():
        return f"{path} does not exist; give a run folder ({example})"
    if not path.is_dir():
        return f"{path} is a file, not a run folder; give the folder that holds {CHECKPOINT_FILE} ({example})"
    if (path / CHECKPOINT_FILE).exists():
        return None
    if (path / CONFIG_FILE).exists():
        return f"{path} holds a run that stopped before its first checkpoint"
    return (f"{path} is a folder that holds no tinyddpg run (no {CHECKPOINT_FILE} or {CONFIG_FILE} in it); give a "
            f"run folder ({example})")


class RunFolderBusy(ConfigError):
    """Another process is training in this run folder."""


class RunFolderLock:
    """Held while a run writes its folder: `with RunFolderLock(folder): ...`; another process is refused, while
    this process may enter it again (the command line holds it around Run.train, which takes it too)."""

    held: ClassVar[set[Path]] = set()  # folders this process holds

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_FILE
        self.fd: int | None = None

    def __enter__(self) -> RunFolderLock:
        if self.folder.resolve() in RunFolderLock.held:
            return self
        while self.fd is None:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            if not _try_lock(fd):
                self._refuse(fd)
            if _same_file(fd, self.path):  # else the holder removed it meanwhile: lock the new one
                self.fd = fd
            else:
                os.close(fd)
        os.ftruncate(self.fd, 0)
        os.write(self.fd, f"process {os.getpid()} on {socket.gethostname()} ({' '.join(sys.argv)})\n".encode())
        RunFolderLock.held.add(self.folder.resolve())
        return self

    def check_free(self) -> None:
        """Refuse now, creating nothing, when another process holds the folder (the lock is taken later)."""
        try:
            fd = os.open(self.path, os.O_RDWR)
        except OSError:  # no lock file (or none we could open): nobody holds it
            return
        if not _try_lock(fd):
            self._refuse(fd)
        os.close(fd)  # closing drops the probe's lock

    def _refuse(self, fd: int) -> None:
        holder = os.read(fd, 1000).decode(errors="replace").strip() or "another process"
        os.close(fd)
        raise RunFolderBusy(f"{self.folder} is in use by {holder}, which is training in it; wait for it to finish, "
                            f"or stop it (Ctrl-C in its terminal, or kill -INT with its pid) and then continue with: "
                            f"{resume_text(self.folder)}")

    def __exit__(self, *exc) -> None:
        if self.fd is None:  # entered again by its holder: the outer exit releases it
            return
        RunFolderLock.held.discard(self.folder.resolve())
        self.path.unlink(missing_ok=True)  # while still locked, so no one locks a file that is then removed
        os.close(self.fd)
        self.fd = None


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


try:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False
except ImportError:  # Windows: a lock on the file's first byte, also dropped when the process ends
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
