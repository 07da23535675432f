"""Gradient-check a layer you wrote: `tinyddpg gradcheck FILE.py:Name` or `FILE.py:forward_name,backward_name`.

Two ways of writing a layer are understood (`module.path:...` works as well as `FILE.py:...`):

- Name, a class or a function that builds one, with forward(x) and backward(dout) returning dx. Its parameters
  are those listed in `param_names` (gradient of W in dW), or named with `--param PARAM=GRAD`, or the params of a
  composite nn.Module (param_keys(), parameters(), grads()); otherwise they are found: every float array the
  layer holds (attributes, dict values, list items, sublayers' arrays) whose change changes forward(x), each with
  its gradient found after backward under a conventional name (W -> dW, d_W, W_grad, grad_W; params['W'] ->
  grads['W'] or grads['dW']; weight.data -> weight.grad). One that changes the output with no gradient found is
  refused ("no parameters found; name them with --param"); a layer holding no such array (ReLU) is checked on dx
  alone, and its report's title says so. A gradient may be added into an array (`self.dW += ...`, as
  tinyddpg/nn.py does) or assigned (`self.dW = ...`): arrays already there are zeroed before backward, and
  every gradient is read after it. The constructor gets `backend` (float64 NumPy) and `rng` when it takes them,
  and the sizes 4, 3, 2, ... for its other required arguments (`Dense(in_features, out_features)` becomes
  `Dense(4, 3)`).
- CS231n's pair of functions: forward(x, *params) returns (out, cache) and backward(dout, cache) returns
  (dx, *dparams), or dx alone when there are no params. The params are forward's required arguments after x,
  named as it names them, random normal of shape (D, 3) for the first and (3,) for the others, D being the size
  of one example of x (affine_forward(x, w, b) gets w (4, 3) and b (3,)), unless `--param-shape NAME=SHAPE`
  says otherwise.

The input is random normal, kept 0.1 away from 0 (ReLU's kink), of shape (5, rows of the first 2-D parameter)
for a class (its columns where the layer takes those: torch's (out, in) weight) and (5, 4) for a pair, unless
`--input-shape` says otherwise. The file's own folder is importable, as when Python runs the file, so it may
import its neighbours; a file inside a package (a folder with __init__.py, as an assignment's my_ddpg/nn.py) is
imported as part of it, so its relative imports work.

Anything that makes the code uncheckable (no such file or name, a missing gradient, wrong shapes, an exception
in it) raises UnusableCode with a one-line message; the CLI prints it and exits 2.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import math
import os
import re
import signal
import sys
import threading
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
                 seed: int = 0, params: list[str] = ()) -> GradCheckReport:
    """Load, build and gradient-check the layer named by target; its report (UnusableCode if it cannot be).

    input_shape is "5,4"; param_shapes, for a pair of functions only, are "NAME=SHAPE" such as "w=4,3"; params, for
    a class only, are "PARAM=GRAD" such as "params['W']=grads['W']" (by default its parameters are found).
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
        if params:
            raise UnusableCode("--param is for a class (PATH.py:Name); a pair of functions gets its parameters as "
                               "arguments: drop --param (size them with --param-shape)")
        shape = shape or (BATCH, SIZES[0])
        layer = FunctionPair(*found, *names, shape, param_shapes, rng)
    else:
        if param_shapes:
            raise UnusableCode(f"--param-shape is for a pair of functions (PATH.py:forward,backward); {names[0]}'s "
                               f"constructor sizes its own parameters: drop --param-shape")
        layer = ClassLayer(build(found[0], names[0], backend, rng), names[0], params)
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


RUNNING = ["loading the code"]  # what of the student's code runs now, for the time limit's message
WATCHDOG_GRACE = 10.0  # seconds past the time limit before a check whose code swallowed the alarm is ended


class CheckTimeout(BaseException):
    """Raised by the alarm (a BaseException: `except Exception` in the student's code does not swallow it)."""


@contextmanager
def time_limit(seconds: float, json_error: bool = False):
    """For the command line: stop the student's code after `seconds` with one line naming what was running. An
    alarm (SIGALRM) raises CheckTimeout, turned into UnusableCode; if the code swallows it (a bare except in a
    loop), a watchdog thread ends the process WATCHDOG_GRACE seconds later with the same line, as the grader does."""

    def message() -> str:
        return (f"stopped after {seconds:g} s: {RUNNING[0]} did not finish: an endless loop, or far too slow; fix "
                f"it, or allow more time with --timeout {seconds * 4:g}")

    def end_the_process():
        line = json.dumps({"passed": False, "error": message()}) if json_error else None
        if line:
            print(line, file=sys.__stdout__, flush=True)
        print(f"tinyddpg: error: {message()}", file=sys.__stderr__, flush=True)
        os._exit(2)

    alarm = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    watchdog = threading.Timer(seconds + (WATCHDOG_GRACE if alarm else 0.0), end_the_process)
    watchdog.daemon = True
    if alarm:
        previous = signal.signal(signal.SIGALRM, stop_the_check)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    watchdog.start()
    try:
        yield
    except CheckTimeout:
        raise UnusableCode(message()) from None
    finally:
        watchdog.cancel()
        if alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


def stop_the_check(signum, frame):
    raise CheckTimeout


@contextmanager
def students_code(what: str, hint: str = "fix it and run the same command again"):
    """Turn an exception raised by the student's code into one line naming what raised it."""
    RUNNING[0] = what
    try:
        yield
    except UnusableCode:
        raise
    except (Exception, SystemExit) as error:
        raise UnusableCode(f"{what} raised {describe(error)}; {hint}") from None


def import_file(path: Path):
    if not path.is_file():
        raise UnusableCode(f"no file {path} (from {Path.cwd()}); give the path of your .py file")
    path = path.resolve()
    if (path.parent / "__init__.py").is_file():
        return import_from_package(path)
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)  # as `python FILE.py` does: the file may import its neighbours
    spec = importlib.util.spec_from_file_location(f"tinyddpg_gradcheck_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as a real import does (dataclasses and pickling look it up)
    with students_code(f"importing {path}"):
        spec.loader.exec_module(module)
    return module


def import_from_package(path: Path):
    """my_ddpg/nn.py as my_ddpg.nn, from the folder above the outermost package (so `from .backend import ...`
    works), replacing a package of the same name imported from elsewhere (another student's copy)."""
    top = path.parent
    while (top.parent / "__init__.py").is_file():
        top = top.parent
    dotted = ".".join([*path.parent.relative_to(top.parent).parts, path.stem])
    package = dotted.split(".")[0]
    for name in [name for name in sys.modules if name == package or name.startswith(package + ".")]:
        if not str(getattr(sys.modules[name], "__file__", "") or "").startswith(str(top)):
            del sys.modules[name]
    if str(top.parent) not in sys.path:
        sys.path.insert(0, str(top.parent))
    with students_code(f"importing {path} (as {dotted})"):
        return importlib.import_module(dotted)


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
    """An object with forward(x) and backward(dout) -> dx, and the parameters it keeps: named by `param_names`
    (gradient in "d" + name), by `--param PARAM=GRAD`, by a composite's param_keys(), or found (find_parameters)."""

    def __init__(self, layer, name: str, named: list[str] = ()):
        for method in ("forward", "backward"):
            if not callable(getattr(layer, method, None)):
                raise UnusableCode(f"{name} has no {method}(): a checkable layer has forward(x) and backward(dout), "
                                   f"or give a pair of functions as PATH.py:forward,backward")
        self.layer, self.name, self.note = layer, name, ""
        self.forward_name, self.backward_name = f"{name}.forward", f"{name}.backward"
        declared = tuple(getattr(layer, "param_names", ()))
        self.constants_allowed = named or hasattr(layer, "param_names")  # arrays not named are then constants
        self.composite = not named and not declared and callable(getattr(layer, "param_keys", None)) \
            and bool(layer.param_keys())
        self.gradient_path: dict[str, tuple | None] = {}  # row name -> where its gradient is read after backward
        self.parameters: dict | None = None  # row name -> array; None until find_parameters ran
        self.at_start = reachable_arrays(layer)  # what the constructor made (for the default input shape)
        if self.composite:
            self.keys = layer.param_keys()
            self.set_parameters(dict(zip(self.keys, layer.parameters())))
        elif named:
            pairs = [(canonical(layer, p), canonical(layer, g)) for p, g in map(parse_pair, named)]
            self.set_parameters({path_text(p): self.resolve(p, f"--param {text!r}") for (p, _), text in zip(pairs, named)},
                                {path_text(p): g for p, g in pairs})
        elif declared:
            missing = [key for key in declared if not hasattr(layer, key)]
            if missing:
                raise UnusableCode(f"{name} lists param_names {list(declared)} but has no {', '.join(missing)}")
            self.set_parameters({key: getattr(layer, key) for key in declared},
                                {key: (("attr", "d" + key),) for key in declared})

    def set_parameters(self, parameters: dict, gradient_path: dict | None = None) -> None:
        for key, p in parameters.items():
            if not isinstance(p, np.ndarray) or p.dtype != np.float64:
                kind = p.dtype if isinstance(p, np.ndarray) else f"a {type(p).__name__}"
                raise UnusableCode(f"{self.name}: parameter {key} is {kind}; a gradient check needs float64 arrays: "
                                   f"create it with the backend you are given (backend.zeros, backend.uniform)")
        self.parameters, self.gradient_path = parameters, gradient_path or {}

    def resolve(self, path: tuple, what_for: str):
        try:
            return resolve(self.layer, path)
        except LookupError:
            raise UnusableCode(f"{what_for}: {self.name} has no {path_text(path)}; {PARAM_HINT}") from None

    def default_input_shape(self) -> tuple[int, int]:
        """(5, rows of the first weight matrix); (5, its columns) where forward takes only those (torch's
        weight is (out, in)); (5, 4) without a matrix."""
        arrays = self.parameters.values() if self.parameters else self.at_start.values()
        matrices = [p for p in arrays if p.ndim == 2]
        shapes = [(BATCH, matrices[0].shape[0]), (BATCH, matrices[0].shape[1])] if matrices else [(BATCH, SIZES[0])]
        for shape in shapes[1:]:
            try:
                self.layer.forward(np.ones(shapes[0]))
                break
            except Exception:
                try:
                    self.layer.forward(np.ones(shape))
                    return shape
                except Exception:
                    pass
        return shapes[0]

    def inputs_text(self, shape) -> str:
        return f"an input of shape {shape}"

    def shape_hint(self, shape) -> str:
        return f"give the input shape with --input-shape (now {shape_text(shape)})"

    def forward(self, x):
        self.x = x
        return self.layer.forward(x)

    def gradients(self, dout) -> dict:
        """{"input": dx, key: gradient} after one backward(dout), whether it adds into dW or assigns it."""
        if not self.composite:
            self.find_parameters(dout)
        for gradient in self.gradient_arrays().values():
            if isinstance(gradient, np.ndarray):
                gradient[...] = 0.0  # a backward that adds (dW += ...) starts from zero
        dx = self.layer.backward(dout)
        gradients = self.gradient_arrays()
        missing = [path_text(self.gradient_path[key]) for key in self.parameters if key not in gradients]
        if missing:
            raise UnusableCode(f"after backward(), {self.name} has no {', '.join(missing)}: backward must leave the "
                               f"gradient of each parameter W in dW (self.dW = ... or self.dW += ...); {PARAM_HINT}")
        return {"input": dx, **gradients}

    def gradient_arrays(self) -> dict:
        if self.composite:
            return dict(zip(self.keys, self.layer.grads()))
        found = {key: resolve_or_none(self.layer, path) for key, path in self.gradient_path.items()}
        return {key: gradient for key, gradient in found.items() if gradient is not None}

    def find_parameters(self, dout) -> None:
        """The arrays the layer holds that change its output are its parameters; each one's gradient is found after
        a trial backward under a conventional name (dW, d_W, W_grad, grad_W, grads['W'], weight.grad, ...). Those
        already named (param_names, --param) are kept; the others that change the output are added when their
        gradient is found, and are otherwise an error (no gradient) or, where the parameters were named, constants
        left unchecked and said so in the report's title."""
        y = np.array(self.layer.forward(self.x), dtype=np.float64)
        if not np.array_equal(np.array(self.layer.forward(self.x), dtype=np.float64), y, equal_nan=True):
            raise UnusableCode(f"{self.forward_name} gives different outputs for the same input (random numbers, or a "
                               f"state it updates?); a gradient check needs a deterministic forward")
        named = list((self.parameters or {}).values())
        arrays = {path: a for path, a in reachable_arrays(self.layer).items()
                  if not any(np.shares_memory(a, b) for b in [self.x, *named])}
        gradients_of = {q for path in arrays for q in gradient_candidates(path)}
        affecting = [path for path, a in arrays.items() if path not in gradients_of and changes_output(self, a, y)]
        self.layer.forward(self.x)  # the caches of the unperturbed arrays, for the backward below
        for path in affecting:  # a gradient kept from an earlier backward must not be mistaken for this one's
            for q in gradient_candidates(path):
                value = resolve_or_none(self.layer, q)
                if isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.flags.writeable:
                    value[...] = 0.0
        self.layer.backward(np.ones_like(dout))
        found, unnamed = {}, []
        for path in affecting:
            gradient = next((q for q in gradient_candidates(path) if resolve_or_none(self.layer, q) is not None), None)
            if gradient is None:
                unnamed.append(path)
            else:
                found[path] = gradient
        self.layer.forward(self.x)
        checked = [arrays[path] for path in found]  # a flat array holding the found ones as views is not another
        unnamed = [path for path in unnamed if not any(np.shares_memory(arrays[path], a) for a in checked)]
        if unnamed and not self.constants_allowed:
            names = ", ".join(path_text(p) for p in unnamed)
            looked = ", ".join(path_text(q) for q in gradient_candidates(unnamed[0])[:5])
            if not found and not self.parameters:
                raise UnusableCode(f"no parameters found: {names} change{'s' if len(unnamed) == 1 else ''} "
                                   f"{self.name}'s output, but after backward() no gradient of "
                                   f"{'it' if len(unnamed) == 1 else 'them'} was found (looked for {looked}, ...); "
                                   f"{PARAM_HINT}")
            raise UnusableCode(f"after backward(), {self.name} has no {path_text(gradient_candidates(unnamed[0])[0])}: "
                               f"{names} change{'s' if len(unnamed) == 1 else ''} the output, so backward must leave "
                               f"{'its' if len(unnamed) == 1 else 'their'} gradient (looked for {looked}, ...); "
                               f"{PARAM_HINT}")
        self.set_parameters({**(self.parameters or {}), **{path_text(p): resolve(self.layer, p) for p in found}},
                            {**self.gradient_path, **{path_text(p): q for p, q in found.items()}})
        if unnamed:
            self.note = (f"; not checked: {', '.join(path_text(p) for p in unnamed)} (change the output, but are not "
                         f"named parameters and have no gradient: constants)")
        elif not self.parameters:
            self.note = "; no parameters (no array it holds changes its output), so dx alone is checked"


PARAM_HINT = ("name each parameter and its gradient with --param PARAM=GRAD, e.g. --param W=dW, "
              "--param \"params['W']=grads['W']\" or --param weight=weight_grad (repeat it for each)")
SKIPPED_TYPES = (np.random.Generator, type(np), type)  # a generator, a module, a class: never a parameter's home
MAX_DEPTH = 4


def reachable_arrays(root) -> dict[tuple, np.ndarray]:
    """Every float array the object holds, by path: attributes, dict values, list items, and those of objects it
    holds (a sublayer), up to MAX_DEPTH steps; each array once, under the first path that reaches it."""
    found, seen = {}, set()

    def visit(value, path):
        if id(value) in seen or len(path) > MAX_DEPTH or inspect.isroutine(value) or isinstance(value, SKIPPED_TYPES):
            return
        seen.add(id(value))
        if isinstance(value, np.ndarray):
            if value.dtype.kind == "f":
                found[path] = value
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str | int):
                    visit(item, (*path, ("item", key)))
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                visit(item, (*path, ("item", index)))
        elif hasattr(value, "__dict__") and not type(value).__module__.startswith(("numpy", "tinyddpg.backend")):
            for key, item in vars(value).items():
                if not key.startswith("__"):
                    visit(item, (*path, ("attr", key)))

    seen.add(id(root))
    for key, item in vars(root).items() if hasattr(root, "__dict__") else []:
        if not key.startswith("__"):
            visit(item, (("attr", key),))
    return found


def gradient_names(name: str) -> list[str]:
    """Where the gradient of `name` is kept, by the conventions in use: W -> dW, d_W, W_grad, grad_W, W_gradient;
    params -> grads (the container of gradients beside a container of parameters); data -> grad (weight.data)."""
    names = [f"d{name}", f"d_{name}", f"{name}_grad", f"grad_{name}", f"{name}_gradient"]
    if "param" in name:
        names += [name.replace("parameters", "gradients"), name.replace("parameters", "grads"),
                  name.replace("params", "grads"), name.replace("param", "grad")]
    if name in ("data", "value"):
        names.append("grad")
    return [n for n in dict.fromkeys(names) if n != name]


def gradient_candidates(path: tuple) -> list[tuple]:
    """The paths where the gradient of the array at `path` may be: beside it (dW, W_grad), or under the same key in
    the gradient container beside its container (params['W'] -> grads['W'] or grads['dW'])."""
    *parent, (kind, key) = path
    candidates = [(*parent, (kind, name)) for name in gradient_names(key)] if isinstance(key, str) else []
    keys = [key, *(gradient_names(key) if isinstance(key, str) else [])]
    containers = gradient_names(parent[-1][1]) if parent and isinstance(parent[-1][1], str) else []
    for container in [*containers, *(["grads", "gradients"] if len(path) <= 2 else [])]:
        base = (*parent[:-1], ("attr", container)) if parent else (("attr", container),)
        candidates += [(*base, ("item", k)) for k in keys]
    return list(dict.fromkeys(candidates))


def resolve(root, path: tuple):
    """The value at path (LookupError if there is none); an attribute step also finds a dict key or list index."""
    value = root
    for kind, key in path:
        if kind == "attr" and hasattr(value, key) and not isinstance(value, dict):
            value = getattr(value, key)
        elif isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list | tuple) and isinstance(key, int | str) and str(key).lstrip("-").isdigit() \
                and -len(value) <= int(key) < len(value):
            value = value[int(key)]
        elif kind == "item" and isinstance(key, str) and hasattr(value, key):
            value = getattr(value, key)
        else:
            raise LookupError(path_text(path))
    return value


def canonical(root, path: tuple) -> tuple:
    """The path as Python would write it (params.W names a dict's key: params['W']), as far as it resolves."""
    steps, value = [], root
    for kind, key in path:
        if isinstance(value, dict | list | tuple):
            kind, key = "item", int(key) if isinstance(value, list | tuple) and str(key).lstrip("-").isdigit() else key
        steps.append((kind, key))
        value = resolve_or_none(value, ((kind, key),))
    return tuple(steps)


def resolve_or_none(root, path: tuple):
    try:
        return resolve(root, path)
    except LookupError:
        return None


def path_text(path: tuple) -> str:
    """("attr", "params"), ("item", "W") -> params['W']; the way it is written in Python, less `self.`."""
    text = ""
    for kind, key in path:
        text += (f".{key}" if text else key) if kind == "attr" else f"[{key!r}]"
    return text


def parse_path(text: str) -> tuple:
    """params['W'], params["W"], params[W], params.W, weights[0], fc1.W -> a path (ValueError if not one)."""
    steps, rest = [], text.strip()
    pattern = re.compile(r"""\.?([A-Za-z_]\w*)|\[\s*(?:(['"])(.*?)\2|(-?\d+)|([A-Za-z_]\w*))\s*\]""")
    while rest:
        match = pattern.match(rest)
        if not match or (match.group(1) and steps and not rest.startswith(".")) or (not steps and rest.startswith(".")):
            raise ValueError(text)
        if match.group(1):
            steps.append(("attr", match.group(1)))
        elif match.group(4):
            steps.append(("item", int(match.group(4))))
        else:
            steps.append(("item", match.group(3) if match.group(2) else match.group(5)))
        rest = rest[match.end():]
    if not steps:
        raise ValueError(text)
    return tuple(steps)


def parse_pair(text: str) -> tuple[tuple, tuple]:
    """--param PARAM=GRAD: the paths of a parameter and of its gradient."""
    param, _, gradient = text.partition("=")
    try:
        return parse_path(param), parse_path(gradient)
    except ValueError:
        raise UnusableCode(f"--param {text!r} is not PARAM=GRAD (each a path into the layer such as W, "
                           f"params['W'] or weights[0]); e.g. --param W=dW") from None


def changes_output(layer: ClassLayer, array: np.ndarray, y: np.ndarray) -> bool:
    """Whether perturbing the array (then putting it back) changes forward(x): what makes it a parameter."""
    if not array.flags.writeable or array.size == 0:
        return False
    saved = array.copy()
    try:
        array[...] = array + make_rng(7).normal(size=array.shape) * (1.0 + np.abs(array))
        with students_code(f"{layer.forward_name} on {layer.inputs_text(tuple(layer.x.shape))}"):
            try:
                changed = np.array(layer.layer.forward(layer.x), dtype=np.float64)
            except (ValueError, FloatingPointError, ArithmeticError):
                return True  # the output depends on it so much that it cannot be computed any more
        return changed.shape != y.shape or not np.array_equal(changed, y, equal_nan=True)
    finally:
        array[...] = saved


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
        self.note = ""

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
                               backend, title=title + layer.note, rng=rng)
