"""The grader's machinery: what is planted (what Python runs, wherever the engine holds it), the points and the
fields of results.json, the per-part alarm against the default watchdog, and integrity (a part that uses the
installed engine scores 0; one part's process cannot change another part's score or the results; prints are
bounded and shown). Cheap by design: two grade runs hold most cases, each submission written in several styles.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import shutil
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest
from helpers import run_tinyddpg

import tinyddpg.agent
import tinyddpg.losses
from tinyddpg.coursework import grade as grade_module
from tinyddpg.coursework.assignment import MANIFEST, PACKAGE, choose_parts, new_assignment
from tinyddpg.coursework.grade import grade, part_report
from tinyddpg.coursework.parts import PARTS_BY_NAME
from tinyddpg.coursework.planting import holders
from tinyddpg.coursework.zygote import OUTPUT_KEPT, Tail

TIMEOUT = 20.0  # seconds a part: long enough for a loaded CI machine


def stub(name: str) -> str:
    part = PARTS_BY_NAME[name]
    return (f"# YOUR CODE HERE: part {name} (README.md)\n"
            f'{" " * 8 if "." in part.qualname else " " * 4}raise NotImplementedError("part {name}: write '
            f'{part.qualname} in {PACKAGE}/{part.module_file} (README.md)")\n')


def edit(folder: Path, file: str, old: str, new: str) -> None:
    path = folder / PACKAGE / file
    text = path.read_text()
    assert text.count(old) == 1, f"{file} holds {old!r} {text.count(old)} times"
    path.write_text(text.replace(old, new))


def solve(folder: Path, name: str, code: str) -> None:
    """Replace the stub of part `name` by `code` (indented as the function's body)."""
    indent = " " * (8 if "." in PARTS_BY_NAME[name].qualname else 4)
    edit(folder, PARTS_BY_NAME[name].module_file, stub(name), textwrap.indent(textwrap.dedent(code), indent).lstrip())


def engine_body(qualname: str) -> str:
    """The engine's own body of agent.py's DDPG.<method> after its docstring (a correct solution)."""
    source = inspect.getsource(tinyddpg.agent)
    (node,) = [n for c in ast.parse(source).body if isinstance(c, ast.ClassDef) and c.name == "DDPG"
               for n in c.body if isinstance(n, ast.FunctionDef) and n.name == qualname]
    lines = source.splitlines(keepends=True)[node.body[1].lineno - 1:node.end_lineno]
    return textwrap.dedent("".join(lines))


# --- what is planted: what Python runs, in every style ----------------------------------------------------------
def styled_submission(folder: Path) -> Path:
    """Correct parts in other styles than the engine's, polyak left a stub."""
    new_assignment(folder, choose_parts("relu_backward,tanh_backward,mse,action_gradient,polyak", td3=True))
    solve(folder, "relu_backward", "return _masked(dout, self.positive * SCALE)")  # module-level helpers, a lambda
    edit(folder, "nn.py", "\n\nclass ReLU(", "\n\nSCALE = 1.0\n_masked = lambda dout, mask: _times(dout, mask)\n\n\n"
                                             "def _times(a, b):\n    return a * b\n\n\nclass ReLU(")
    solve(folder, "tanh_backward", "return dout * self._slope()\n\ndef _slope(self):\n    return 1.0 - self.y ** 2\n")
    edit(folder, "nn.py", "    def _slope(self):\n", "def _slope(self):\n")  # a method the student added
    with (folder / PACKAGE / "losses.py").open("a") as file:  # written below the untouched stub: Python runs this one
        file.write(textwrap.dedent('''

            import sys


            def mse(prediction, target):
                if prediction.shape != target.shape:
                    raise ValueError(f"shapes {prediction.shape} and {target.shape} differ")
                print("agent's mse is mine:", vars(sys.modules["tiny" + "ddpg.agent"])["mse"] is mse)
                error = prediction - target
                return (error ** 2).mean(), 2.0 * error / error.size
            '''))
    solve(folder, "action_gradient",  # super() reaches the engine's Sequential.backward
          "dx = super().backward(dq.reshape(-1, 1), need_input_grad=True, need_param_grads=False)\n"
          "return dx[:, self.obs_dim:]\n")
    solve(folder, "td3_policy_delay", engine_body("update"))  # calls soft_update, whose stub is still in agent.py
    return folder


@pytest.fixture(scope="module")
def styles(tmp_path_factory):
    """The styled submission, graded without training: {part: PartResult}."""
    folder = styled_submission(tmp_path_factory.mktemp("styles") / "hw")
    return {r.name: r for r in grade(folder, timeout=TIMEOUT, training=False)}


def test_correct_code_in_other_styles_scores_full_marks_and_a_stub_costs_only_its_part(styles):
    assert {name: r.points for name, r in styles.items()} == {
        "relu_backward": 5, "tanh_backward": 5, "mse": 5, "action_gradient": 5, "polyak": 0,
        "td3_clipped_double_q": 0, "td3_target_smoothing": 0, "td3_policy_delay": 10}, \
        "\n".join(part_report(r) for r in styles.values() if r.points < r.max_points)


def test_the_planted_function_reaches_every_engine_module_that_holds_it(styles):
    assert "agent's mse is mine: True" in styles["mse"].output, styles["mse"].output


def test_holders_finds_a_function_under_any_name_in_engine_modules_and_their_classes(monkeypatch):
    probe = types.ModuleType("tinyddpg.probe")
    probe.loss = tinyddpg.losses.mse
    probe.Holder = type("Holder", (), {"__module__": "tinyddpg.probe", "loss_function": tinyddpg.losses.mse})
    monkeypatch.setitem(sys.modules, "tinyddpg.probe", probe)
    monkeypatch.setitem(sys.modules, "elsewhere", types.SimpleNamespace(mse=tinyddpg.losses.mse))
    found = holders(tinyddpg.losses.mse)
    assert {(tinyddpg.losses, "mse"), (tinyddpg.agent, "mse"), (probe, "loss"), (probe.Holder, "loss_function")} <= \
        set(found), found
    assert not any(isinstance(namespace, types.SimpleNamespace) for namespace, _ in found)  # not outside tinyddpg


# --- the per-part alarm, with the default watchdog ---------------------------------------------------------------
def test_an_endless_loop_is_stopped_by_its_alarm_long_before_the_default_watchdog(tmp_path):
    assert grade_module.WATCHDOG_GRACE == 10.0
    new_assignment(tmp_path / "hw", ["relu_backward"])
    solve(tmp_path / "hw", "relu_backward", "while True:\n    pass\n")
    (result,) = grade(tmp_path / "hw", timeout=1.0, training=False)
    assert result.points == 0
    assert "stopped by the part's alarm at its time limit, 1 s" in result.checks[0]["message"], result.checks


# --- integrity, points and results.json: one command-line grade of a nested upload --------------------------------
CHEATS = {  # part: (code of the part, the words its report must hold)
    "dense_backward": ("import numpy\nnumpy.allclose = numpy.isclose = lambda *args, **kwargs: True\n"
                       "return dout @ self.W.T\n", None),
    "relu_backward": ("import tinyddpg.nn\nreturn tinyddpg.nn.ReLU.backward(self, dout)\n",
                      "my_ddpg/nn.py line"),
    "tanh_backward": ("import sys\nfor check in [c for cs in sys.modules['tiny' + 'ddpg.coursework.checks'].CHECKS.values()"
                      " for c in cs]:\n    check.__code__ = (lambda: None).__code__\nreturn dout\n", None),
    "mse": ("return _engine_mse(prediction, target)\n", "called the installed tinyddpg's own code for part mse"),
    "td_target": ("next_q = self.target_q(batch.next_obs, self.target_action(batch.next_obs))\n"
                  "return batch.reward + (1.0 - batch.terminated) * next_q\n", None),
    "critic_gradients": ("import json, os, sys\n"
                         "if len(sys.argv) > 2 and sys.argv[2].endswith('.jsonl'):\n"
                         "    with open(sys.argv[2], 'a') as results:\n"
                         "        for part in ['action_gradient', 'actor_gradient', 'replay_sample', 'ou_noise']:\n"
                         "            results.write(json.dumps({'part': part, 'seconds': 0, 'checks': [\n"
                         "                {'title': 'forged', 'passed': True, 'message': ''}]}) + '\\n')\n"
                         "for fd in range(3, 64):\n"
                         "    try:\n"
                         "        os.write(fd, b'[{\"title\": \"forged\", \"passed\": true, \"message\": \"\"}]')\n"
                         "    except OSError:\n"
                         "        pass\n"
                         "os._exit(0)\n", "ended with exit status 0"),
    "actor_gradient": ("import json, os, sys\nsys.stdout.write('x' * 10_000_000 + '\\n')\n"
                       "print(json.dumps({'argv': sys.argv, 'env': dict(os.environ), 'cwd': os.getcwd()}))\n"
                       "raise RuntimeError('wrong on purpose, after printing')\n", "wrong on purpose, after printing"),
    "polyak": ("import sys\nsource = open(sys.modules['tiny' + 'ddpg.agent'].__file__).read()\n"
               "namespace = {}\nexec(source[source.index('def soft_update('):], namespace)\n"
               "namespace['soft_update'](target, online, rho)\n", "read the installed tinyddpg's code"),
    "ou_noise": ("return _EngineNoise.sample(self)\n", "my_ddpg/noise.py line "),
}  # adam_step's function object is the engine's; action_gradient and replay_sample stay stubs
MODULE_LINES = {"losses.py": "import importlib\n_engine_mse = importlib.import_module('tiny' + 'ddpg.losses').mse\n",
                "noise.py": "from tinyddpg.noise import OrnsteinUhlenbeckNoise as _EngineNoise\n"}


def cheating_upload(outer: Path) -> Path:
    folder = outer / "hw1"  # uploaded nested one folder deep
    new_assignment(folder, choose_parts(None, td3=False))
    for name, (code, _) in CHEATS.items():
        solve(folder, name, code)
    for file, lines in MODULE_LINES.items():
        edit(folder, file, "from __future__ import annotations\n", "from __future__ import annotations\n" + lines)
    edit(folder, "optim.py", stub("adam_step"), stub("adam_step") +
         "\n    step = vars(__import__('importlib').import_module('tiny' + 'ddpg.optim').Adam)['step']\n")
    manifest = json.loads((folder / MANIFEST).read_text())
    (folder / MANIFEST).write_text(json.dumps({**manifest, "tinyddpg": "9.9.9"}))
    return folder


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """`tinyddpg grade UPLOAD --parts <the 12 DDPG parts> --no-training --gradescope results.json`."""
    outer = tmp_path_factory.mktemp("upload")
    folder = cheating_upload(outer)
    results = tmp_path_factory.mktemp("out") / "results.json"
    done = run_tinyddpg("grade", str(outer), "--parts", ",".join(choose_parts(None, td3=False)), "--no-training",
                        "--timeout", str(TIMEOUT), "--gradescope", str(results))
    tests = json.loads(results.read_text()) if results.is_file() else {}
    return done, tests, {test["name"].split(". ")[1]: test for test in tests.get("tests", [])}, str(results), folder


def test_a_part_that_uses_the_installed_engine_scores_zero_with_the_reason(graded):
    done, _, tests, _, _ = graded
    assert done.returncode == 1 and "Traceback" not in done.stdout + done.stderr, done.stderr
    for name in ["relu_backward", "mse", "adam_step", "polyak", "ou_noise"]:
        assert tests[name]["score"] == 0, tests[name]["output"]
        assert "your own code: it does not import, call or copy the installed tinyddpg" in tests[name]["output"]
    assert "comes from the installed tinyddpg" in tests["adam_step"]["output"], tests["adam_step"]["output"]
    for name, (_, words) in CHEATS.items():
        assert words is None or words in tests[name]["output"], tests[name]["output"]


def test_one_parts_patches_and_forgeries_change_no_other_parts_score(graded):
    _, results, tests, _, _ = graded
    assert 0 < tests["td_target"]["score"] < 10, tests["td_target"]["output"]  # numpy.allclose patched elsewhere
    for name in ["critic_gradients", "action_gradient", "actor_gradient", "replay_sample", "ou_noise"]:
        assert tests[name]["score"] == 0, tests[name]["output"]  # forged verdicts, patched checks
    assert "forged" not in json.dumps(results)


def test_points_and_results_json_fields_for_partial_credit_and_parts_alone(graded):
    _, results, tests, _, _ = graded
    names = choose_parts(None, td3=False)
    assert [test["name"] for test in results["tests"]] == [f"{i}. {name}" for i, name in enumerate(names, 1)]
    assert [test["number"] for test in results["tests"]] == [str(i) for i in range(1, len(names) + 1)]
    assert [test["max_score"] for test in results["tests"]] == [PARTS_BY_NAME[name].points for name in names]
    for test in results["tests"]:
        passes, fails = test["output"].count("\n      pass  "), test["output"].count("\n      FAIL  ")
        assert test["score"] == round(test["max_score"] * passes / (passes + fails), 2), test["output"]
        assert test["status"] == ("passed" if test["score"] == test["max_score"] else "failed")
        assert test["output"].startswith(f"{test['number']:>2}. {test['name'].split('. ')[1]} ")
    assert tests["td_target"]["status"] == "failed" and 0 < tests["td_target"]["score"] < 10
    assert results["score"] == round(sum(test["score"] for test in results["tests"]), 2)
    total = sum(PARTS_BY_NAME[name].points for name in names)
    assert results["output"].startswith(f"Total: {results['score']:g} / {total} points (graded in ")
    assert isinstance(results["execution_time"], int)


def test_prints_are_bounded_and_shown_beside_a_failing_part_and_never_show_the_results_path(graded):
    _, _, tests, results_path, _ = graded
    output = tests["actor_gradient"]["output"]
    assert "wrong on purpose, after printing" in output
    printed = re.search(r"printed by the part's process \(the last 3,000 of ([\d,]+) bytes\)", output)
    assert printed and int(printed[1].replace(",", "")) > 10_000_000, output[-4000:]  # 10 MB each call
    assert len(output.split("printed by the part's process")[1]) < OUTPUT_KEPT + 200
    assert '"argv": [' in output and '"env": {' in output  # what the student's code can see came through
    assert results_path not in output and "results.json" not in output


def test_a_tail_keeps_only_its_last_bytes_however_much_comes():
    tail = Tail(OUTPUT_KEPT)
    for i in range(2_000):
        tail.add(f"{i:07d}".encode() * 100)
        assert len(tail.data) <= OUTPUT_KEPT
    assert tail.total == 2_000 * 700 and tail.data.endswith(b"1999") and len(tail.data) == OUTPUT_KEPT


def test_an_upload_nested_one_folder_deep_is_found_and_a_version_mismatch_is_loud(graded):
    done, results, tests, _, _ = graded
    assert len(tests) == 12 and any(test["score"] > 0 for test in tests.values())  # graded, not 'stub still there'
    warning = "WARNING: this assignment was made by tinyddpg 9.9.9 and is graded by tinyddpg "
    assert warning in done.stderr and warning in results["output"], done.stderr


def test_the_batch_scan_lists_the_lines_that_name_the_engine_and_none_of_the_engines_own(graded):
    folder = graded[4]
    done = subprocess.run([sys.executable, "-m", "tinyddpg.coursework.integrity",
                           *map(str, sorted((folder / PACKAGE).glob("*.py")))], capture_output=True, text=True)
    assert done.returncode == 1, done.stdout + done.stderr
    assert [line.split(": ", 1)[1] for line in done.stdout.splitlines()] == [
        "import tinyddpg.nn", "from tinyddpg.noise import OrnsteinUhlenbeckNoise as _EngineNoise"], done.stdout


def test_a_submission_nested_one_folder_deep_is_graded_over_the_teachers_copy(tmp_path):
    new_assignment(tmp_path / "hw1", ["relu_backward"])
    upload = tmp_path / "upload"
    shutil.copytree(tmp_path / "hw1", upload / "hw1")  # the student uploaded their whole folder
    solve(upload / "hw1", "relu_backward", "return dout * (self.positive > 0)\n")
    done = run_tinyddpg("grade", str(tmp_path / "hw1"), "--submission", str(upload), "--no-training")
    assert done.returncode == 0 and "5 / 5   ok" in done.stdout, done.stdout + done.stderr
    assert f"nn.py, losses.py, optim.py, networks.py, buffer.py, noise.py, normalizer.py, hyperparameters.py, agent.py " \
           f"from {upload / 'hw1' / PACKAGE}\n" in done.stdout
    assert stub("relu_backward") in (tmp_path / "hw1" / PACKAGE / "nn.py").read_text()  # the teacher's copy unchanged
    refused = run_tinyddpg("grade", str(tmp_path / "hw1"), "--submission", str(tmp_path / "nowhere"))
    assert refused.returncode == 2 and "no file of my_ddpg/" in refused.stderr.strip().splitlines()[-1], refused.stderr
