"""Planting a student's parts into the grader's engine, in the process that grades them (run_part.py).

The student's module for a part (my_ddpg/<module>.py) is imported as Python imports it: the last definition of
a name wins, and its helpers, constants, lambdas and imports are there. Its siblings in my_ddpg are the engine's
own modules (so another file's stub, syntax error or module-level code cannot cost this part; a helper must live
in the part's own file). Then:

- the part's function is taken from the student's module (for a method: from the student's class) and set where
  the engine holds its own: on the engine's class, or under every name in every tinyddpg module, and every class
  of those modules, whose value is the engine's function (agent.py's `from .losses import mse` is such a copy);
- methods and class attributes the student added to a part's class go onto the engine's class too;
- `super()` and `__class__` in the student's methods mean the engine's class (the function's `__class__` cell is
  rebound), since the object the engine calls them on is an instance of the engine's class;
- in the student's module, every function and class the engine's module also defines is rebound to the engine's
  (where the part under test is planted): the student's part calls the engine's code for every other part, never
  a stub or another part's mistake; the student's own new names (helpers, constants) stay theirs.

So within a part's process, only the part's own function (and the helpers the student added for it) is the
student's code; everything else is the engine's, and one mistake costs one part. The training parts plant every
part of the assignment at once.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from dataclasses import dataclass
from pathlib import Path

from .assignment import ENGINE_MODULES, PACKAGE
from .parts import Part

ENGINE_PACKAGE = "tinyddpg"


class PartNotFound(LookupError):
    """The student's module has no usable function for the part (missing, or not a function)."""


@dataclass(frozen=True)
class Planted:
    part: Part
    engine_function: types.FunctionType  # the engine's own function for the part, replaced everywhere it was held
    student_function: types.FunctionType  # what was planted in its place


def engine_module(stem: str) -> types.ModuleType:
    return importlib.import_module(f"{ENGINE_PACKAGE}.{stem}")


def student_file(folder: Path, part: Part) -> Path:
    return folder / PACKAGE / part.module_file


def load_student_module(folder: Path, stem: str) -> types.ModuleType:
    """my_ddpg/<stem>.py imported as Python would, with `from .x import ...` finding the engine's modules."""
    package = types.ModuleType(PACKAGE)
    package.__path__ = [str(folder / PACKAGE)]
    sys.modules[PACKAGE] = package
    for sibling in ENGINE_MODULES:  # for `from .nn import Dense` and `from . import nn` alike
        sys.modules[f"{PACKAGE}.{sibling}"] = engine_module(sibling)
        setattr(package, sibling, engine_module(sibling))
    name = f"{PACKAGE}.{stem}"
    spec = importlib.util.spec_from_file_location(name, folder / PACKAGE / f"{stem}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # as an import does while the module runs (dataclasses and NamedTuple look there)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules[name] = engine_module(stem)
    return module


def with_engine_class(function: types.FunctionType, student_class: type, engine_class: type) -> types.FunctionType:
    """function, with its `__class__` cell (what `super()` reads) naming engine_class where it named student_class."""
    code = function.__code__
    if "__class__" not in code.co_freevars:
        return function
    cells = tuple(types.CellType(engine_class) if name == "__class__" and cell.cell_contents is student_class
                  else cell for name, cell in zip(code.co_freevars, function.__closure__))
    rebound = types.FunctionType(code, function.__globals__, function.__name__, function.__defaults__, cells)
    rebound.__kwdefaults__, rebound.__qualname__ = function.__kwdefaults__, function.__qualname__
    rebound.__dict__.update(function.__dict__)
    return rebound


def student_function(module: types.ModuleType, part: Part) -> types.FunctionType:
    """The part's function as the student's module left it (the last definition), or PartNotFound saying why."""
    *owner, name = part.qualname.split(".")
    where = f"{PACKAGE}/{part.module_file}"
    holder = getattr(module, owner[0], None) if owner else module
    if owner and not isinstance(holder, type):
        raise PartNotFound(f"{where} has no class {owner[0]} (it must keep the name it was handed out with)")
    function = vars(holder).get(name)
    if not isinstance(function, types.FunctionType):
        found = "nothing" if function is None else f"a {type(function).__name__}"
        raise PartNotFound(f"{part.qualname} in {where} must be a function (def); found {found}")
    return function


def holders(function: types.FunctionType) -> list[tuple[object, str]]:
    """(namespace, name) of every place in the engine's modules, and their classes, that holds `function`."""
    found = []
    for module_name, module in list(sys.modules.items()):
        if module is None or not (module_name == ENGINE_PACKAGE or module_name.startswith(f"{ENGINE_PACKAGE}.")):
            continue
        for name, value in list(vars(module).items()):
            if value is function:
                found.append((module, name))
            elif isinstance(value, type) and value.__module__ == module_name:
                found += [(value, key) for key, held in list(vars(value).items()) if held is function]
    return found


def plant(folder: Path, parts: list[Part]) -> list[Planted]:
    """Load the student's modules for `parts`, plant each part's function into the engine (see the module
    docstring), and rebind the student's modules to the engine. Raises SyntaxError, ImportError, PartNotFound,
    or whatever the student's module raises while it is imported."""
    modules = {stem: load_student_module(folder, stem) for stem in dict.fromkeys(Path(p.module_file).stem for p in parts)}
    planted = []
    for part in parts:
        stem = Path(part.module_file).stem
        module, engine = modules[stem], engine_module(stem)
        function = student_function(module, part)
        *owner, name = part.qualname.split(".")
        if owner:
            student_class, engine_class = getattr(module, owner[0]), getattr(engine, owner[0])
            original = vars(engine_class)[name]
            for key, value in vars(student_class).items():  # the student's added methods and class attributes
                if key not in vars(engine_class) and not key.startswith("__"):
                    is_function = isinstance(value, types.FunctionType)
                    setattr(engine_class, key, with_engine_class(value, student_class, engine_class) if is_function
                            else value)
            function = with_engine_class(function, student_class, engine_class)
            setattr(engine_class, name, function)
        else:
            original = getattr(engine, name)
            for namespace, key in holders(original):
                setattr(namespace, key, function)
        planted.append(Planted(part, original, function))
    originals = {id(plant.engine_function) for plant in planted}
    for stem, module in modules.items():  # every name the engine's module holds means the engine's (planted) object
        engine = engine_module(stem)
        for key, value in list(vars(module).items()):
            ours = isinstance(value, types.FunctionType | type) and value.__module__ == module.__name__
            if hasattr(engine, key) and (ours or id(value) in originals):  # (`from .losses import mse`, imported
                setattr(module, key, getattr(engine, key))  # before mse was planted, is the planted mse too)
    return planted
