"""Backend matrix: every engine test runs on NumPy, on array-api-strict's simulated devices (which raise on
any np.* call or implicit host conversion, as CuPy would) and, under the `gpu` marker, on real CuPy."""

import pytest

from tinyddpg.backend import cupy_problem, get_backend

ALL_BACKENDS = [
    "numpy",
    "strict:device1",
    "strict:no_float64",
    pytest.param("cupy", marks=pytest.mark.gpu),
]


def backend_or_skip(name: str, dtype: str):
    if name == "cupy" and cupy_problem() is not None:
        pytest.skip(f"no working CUDA device: {cupy_problem()}")
    if name == "strict:no_float64" and dtype == "float64":
        pytest.skip("no_float64 has no float64")
    return get_backend(name, dtype=dtype)


@pytest.fixture(params=ALL_BACKENDS)
def backend32(request):
    """A float32 backend of each kind."""
    return backend_or_skip(request.param, "float32")


@pytest.fixture(params=ALL_BACKENDS)
def backend64(request):
    """A float64 backend of each kind that has float64."""
    return backend_or_skip(request.param, "float64")
