"""`tinyddpg assignment new DIR`: a student copy of the engine, generated from its own source, with parts to write.

The engine's core modules are copied into DIR/my_ddpg/, a package of its own (it imports nothing from tinyddpg, so
it never shadows the installed one). In each chosen part's function the body after the docstring is replaced, by
line numbers from the AST, with a stub in nbgrader's convention:

    # YOUR CODE HERE: part dense_backward (README.md)
    raise NotImplementedError("part dense_backward: write Dense.backward in my_ddpg/nn.py (README.md)")

Everything else (signature, docstring with its equation, comments, the rest of the file) is the engine's text,
so the assignment never drifts from the engine. DIR/assignment.json names the parts; DIR/README.md states each
task and the guide section that derives it.
"""

from __future__ import annotations

import ast
import json
import sys
import tempfile
from pathlib import Path

from .. import __version__
from ..errors import ConfigError
from .parts import DDPG_PARTS, PARTS, PARTS_BY_NAME, TD3_PARTS, Part
from .student_guide import redact
from .student_readme import student_readme

ENGINE = Path(__file__).resolve().parent.parent
ENGINE_MODULES = ("backend", "errors", "nn", "losses", "optim", "networks", "buffer", "noise", "normalizer",
                  "hyperparameters", "agent")
PACKAGE = "my_ddpg"
MANIFEST = "assignment.json"
# The guide: in a clone beside the package; in an installed tinyddpg where setup.py's data_files put it.
GUIDE = next((path for path in (ENGINE.parent / "docs" / "guide.md", Path(sys.prefix) / "share" / "tinyddpg" / "guide.md")
              if path.is_file()), ENGINE.parent / "docs" / "guide.md")


def choose_parts(text: str | None, td3: bool) -> list[str]:
    """The part names from --parts (comma separated, or 'all'; default all DDPG parts), plus TD3's with --td3."""
    names = DDPG_PARTS if text in (None, "all") else [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in PARTS_BY_NAME]
    if unknown or not names:
        raise ConfigError(f"--parts {text!r}: unknown part {', '.join(unknown) or '(none given)'}; choose from "
                          f"{', '.join(part.name for part in PARTS)} or all, e.g. --parts dense_backward,td_target")
    chosen = set(names) | (set(TD3_PARTS) if td3 else set())
    return [part.name for part in PARTS if part.name in chosen]


def find_function(tree: ast.Module, qualname: str) -> ast.FunctionDef:
    """The def of `function` or `Class.method` at the top level of a parsed module."""
    scope, node = tree.body, None
    for name in qualname.split("."):
        node = next((n for n in scope if isinstance(n, ast.ClassDef | ast.FunctionDef) and n.name == name), None)
        if node is None:
            raise LookupError(f"no {qualname} in the module")
        scope = node.body
    return node


def stub_bodies(source: str, stubs: dict[str, list[str]], module_file: str) -> str:
    """source with the body of each function in `stubs` (qualname -> part names) replaced by a stub, the docstring
    kept. Line-based, bottom up, so every other line of the file stays exactly as written."""
    tree, lines = ast.parse(source), source.splitlines(keepends=True)
    for node, qualname in sorted(((find_function(tree, q), q) for q in stubs), key=lambda e: -e[0].lineno):
        has_docstring = ast.get_docstring(node) is not None
        first = node.body[0].end_lineno + 1 if has_docstring else node.body[0].lineno
        indent = " " * node.body[0].col_offset
        names = ", ".join(stubs[qualname])
        stub = [f"{indent}# YOUR CODE HERE: part {names} (README.md)\n",
                f'{indent}raise NotImplementedError("part {names}: write {qualname} in {PACKAGE}/{module_file} '
                f'(README.md)")\n']
        lines[first - 1:node.end_lineno] = stub
    return "".join(lines)


def new_assignment(folder: Path, part_names: list[str], solution: bool = False) -> None:
    """Write the student copy (or, with solution, the same copy with the engine's code left in) into folder: built
    in a temporary folder beside it and renamed into place, so a failure leaves no half-written assignment."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ConfigError(f"{folder} already exists and is not an empty folder; choose a new one, e.g. "
                          f"tinyddpg assignment new {folder.name}-2")
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder.parent, prefix=f".{folder.name}-") as scratch:
            write_copy(Path(scratch), folder.name, [PARTS_BY_NAME[name] for name in part_names], solution)
            Path(scratch).replace(folder)
            Path(scratch).mkdir()  # for TemporaryDirectory to remove
    except OSError as error:
        raise ConfigError(f"cannot write {folder} ({error.strerror or error}); choose a folder you can write, e.g. "
                          f"tinyddpg assignment new ~/hw1") from None


def write_copy(folder: Path, name: str, parts: list[Part], solution: bool) -> None:
    package = folder / PACKAGE
    package.mkdir()
    (package / "__init__.py").write_text('"""Your DDPG: tinyddpg\'s engine with parts for you to write (README.md)."""\n')
    sources = {f"{module}.py": (ENGINE / f"{module}.py").read_text() for module in ENGINE_MODULES}
    for module_file, source in sources.items():
        stubs: dict[str, list[str]] = {}
        for part in parts if not solution else []:
            if part.module_file == module_file:
                stubs.setdefault(part.qualname, []).append(part.name)
        (package / module_file).write_text(stub_bodies(source, stubs, module_file))
    if GUIDE.exists():  # the student's edition: each line that answers a part replaced by a pointer to it
        (folder / "docs").mkdir()
        shown = "".join((package / module_file).read_text() for module_file in sources)
        (folder / "docs" / "guide.md").write_text(GUIDE.read_text() if solution else
                                                  redact(GUIDE.read_text(), parts, sources, shown))
    manifest = {"package": PACKAGE, "parts": [part.name for part in parts], "tinyddpg": __version__}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    (folder / "README.md").write_text(student_readme(parts, GUIDE.exists()))


def read_manifest(folder: Path) -> list[str]:
    """The part names of the assignment in folder; a ConfigError naming the fix when it is not one."""
    manifest, package = folder / MANIFEST, folder / PACKAGE
    if not folder.is_dir():
        raise ConfigError(f"{folder} is not a folder; give the assignment folder, e.g. tinyddpg grade hw1")
    if not manifest.is_file() or not package.is_dir():
        missing = manifest if not manifest.is_file() else package
        raise ConfigError(f"{folder} is not an assignment folder ({missing.name} is missing); grade the folder "
                          f"`tinyddpg assignment new` made, e.g. tinyddpg grade hw1")
    try:
        names = json.loads(manifest.read_text())["parts"]
    except (ValueError, KeyError, TypeError) as error:
        raise ConfigError(f"{manifest} is damaged ({error}); copy it again from the folder "
                          f"`tinyddpg assignment new` made") from None
    unknown = [name for name in names if name not in PARTS_BY_NAME]
    if unknown:
        raise ConfigError(f"{manifest} names unknown parts {unknown}; it was made by another tinyddpg version")
    return names
