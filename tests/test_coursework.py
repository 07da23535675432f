"""The grader graded: untouched stubs score 0 without a traceback, the engine's own code scores full marks, and each
bug of the bug zoo that falls inside a part, planted as a text edit into the generated solution, costs that part
and no other. Plus what a student can do to a grader: an endless loop, a crash of the process, wrong shapes, a
syntax error. The zoo submissions are graded without the training parts; one full grade, with training, runs once.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import run_tinyddpg

from tinyddpg.coursework import grade as grade_module
from tinyddpg.coursework.assignment import PACKAGE, choose_parts, new_assignment
from tinyddpg.coursework.grade import grade
from tinyddpg.coursework.parts import PARTS


@dataclass(frozen=True)
class Plant:
    name: str  # what a student wrote
    part: str  # the part that must lose points (and no other)
    edits: tuple[tuple[str, str, str], ...]  # (file in my_ddpg/, engine text, buggy text), each text found once


ZOO = [  # docs/bug_zoo.md's rows that fall inside a part, by their number there
    Plant("zoo 1: Tanh backward uses 1 - tanh(x) instead of 1 - tanh(x)^2", "tanh_backward",
          (("nn.py", "return dout * (1.0 - self.y * self.y)", "return dout * (1.0 - self.y)"),)),
    Plant("zoo 2: ReLU backward passes dout through without the x > 0 mask", "relu_backward",
          (("nn.py", "return dout * self.positive", "return dout"),)),
    Plant("zoo 3: Dense dW transposed (dout^T x), hidden by a square layer", "dense_backward",
          (("nn.py", "self.dW += self.x.T @ dout", "self.dW += dout.T @ self.x"),)),
    Plant("zoo 4: Dense db averaged over the batch instead of summed", "dense_backward",
          (("nn.py", "self.db += self.backend.xp.sum(dout, axis=0)", "self.db += self.backend.xp.mean(dout, axis=0)"),)),
    Plant("zoo 5: critic gradient divided by the batch size twice", "critic_gradients",
          (("agent.py", "critic.backward(dq)", "critic.backward(dq / dq.shape[0])"),)),
    Plant("zoo 6: dQ/da sliced one column early from dL/d[s, a]", "action_gradient",
          (("networks.py", "return dx[:, self.obs_dim:]", "return dx[:, self.obs_dim - 1:-1]"),)),
    Plant("zoo 9: terminal mask ignored: the TD target always bootstraps", "td_target",
          (("agent.py", "self.config.gamma * (1.0 - batch.terminated) * next_q", "self.config.gamma * next_q"),)),
    Plant("zoo 10: online networks instead of the targets in the TD target", "td_target",
          (("agent.py", "self.target_q(batch.next_obs, self.target_action(batch.next_obs))",
            "self.critic.forward(batch.next_obs, self.actor.forward(batch.next_obs))"),)),
    Plant("zoo 11: actor loss sign flipped: +mean Q", "actor_gradient",
          (("agent.py", "-1.0 / batch_size", "1.0 / batch_size"), ("agent.py", "return -xp.mean(q)", "return xp.mean(q)"))),
    Plant("zoo 14: next_obs column slice of the buffer shifted by one", "replay_sample",
          (("buffer.py", "rows[:, o + a + 1:2 * o + a + 1]", "rows[:, o + a + 2:2 * o + a + 2]"),)),
    Plant("zoo 17: Polyak direction reversed: online pulled toward the target", "polyak",
          (("agent.py", "target.flat_params *= rho\n    target.flat_params += (1.0 - rho) * online.flat_params",
            "online.flat_params *= rho\n    online.flat_params += (1.0 - rho) * target.flat_params"),)),
    Plant("zoo 19: Adam's step counter advanced twice per update", "adam_step",
          (("optim.py", "self.t += 1", "self.t += 2"),)),
    Plant("zoo 20: Adam without bias correction", "adam_step",
          (("optim.py", "self.lr / (1.0 - self.beta1**self.t)", "self.lr"),
           ("optim.py", "math.sqrt(1.0 - self.beta2**self.t)", "1.0"))),
    Plant("zoo 21: discount gamma missing from the TD target", "td_target",
          (("agent.py", "self.config.gamma * (1.0 - batch.terminated) * next_q", "(1.0 - batch.terminated) * next_q"),)),
    Plant("zoo 22: target critic instead of the critic in the actor loss", "actor_gradient",
          (("agent.py", "q = self.critic.forward(batch.obs, self.actor.forward(batch.obs))",
            "q = self.critic_target.forward(batch.obs, self.actor.forward(batch.obs))"),
           ("agent.py", "self.critic.action_gradient(dq)", "self.critic_target.action_gradient(dq)"))),
    Plant("zoo 25: the buffer samples never-filled slots (integers(0, capacity))", "replay_sample",
          (("buffer.py", "self.rng.integers(0, self.size, size=batch_size)",
            "self.rng.integers(0, self.capacity, size=batch_size)"),)),
]
MORE = [  # classic bugs of the parts the zoo has none for
    Plant("Dense gradient assigned (=), which rebinds dW away from the flat array", "dense_backward",
          (("nn.py", "self.dW += self.x.T @ dout", "self.dW = self.x.T @ dout"),)),
    Plant("MSE gradient divided by the rows, not the elements", "mse",
          (("losses.py", "error * (2.0 / error.size)", "error * (2.0 / error.shape[0])"),)),
    Plant("critic gradients not zeroed before backward", "critic_gradients",
          (("agent.py", "            critic.zero_grad()\n", ""),)),
    Plant("OU step without sqrt(dt)", "ou_noise",
          (("noise.py", "self.sigma * math.sqrt(self.dt) *", "self.sigma * self.dt *"),)),
    Plant("TD3: the larger of the twin targets", "td3_clipped_double_q",
          (("agent.py", "xp.minimum(q1, q2)", "xp.maximum(q1, q2)"),)),
    Plant("TD3: target noise not clipped", "td3_target_smoothing",
          (("agent.py", "np.clip(self.config.target_noise * self.rng.standard_normal(action.shape), -clip, clip)",
            "self.config.target_noise * self.rng.standard_normal(action.shape)"),)),
    Plant("TD3: the actor steps on every update", "td3_policy_delay",
          (("agent.py", "if self.critic_updates % self.config.policy_delay == 0:", "if True:"),)),
]
HARM = [  # what a submission can do to a grader: each costs points of its part, never the grader or another part
    Plant("an endless loop", "relu_backward",
          (("nn.py", "return dout * self.positive", "while True:\n            pass"),)),
    Plant("an endless loop that swallows the alarm", "tanh_backward",
          (("nn.py", "return dout * (1.0 - self.y * self.y)",
            "while True:\n            try:\n                sum(range(10**5))\n            except BaseException:\n"
            "                pass"),)),
    Plant("a crash of the whole process", "polyak",
          (("agent.py", "target.flat_params *= rho\n", "__import__('os')._exit(3)\n"),)),
    Plant("a TD target of the wrong shape (B, 1)", "td_target",
          (("agent.py", "return batch.reward + self.config.gamma * (1.0 - batch.terminated) * next_q",
            "return (batch.reward + self.config.gamma * (1.0 - batch.terminated) * next_q)[:, None]"),)),
    Plant("a syntax error", "ou_noise",
          (("noise.py", "return self.x.copy()", "return self.x.copy("),)),
]
ALL_PARTS = [part.name for part in PARTS]
DOCS = Path(__file__).resolve().parent.parent / "docs"
PART_TIMEOUT = 20.0  # seconds: long enough for a loaded CI machine, short for the endless loop


@pytest.fixture(scope="module")
def solution(tmp_path_factory):
    """The generated copy with the engine's code in every part (DDPG's and TD3's)."""
    folder = tmp_path_factory.mktemp("coursework") / "solution"
    new_assignment(folder, choose_parts("all", td3=True), solution=True)
    return folder


def submission(solution, tmp_path, plant: Plant):
    folder = tmp_path / "submission"
    shutil.copytree(solution, folder)
    for file, engine_text, buggy_text in plant.edits:
        path = folder / PACKAGE / file
        text = path.read_text()
        assert text.count(engine_text) == 1, f"{file} no longer holds {engine_text!r} exactly once: update this plant"
        path.write_text(text.replace(engine_text, buggy_text))
    return folder


def lost(results) -> dict[str, float]:
    return {r.name: r.points for r in results if r.points < r.max_points}


@pytest.mark.parametrize("plant", ZOO + MORE + HARM, ids=[plant.name for plant in ZOO + MORE + HARM])
def test_a_planted_bug_costs_its_part_and_no_other(plant, solution, tmp_path, monkeypatch):
    monkeypatch.setattr(grade_module, "WATCHDOG_GRACE", 1.0)  # the kill of a process whose alarm was swallowed
    timeout = 5.0 if plant.name.startswith("an endless loop") else PART_TIMEOUT
    results = grade(submission(solution, tmp_path, plant), timeout=timeout, training=False)
    assert [r.name for r in results] == ALL_PARTS
    assert list(lost(results)) == [plant.part], lost(results)
    if plant in HARM:  # the report says what happened, in one line without a traceback
        messages = " ".join(check["message"] for r in results for check in r.checks)
        assert {"an endless loop": "stopped by the part's alarm at its time limit, 5 s",
                "an endless loop that swallows the alarm": "killed 6 s after it started",
                "a crash of the whole process": "exit status 3",
                "a TD target of the wrong shape (B, 1)": "got shape (12, 1)",
                "a syntax error": "SyntaxError in"}[plant.name] in messages, messages
        assert "Traceback" not in messages


ZOO_ROWS_OUTSIDE_EVERY_PART = {7: "Actor.__init__", 8: "ScaleShift.__init__", 12: "DDPG.normalize_batch",
                               13: "DDPG.act", 15: "the trainer", 16: "DDPG.act", 18: "DDPG.__init__", 23: "the trainer",
                               24: "the checkpoint", 26: "DDPG.act", 27: "the trainer", 28: "the trainer",
                               29: "run/value_estimate.py"}


def test_the_plants_are_every_zoo_bug_inside_a_part_and_reach_every_part():
    """docs/bug_zoo.md's table (kept equal to tests/test_bug_zoo.py) row by row: each row is planted here under its
    own name, or lies outside every part; and with the extra plants every part has a bug that must cost it."""
    rows = dict(re.findall(r"^\| (\d+) \| (.+?) \| `", (DOCS / "bug_zoo.md").read_text(), flags=re.MULTILINE))
    planted = {int(plant.name.split(":")[0].removeprefix("zoo ")): plant.name.split(": ", 1)[1] for plant in ZOO}
    assert set(planted) | set(ZOO_ROWS_OUTSIDE_EVERY_PART) == {int(n) for n in rows}
    assert not set(planted) & set(ZOO_ROWS_OUTSIDE_EVERY_PART)
    assert all(rows[str(n)] == name for n, name in planted.items())
    assert {plant.part for plant in ZOO + MORE} == set(ALL_PARTS)


def test_a_student_helper_function_at_the_top_of_a_module_is_available_to_their_part(solution, tmp_path):
    helper = Plant("a helper", "relu_backward", (
        ("nn.py", "return dout * self.positive", "return masked(dout, self.positive)"),
        ("nn.py", "\n\nclass ReLU(", "\n\ndef masked(dout, mask):\n    return dout * mask\n\n\nclass ReLU(")))
    assert lost(grade(submission(solution, tmp_path, helper), timeout=PART_TIMEOUT, training=False)) == {}


def test_untouched_stubs_score_zero_with_no_traceback(tmp_path):
    folder = tmp_path / "hw1"
    assert run_tinyddpg("assignment", "new", str(folder), "--td3").returncode == 0
    graded = run_tinyddpg("grade", str(folder), "--gradescope", str(tmp_path / "results.json"))
    assert graded.returncode == 1, graded.stderr
    assert "Traceback" not in graded.stdout + graded.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["score"] == 0 and len(results["tests"]) == len(ALL_PARTS) + 2
    assert all("not written yet: the stub is still there (NotImplementedError: part " in test["output"]
               for test in results["tests"])


def test_the_engines_own_code_scores_full_marks_with_training(tmp_path):
    folder = tmp_path / "solution"
    assert run_tinyddpg("assignment", "new", str(folder), "--solution").returncode == 0
    graded = run_tinyddpg("grade", str(folder), "--gradescope", str(tmp_path / "results.json"))
    assert graded.returncode == 0, graded.stdout + graded.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    assert [test["name"].split(". ")[1] for test in results["tests"]] == [
        *choose_parts(None, td3=False), "training_bandit", "training_pendulum"]
    assert results["score"] == sum(test["max_score"] for test in results["tests"]) == 100
    assert all(test["status"] == "passed" for test in results["tests"])


def test_the_stub_keeps_signature_and_docstring_and_names_its_part(tmp_path):
    new_assignment(tmp_path / "hw", ["dense_backward"])
    text = (tmp_path / "hw" / PACKAGE / "nn.py").read_text()
    assert ('    def backward(self, dout, need_input_grad: bool = True, need_param_grads: bool = True):\n'
            '        """dW += x^T @ dout;  db += sum over the batch of dout;  dx = dout @ W^T.\n'
            '\n'
            '        Adds into self.dW and self.db in place (+=: they are views of the network\'s flat gradient array, and two\n'
            '        calls add up); zero_grad() is the caller\'s."""\n'
            '        # YOUR CODE HERE: part dense_backward (README.md)\n'
            '        raise NotImplementedError("part dense_backward') in text
    assert "return dout * self.positive" in text  # ReLU was not chosen: the engine's code stays
    readme = (tmp_path / "hw" / "README.md").read_text()
    assert "`dense_backward`" in readme and "docs/guide.md section 4.1" in readme and "`relu_backward`" not in readme


def test_the_student_copy_is_a_package_of_its_own(tmp_path):
    new_assignment(tmp_path / "hw", choose_parts(None, td3=False))
    probe = "import my_ddpg.agent, sys; print(sorted(m for m in sys.modules if m.startswith('tinyddpg')))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path / "hw", capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stderr


@pytest.mark.parametrize("args, says", [
    (["assignment", "new", "{tmp}/hw", "--parts", "dense,relu_backward"], "unknown part dense; choose from"),
    (["assignment", "new", "{tmp}/full"], "already exists and is not an empty folder"),
    (["assignment", "new", "{tmp}/full/notes.txt/hw"], "cannot write"),
    (["grade", "{tmp}/nowhere"], "is not a folder"),
    (["grade", "{tmp}/full"], "is not an assignment folder (assignment.json is missing)"),
    (["grade", "{tmp}/hw1", "--parts", "sgd_step"], "sgd_step is not a part of this assignment"),
    (["grade", "{tmp}/hw1", "--timeout", "0"], "must be a positive finite number"),
    (["grade", "{tmp}/hw1", "--timeout", "nan"], "must be a positive finite number"),
    (["grade", "{tmp}/hw1", "--gradescope", "{tmp}/nowhere/results.json"], "create it first"),
    (["grade", "{tmp}/hw1", "--gradescope", "{tmp}/results.txt"], "must end in .json"),
], ids=["unknown part", "folder not empty", "folder under a file", "no folder", "not an assignment",
        "part not assigned", "timeout 0", "timeout nan", "results folder missing", "results not json"])
def test_every_input_error_is_one_line_and_exit_2(args, says, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    new_assignment(tmp_path / "hw1", ["relu_backward"])
    done = run_tinyddpg(*[arg.format(tmp=tmp_path) for arg in args])
    lines = done.stderr.strip().splitlines()  # argparse's usage lines may come first, then the one error line
    assert done.returncode == 2 and says in lines[-1] and sum("error:" in line for line in lines) == 1, done.stderr
    assert "Traceback" not in done.stderr


def test_the_teachers_page_lists_every_part_with_its_points_and_every_plant_with_its_part():
    text = (DOCS / "coursework.md").read_text()
    for part in PARTS:
        assert f"| `{part.name}` | `{part.function.replace(':', ': ')}` | {part.points} |" in text, part.name
    for plant in ZOO + MORE + HARM:
        assert f"| {plant.name} | `{plant.part}` |" in text, plant.name
