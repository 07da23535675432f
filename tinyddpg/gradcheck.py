"""Gradient checks: compare analytic gradients with central finite differences, in float64.

    numerical dL/dp[i]  = (L(p + h e_i) - L(p - h e_i)) / (2 h)
    rel_error           = max|analytic - numerical| / max(1e-8, max(|analytic| + |numerical|))
    element_rel_error   = max over i of |a_i - n_i| / max(1e-8, |a_i| + |n_i|)

rel_error, the one that passes or fails a check, is an *array-wide* relative error: the largest absolute error
over the largest magnitude of the array. It is not CS231n's rel_error, which is element_rel_error (per element,
then the maximum): that one also flags a wrong sign in a tiny entry, but also scores round-off in entries near
0 as large errors, so it is reported alongside, not used to judge. Rules of thumb for rel_error in float64: a
single layer gives about 1e-10, a whole network about 1e-7; an error near 1 means the backward pass is wrong.

Check your own layer (anything with forward/backward/parameters/grads, built on a float64 backend):

    from tinyddpg.backend import get_backend, make_rng
    from tinyddpg.gradcheck import check_module
    backend = get_backend("numpy", dtype="float64")
    report = check_module(MyLayer(...), backend.to_device(make_rng(0).normal(size=(4, 3))))
    print(report)            # one row per input and parameter
    assert report.worst() < 1e-8

`python -m tinyddpg.gradcheck` prints the report for Dense, ReLU, Tanh and a 2-hidden-layer MLP.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .backend import Backend, get_backend, make_rng

DEFAULT_STEP = 1e-6


@dataclass(frozen=True)
class GradCheckRow:
    name: str  # "input", or the parameter's key such as "0.W"
    shape: tuple[int, ...]
    entries_checked: int
    analytic_norm: float  # the 2-norms of the checked entries: a gradient off by a factor shows here
    numeric_norm: float
    max_abs_error: float
    rel_error: float  # array-wide: max|a - n| / max(1e-8, max(|a| + |n|)); the one that passes or fails
    element_rel_error: float  # CS231n's per-element form: max of |a - n| / max(1e-8, |a| + |n|)

    def as_dict(self, tolerance: float) -> dict:
        numbers = {"analytic_norm": self.analytic_norm, "numeric_norm": self.numeric_norm,
                   "max_abs_error": self.max_abs_error, "rel_error": self.rel_error,
                   "cs231n_rel_error": self.element_rel_error}
        return {"name": self.name, "shape": list(self.shape), "entries_checked": self.entries_checked,
                **{key: finite_or_none(value) for key, value in numbers.items()}, "passed": self.rel_error <= tolerance}


@dataclass(frozen=True)
class GradCheckReport:
    title: str
    rows: list[GradCheckRow]

    def worst(self) -> float:
        return float(np.max([row.rel_error for row in self.rows]))  # NaN if any is: a NaN gradient fails

    def as_dict(self, tolerance: float) -> dict:
        """For a program (`tinyddpg gradcheck --json`): each gradient's norms, errors and verdict."""
        return {"title": self.title, "passed": self.passed(tolerance),
                "gradients": [row.as_dict(tolerance) for row in self.rows]}

    def passed(self, tolerance: float) -> bool:
        return self.worst() <= tolerance

    def __str__(self) -> str:
        width = max([14, *(len(r.name) + 2 for r in self.rows)])  # a long name (first.params['W']) keeps its gap
        header = f"{'gradient':<{width}}{'shape':<14}{'checked':>9}{'max abs err':>14}{'rel error':>12}"
        lines = [self.title, header, "-" * len(header)]
        for r in self.rows:
            lines.append(f"{r.name:<{width}}{r.shape!s:<14}{r.entries_checked:>9}{r.max_abs_error:>14.2e}"
                         f"{r.rel_error:>12.2e}")
        return "\n".join(lines)


def finite_or_none(value: float) -> float | None:
    """A number as JSON can hold it: NaN and infinities become None (null)."""
    return value if math.isfinite(value) else None


def relative_error(analytic: np.ndarray, numerical: np.ndarray) -> float:
    """The array-wide relative error max|a - n| / max(1e-8, max(|a| + |n|)) over the checked entries."""
    return float(np.max(np.abs(analytic - numerical)) / max(1e-8, float(np.max(np.abs(analytic) + np.abs(numerical)))))


def element_relative_error(analytic: np.ndarray, numerical: np.ndarray) -> float:
    """CS231n's relative error as its assignments compute it (its notes divide by max(|a|, |n|) instead):
    |a - n| / max(1e-8, |a| + |n|) per checked entry, then the maximum."""
    return float(np.max(np.abs(analytic - numerical) / np.maximum(1e-8, np.abs(analytic) + np.abs(numerical))))


def check_gradients(loss: Callable[[], float], arrays: dict, analytic: dict, backend: Backend, *,
                    title: str = "gradient check", step: float = DEFAULT_STEP, max_entries: int | None = None,
                    rng: np.random.Generator | None = None) -> GradCheckReport:
    """Check analytic[name] = dL/d arrays[name] for every name, by perturbing arrays[name] in place.

    loss()        recomputes the scalar loss from the current contents of the arrays.
    arrays        name -> device array that loss() reads (a parameter, or the input it was given).
    analytic      name -> the analytic gradient of the same shape, as a host NumPy array.
    max_entries   check at most this many randomly chosen entries per array (None: every entry).
    """
    if backend.dtype_name != "float64":
        raise ValueError("gradient checks need float64: build the module on get_backend(name, dtype='float64')")
    rng = rng if rng is not None else make_rng(0)
    rows = []
    for name, array in arrays.items():
        expected = analytic[name]
        indices = list(itertools.product(*(range(n) for n in array.shape)))
        if max_entries is not None and len(indices) > max_entries:
            indices = [indices[i] for i in rng.choice(len(indices), size=max_entries, replace=False)]
        numerical = np.empty(len(indices))
        for k, index in enumerate(indices):
            original = float(array[index])
            array[index] = original + step
            loss_plus = float(loss())
            array[index] = original - step
            loss_minus = float(loss())
            array[index] = original
            numerical[k] = (loss_plus - loss_minus) / (2.0 * step)
        checked = np.array([expected[index] for index in indices])
        rows.append(GradCheckRow(name, tuple(array.shape), len(indices), float(np.linalg.norm(checked)),
                                 float(np.linalg.norm(numerical)), float(np.max(np.abs(checked - numerical))),
                                 relative_error(checked, numerical), element_relative_error(checked, numerical)))
    return GradCheckReport(title, rows)


def parameters_and_gradients(module) -> tuple[dict, dict[str, np.ndarray]]:
    """(key -> parameter array, key -> host copy of its current gradient), keyed like "0.W", for check_gradients."""
    keys = module.param_keys()
    return (dict(zip(keys, module.parameters())),
            {key: module.backend.to_host(g).copy() for key, g in zip(keys, module.grads())})


def check_module(module, x, *, title: str | None = None, step: float = DEFAULT_STEP, max_entries: int | None = None,
                 seed: int = 0) -> GradCheckReport:
    """Check a module's input gradient and every parameter gradient.

    The scalar loss is L = sum(forward(x) * G) for a fixed random G, so dL/dy = G is what backward receives.
    """
    backend = module.backend
    rng = make_rng([seed, 1])  # a stream of its own: G must never coincide with an input drawn from `seed`
    y = module.forward(x)
    G = backend.to_device(rng.normal(size=tuple(y.shape)))
    module.zero_grad()
    dx = module.backward(G)
    params, grads = parameters_and_gradients(module)
    arrays = {"input": x, **params}
    analytic = {"input": backend.to_host(dx).copy(), **grads}

    def loss() -> float:
        return float(backend.xp.sum(module.forward(x) * G))

    return check_gradients(loss, arrays, analytic, backend, title=title or type(module).__name__, step=step,
                           max_entries=max_entries, rng=rng)


def standard_reports(backend: Backend | None = None) -> list[GradCheckReport]:
    """The reports for Dense, ReLU, Tanh and a 2-hidden-layer MLP on small random inputs.

    ReLU inputs are kept at least 0.1 away from the kink at 0, where the finite difference straddles it.
    """
    from .nn import Dense, ReLU, Tanh, mlp

    backend = backend or get_backend("numpy", dtype="float64")
    rng = make_rng(0)
    x = rng.normal(size=(5, 4))
    away_from_kink = np.sign(x) * (0.1 + np.abs(x))
    return [
        check_module(Dense(4, 3, backend=backend, rng=rng), backend.to_device(x), title="Dense(4, 3)"),
        check_module(ReLU(backend), backend.to_device(away_from_kink), title="ReLU"),
        check_module(Tanh(backend), backend.to_device(x), title="Tanh"),
        check_module(mlp((4, 16, 16, 2), backend=backend, rng=rng), backend.to_device(x),
                     title="MLP 4-16-16-2 (Dense, ReLU, Dense, ReLU, Dense)"),
    ]


def main() -> None:
    for report in standard_reports():
        print(report, end="\n\n")


if __name__ == "__main__":
    main()
