"""Checkpoints: one .npz file that holds everything needed to resume a run exactly.

Contents: arrays keyed "agent/...", "buffer/...", "normalizer/..." and one JSON text entry "meta" with the
format name and version, the config, the counters and the state of the run's random generator.
Loaded with allow_pickle=False, so a crafted file cannot run code. Written to a temporary file in the same
folder, flushed to disk, then renamed over the old one (os.replace is atomic), so a crash or a kill during a
save leaves the previous checkpoint whole.
"""

from __future__ import annotations

import json
import shlex
import zipfile
from pathlib import Path

import numpy as np

from ..errors import CheckpointError, on_command_line, resume_text
from .atomic import replaced_atomically

FORMAT_NAME = "tinyddpg-checkpoint"
FORMAT_VERSION = 1
CHECKPOINT_FILE = "checkpoint.npz"
ZIP_SIGNATURE = b"PK\x03\x04"  # an .npz is a zip archive


def save_checkpoint(path: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write arrays and meta atomically to path."""
    path = Path(path)
    payload = {**arrays, "meta": np.asarray(json.dumps({"format": FORMAT_NAME, "version": FORMAT_VERSION, **meta}))}
    try:
        with replaced_atomically(path, "wb") as file:
            np.savez(file, **payload)
    except OSError as error:
        raise CheckpointError(f"could not write checkpoint {path}: {error.strerror or error}; "
                              f"the previous checkpoint, if any, is untouched") from error


def load_checkpoint(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    """Read (arrays, meta) from path, refusing anything that is not a whole tinyddpg checkpoint of a known version."""
    return _read_checkpoint(Path(path), with_arrays=True)


def read_checkpoint_meta(path: Path) -> dict:
    """Only the metadata (config, counters, random state), with the same checks: the arrays stay on disk."""
    return _read_checkpoint(Path(path), with_arrays=False)[1]


def _read_checkpoint(path: Path, with_arrays: bool) -> tuple[dict[str, np.ndarray], dict]:
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}: the file does not exist")
    with open(path, "rb") as file:
        if file.read(4) != ZIP_SIGNATURE:
            raise damaged(path, "is truncated or corrupt (it is not an .npz archive)")
    try:
        with np.load(path, allow_pickle=False) as archive:  # an .npz reads each entry only when asked
            meta_entry = archive["meta"] if "meta" in archive.files else None
            arrays = {key: archive[key] for key in archive.files if key != "meta"} if with_arrays else {}
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise damaged(path, "holds object arrays, which would need unpickling; refused") from None
        raise damaged(path, f"is not a readable checkpoint ({error})") from None
    except (OSError, zipfile.BadZipFile, EOFError, KeyError) as error:
        raise damaged(path, f"is truncated or corrupt ({type(error).__name__}: {error})") from None
    if meta_entry is None or meta_entry.dtype.kind != "U":
        raise damaged(path, "is not a tinyddpg checkpoint (it has no metadata entry)")
    try:
        meta = json.loads(str(meta_entry))
    except json.JSONDecodeError as error:
        raise damaged(path, f"has unreadable metadata ({error})") from None
    if meta.get("format") != FORMAT_NAME:
        raise damaged(path, f"is not a tinyddpg checkpoint (format {meta.get('format')!r})")
    if not isinstance(meta.get("version"), int) or meta["version"] > FORMAT_VERSION:
        raise CheckpointError(f"{path} has checkpoint format version {meta.get('version')!r}, newer than this "
                              f"tinyddpg reads ({FORMAT_VERSION}); upgrade tinyddpg to load it")
    return arrays, meta


def set_aside(path: Path) -> Path:
    """Where a damaged checkpoint is set aside, so that its run starts over (its refusal names the command)."""
    return Path(f"{path}.damaged")


def damaged(path: Path, problem: str) -> CheckpointError:
    """The error for a checkpoint that cannot be read, with the way forward: put back a copy, or set the file
    aside (nothing is deleted) and train the run again from its config.json, which a resume without a checkpoint
    does."""
    aside = (f"mv {shlex.quote(str(path))} {shlex.quote(str(set_aside(path)))} &&" if on_command_line() else
             f"rename it to {str(set_aside(path))!r}, then")
    return CheckpointError(f"{path} {problem}. Put back a copy of it if you have one, or set it aside and train the "
                           f"run again from its start: {aside} {resume_text(path.parent)}")


def prefixed(prefix: str, state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {f"{prefix}/{key}": value for key, value in state.items()}


def unprefixed(prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    start = prefix + "/"
    return {key.removeprefix(start): value for key, value in arrays.items() if key.startswith(start)}
