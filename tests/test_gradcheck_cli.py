"""`tinyddpg gradcheck PATH.py:Name` (or `:forward,backward`) on a student's own layer: exit 0 on pass, 1 on
fail, 2 on unusable input with one line and no traceback, and --json (fit for an autograder)."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import run_tinyddpg

import tinyddpg
from tinyddpg.run.cli import main

STUDENT_LAYERS = '''
import numpy as np

from tinyddpg.nn import Module, Tanh, mlp


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


class ModuleDense(PlainDense, Module):
    """PlainDense as an nn.Module."""


class DenseWithoutBiasGradient(Module):
    param_names = ("W", "b")

    def __init__(self, n_in, n_out, *, backend, rng):
        self.backend = backend
        self.W = backend.uniform(rng, -1.0, 1.0, (n_in, n_out))
        self.b = backend.zeros((n_out,))
        self.dW = backend.zeros((n_in, n_out))

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        self.dW += self.x.T @ dout
        return dout @ self.W.T


def make_wide_dense(backend, rng):
    return PlainDense(7, 2, backend=backend, rng=rng)


def make_used_dense(backend, rng):
    """A layer that has been through a backward pass already: its gradients are not zero."""
    layer = PlainDense(4, 3, backend=backend, rng=rng)
    layer.forward(np.ones((2, 4)))
    layer.backward(np.ones((2, 3)))
    return layer


def make_network(backend, rng):
    return mlp((4, 3, 2), backend=backend, rng=rng)


NOT_A_LAYER = 3
'''

# A layer as most coursework writes it: no tinyddpg import, gradients assigned in backward.
ASSIGNING_LAYERS = '''
import numpy as np


class Affine:
    def __init__(self, n_in, n_out, rng):
        self.W = 0.1 * rng.normal(size=(n_in, n_out))
        self.b = np.zeros(n_out)

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        self.dW = self.x.T @ dout
        self.db = dout.sum(axis=0)
        return dout @ self.W.T


class AffineForgotTheBias(Affine):
    def backward(self, dout):
        self.dW = self.x.T @ dout
        return dout @ self.W.T


class AffineBiasSummedPerRow(Affine):
    def backward(self, dout):
        self.dW = self.x.T @ dout
        self.db = dout.sum(axis=1)
        return dout @ self.W.T


class AffineBiasTodo(Affine):
    def backward(self, dout):
        self.dW = self.x.T @ dout
        self.db = np.full_like(self.b, np.nan)  # TODO
        return dout @ self.W.T
'''

# CS231n's style: forward(x, *params) -> (out, cache), backward(dout, cache) -> (dx, *dparams).
CS231N_LAYERS = '''
import numpy as np

print("loading my layers")


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w)


def affine_backward(dout, cache):
    x, w = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = np.sum(dout, axis=0)
    return dx, dw, db


def affine_backward_mean_bias(dout, cache):
    dx, dw, db = affine_backward(dout, cache)
    return dx, dw, np.mean(dout, axis=0)


def affine_backward_without_db(dout, cache):
    dx, dw, db = affine_backward(dout, cache)
    return dx, dw


def relu_forward(x):
    return np.maximum(0, x), x


def scale_forward(x, gamma):
    return x * gamma, (x, gamma)


def scale_backward(dout, cache):
    x, gamma = cache
    return dout * gamma, np.sum(dout * x, axis=0)


def relu_backward(dout, cache):
    dx = dout.copy()
    dx[cache <= 0] = 0
    return dx
'''

# CS231n's layer_utils.py: built from its neighbour.
SIBLING_IMPORT = '''
from layers import affine_backward, affine_forward, relu_backward, relu_forward


def affine_relu_forward(x, w, b):
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    fc_cache, relu_cache = cache
    return affine_backward(relu_backward(dout, relu_cache), fc_cache)
'''
STUDENT_FILES = {"student_layers.py": STUDENT_LAYERS, "my_layers.py": ASSIGNING_LAYERS, "layers.py": CS231N_LAYERS,
                 "layer_utils.py": SIBLING_IMPORT}


def write_student_files(folder):
    folder.mkdir(exist_ok=True)
    for name, text in STUDENT_FILES.items():
        (folder / name).write_text(textwrap.dedent(text))
    return folder


@pytest.fixture
def layers(tmp_path, monkeypatch):
    monkeypatch.chdir(write_student_files(tmp_path))
    monkeypatch.setattr(sys, "path", list(sys.path))  # the folders a check adds go away with the test
    return tmp_path / "student_layers.py"


def gradcheck(capsys, *args):
    status = main(["gradcheck", *args])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("target, rows", [
    ("student_layers.py:PlainDense", ["input", "W", "b"]),
    ("student_layers:LeakyReLU", ["input"]),
    ("student_layers.py:make_wide_dense", ["input", "W", "b"]),
    ("student_layers.py:ModuleDense", ["input", "W", "b"]),
    ("student_layers.py:make_network", ["input", "0.W", "0.b", "2.W", "2.b"]),
    ("student_layers.py:make_used_dense", ["input", "W", "b"]),
    ("my_layers.py:Affine", ["input", "W", "b"]),
    ("layers.py:affine_forward,affine_backward", ["input", "w", "b"]),
    ("layers.py:relu_forward,relu_backward", ["input"]),
    ("layers.py:scale_forward,scale_backward --param-shape gamma=4", ["input", "gamma"]),
])
def test_a_correct_layer_passes_with_one_row_per_input_and_parameter(layers, capsys, target, rows):
    status, out, _ = gradcheck(capsys, *target.split())
    assert status == 0, out
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if set(line) == {"-"}) + 1
    assert [line.split()[0] for line in lines[start:lines.index("", start)]] == rows
    assert "PASS: worst relative error" in out


@pytest.mark.parametrize("target, failing_row", [("student_layers.py:BrokenTanh", "input"),
                                                 ("student_layers.py:DenseForgotTheBias", "b"),
                                                 ("my_layers.py:AffineBiasTodo", "b"),
                                                 ("layers.py:affine_forward,affine_backward_mean_bias", "b")])
def test_a_wrong_backward_fails_with_exit_1(layers, capsys, target, failing_row):
    status, out, _ = gradcheck(capsys, target)
    assert status == 1 and "FAIL: worst relative error" in out
    row = next(line for line in out.splitlines() if line.split()[:1] == [failing_row])
    assert not float(row.split()[-1]) < 0.1  # the wrong gradient's own row shows it (NaN included)


@pytest.mark.parametrize("args, message", [
    (["missing.py:PlainDense"], "no file missing.py"),
    (["no_such_module:PlainDense"], "no module 'no_such_module'"),
    (["student_layers.py:Nope"], "has no 'Nope'; it defines: BrokenTanh, DenseForgotTheBias"),
    (["student_layers.py"], "is not PATH.py:Name, PATH.py:forward,backward or module.path:Name"),
    (["student_layers.py:NOT_A_LAYER"], "NOT_A_LAYER is an object of type int, not a class or function"),
    (["student_layers.py:ForwardOnly"], "ForwardOnly has no backward()"),
    (["student_layers.py:TransposedDx"],
     "TransposedDx.backward returned an array of shape (4, 5) as dx for an input of shape (5, 4)"),
    (["student_layers.py:Float32Dense"], "parameter W is float32; a gradient check needs float64"),
    (["student_layers.py:PlainDense", "--input-shape", "5,3"], "raised ValueError"),
    (["student_layers.py:PlainDense", "--input-shape", "five"], "--input-shape 'five' is not a list of positive sizes"),
    (["student_layers.py:DenseWithoutBiasGradient"], "after backward(), DenseWithoutBiasGradient has no db"),
    (["my_layers.py:AffineForgotTheBias"], "after backward(), AffineForgotTheBias has no db"),
    (["my_layers.py:AffineBiasSummedPerRow"],
     "AffineBiasSummedPerRow.backward: the gradient db is an array of shape (5,) but b has shape (3,)"),
    (["layers.py:affine_forward,affine_backward_without_db"],
     "affine_backward_without_db returned 2 arrays; it must return (dx, dw, db)"),
    (["layers.py:relu_forward,affine_backward"], "affine_backward (after relu_forward on x of shape (5, 4)) raised ValueError"),
    (["layers.py:affine_forward,relu_backward,relu_forward"], "is not PATH.py:Name, PATH.py:forward,backward"),
    (["layers.py:affine_forward"], "give it with its backward, e.g. tinyddpg gradcheck layers.py:affine_forward,affine_backward"),
    (["--input-shape", "5,4"], "--input-shape applies to a TARGET"),
    (["layers.py:scale_forward,scale_backward"],
     "gamma (4, 3) raised ValueError"),  # the next step, --param-shape gamma=4, passes above
    (["layers.py:scale_forward,scale_backward"], "give the shapes that fit, now --input-shape 5,4 --param-shape gamma=4,3"),
    (["layers.py:scale_forward,scale_backward", "--param-shape", "beta=4"],
     "--param-shape 'beta=4': scale_forward has no parameter 'beta'; its parameters after x: gamma"),
    (["layers.py:scale_forward,scale_backward", "--param-shape", "gamma=four"], "--param-shape 'four' is not a list"),
    (["my_layers.py:Affine", "--param-shape", "W=4,3"], "--param-shape is for a pair of functions"),
    (["--param-shape", "w=4,3"], "--param-shape applies to a TARGET"),
])
def test_unusable_input_exits_2_with_one_line(layers, capsys, args, message):
    status, _, err = gradcheck(capsys, *args)
    assert status == 2 and message in err and err.count("\n") == 1, err


def test_the_console_command_gives_the_exit_status_and_no_traceback_from_any_folder(tmp_path):
    """Run from elsewhere, as an autograder does: a file's own folder is importable (layer_utils imports layers)."""
    student = write_student_files(tmp_path / "student")
    (student / "broken.py").write_text("def oops(:\n")
    expected = {"layer_utils.py:affine_relu_forward,affine_relu_backward": 0,
                "layers.py:affine_forward,affine_backward_mean_bias": 1,
                "student_layers.py:DenseWithoutBiasGradient": 2, "broken.py:oops": 2}
    results = {target: run_tinyddpg("gradcheck", f"{student}/{target}", cwd=tmp_path) for target in expected}
    assert {target: result.returncode for target, result in results.items()} == expected, results
    assert all("Traceback" not in result.stderr for result in results.values())
    assert "importing" in results["broken.py:oops"].stderr and "raised SyntaxError" in results["broken.py:oops"].stderr
    assert results["student_layers.py:DenseWithoutBiasGradient"].stderr.count("\n") == 1


@pytest.mark.parametrize("args, message", [
    (["--tolerance", "-1"], "'-1' is not allowed: must be a positive finite number"),
    (["--tolerance", "0"], "'0' is not allowed"),
    (["--tolerance", "nan"], "'nan' is not allowed"),
    (["--tolerance", "inf"], "'inf' is not allowed"),
    (["--tolerance", "tight"], "'tight' is not allowed"),
    (["--input-shape", "5,4"], "--input-shape applies to a TARGET"),
])
def test_bad_flags_are_refused_in_one_line(layers, args, message):
    result = run_tinyddpg("gradcheck", *args, cwd=layers.parent)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and result.stdout == ""


def refuse(constant):
    raise ValueError(f"{constant} is not JSON")


def gradcheck_json(folder, target):
    result = run_tinyddpg("gradcheck", target, "--json", cwd=folder)
    return result.returncode, json.loads(result.stdout, parse_constant=refuse), result.stderr


def test_json_gives_each_gradients_norms_errors_and_verdict(layers):
    status, passed, stderr = gradcheck_json(layers.parent, "layers.py:affine_forward,affine_backward")
    assert status == 0 and passed["passed"] and "loading my layers" in stderr  # the student's print kept off stdout
    [report] = passed["reports"]
    assert [g["name"] for g in report["gradients"]] == ["input", "w", "b"]
    for gradient in report["gradients"]:
        assert gradient["passed"] and gradient["analytic_norm"] == pytest.approx(gradient["numeric_norm"], rel=1e-8)

    status, failed, _ = gradcheck_json(layers.parent, "layers.py:affine_forward,affine_backward_mean_bias")
    assert status == 1 and not failed["passed"] and failed["tolerance"] == 1e-6
    input_row, w_row, b_row = failed["reports"][0]["gradients"]
    assert input_row["passed"] and w_row["passed"] and not b_row["passed"]
    assert b_row["analytic_norm"] * 5 == pytest.approx(b_row["numeric_norm"])  # the mean over a batch of 5
    # analytic = numeric / 5 in every entry: |a - n| / (|a| + |n|) = (4/5) / (6/5), array-wide and per element
    assert b_row["rel_error"] == pytest.approx(2 / 3) and b_row["cs231n_rel_error"] == pytest.approx(2 / 3)
    assert failed["worst_rel_error"] == b_row["rel_error"]

    status, nan, _ = gradcheck_json(layers.parent, "my_layers.py:AffineBiasTodo")  # strict JSON: NaN is null
    assert status == 1 and not nan["passed"] and nan["worst_rel_error"] is None
    assert [(g["name"], g["rel_error"] is None, g["passed"]) for g in nan["reports"][0]["gradients"]] == [
        ("input", False, True), ("W", False, True), ("b", True, False)]


def test_json_on_unusable_code_says_why_with_exit_2(layers):
    status, answer, stderr = gradcheck_json(layers.parent, "my_layers.py:AffineForgotTheBias")
    assert status == 2 and answer == {"passed": False, "error": stderr.removeprefix("tinyddpg: error: ").strip()}
    assert "has no db" in answer["error"]


def test_the_help_documents_every_json_field(layers):
    _, answer, _ = gradcheck_json(layers.parent, "layers.py:affine_forward,affine_backward")
    fields = {*answer, *answer["reports"][0], *answer["reports"][0]["gradients"][0]}
    help_text = " ".join(run_tinyddpg("gradcheck", "--help").stdout.split())
    assert "--json" in help_text and not [field for field in fields if field not in help_text]


def test_version():
    result = run_tinyddpg("--version")
    assert result.returncode == 0 and result.stdout == f"tinyddpg {tinyddpg.__version__}\n"


# Where course templates keep a layer's parameters: attributes, dicts (CS231n's params/grads), lists, torch-like
# names, small parameter objects, sublayers. Every correct one must be checked on every parameter and pass; every
# wrong one must fail on its own row.
PARAMETER_STYLES = '''
import numpy as np


class DictAffine:
    """params/grads dicts, the gradients assigned in backward (the grads dict starts empty)."""

    def __init__(self, n_in, n_out, rng):
        self.params = {"W": rng.normal(size=(n_in, n_out)), "b": rng.normal(size=n_out)}
        self.grads = {}

    def forward(self, x):
        self.x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dout):
        self.grads["W"] = self.x.T @ dout
        self.grads["b"] = dout.sum(axis=0)
        return dout @ self.params["W"].T


class DictAffineWrong(DictAffine):
    def backward(self, dout):
        self.grads["W"] = 123.0 * self.x.T @ dout
        self.grads["b"] = -dout.sum(axis=0)
        return dout @ self.params["W"].T


class DictAffineAccumulating:
    """Both dicts filled by the constructor, gradients keyed dW, db, added into."""

    def __init__(self, n_in, n_out, rng):
        self.params = {"W": rng.normal(size=(n_in, n_out)), "b": rng.normal(size=n_out)}
        self.grads = {"dW": np.zeros((n_in, n_out)), "db": np.zeros(n_out)}

    def forward(self, x):
        self.x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dout):
        self.grads["dW"] += self.x.T @ dout
        self.grads["db"] += dout.sum(axis=0)
        return dout @ self.params["W"].T


class ListAffine:
    def __init__(self, n_in, n_out, rng):
        self.params = [rng.normal(size=(n_in, n_out)), rng.normal(size=n_out)]
        self.grads = [np.zeros((n_in, n_out)), np.zeros(n_out)]

    def forward(self, x):
        self.x = x
        return x @ self.params[0] + self.params[1]

    def backward(self, dout):
        self.grads[0] += self.x.T @ dout
        self.grads[1] += dout.sum(axis=0)
        return dout @ self.params[0].T


class ListAffineBiasSign(ListAffine):
    def backward(self, dout):
        self.grads[0] += self.x.T @ dout
        self.grads[1] -= dout.sum(axis=0)
        return dout @ self.params[0].T


class TorchLikeLinear:
    """weight (out, in) and bias, their gradients in weight_grad and bias_grad."""

    def __init__(self, in_features, out_features, rng):
        self.weight = rng.normal(size=(out_features, in_features))
        self.bias = rng.normal(size=out_features)

    def forward(self, x):
        self.x = x
        return x @ self.weight.T + self.bias

    def backward(self, dout):
        self.weight_grad = dout.T @ self.x
        self.bias_grad = dout.sum(axis=0)
        return dout @ self.weight


class Parameter:
    def __init__(self, data):
        self.data, self.grad = data, np.zeros_like(data)


class ParameterObjects:
    """weight.data / weight.grad, as torch's tensors hold them."""

    def __init__(self, n_in, n_out, rng):
        self.weight, self.bias = Parameter(rng.normal(size=(n_in, n_out))), Parameter(rng.normal(size=n_out))

    def forward(self, x):
        self.x = x
        return x @ self.weight.data + self.bias.data

    def backward(self, dout):
        self.weight.grad += self.x.T @ dout
        self.bias.grad += dout.sum(axis=0)
        return dout @ self.weight.data.T


class AttributeAffineScaled:
    def __init__(self, n_in, n_out, rng):
        self.W, self.b = rng.normal(size=(n_in, n_out)), rng.normal(size=n_out)

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        self.dW = 123.0 * self.x.T @ dout
        self.db = dout.sum(axis=0)
        return dout @ self.W.T


class TwoLayers:
    """A layer made of sublayers: their parameters are found through them."""

    def __init__(self, rng):
        self.first, self.second = DictAffine(4, 3, rng), ListAffine(3, 2, rng)

    def forward(self, x):
        return self.second.forward(np.tanh(self.first.forward(x)))

    def backward(self, dout):
        h = np.tanh(self.first.x @ self.first.params["W"] + self.first.params["b"])
        return self.first.backward(self.second.backward(dout) * (1.0 - h * h))


class FlatAffine:
    """W and b are views of one flat array, as tinyddpg's networks keep them."""

    def __init__(self, n_in, n_out, rng):
        self.flat = rng.normal(size=n_in * n_out + n_out)
        self.grad = np.zeros_like(self.flat)
        self.W, self.b = self.flat[:n_in * n_out].reshape(n_in, n_out), self.flat[n_in * n_out:]
        self.dW, self.db = self.grad[:n_in * n_out].reshape(n_in, n_out), self.grad[n_in * n_out:]

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        self.dW += self.x.T @ dout
        self.db += dout.sum(axis=0)
        return dout @ self.W.T


class MaskedReLU:
    """No parameters, but arrays: the mask it caches (which never changes the output of the next forward)."""

    def __init__(self):
        self.mask = np.zeros(0)

    def forward(self, x):
        self.mask = (x > 0).astype(float)
        return x * self.mask

    def backward(self, dout):
        return dout * self.mask


class OddNames:
    """Parameters under names no convention knows: found to change the output, refused until named."""

    def __init__(self, n_in, n_out, rng):
        self.theta = {"W": rng.normal(size=(n_in, n_out)), "b": rng.normal(size=n_out)}
        self.g = {}

    def forward(self, x):
        self.x = x
        return x @ self.theta["W"] + self.theta["b"]

    def backward(self, dout):
        self.g["W"], self.g["b"] = self.x.T @ dout, dout.sum(axis=0)
        return dout @ self.theta["W"].T


class ForgotTheBiasInADict(DictAffine):
    def backward(self, dout):
        self.grads["W"] = self.x.T @ dout
        return dout @ self.params["W"].T


class ScaleWithConstant:
    """param_names names the one parameter; offset is a constant: reported unchecked, not refused."""

    param_names = ("g",)

    def __init__(self, rng):
        self.g, self.offset = rng.normal(size=4), np.full(4, 0.5)
        self.dg = np.zeros(4)

    def forward(self, x):
        self.x = x
        return x * self.g + self.offset

    def backward(self, dout):
        self.dg += (dout * self.x).sum(axis=0)
        return dout * self.g


class Noisy:
    def __init__(self, rng):
        self.rng = rng

    def forward(self, x):
        return x + self.rng.normal(size=x.shape)

    def backward(self, dout):
        return dout


class Endless:
    def forward(self, x):
        while True:
            pass

    def backward(self, dout):
        return dout


class EndlessSwallowingTheAlarm:
    def forward(self, x):
        while True:
            try:
                sum(range(10**5))
            except BaseException:
                pass

    def backward(self, dout):
        return dout
'''


@pytest.fixture
def styles(tmp_path, monkeypatch):
    (tmp_path / "styles.py").write_text(textwrap.dedent(PARAMETER_STYLES))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    return tmp_path


def table_rows(out):
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if set(line) == {"-"}) + 1
    return {line.split()[0]: float(line.split()[-1]) for line in lines[start:lines.index("", start)]}


@pytest.mark.parametrize("target, rows", [
    ("styles.py:DictAffine", ["input", "params['W']", "params['b']"]),
    ("styles.py:DictAffineAccumulating", ["input", "params['W']", "params['b']"]),
    ("styles.py:ListAffine", ["input", "params[0]", "params[1]"]),
    ("styles.py:TorchLikeLinear", ["input", "weight", "bias"]),
    ("styles.py:ParameterObjects", ["input", "weight.data", "bias.data"]),
    ("styles.py:TwoLayers", ["input", "first.params['W']", "first.params['b']", "second.params[0]", "second.params[1]"]),
    ("styles.py:FlatAffine", ["input", "W", "b"]),
    ("styles.py:MaskedReLU", ["input"]),
    ("styles.py:OddNames --param theta['W']=g['W'] --param theta.b=g.b", ["input", "theta['W']", "theta['b']"]),
    ("styles.py:ScaleWithConstant", ["input", "g"]),
], ids=["dict", "dict accumulating dW", "list", "torch-like names", "parameter objects", "sublayers",
        "views of one flat array", "no parameters", "named with --param", "param_names and a constant"])
def test_every_parameter_is_found_and_checked_in_every_style(styles, capsys, target, rows):
    status, out, _ = gradcheck(capsys, *target.split())
    assert status == 0 and list(table_rows(out)) == rows, out
    first_line = out.splitlines()[0]
    assert ("no parameters" in first_line) == (rows == ["input"]), first_line  # said, never silent
    assert ("not checked: offset" in first_line) == ("ScaleWithConstant" in target), first_line


@pytest.mark.parametrize("target, wrong_rows", [
    ("styles.py:DictAffineWrong", {"params['W']", "params['b']"}),
    ("styles.py:ListAffineBiasSign", {"params[1]"}),
    ("styles.py:AttributeAffineScaled", {"W"}),
], ids=["dict: dW 123x, db sign", "list: db sign", "attributes: dW 123x"])
def test_a_wrong_parameter_gradient_fails_on_its_own_row_whatever_holds_it(styles, capsys, target, wrong_rows):
    status, out, _ = gradcheck(capsys, target)
    assert status == 1 and "FAIL: worst relative error" in out, out
    rows = table_rows(out)
    assert {name for name, error in rows.items() if not error < 0.1} == wrong_rows, out


@pytest.mark.parametrize("args, message", [
    (["styles.py:OddNames"], "no parameters found: theta['W'], theta['b'] change OddNames's output, but after "
                             "backward() no gradient of them was found"),
    (["styles.py:OddNames"], "name each parameter and its gradient with --param PARAM=GRAD"),
    (["styles.py:ForgotTheBiasInADict"], "after backward(), ForgotTheBiasInADict has no params['db']: params['b'] "
                                         "changes the output"),
    (["styles.py:OddNames", "--param", "theta['W']"], "--param \"theta['W']\" is not PARAM=GRAD"),
    (["styles.py:OddNames", "--param", "theta['Q']=g['Q']"], "OddNames has no theta['Q']"),
    (["styles.py:OddNames", "--param", "theta['W']=g['W']"], "not checked: theta['b']"),
    (["styles.py:Noisy"], "Noisy.forward gives different outputs for the same input"),
    (["--param", "W=dW"], "--param applies to a TARGET"),
])
def test_parameters_that_cannot_be_found_are_refused_with_the_way_to_name_them(styles, capsys, args, message):
    status, out, err = gradcheck(capsys, *args)
    if "not checked" in message:  # naming one parameter of two is the user's choice: said in the title, not refused
        assert status == 0 and message in out.splitlines()[0], out
    else:
        assert status == 2 and message in err and err.count("\n") == 1, err


def test_an_endless_loop_is_stopped_with_one_line_naming_it(styles):
    result = run_tinyddpg("gradcheck", "styles.py:Endless", "--timeout", "1", cwd=styles)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and "stopped after 1 s: Endless.forward" in result.stderr, result.stderr
    assert "--timeout 4" in result.stderr  # the next step, and it works


def test_an_endless_loop_that_swallows_the_alarm_is_ended_by_the_watchdog(styles):
    program = ("import sys; import tinyddpg.coursework.layer_check as check; check.WATCHDOG_GRACE = 0.5; "
               "from tinyddpg.run.cli import main; sys.exit(main(sys.argv[1:]))")
    result = subprocess.run([sys.executable, "-c", program, "gradcheck", "styles.py:EndlessSwallowingTheAlarm",
                             "--timeout", "1", "--json"], cwd=styles, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(Path(tinyddpg.__file__).parent.parent)})
    assert result.returncode == 2 and "stopped after 1 s: EndlessSwallowingTheAlarm.forward" in result.stderr
    assert json.loads(result.stdout)["error"].startswith("stopped after 1 s")


def test_the_help_says_where_each_error_is_shown(layers, capsys):
    """The table has one error column, rel_error; the help must not promise CS231n's per-element form in it."""
    status, out, _ = gradcheck(capsys, "layers.py:affine_forward,affine_backward")
    header = next(line for line in out.splitlines() if line.startswith("gradient"))
    help_text = " ".join(run_tinyddpg("gradcheck", "--help").stdout.split())
    sentence = next(s for s in help_text.split(". ") if "per-element" in s)
    assert status == 0 and ("cs231n" in header.lower() or ("--json" in sentence and "cs231n_rel_error" in sentence)), \
        sentence
