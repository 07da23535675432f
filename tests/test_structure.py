"""Promises about the code itself: small enough to read in one sitting, equations beside every backward pass,
and one module that knows NumPy from CuPy."""

import inspect
import re
from pathlib import Path

import pytest

import tinyddpg.networks
import tinyddpg.nn

PACKAGE = Path(tinyddpg.nn.__file__).parent
CORE_ENGINE = ["backend", "nn", "losses", "optim", "networks", "buffer", "noise", "normalizer", "hyperparameters",
               "agent"]
# The core engine, read top to bottom in one sitting: 1,049 lines, raised by 32 for issue 26's fewer passes over
# memory (backend.CopyInto, so that out= works on every backend; Adam's work arrays; ReLU's mask written in place;
# each with its one-line reason) and Adam's and SGD's settings one per line instead of packed into tuples; by 29
# more for issue 27's de-golfing: attributes one per line in the buffer, noise and normalizer, the sampled batch's
# fields by name, the agent's bounds in a helper (action_bounds) and its networks one per line.
# +8 for agent.act's check of its observation (issue 25).
# +17 for issues 24 and 27: the graded functions' docstrings state what the grader checks, and the agent
# counts its critic updates for TD3's policy delay (saved in its state_dict).
CORE_LINE_BUDGET = 1_135
MODULE_LINE_BUDGET = 260  # agent.py: 252 after issues 24-27's docstrings, act's check and de-golfing


def test_core_engine_fits_its_line_budget():
    lengths = {name: len((PACKAGE / f"{name}.py").read_text().splitlines()) for name in CORE_ENGINE}
    assert sum(lengths.values()) <= CORE_LINE_BUDGET, lengths
    assert max(lengths.values()) <= MODULE_LINE_BUDGET, lengths


@pytest.mark.parametrize("layer", [cls for module in (tinyddpg.nn, tinyddpg.networks)
                                   for _, cls in inspect.getmembers(module, inspect.isclass)
                                   if cls.__module__ == module.__name__ and "backward" in cls.__dict__],
                         ids=lambda cls: cls.__name__)
def test_every_backward_states_its_equation_next_to_its_forward(layer):
    assert "forward" in layer.__dict__, f"{layer.__name__}.backward has no forward beside it"
    doc = inspect.getdoc(layer.backward) or ""
    assert states_a_gradient_equation(doc), f"{layer.__name__}.backward needs its equation (dx = ...) in the docstring"


# a gradient on the left (dx, dW, dL/dx_(k-1)), = or +=, something on the right: "dx = dout * (1 - y^2)"
GRADIENT_EQUATION = re.compile(r"\bd(?:L/d)?[A-Za-z]\w*(?:\([^)]*\))?\s*\+?=\s*[^\s=]")


def states_a_gradient_equation(doc: str) -> bool:
    return GRADIENT_EQUATION.search(doc) is not None


@pytest.mark.parametrize("doc, is_equation", [
    ("dx = dout * (1 - y^2)", True), ("dW += x^T @ dout", True), ("dL/dx_(k-1) = layer_k.backward(dL/dx_k)", True),
    ("Backward pass; see the docs for the derivation.", False), ("The gradient, d for short: a = b.", False),
    ("dx is returned", False), ("", False),
])
def test_the_equation_check_tells_an_equation_from_prose(doc, is_equation):
    assert states_a_gradient_equation(doc) == is_equation


def test_only_the_backend_knows_numpy_from_cupy():
    for path in PACKAGE.glob("*.py"):
        if path.name == "backend.py":
            continue
        text = path.read_text()
        for name in ("cupy", "array_api_strict", "array_api_compat"):
            assert f"import {name}" not in text and f"from {name}" not in text, f"{path.name} imports {name}"
