"""Parts graded in a child process, one after another (so an endless loop can be stopped and a crash stays
contained; grade.py reruns alone any part a crash or a hang kept from reporting):

    python -m tinyddpg.coursework.run_part FOLDER RESULT.jsonl TIMEOUT PART [PART ...]

The student's function is read from FOLDER/my_ddpg/<module>.py by the AST (the student's package is never
imported), compiled in the namespace of the engine module it comes from, and planted into the engine in place of
the engine's own; then the part's checks run under a time limit (an alarm), the engine's code is put back, and
RESULT.jsonl gets one line for the part. The training parts plant every part of the assignment at once.
"""

from __future__ import annotations

import ast
import importlib
import json
import signal
import sys
import time
import traceback
from pathlib import Path

from .assignment import PACKAGE, find_function, read_manifest
from .checks import Mismatch, checks_for
from .parts import PARTS_BY_NAME, TD3_PARTS, Part
from .training import TRAINING_RUNS, training_check


def engine_module(part: Part):
    return importlib.import_module(f"tinyddpg.{Path(part.module_file).stem}")


def student_function(folder: Path, part: Part):
    """The student's function for `part`, compiled with the engine module's globals (so it calls the engine's code
    for every other part), plus the student's own top-level imports and helper definitions."""
    path = folder / PACKAGE / part.module_file
    tree = ast.parse(path.read_text(), filename=str(path))
    node = find_function(tree, part.qualname)
    namespace = dict(vars(engine_module(part)))
    helpers = [n for n in tree.body if (isinstance(n, ast.Import | ast.ImportFrom) and not getattr(n, "level", 0))
               or (isinstance(n, ast.FunctionDef | ast.ClassDef) and n.name not in namespace)]
    exec(compile(ast.Module(body=[*helpers, node], type_ignores=[]), str(path), "exec"), namespace)
    return namespace[node.name]


def plant(folder: Path, part: Part) -> list[tuple[object, str, object]]:
    """Put the student's function where the engine's was: on its class, or in every engine module that holds it.
    Returns what was replaced, as (owner, name, original), for unplant()."""
    function, module = student_function(folder, part), engine_module(part)
    *owner, name = part.qualname.split(".")
    if owner:
        owners = [getattr(module, owner[0])]
    else:
        owners = [m for key, m in sys.modules.items() if key.startswith("tinyddpg.") and
                  getattr(m, name, None) is getattr(module, name)]
    replaced = [(where, name, getattr(where, name)) for where in owners]
    for where in owners:
        setattr(where, name, function)
    return replaced


def unplant(replaced: list[tuple[object, str, object]]) -> None:
    for where, name, original in reversed(replaced):
        setattr(where, name, original)


def describe(error: BaseException, folder: Path) -> str:
    """One line a student can act on: the error, and the line of their code it came from."""
    if isinstance(error, NotImplementedError):
        return f"not written yet: the stub is still there (NotImplementedError: {error})"
    if isinstance(error, SyntaxError):
        return f"SyntaxError in {error.filename} line {error.lineno}: {error.msg}"
    mine = [f for f in traceback.extract_tb(error.__traceback__) if f.filename.startswith(str(folder))]
    where = f" (at {mine[-1].filename} line {mine[-1].lineno}: {mine[-1].line})" if mine else ""
    return f"{type(error).__name__}: {error}{where}".replace("\n", " ")


class PartTimeout(BaseException):
    """Raised by the alarm when a part runs past its time limit (a BaseException: `except Exception` in the
    student's code does not swallow it)."""


def stop_the_part(signum, frame):
    raise PartTimeout


def grade_part(folder: Path, part_name: str, timeout: float) -> list[dict]:
    """The part's checks, each {"title", "passed", "message"}, with the student's code planted for them only."""
    manifest = read_manifest(folder)
    training = part_name in TRAINING_RUNS
    replaced = []
    try:
        for name in manifest if training else [part_name]:
            replaced += plant(folder, PARTS_BY_NAME[name])
    except Exception as error:  # the student's file does not parse, or the function is missing
        unplant(replaced)
        return [{"title": "your function can be read and compiled", "passed": False, "message": describe(error, folder)}]
    td3 = any(name in TD3_PARTS for name in manifest)
    checks = [lambda: training_check(part_name, td3)] if training else checks_for(part_name, td3)
    titles = [getattr(check, "title", f"trains with all of your parts ({'TD3' if td3 else 'DDPG'})") for check in checks]
    results = []
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        for check, title in zip(checks, titles):
            results.append({"title": title, "passed": False, "message": ""})
            try:
                results[-1]["message"] = check() or ""  # a passing check may say what it measured
                results[-1]["passed"] = True
            except (KeyboardInterrupt, PartTimeout):
                raise
            except Mismatch as mismatch:
                results[-1]["message"] = str(mismatch)
            except BaseException as error:  # anything the student's code raises, SystemExit included
                results[-1]["message"] = describe(error, folder)
    except PartTimeout:
        results[-1]["message"] = f"stopped after {timeout:g} s: an endless loop, or far too slow"
        results += [{"title": title, "passed": False, "message": "not run: the part ran out of time"}
                    for title in titles[len(results):]]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        unplant(replaced)
    return results


def main(argv: list[str]) -> None:
    """FOLDER RESULT.jsonl TIMEOUT PART...: one line {"part", "checks", "seconds"} per part, written as each ends."""
    folder, result, timeout = Path(argv[0]).resolve(), Path(argv[1]), float(argv[2])
    signal.signal(signal.SIGALRM, stop_the_part)
    for part_name in argv[3:]:
        start = time.monotonic()
        checks = grade_part(folder, part_name, timeout)
        with result.open("a") as lines:
            lines.write(json.dumps({"part": part_name, "checks": checks, "seconds": time.monotonic() - start}) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
