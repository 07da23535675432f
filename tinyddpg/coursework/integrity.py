"""A part scores only for the student's own code: one that imports, calls or copies the installed engine (which
holds every answer) scores 0, with the reason. Four ways of seeing it, each cheap:

1. by reading (before the student's code runs): an `import tinyddpg...`, `from tinyddpg...`, or a string naming
   the package ("tinyddpg", "tinyddpg.nn": what `importlib.import_module`, `__import__` and `sys.modules[...]`
   take) in the part's function, or anywhere in its file outside every other part's function;
2. by origin: the planted function's code must come from the student's file (a function object taken from the
   engine, or compiled from its text, does not);
3. by a tripwire: the engine's own function for the part is made to refuse to run in the part's process, so a
   call reaching it, by whatever route, is seen;
4. by an audit hook (PEP 578, which nothing in the process can remove): the student's code opening a source file
   of the installed package (`inspect.getsource`, `open(tinyddpg.nn.__file__)`) is seen.

This is a check for honest mistakes and casual copying, not a sandbox: code that sets out to hide what it does
(building the names at run time and reading the grader's own memory) can get past it. docs/coursework.md says what
is and is not defended against.

`python -m tinyddpg.coursework.integrity FILE...` lists what way 1 finds in a batch of submissions.
"""

from __future__ import annotations

import ast
import os
import sys
import sysconfig
import types
from pathlib import Path

from .planting import ENGINE_PACKAGE, Planted

ENGINE_DIR = Path(__file__).resolve().parent.parent  # the installed tinyddpg package
STDLIB = (sysconfig.get_paths()["stdlib"], "<frozen ")
TITLE = "your own code: it does not import, call or copy the installed tinyddpg"
seen: list[str] = []  # what this process saw, in words


class EngineUsed(BaseException):
    """Raised by the tripwire (a BaseException: `except Exception` does not hide it)."""


def names_engine(node: ast.AST) -> bool:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        names = [node.module or ""] if not node.level else []
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        names = [node.value]
    else:
        return False
    return any(name == ENGINE_PACKAGE or name.startswith(f"{ENGINE_PACKAGE}.") for name in names)


def definitions(tree: ast.Module, qualname: str) -> list[ast.AST]:
    """Every def of `function` or `Class.method` at the top level of a module (not only the one Python keeps)."""
    scopes = [tree]
    for name in qualname.split("."):
        scopes = [node for scope in scopes for node in scope.body
                  if isinstance(node, ast.ClassDef | ast.FunctionDef) and node.name == name]
    return scopes


def engine_lines(path: Path, qualname: str, other_parts: list[str]) -> list[int]:
    """Lines of path that name the engine within the part `qualname`, or outside every part of `other_parts`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    spans = {q: [(n.lineno, n.end_lineno) for n in definitions(tree, q)] for q in {qualname, *other_parts}}
    lines = []
    for node in ast.walk(tree):
        if names_engine(node):
            owners = {q for q, ranges in spans.items() if any(a <= node.lineno <= b for a, b in ranges)}
            if not owners or qualname in owners:
                lines.append(node.lineno)
    return sorted(set(lines))


def read_violation(folder: Path, parts: list, same_file_parts: list) -> str:
    """Way 1 for each part: '' when none, else the reason, naming the file and lines."""
    for part in parts:
        path = folder / "my_ddpg" / part.module_file
        others = [p.qualname for p in same_file_parts if p.module_file == part.module_file and p is not part]
        lines = engine_lines(path, part.qualname, others)
        if lines:
            return (f"my_ddpg/{part.module_file} line {', '.join(map(str, lines))} imports or names the installed "
                    f"{ENGINE_PACKAGE} (part {part.name}); your code must be your own")
    return ""


def origin_violation(planted: list[Planted], folder: Path) -> str:
    """Way 2: '' when every planted function was compiled from the student's own file, else the reason."""
    for plant in planted:
        expected = str(folder / "my_ddpg" / plant.part.module_file)
        filename = plant.student_function.__code__.co_filename
        if filename != expected:
            source = f"the installed {ENGINE_PACKAGE}" if filename.startswith(str(ENGINE_DIR)) else repr(filename)
            return (f"{plant.part.qualname} (part {plant.part.name}) is not code written in my_ddpg/"
                    f"{plant.part.module_file}: it comes from {source}")
    return ""


def tripwire(function: types.FunctionType, part_name: str) -> types.CodeType:
    """Code for `function` that refuses to run and says so (with the same free variables, as Python requires)."""
    free = function.__code__.co_freevars
    source = "\n".join(["def outer():", *[f"    {name} = None" for name in free],
                        "    def tripwire(*args, **kwargs):", *([f"        {', '.join(free)}"] if free else []),
                        f"        __import__({__name__!r}, fromlist=['_']).engine_called({part_name!r})",
                        "    return tripwire"])
    namespace: dict = {}
    exec(compile(source, f"<the grader's tripwire for {part_name}>", "exec"), namespace)
    return namespace["outer"]().__code__


def engine_called(part_name: str) -> None:
    seen.append(f"it called the installed {ENGINE_PACKAGE}'s own code for part {part_name}")
    raise EngineUsed(seen[-1])


def arm(planted: list[Planted], folder: Path) -> None:
    """Ways 3 and 4, for the rest of this process."""
    for plant in planted:
        plant.engine_function.__code__ = tripwire(plant.engine_function, plant.part.name)
    student_dir = str(folder / "my_ddpg")

    def hook(event: str, args: tuple) -> None:
        if event != "open" or not isinstance(args[0], str | bytes | os.PathLike):
            return
        path = os.path.abspath(os.fsdecode(args[0]))
        if not path.startswith(str(ENGINE_DIR)) or not path.endswith((".py", ".pyc")):
            return
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename.startswith(STDLIB):
            frame = frame.f_back
        if frame is not None and frame.f_code.co_filename.startswith(student_dir):
            seen.append(f"my_ddpg/{Path(frame.f_code.co_filename).name} line {frame.f_lineno} read the installed "
                        f"{ENGINE_PACKAGE}'s code ({Path(path).name})")

    sys.addaudithook(hook)


def main(paths: list[str]) -> int:
    """List each line of FILE... that imports or names the installed engine (lines the engine's own module of that
    name also holds are left out); exit status 1 when any does."""
    found = 0
    for path in map(Path, paths):
        try:
            lines = path.read_text().splitlines()
            tree = ast.parse("\n".join(lines), filename=str(path))
        except (OSError, SyntaxError, ValueError) as error:
            print(f"{path}: not read ({error})")
            continue
        engine = ENGINE_DIR / path.name
        own = {line.strip() for line in engine.read_text().splitlines()} if engine.is_file() else set()
        for number in sorted({node.lineno for node in ast.walk(tree) if names_engine(node)}):
            if lines[number - 1].strip() not in own:
                print(f"{path}:{number}: {lines[number - 1].strip()}")
                found += 1
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
