"""Gradient-check a layer you wrote: `tinyddpg gradcheck FILE.py:Name` or `FILE.py:forward_name,backward_name`.

Two ways of writing a layer are understood (`module.path:...` works as well as `FILE.py:...`):

- Name, a class or a function that builds one, with forward(x) and backward(dout) returning dx. Its parameters
  are the attributes listed in `param_names`, or else the float arrays its constructor creates (a composite
  nn.Module such as Sequential brings param_keys(), parameters() and grads()). The gradient of W lives in dW
  after backward, added into an array (`self.dW += ...`, as tinyddpg/nn.py does) or assigned (`self.dW = ...`):
  arrays already there are zeroed before backward, and every gradient is read after it. The constructor gets
  `backend` (float64 NumPy) and `rng` when it takes them, and the sizes 4, 3, 2, ... for its other required
  arguments (`Dense(in_features, out_features)` becomes `Dense(4, 3)`).
- CS231n's pair of functions: forward(x, *params) returns (out, cache) and backward(dout, cache) returns
  (dx, *dparams), or dx alone when there are no params. The params are forward's required arguments after x,
  named as it names them, random normal of shape (D, 3) for the first and (3,) for the others, D being the size
  of one example of x (affine_forward(x, w, b) gets w (4, 3) and b (3,)), unless `--param-shape NAME=SHAPE`
  says otherwise.

The input is random normal, kept 0.1 away from 0 (ReLU's kink), of shape (5, rows of the first 2-D parameter)
for a class and (5, 4) for a pair, unless `--input-shape` says otherwise. The file's own folder is importable, as
when Python runs the file, so it may import its neighbours.

Anything that makes the code uncheckable (no such file or name, a missing gradient, wrong shapes, an exception
in it) raises UnusableCode with a one-line message; the CLI prints it and exits 2.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import math
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..backend import get_backend, make_rng
from ..errors import TinyDDPGError
from ..gradcheck import GradCheckReport, check_gradients

BATCH = 5
SIZES = (4, 3, 2, 2, 2, 2)
PAIR_OUTPUTS = 3  # a function pair's first parameter is (D, 3), its others (3,)
BUILD_HINT = "or point at a function that builds it, e.g. def make(backend, rng): return MyLayer(4, 3, backend=backend)"
TARGET_EXAMPLE = "e.g. tinyddpg gradcheck my_layers.py:MyDense or tinyddpg gradcheck layers.py:affine_forward,affine_backward"


class UnusableCode(TinyDDPGError):
    """The code given to `tinyddpg gradcheck` cannot be checked (as opposed to: checked and wrong)."""


def check_target(target: str, input_shape: str | None = None, param_shapes: list[str] = (),
                 seed: int = 0) -> GradCheckReport:
    """Load, build and gradient-check the layer named by target; its report (UnusableCode if it cannot be).

    input_shape is "5,4"; param_shapes, for a pair of functions only, are "NAME=SHAPE" such as "w=4,3".
    """
    where, names = split_target(target)
    module = import_file(Path(where)) if where.endswith(".py") else import_module(where)
    found = [find(module, where, name) for name in names]
    backend, rng = get_backend("numpy", dtype="float64"), make_rng(seed)
    shape = parse_shape(input_shape, "--input-shape") if input_shape else None
    if len(found) == 1 and inspect.isfunction(found[0]) and "forward" in names[0]:
        backward = names[0].replace("forward", "backward")
        raise UnusableCode(f"{names[0]} is a forward function: give it with its backward, e.g. tinyddpg gradcheck "
                           f"{where}:{names[0]},{backward}")
    if len(found) == 2:
        shape = shape or (BATCH, SIZES[0])
        layer = FunctionPair(*found, *names, shape, param_shapes, rng)
    else:
        if param_shapes:
            raise UnusableCode(f"--param-shape is for a pair of functions (PATH.py:forward,backward); {names[0]}'s "
                               f"constructor sizes its own parameters: drop --param-shape")
        layer = ClassLayer(build(found[0], names[0], backend, rng), names[0])
        shape = shape or layer.default_input_shape()
    raw = make_rng([seed, 2]).normal(size=shape)
    x = np.sign(raw) * (0.1 + np.abs(raw))  # off ReLU's kink at 0
    return check_layer(layer, x, backend, f"{target} on {layer.inputs_text(shape)}", seed)


def split_target(target: str) -> tuple[str, list[str]]:
    where, _, name = target.rpartition(":")
    names = name.split(",")
    if not where or len(names) > 2 or not all(names):
        raise UnusableCode(f"gradcheck target {target!r} is not PATH.py:Name, PATH.py:forward,backward or "
                           f"module.path:Name; {TARGET_EXAMPLE}")
    return where, names


@contextmanager
def students_code(what: str, hint: str = "fix it and run the same command again"):
    """Turn an exception raised by the student's code into one line naming what raised it."""
    try:
        yield
    except UnusableCode:
        raise
    except (Exception, SystemExit) as error:
        raise UnusableCode(f"{what} raised {describe(error)}; {hint}") from None


def import_file(path: Path):
    if not path.is_file():
        raise UnusableCode(f"no file {path} (from {Path.cwd()}); give the path of your .py file")
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)  # as `python FILE.py` does: the file may import its neighbours
    spec = importlib.util.spec_from_file_location(f"tinyddpg_gradcheck_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as a real import does (dataclasses and pickling look it up)
    with students_code(f"importing {path}"):
        spec.loader.exec_module(module)
    return module


def import_module(dotted: str):
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # as `python -m` does: modules in the current folder are found
    with students_code(f"importing {dotted}"):
        try:
            return importlib.import_module(dotted)
        except ModuleNotFoundError as error:
            if error.name and dotted.startswith(error.name):
                raise UnusableCode(f"no module {dotted!r} (from {Path.cwd()}); give module.path:Name "
                                   f"or the file itself as PATH.py:Name") from None
            raise


def find(module, where: str, name: str):
    if not hasattr(module, name):
        found = sorted(k for k, v in vars(module).items() if not k.startswith("_") and callable(v)
                       and getattr(v, "__module__", None) == module.__name__)
        raise UnusableCode(f"{where} has no {name!r}; it defines: {', '.join(found) or 'nothing callable'}")
    return getattr(module, name)


def describe(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def what(value) -> str:
    """A value in a message: "an array of shape (5, 3)", "None", "a list"."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {tuple(value.shape)}"
    return "None" if value is None else f"a {type(value).__name__}"


def build(factory, name: str, backend, rng):
    """Call the class or function with backend=, rng= where accepted and small sizes for the other arguments."""
    if not callable(factory):
        raise UnusableCode(f"{name} is an object of type {type(factory).__name__}, not a class or function that builds a layer")
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        parameters = []
    args, kwargs, sizes = [], {}, iter(SIZES)
    for p in parameters:
        if p.name in ("backend", "rng"):
            kwargs[p.name] = backend if p.name == "backend" else rng
        elif p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            args.append(next(sizes))
        elif p.default is inspect.Parameter.empty and p.kind is p.KEYWORD_ONLY:
            kwargs[p.name] = next(sizes)
    call = ", ".join([*map(str, args), *(f"{k}={k if k in ('backend', 'rng') else v}" for k, v in kwargs.items())])
    with students_code(f"building {name}({call})", BUILD_HINT):
        return factory(*args, **kwargs)


def parse_shape(text: str, flag: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(n) for n in text.split(","))
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        example = "--input-shape 5,4" if flag == "--input-shape" else "--param-shape w=4,3"
        raise UnusableCode(f"{flag} {text!r} is not a list of positive sizes; e.g. {example}")
    return shape


def shape_text(shape: tuple[int, ...]) -> str:
    return ",".join(map(str, shape))


class ClassLayer:
    """An object with forward(x) and backward(dout) -> dx, the gradient of its parameter W in dW."""

    def __init__(self, layer, name: str):
        for method in ("forward", "backward"):
            if not callable(getattr(layer, method, None)):
                raise UnusableCode(f"{name} has no {method}(): a checkable layer has forward(x) and backward(dout), "
                                   f"or give a pair of functions as PATH.py:forward,backward")
        self.layer, self.name = layer, name
        self.forward_name, self.backward_name = f"{name}.forward", f"{name}.backward"
        declared = tuple(getattr(layer, "param_names", ()))
        self.composite = not declared and callable(getattr(layer, "param_keys", None)) and bool(layer.param_keys())
        if self.composite:
            self.keys = layer.param_keys()
            self.parameters = dict(zip(self.keys, layer.parameters()))
        else:
            self.keys = declared or found_parameters(layer)
            missing = [key for key in self.keys if not hasattr(layer, key)]
            if missing:
                raise UnusableCode(f"{name} lists param_names {list(declared)} but has no {', '.join(missing)}")
            self.parameters = {key: getattr(layer, key) for key in self.keys}
        for key, p in self.parameters.items():
            if not isinstance(p, np.ndarray) or p.dtype != np.float64:
                kind = p.dtype if isinstance(p, np.ndarray) else f"a {type(p).__name__}"
                raise UnusableCode(f"{name}: parameter {key} is {kind}; a gradient check needs float64 arrays: "
                                   f"create it with the backend you are given (backend.zeros, backend.uniform)")

    def default_input_shape(self) -> tuple[int, int]:
        matrices = [p for p in self.parameters.values() if p.ndim == 2]
        return (BATCH, matrices[0].shape[0]) if matrices else (BATCH, SIZES[0])

    def inputs_text(self, shape) -> str:
        return f"an input of shape {shape}"

    def shape_hint(self, shape) -> str:
        return f"give the input shape with --input-shape (now {shape_text(shape)})"

    def forward(self, x):
        return self.layer.forward(x)

    def gradients(self, dout) -> dict:
        """{"input": dx, key: gradient} after one backward(dout), whether it adds into dW or assigns it."""
        for gradient in self.gradient_arrays().values():
            if isinstance(gradient, np.ndarray):
                gradient[...] = 0.0  # a backward that adds (dW += ...) starts from zero
        dx = self.layer.backward(dout)
        gradients = self.gradient_arrays()
        missing = [f"d{key}" for key in self.keys if key not in gradients]
        if missing:
            raise UnusableCode(f"after backward(), {self.name} has no {', '.join(missing)}: backward must leave the "
                               f"gradient of each parameter W in dW (self.dW = ... or self.dW += ...)")
        return {"input": dx, **gradients}

    def gradient_arrays(self) -> dict:
        if self.composite:
            return dict(zip(self.keys, self.layer.grads()))
        return {key: getattr(self.layer, "d" + key) for key in self.keys if hasattr(self.layer, "d" + key)}


def found_parameters(layer) -> tuple[str, ...]:
    """The float arrays a layer's constructor made, less the gradients among them (dW beside W)."""
    arrays = [k for k, v in getattr(layer, "__dict__", {}).items() if isinstance(v, np.ndarray) and v.dtype.kind == "f"]
    return tuple(k for k in arrays if not (k.startswith("d") and k[1:] in arrays))


class FunctionPair:
    """CS231n's style: forward(x, *params) -> (out, cache); backward(dout, cache) -> (dx, *dparams)."""

    def __init__(self, forward, backward, forward_name: str, backward_name: str, input_shape, param_shapes, rng):
        for function, name in ((forward, forward_name), (backward, backward_name)):
            if not inspect.isfunction(function):
                raise UnusableCode(f"{name} is an object of type {type(function).__name__}, not a function; {TARGET_EXAMPLE}")
        self.forward_function, self.backward_function = forward, backward
        self.forward_name, self.backward_name = forward_name, backward_name
        arguments = list(inspect.signature(forward).parameters.values())[1:]
        names = [p.name for p in arguments if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        shapes = dict(zip(names, [(math.prod(input_shape[1:]), PAIR_OUTPUTS)] + [(PAIR_OUTPUTS,)] * len(names)))
        for text in param_shapes:
            name, _, shape = text.partition("=")
            if name not in shapes:
                raise UnusableCode(f"--param-shape {text!r}: {forward_name} has no parameter {name!r}; its parameters "
                                   f"after x: {', '.join(names) or 'none'}")
            shapes[name] = parse_shape(shape, "--param-shape")
        self.parameters = {name: rng.normal(size=shape) for name, shape in shapes.items()}

    def inputs_text(self, shape) -> str:
        return ", ".join([f"x of shape {shape}", *(f"{k} {p.shape}" for k, p in self.parameters.items())])

    def shape_hint(self, shape) -> str:
        given = [f"--param-shape {k}={shape_text(p.shape)}" for k, p in self.parameters.items()]
        return f"give the shapes that fit, now --input-shape {shape_text(shape)} {' '.join(given)}".rstrip()

    def forward(self, x):
        result = self.forward_function(x, *self.parameters.values())
        if not (isinstance(result, tuple) and len(result) == 2):
            raise UnusableCode(f"{self.forward_name} returned {what(result)}; it must return (out, cache)")
        out, self.cache = result
        return out

    def gradients(self, dout) -> dict:
        result = self.backward_function(dout, self.cache)
        if not self.parameters and isinstance(result, np.ndarray):
            result = (result,)  # relu_backward returns dx alone
        expected = ["dx", *(f"d{name}" for name in self.parameters)]
        if not isinstance(result, (tuple, list)) or len(result) != len(expected):
            got = f"{len(result)} arrays" if isinstance(result, (tuple, list)) else what(result)
            raise UnusableCode(f"{self.backward_name} returned {got}; it must return ({', '.join(expected)}): the "
                               f"gradients of {self.forward_name}'s arguments, in order")
        return dict(zip(["input", *self.parameters], result))


def check_layer(layer, x, backend, title: str, seed: int) -> GradCheckReport:
    """One forward and backward with dL/dy = G (fixed, random), then each gradient against finite differences
    of L = sum(forward(x) * G)."""
    shape, inputs = tuple(x.shape), layer.inputs_text(tuple(x.shape))
    rng = make_rng([seed, 1])  # a stream of its own: G must never coincide with an input drawn from `seed`
    with students_code(f"{layer.forward_name} on {inputs}", layer.shape_hint(shape)):
        y = layer.forward(x)
    if not isinstance(y, np.ndarray):
        raise UnusableCode(f"{layer.forward_name} returned {what(y)}; it must return the output array")
    G = rng.normal(size=y.shape)
    with students_code(f"{layer.backward_name} (after {layer.forward_name} on {inputs})"):
        analytic = layer.gradients(G.copy())
    dx = analytic["input"]
    if not isinstance(dx, np.ndarray) or dx.shape != shape:
        raise UnusableCode(f"{layer.backward_name} returned {what(dx)} as dx for an input of shape {shape}: "
                           f"backward must return dL/dx with the input's shape")
    for key, p in layer.parameters.items():
        if not isinstance(analytic[key], np.ndarray) or analytic[key].shape != p.shape:
            raise UnusableCode(f"{layer.backward_name}: the gradient d{key} is {what(analytic[key])} but {key} has "
                               f"shape {tuple(p.shape)}; they must match")

    def loss() -> float:
        return float(np.sum(layer.forward(x) * G))

    arrays = {"input": x, **layer.parameters}
    with students_code(f"{layer.forward_name} on {inputs}"):
        return check_gradients(loss, arrays, {k: np.array(g, dtype=np.float64) for k, g in analytic.items()},
                               backend, title=title, rng=rng)
