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


# The fast lane for learners editing the engine (`python -m pytest -m engine`, in the README): the engine's own tests.
ENGINE_TEST_FILES = {"test_backend.py", "test_nn.py", "test_optim.py", "test_buffer.py", "test_noise.py",
                     "test_normalizer.py", "test_agent.py", "test_agent_gradcheck.py", "test_td3.py",
                     "test_torch_parity_nn.py", "test_gradcheck_metrics.py", "test_bug_zoo.py", "test_structure.py"}


# Files whose module-scoped fixtures are expensive (the notebook executed, the sweeps, the seams matrix trained):
# under xdist each worker that runs one of their tests would build them again, so each file runs on one worker.
SHARED_FIXTURE_FILES = {"test_notebook.py", "test_sweep.py", "test_seams.py"}


@pytest.hookimpl(tryfirst=True)  # before xdist's, which reads the xdist_group marks
def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.name in ENGINE_TEST_FILES:
            item.add_marker(pytest.mark.engine)
        if item.path.name in SHARED_FIXTURE_FILES:
            item.add_marker(pytest.mark.xdist_group(item.path.name))


def pytest_ignore_collect(collection_path, config):
    """With `-m engine` alone, the other files are not even imported (they would only be deselected, after seconds of
    imports: Ray, Stable-Baselines3, Jupyter)."""
    if config.option.markexpr == "engine" and collection_path.suffix == ".py":
        return collection_path.name.startswith("test_") and collection_path.name not in ENGINE_TEST_FILES
    return None
