"""Files written whole or not at all: the content goes to a temporary file beside the target, flushed to disk,
then renamed over it (os.replace is atomic), so a crash, a kill or a full disk leaves the old file or the new
one, never half of one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replaced_atomically(path: Path, mode: str = "w", **open_options) -> Iterator:
    """Open a temporary file to write path's new content in; when the block ends without an error it replaces
    path, and on an error it is removed and path is untouched."""
    path = Path(path)
    temporary = path.with_name(path.name + ".tmp")
    try:
        with open(temporary, mode, **open_options) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
