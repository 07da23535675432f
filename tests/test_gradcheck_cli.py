"""`tinyddpg gradcheck PATH.py:Name` on a student's own layer: exit 0 on pass, 1 on fail, 2 on unusable input
with one line and no traceback (fit for an autograder)."""

import textwrap

import pytest
from helpers import run_tinyddpg

import tinyddpg
from tinyddpg.run.cli import main

STUDENT_LAYERS = '''
import numpy as np

from tinyddpg.nn import Module, Tanh


class PlainDense:
    """Not an nn.Module: only the convention (param_names, d + name)."""

    param_names = ("W", "b")

    def __init__(self, n_in, n_out, *, backend, rng):
        self.W = backend.uniform(rng, -1.0, 1.0, (n_in, n_out))
        self.b = backend.uniform(rng, -1.0, 1.0, (n_out,))
        self.dW, self.db = backend.zeros((n_in, n_out)), backend.zeros((n_out,))

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        self.dW += self.x.T @ dout
        self.db += dout.sum(axis=0)
        return dout @ self.W.T


class LeakyReLU(Module):
    def __init__(self, backend, slope=0.1):
        self.backend, self.slope = backend, slope

    def forward(self, x):
        self.x = x
        return np.where(x > 0, x, self.slope * x)

    def backward(self, dout):
        return np.where(self.x > 0, dout, self.slope * dout)


class BrokenTanh(Tanh):
    def backward(self, dout, need_input_grad=True, need_param_grads=True):
        return dout * (1.0 - self.y)


class DenseForgotTheBias(PlainDense):
    def backward(self, dout):
        self.dW += self.x.T @ dout
        return dout @ self.W.T


class TransposedDx(PlainDense):
    def backward(self, dout):
        super().backward(dout)
        return (dout @ self.W.T).T


class Float32Dense(PlainDense):
    def __init__(self, n_in, n_out, *, backend, rng):
        super().__init__(n_in, n_out, backend=backend, rng=rng)
        self.W = self.W.astype(np.float32)


class ForwardOnly:
    def forward(self, x):
        return 2 * x


def make_wide_dense(backend, rng):
    return PlainDense(7, 2, backend=backend, rng=rng)


NOT_A_LAYER = 3
'''


@pytest.fixture
def layers(tmp_path, monkeypatch):
    (tmp_path / "student_layers.py").write_text(textwrap.dedent(STUDENT_LAYERS))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "student_layers.py"


def gradcheck(capsys, *args):
    status = main(["gradcheck", *args])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("target, rows", [
    ("student_layers.py:PlainDense", ["input", "W", "b"]),
    ("student_layers:LeakyReLU", ["input"]),
    ("student_layers.py:make_wide_dense", ["input", "W", "b"]),
])
def test_a_correct_layer_passes_with_one_row_per_input_and_parameter(layers, capsys, target, rows):
    status, out, _ = gradcheck(capsys, target)
    assert status == 0, out
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if set(line) == {"-"}) + 1
    assert [line.split()[0] for line in lines[start:lines.index("", start)]] == rows
    assert "PASS: worst relative error" in out


@pytest.mark.parametrize("target, failing_row", [("student_layers.py:BrokenTanh", "input"),
                                                 ("student_layers.py:DenseForgotTheBias", "b")])
def test_a_wrong_backward_fails_with_exit_1(layers, capsys, target, failing_row):
    status, out, _ = gradcheck(capsys, target)
    assert status == 1 and "FAIL: worst relative error" in out
    row = next(line for line in out.splitlines() if line.split()[:1] == [failing_row])
    assert float(row.split()[-1]) > 0.1  # the wrong gradient's own row shows it


@pytest.mark.parametrize("args, message", [
    (["missing.py:PlainDense"], "no file missing.py"),
    (["no_such_module:PlainDense"], "no module 'no_such_module'"),
    (["student_layers.py:Nope"], "has no 'Nope'; it defines: BrokenTanh, DenseForgotTheBias"),
    (["student_layers.py"], "is not PATH.py:Name or module.path:Name"),
    (["student_layers.py:NOT_A_LAYER"], "NOT_A_LAYER is an object of type int, not a class or function"),
    (["student_layers.py:ForwardOnly"], "ForwardOnly has no backward()"),
    (["student_layers.py:TransposedDx"], "TransposedDx.backward returned dx of shape (4, 5) for an input of shape (5, 4)"),
    (["student_layers.py:Float32Dense"], "parameter W is float32; a gradient check needs float64"),
    (["student_layers.py:PlainDense", "--input-shape", "5,3"], "raised ValueError"),
    (["student_layers.py:PlainDense", "--input-shape", "five"], "--input-shape 'five' is not a list of positive sizes"),
])
def test_unusable_input_exits_2_with_one_line(layers, capsys, args, message):
    status, _, err = gradcheck(capsys, *args)
    assert status == 2 and message in err and err.count("\n") == 1, err


def test_the_console_command_gives_the_exit_status_and_no_traceback(layers, tmp_path):
    (tmp_path / "broken.py").write_text("def oops(:\n")
    passed = run_tinyddpg("gradcheck", "student_layers.py:PlainDense", cwd=tmp_path)
    failed = run_tinyddpg("gradcheck", "student_layers.py:BrokenTanh", cwd=tmp_path)
    unusable = run_tinyddpg("gradcheck", "broken.py:oops", cwd=tmp_path)
    assert (passed.returncode, failed.returncode, unusable.returncode) == (0, 1, 2)
    assert "importing broken.py raised SyntaxError" in unusable.stderr and "Traceback" not in unusable.stderr


def test_version():
    result = run_tinyddpg("--version")
    assert result.returncode == 0 and result.stdout == f"tinyddpg {tinyddpg.__version__}\n"
