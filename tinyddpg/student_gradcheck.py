"""Gradient-check a layer or module you wrote: `tinyddpg gradcheck PATH.py:Name` (or `module.path:Name`).

Name is a class or a function that builds the module. Its parameters follow tinyddpg/nn.py's convention: the
attribute names listed in `param_names`, the gradient of `name` in `"d" + name`, `backward(dout)` adding into
the gradients and returning dx (a subclass of nn.Module also brings `parameters()`, `grads()`, `param_keys()`).
It is built on a float64 NumPy backend: the keyword arguments `backend` and `rng` are passed when it takes them,
and its other required arguments get the small sizes 4, 3, 2, ... in order (so `Dense(in_features,
out_features)` becomes `Dense(4, 3)`). The input is random normal, kept 0.1 away from 0 (ReLU's kink), of shape
(5, rows of the first 2-D parameter), or (5, 4) without one, unless `--input-shape` says otherwise.

Anything that makes the code uncheckable (no such file or name, no backward, wrong shapes, an exception) raises
UnusableCode with a one-line message; the CLI prints it and exits 2.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from pathlib import Path

import numpy as np

from .backend import get_backend, make_rng
from .errors import TinyDDPGError
from .gradcheck import GradCheckReport, check_module

BATCH = 5
SIZES = (4, 3, 2, 2, 2, 2)
BUILD_HINT = "or point at a function that builds it, e.g. def make(backend, rng): return MyLayer(4, 3, backend=backend)"


class UnusableCode(TinyDDPGError):
    """The code given to `tinyddpg gradcheck` cannot be checked (as opposed to: checked and wrong)."""


def load_target(target: str):
    """The object named by "PATH.py:Name" or "module.path:Name"."""
    where, _, name = target.rpartition(":")
    if not where or not name:
        raise UnusableCode(f"gradcheck target {target!r} is not PATH.py:Name or module.path:Name; "
                           f"e.g. tinyddpg gradcheck my_layers.py:MyDense")
    try:
        module = import_file(Path(where)) if where.endswith(".py") else import_module(where)
    except UnusableCode:
        raise
    except Exception as error:  # the student's module failed while importing
        raise UnusableCode(f"importing {where} raised {describe(error)}; fix it and run the same command again") from None
    if not hasattr(module, name):
        found = sorted(k for k, v in vars(module).items() if not k.startswith("_") and callable(v)
                       and getattr(v, "__module__", None) == module.__name__)
        raise UnusableCode(f"{where} has no {name!r}; it defines: {', '.join(found) or 'nothing callable'}")
    return getattr(module, name)


def import_file(path: Path):
    if not path.is_file():
        raise UnusableCode(f"no file {path} (from {Path.cwd()}); give the path of your .py file")
    spec = importlib.util.spec_from_file_location(f"tinyddpg_gradcheck_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as a real import does (dataclasses and pickling look it up)
    spec.loader.exec_module(module)
    return module


def import_module(dotted: str):
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # as `python -m` does: modules in the current folder are found
    try:
        return importlib.import_module(dotted)
    except ModuleNotFoundError as error:
        if error.name and dotted.startswith(error.name):
            raise UnusableCode(f"no module {dotted!r} (from {Path.cwd()}); give module.path:Name "
                               f"or the file itself as PATH.py:Name") from None
        raise


def describe(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def build(factory, name: str, backend, rng):
    """Call the class or function with backend=, rng= where accepted and small sizes for the other arguments."""
    if not callable(factory):
        raise UnusableCode(f"{name} is an object of type {type(factory).__name__}, not a class or function that builds a module")
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
    try:
        return factory(*args, **kwargs)
    except Exception as error:
        call = ", ".join([*map(str, args), *(f"{k}={k if k in ('backend', 'rng') else v}" for k, v in kwargs.items())])
        raise UnusableCode(f"building {name}({call}) raised {describe(error)}; {BUILD_HINT}") from None


class ConventionModule:
    """A student's module seen through nn.py's parameter convention, as check_module expects it."""

    def __init__(self, module, name: str, backend):
        self.module, self.name, self.backend = module, name, backend
        for method in ("forward", "backward"):
            if not callable(getattr(module, method, None)):
                raise UnusableCode(f"{name} has no {method}(): a checkable layer has forward(x) and backward(dout) "
                                   f"as in tinyddpg/nn.py")
        if callable(getattr(module, "param_keys", None)):  # an nn.Module: its own (possibly nested) parameters
            self.keys, self.params, self.gradients = module.param_keys(), module.parameters(), module.grads()
        else:
            names = list(getattr(module, "param_names", ()))
            missing = [f"d{n}" for n in names if not hasattr(module, n) or not hasattr(module, "d" + n)]
            if missing:
                raise UnusableCode(f"{name} lists param_names {names} but lacks {', '.join(missing)}: the gradient "
                                   f"of parameter `name` lives in `d` + name (W -> dW)")
            self.keys, self.params = names, [getattr(module, n) for n in names]
            self.gradients = [getattr(module, "d" + n) for n in names]
        for key, p, g in zip(self.keys, self.params, self.gradients):
            if tuple(p.shape) != tuple(g.shape):
                raise UnusableCode(f"{name}: parameter {key} has shape {tuple(p.shape)} but its gradient "
                                   f"{tuple(g.shape)}; they must match")
            if p.dtype != np.float64:
                raise UnusableCode(f"{name}: parameter {key} is {p.dtype}; a gradient check needs float64: create it "
                                   f"with the backend you are given (backend.zeros, backend.uniform)")

    def forward(self, x):
        return self.module.forward(x)

    def backward(self, dout):
        return self.module.backward(dout)

    def zero_grad(self) -> None:
        for g in self.gradients:
            g[...] = 0.0

    def param_keys(self) -> list[str]:
        return list(self.keys)

    def parameters(self) -> list:
        return list(self.params)

    def grads(self) -> list:
        return list(self.gradients)


def default_input_shape(module: ConventionModule) -> tuple[int, int]:
    matrices = [p for p in module.parameters() if len(p.shape) == 2]
    return (BATCH, int(matrices[0].shape[0])) if matrices else (BATCH, SIZES[0])


def parse_shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(n) for n in text.split(","))
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        raise UnusableCode(f"--input-shape {text!r} is not a list of positive sizes; e.g. --input-shape 5,4")
    return shape


def check_target(target: str, input_shape: str | None = None, seed: int = 0) -> GradCheckReport:
    """Load, build and gradient-check the module named by target; its report (UnusableCode if it cannot)."""
    backend = get_backend("numpy", dtype="float64")
    name = target.rpartition(":")[2]
    module = ConventionModule(build(load_target(target), name, backend, make_rng(seed)), name, backend)
    shape = parse_shape(input_shape) if input_shape else default_input_shape(module)
    raw = make_rng([seed, 2]).normal(size=shape)
    x = backend.to_device(np.sign(raw) * (0.1 + np.abs(raw)))  # off ReLU's kink at 0
    shape_hint = f"give the input shape with --input-shape (now {','.join(map(str, shape))})"
    try:
        y = module.forward(x)
        dx = module.backward(backend.xp.ones_like(y))
    except Exception as error:
        raise UnusableCode(f"{name} on an input of shape {shape} raised {describe(error)}; {shape_hint}") from None
    if dx is None or tuple(getattr(dx, "shape", ())) != shape:
        got = None if dx is None else tuple(getattr(dx, "shape", ()))
        raise UnusableCode(f"{name}.backward returned dx of shape {got} for an input of shape {shape}: "
                           f"backward(dout) must return dL/dx with the input's shape")
    try:
        return check_module(module, x, title=f"{target} on an input of shape {shape}", seed=seed)
    except Exception as error:
        raise UnusableCode(f"checking {name} raised {describe(error)}") from None
