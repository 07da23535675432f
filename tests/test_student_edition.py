"""The student's edition of an assignment: the guide copied without the code that answers a chosen part, a README
that states what is checked, the rules, the time and the training parts' numbers as the grader uses them, and
commands that work on the student's own copy."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import run_tinyddpg

import tinyddpg
from tinyddpg.coursework import gradescope
from tinyddpg.coursework.assignment import ENGINE, GUIDE, PACKAGE, choose_parts, new_assignment
from tinyddpg.coursework.checks import CHECKS
from tinyddpg.coursework.parts import PARTS, PARTS_BY_NAME
from tinyddpg.coursework.training import TRAINING_RUNS

DOCS = Path(__file__).resolve().parent.parent / "docs"


def collapsed(text: str) -> str:
    return " ".join(text.split())


def leaves(node: ast.AST) -> int:
    """Names and numbers in an expression, a chain such as self.config.gamma counting once."""
    return sum(isinstance(n, ast.Name) or (isinstance(n, ast.Constant) and isinstance(n.value, int | float))
               for n in ast.walk(node))


def solution_code(part) -> list[str]:
    """The code of the engine's body for a part, as it is written there: each statement (a leading `return`
    dropped) with two names or numbers or more, and each element of a returned tuple with three or more."""
    source = (ENGINE / part.module_file).read_text()
    scope = ast.parse(source).body
    for name in part.qualname.split("."):
        node = next(n for n in scope if isinstance(n, ast.ClassDef | ast.FunctionDef) and n.name == name)
        scope = node.body
    body = node.body[1:] if ast.get_docstring(node) is not None else node.body
    code = []
    for statement in (s for top in body for s in ast.walk(top) if isinstance(s, ast.stmt)):
        if isinstance(statement, ast.If | ast.For | ast.While | ast.With | ast.Try):
            statement = statement.test if isinstance(statement, ast.If | ast.While) else None
            if statement is None:
                continue
        shown = statement.value if isinstance(statement, ast.Return) and statement.value is not None else statement
        if leaves(shown) >= 2:
            code.append(collapsed(ast.get_source_segment(source, shown)))
        if isinstance(shown, ast.Tuple):
            code += [collapsed(ast.get_source_segment(source, e)) for e in shown.elts if leaves(e) >= 3]
    return code


@pytest.mark.parametrize("parts", [[part.name] for part in PARTS] + [choose_parts("all", td3=True)],
                         ids=[part.name for part in PARTS] + ["all"])
def test_no_code_of_a_chosen_parts_solution_is_in_the_student_guide(parts, tmp_path):
    """Each statement of the engine's body for the part (and each element of a tuple it returns) is absent from
    the student's guide, unless the student's copy shows it anyway outside the parts; every line that changed
    points at a chosen part, so the equations and derivations stay."""
    folder = tmp_path / "hw"
    new_assignment(folder, parts)
    guide = (folder / "docs" / "guide.md").read_text()
    package = collapsed("".join(path.read_text() for path in sorted((folder / PACKAGE).glob("*.py"))))
    checked = 0
    for name in parts:
        for code in solution_code(PARTS_BY_NAME[name]):
            if code not in package:
                checked += 1
                assert code not in collapsed(guide), f"the student's guide still shows {code!r} of part {name}"
    assert checked >= len(parts)
    original = GUIDE.read_text().splitlines()
    changed = [line for line, was in zip(guide.splitlines(), original, strict=True) if line != was]
    assert all(re.search(rf"\[part ({'|'.join(parts)})(, [a-z0-9_]+)*: your code, see README\.md\]", line)
               for line in changed), changed


def test_the_guide_of_the_solution_and_of_other_parts_is_whole(tmp_path):
    new_assignment(tmp_path / "key", choose_parts("all", td3=True), solution=True)
    assert (tmp_path / "key" / "docs" / "guide.md").read_text() == GUIDE.read_text()
    new_assignment(tmp_path / "relu", ["relu_backward"])
    guide = (tmp_path / "relu" / "docs" / "guide.md").read_text()
    assert "`return batch.reward + self.config.gamma * (1.0 - batch.terminated) * next_q`" in guide
    assert "[part relu_backward: your code, see README.md]" in guide


def test_the_readme_states_each_parts_checks_and_the_training_parts_numbers_the_grader_uses(tmp_path):
    parts = choose_parts("all", td3=True)
    new_assignment(tmp_path / "hw", parts)
    readme = (tmp_path / "hw" / "README.md").read_text()
    for name in parts:
        assert f"| `{name}` |" in readme
        for check in CHECKS[name]:
            assert f"  - {check.title}\n" in readme, (name, check.title)
    for name, (_, settings, passing, _) in TRAINING_RUNS.items():  # what training.py runs, not what parts.py says
        line = next(line for line in readme.splitlines() if line.startswith(f"- `{name}`"))
        assert f"for {settings['steps']:,} steps" in line and f"above {passing:g}" in line, line
    assert "Total: 130 points." in readme and "TD3 from seed 0" in readme
    for rule in ("the last definition counts", "helper functions, constants and lambdas", "`super()`",
                 "Tolerances follow the dtype", "What a docstring asks for is checked", "Do not import `tinyddpg`",
                 "each training part 600 s"):
        assert rule in readme, rule


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("edition") / "hw1"
    new_assignment(folder, ["dense_backward", "relu_backward", "td_target"], solution=True)
    return folder


def test_every_command_the_readme_gives_works_in_the_assignment_folder(solved, tmp_path):
    stubbed = tmp_path / "hw1"
    new_assignment(stubbed, ["dense_backward", "relu_backward", "td_target"])
    shutil.copy(stubbed / "README.md", solved / "README.md")
    commands = [line.split("#")[0].split()[1:] for line in (solved / "README.md").read_text().splitlines()
                if line.startswith("    tinyddpg ")]
    assert [c[:2] for c in commands] == [["gradcheck", f"{PACKAGE}/nn.py:Dense"], ["gradcheck", f"{PACKAGE}/nn.py:ReLU"],
                                         ["grade", "."], ["grade", "."], ["grade", "."]]
    for command in commands[:-1]:  # the last one trains: the grader's own tests run it
        result = run_tinyddpg(*command, cwd=solved)
        assert result.returncode == 0 and "Traceback" not in result.stderr, (command, result.stdout, result.stderr)
    dense = run_tinyddpg(*commands[0], cwd=solved).stdout
    assert [line.split()[0] for line in dense.splitlines()[3:6]] == ["input", "W", "b"], dense
    stub = run_tinyddpg(*commands[0], cwd=stubbed)  # the stub: one line naming the part, no traceback
    assert stub.returncode == 2 and "part dense_backward: write Dense.backward" in stub.stderr, stub.stderr


def test_the_sample_written_question_checks_the_students_copy_not_the_installed_engine():
    text = (DOCS / "coursework.md").read_text()
    sample = text[text.index("## 5. A sample assignment text"):text.index("## 6.")]
    commands = re.findall(r"`(tinyddpg gradcheck[^`]*)`", sample)
    assert commands and all(f"{PACKAGE}/" in command for command in commands), commands


def autograder(tmp_path, parts):
    """The zip of a fresh assignment, unpacked into tmp/autograder/source, with a venv python that grades without
    the training runs (the recipe's own logic is under test, not the training parts)."""
    folder, key = tmp_path / "hw1", tmp_path / "key"
    new_assignment(folder, parts)
    new_assignment(key, parts, solution=True)
    done = run_tinyddpg("assignment", "gradescope", str(folder), str(tmp_path / "autograder.zip"))
    assert done.returncode == 0, done.stderr
    root = tmp_path / "autograder"
    with zipfile.ZipFile(tmp_path / "autograder.zip") as archive:
        archive.extractall(root / "source")
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
    (root / "venv" / "bin").mkdir(parents=True)
    python = root / "venv" / "bin" / "python"
    python.write_text(f'#!/usr/bin/env bash\nexec {sys.executable} "$@" --no-training\n')
    python.chmod(0o755)
    return root, key / PACKAGE, modes


@pytest.mark.parametrize("where", ["", "my_ddpg/", "hw1/my_ddpg/", "hw1/"], ids=["flat", "in my_ddpg", "nested",
                                                                                  "nested flat"])
def test_the_gradescope_recipe_finds_the_upload_and_grades_it(where, tmp_path):
    root, key, modes = autograder(tmp_path, ["relu_backward", "polyak"])
    upload = root / "submission" / where
    upload.mkdir(parents=True)
    shutil.copy(key / "nn.py", upload / "nn.py")  # relu_backward solved; agent.py (polyak) not uploaded
    (root / "submission" / "__MACOSX" / "hw1").mkdir(parents=True)
    (root / "submission" / "__MACOSX" / "nn.py").write_text("garbage a zip tool leaves")
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env={**os.environ, "AUTOGRADER": str(root)},
                          capture_output=True, text=True, timeout=300)
    results = json.loads((root / "results" / "results.json").read_text())
    assert {t["name"]: t["score"] for t in results["tests"]} == {"1. relu_backward": 5, "2. polyak": 0}, done.stdout
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755


def test_the_gradescope_recipe_pins_its_version_and_dependencies_and_refuses_an_old_python(tmp_path):
    root, _, _ = autograder(tmp_path, ["relu_backward"])
    source = root / "source"
    assert (source / "requirements.txt").read_text() == "".join(f"{k}=={v}\n" for k, v in gradescope.PINS.items())
    assert f'__version__ = "{tinyddpg.__version__}"' in (source / "engine" / "tinyddpg" / "__init__.py").read_text()
    setup = (source / "setup.sh").read_text()
    assert f'= "tinyddpg {tinyddpg.__version__}" ]' in setup and "apt-get install -y -qq python3-venv python3-pip" in setup
    old = tmp_path / "old-python"
    old.mkdir()
    (old / "python3").write_text("#!/usr/bin/env bash\nexec python3.9 \"$@\"\n" if shutil.which("python3.9") else
                                 "#!/usr/bin/env bash\nif [ \"$1\" = -c ]; then exit 1; fi\necho 'Python 3.9.18'\n")
    (old / "python3").chmod(0o755)
    done = subprocess.run(["bash", str(source / "setup.sh")], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "AUTOGRADER": str(root), "PATH": f"{old}:{os.environ['PATH']}"})
    assert done.returncode == 1 and "tinyddpg needs Python 3.10 or newer" in done.stdout, done.stdout + done.stderr


def test_the_teachers_page_states_the_training_parts_numbers_the_grader_uses():
    text = (DOCS / "coursework.md").read_text()
    for name, (_, settings, passing, _) in TRAINING_RUNS.items():
        row = next(line for line in text.splitlines() if line.startswith(f"| `{name}` |"))
        assert f"{settings['steps']:,} steps" in row and f"above {passing:g}" in row, row
