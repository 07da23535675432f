"""Files written whole or not at all: the content goes to a temporary file beside the target, flushed to disk,
then renamed over it (os.replace is atomic), so a crash, a kill or a full disk leaves the old file or the new
one, never half of one. Each write has a temporary file of its own (tempfile's unique name, hidden:
.NAME.XXXXXXXX.tmp), so two processes or threads writing the same file never write into each other's."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _default_file_mode() -> int:
    """The mode open() gives a new file (0o666 less the umask): tempfile's own 0o600 would hide results from the
    group a plain write shares them with."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


FILE_MODE = _default_file_mode()  # read once, at import: os.umask cannot be read without setting it


@contextmanager
def replaced_atomically(path: Path, mode: str = "w", **open_options) -> Iterator:
    """Open a temporary file to write path's new content in; when the block ends without an error it replaces
    path, and on an error it is removed and path is untouched."""
    path = Path(path)
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temporary = Path(name)
    try:
        os.chmod(temporary, FILE_MODE)
        with open(descriptor, mode, **open_options) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
