"""`tinyddpg assignment gradescope DIR ZIP`: the autograder zip for Gradescope, written by the tinyddpg that made
the assignment, so the recipe cannot drift from the version it grades with.

The zip holds, at its root (Gradescope's "Autograder Specifications"):

- `setup.sh`: makes a virtual environment (installing python3-venv with apt-get where the image lacks it: pip
  may be missing from Gradescope's Ubuntu image), installs the pinned dependencies of requirements.txt, and
  checks that the grader is this tinyddpg version on Python 3.10 or newer;
- `run_autograder`: copies the handed-out assignment, lays the student's uploaded modules over its `my_ddpg/`
  (found flat, in `my_ddpg/`, or one folder deeper such as `hw1/my_ddpg/`), and grades it into
  /autograder/results/results.json;
- `requirements.txt`: the dependencies, pinned to versions with wheels for Python 3.10 to 3.13;
- `engine/tinyddpg/`: this tinyddpg's own source (the grader), run from there;
- `assignment/`: the folder handed out (stubs and assignment.json), so a file the student did not upload stays a
  stub and nobody can change which parts are graded.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from .. import __version__
from ..errors import ConfigError
from .assignment import ENGINE, ENGINE_MODULES, PACKAGE, read_manifest

# Direct dependencies, exact: numpy and gymnasium decide the numbers the training parts see; every pin has wheels
# for CPython 3.10 to 3.13 on manylinux x86_64 (numpy 2.3 and later need 3.11).
PINS = {"numpy": "2.2.6", "gymnasium": "1.2.2", "matplotlib": "3.10.8", "array-api-compat": "1.12.0",
        "threadpoolctl": "3.6.0", "pillow": "11.3.0", "tqdm": "4.67.1"}
MIN_PYTHON = (3, 10)

SETUP = """#!/usr/bin/env bash
# Gradescope setup for an assignment graded by tinyddpg {version} (written by `tinyddpg assignment gradescope`).
set -euo pipefail
ROOT=${{AUTOGRADER:-/autograder}}  # set AUTOGRADER to try the recipe outside Gradescope
SOURCE=$ROOT/source
VENV=$ROOT/venv
python3 -c 'import sys; sys.exit(sys.version_info < {min_python})' || {{
    echo "tinyddpg needs Python {min_text} or newer; this image has $(python3 --version 2>&1): choose Ubuntu 22.04 or newer"
    exit 1
}}
if ! python3 -m venv "$VENV" > /dev/null 2>&1; then  # Ubuntu's python3 comes without venv and pip
    rm -rf "$VENV"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv python3-pip > /dev/null
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --no-cache-dir --upgrade pip
"$VENV/bin/python" -m pip install --quiet --no-cache-dir -r "$SOURCE/requirements.txt"
found=$(PYTHONPATH="$SOURCE/engine" "$VENV/bin/python" -m tinyddpg --version)
[ "$found" = "tinyddpg {version}" ] || {{ echo "expected tinyddpg {version}, found: $found"; exit 1; }}
echo "setup done: $found on $("$VENV/bin/python" --version)"
"""

RUN = """#!/usr/bin/env bash
# Grade one Gradescope submission with tinyddpg {version} (written by `tinyddpg assignment gradescope`).
set -uo pipefail
ROOT=${{AUTOGRADER:-/autograder}}  # set AUTOGRADER to try the recipe outside Gradescope
SOURCE=$ROOT/source
SUBMISSION=$ROOT/submission
RESULTS=$ROOT/results
WORK=$ROOT/hw
PYTHON=$ROOT/venv/bin/python
rm -rf "$WORK" && cp -r "$SOURCE/assignment" "$WORK" && mkdir -p "$RESULTS"
for module in {modules}; do  # the shallowest upload of each module: flat, my_ddpg/, or hw1/my_ddpg/
    upload=$(find "$SUBMISSION" -maxdepth 3 -name "$module" -not -path '*/__MACOSX/*' -type f \\
             | awk -F/ '{{print NF " " $0}}' | sort -n | head -n 1 | cut -d' ' -f2-)
    if [ -n "$upload" ]; then cp "$upload" "$WORK/{package}/$module"; fi
done
cd "$WORK"
PYTHONPATH="$SOURCE/engine" "$PYTHON" -m tinyddpg grade "$WORK" --gradescope "$RESULTS/results.json"
status=$?
if [ "$status" -ge 2 ] || [ ! -s "$RESULTS/results.json" ]; then  # nothing graded: tell the student why
    "$PYTHON" -c 'import json, sys; json.dump({{"score": 0, "output": sys.argv[1]}}, open(sys.argv[2], "w"))' \\
        "The autograder could not grade this submission (exit status $status); ask your teacher." \\
        "$RESULTS/results.json"
fi
"""


def requirements() -> str:
    return "".join(f"{name}=={version}\n" for name, version in PINS.items())


def autograder_files(folder: Path) -> dict[str, str | bytes]:
    """Path in the zip -> content, for the assignment in folder."""
    read_manifest(folder)  # refuses a folder that is not an assignment, with the fix
    modules = " ".join(f"{module}.py" for module in ENGINE_MODULES)
    files: dict[str, str | bytes] = {
        "setup.sh": SETUP.format(version=__version__, min_python=MIN_PYTHON, min_text=".".join(map(str, MIN_PYTHON))),
        "run_autograder": RUN.format(version=__version__, modules=modules, package=PACKAGE),
        "requirements.txt": requirements(),
    }
    for path in sorted(ENGINE.rglob("*.py")):
        files[f"engine/tinyddpg/{path.relative_to(ENGINE).as_posix()}"] = path.read_bytes()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            files[f"assignment/{path.relative_to(folder).as_posix()}"] = path.read_bytes()
    return files


def write_autograder(folder: Path, zip_path: Path) -> None:
    """The autograder zip, built beside its destination and renamed into place (no half-written zip)."""
    if zip_path.suffix != ".zip":
        raise ConfigError(f"{zip_path} must end in .zip, e.g. tinyddpg assignment gradescope {folder} autograder.zip")
    files = autograder_files(folder)
    partial = zip_path.with_name(f".{zip_path.name}.{os.getpid()}.partial")
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in files.items():
                info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
                info.external_attr = (0o755 if name in ("setup.sh", "run_autograder") else 0o644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, content)
        partial.replace(zip_path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise ConfigError(f"cannot write {zip_path} ({error.strerror or error}); choose a folder you can write, e.g. "
                          f"tinyddpg assignment gradescope {folder} autograder.zip") from None
