"""One part, graded in a process of its own (so an endless loop can be stopped and a crash stays contained):

    python -m tinyddpg.coursework.run_part FOLDER PART RESULT.json

The student's function is read from FOLDER/my_ddpg/<module>.py by the AST (the student's package is never
imported), compiled in the namespace of the engine module it comes from, and planted into the engine in place of
the engine's own; then the part's checks run, and RESULT.json receives one {"title", "passed", "message"} per
check. The training parts plant every part of the assignment at once.
"""

from __future__ import annotations

import ast
import importlib
import json
import sys
import traceback
from pathlib import Path

from .assignment import PACKAGE, find_function, read_manifest
from .checks import CHECKS, Mismatch
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
    exec(compile(ast.Module(body=[*helpers, node], type_ignores=[]), str(path), "exec"), namespace)  # noqa: S102
    return namespace[node.name]


def plant(folder: Path, part: Part) -> None:
    """Put the student's function where the engine's was: on its class, or in every engine module that holds it."""
    function, module = student_function(folder, part), engine_module(part)
    *owner, name = part.qualname.split(".")
    if owner:
        setattr(getattr(module, owner[0]), name, function)
        return
    original = getattr(module, name)
    for loaded in [m for key, m in sys.modules.items() if key.startswith("tinyddpg.")]:
        if getattr(loaded, name, None) is original:
            setattr(loaded, name, function)


def describe(error: BaseException, folder: Path) -> str:
    """One line a student can act on: the error, and the line of their code it came from."""
    if isinstance(error, NotImplementedError):
        return "not written yet: the NotImplementedError stub is still there"
    if isinstance(error, SyntaxError):
        return f"SyntaxError in {error.filename} line {error.lineno}: {error.msg}"
    mine = [f for f in traceback.extract_tb(error.__traceback__) if f.filename.startswith(str(folder))]
    where = f" (at {mine[-1].filename} line {mine[-1].lineno}: {mine[-1].line})" if mine else ""
    return f"{type(error).__name__}: {error}{where}".replace("\n", " ")


def run_checks(folder: Path, part_name: str) -> list[dict]:
    manifest = read_manifest(folder)
    training = part_name in TRAINING_RUNS
    try:
        for name in manifest if training else [part_name]:
            plant(folder, PARTS_BY_NAME[name])
    except Exception as error:  # the student's file does not parse, or the function is missing
        return [{"title": "your function can be read and compiled", "passed": False, "message": describe(error, folder)}]
    td3 = any(name in TD3_PARTS for name in manifest)
    checks = [lambda: training_check(part_name, td3)] if training else CHECKS[part_name]
    results = []
    for check in checks:
        title = getattr(check, "title", f"trains with all of your parts ({'TD3' if td3 else 'DDPG'})")
        try:
            check()
        except KeyboardInterrupt:
            raise
        except Mismatch as mismatch:
            results.append({"title": title, "passed": False, "message": str(mismatch)})
        except BaseException as error:  # noqa: BLE001 - anything the student's code raises, SystemExit included
            results.append({"title": title, "passed": False, "message": describe(error, folder)})
        else:
            results.append({"title": title, "passed": True, "message": ""})
    return results


def main(argv: list[str]) -> None:
    folder, part_name, result = Path(argv[0]).resolve(), argv[1], Path(argv[2])
    result.write_text(json.dumps(run_checks(folder, part_name)))


if __name__ == "__main__":
    main(sys.argv[1:])
