"""The CuPy backend's own code (backend._cupy_backend, cupy_problem, 'auto') run on the CPU: a stand-in `cupy`
module whose arrays live on a simulated device (array-api-strict's device1) and refuse implicit conversion to
NumPy, as CuPy's do, so only its explicit `cupy.asnumpy` brings them to the host. A training run, a resume and
an evaluation on it exercise every host/device transfer that a GPU run makes, without a GPU."""

import sys
import types

import array_api_compat
import array_api_strict
import numpy as np
import pytest
from helpers import fast_config, without_wall_clock

from tinyddpg import backend as backend_module
from tinyddpg.backend import get_backend
from tinyddpg.errors import ConfigError
from tinyddpg.run import checkpoint as ckpt
from tinyddpg.run.runlog import read_log
from tinyddpg.run.train import Run, train

SIMULATED_GPU = array_api_strict.Device("device1")
HOST = array_api_strict.Device("CPU_DEVICE")


def stand_in_cupy(available: bool = True, kernel_runs: bool = True) -> types.ModuleType:
    """The few names of `cupy` that tinyddpg uses: is_available, arange (the health check's one kernel),
    float32, cuda.Device(), asnumpy, the explicit transfer to the host, and the elementwise functions the engine
    calls with out= (CuPy's ufuncs take it; here array-api-strict's, through the engine's own CopyInto)."""
    cupy = types.ModuleType("cupy")
    cupy.is_available = lambda: available
    cupy.float32 = np.float32

    def arange(n, dtype):
        if not kernel_runs:
            raise RuntimeError("CUDA driver version is insufficient for CUDA runtime version")
        return np.arange(n, dtype=dtype)

    cupy.arange = arange
    cupy.cuda = types.SimpleNamespace(Device=lambda: SIMULATED_GPU)

    def asnumpy(array):
        return np.asarray(array.to_device(HOST))

    cupy.asnumpy = asnumpy
    with_out = backend_module.CopyInto(array_api_strict)
    for name in ("greater", "multiply", "sqrt", "divide"):
        setattr(cupy, name, getattr(with_out, name))
    return cupy


@pytest.fixture
def install_cupy(monkeypatch):
    """install_cupy(...) makes `import cupy` and `import array_api_compat.cupy` give the stand-in and its array
    namespace (array-api-strict); cupy_problem() is asked again."""

    def install(**options):
        monkeypatch.setitem(sys.modules, "cupy", stand_in_cupy(**options))
        monkeypatch.setitem(sys.modules, "array_api_compat.cupy", array_api_strict)
        monkeypatch.setattr(array_api_compat, "cupy", array_api_strict, raising=False)
        backend_module.cupy_problem.cache_clear()

    yield install
    monkeypatch.undo()  # the real modules back first, then the real answer is asked for again
    backend_module.cupy_problem.cache_clear()


def test_the_stand_in_refuses_implicit_conversion_like_cupy(install_cupy):
    install_cupy()
    array = get_backend("cupy").to_device([1.0, 2.0])
    with pytest.raises(RuntimeError, match="device1"):
        np.asarray(array)


def test_the_cupy_backend_moves_data_to_the_device_and_back_only_through_its_explicit_transfers(install_cupy):
    install_cupy()
    backend = get_backend("cupy")
    assert (backend.name, backend.device, backend.dtype_name) == ("cupy", SIMULATED_GPU, "float32")
    host = np.arange(6, dtype=np.float64).reshape(2, 3) / 7
    device = backend.to_device(host)
    assert device.device == SIMULATED_GPU and device.dtype == array_api_strict.float32
    back = backend.to_host(backend.xp.tanh(device))
    assert isinstance(back, np.ndarray) and back.dtype == np.float32
    np.testing.assert_allclose(back, np.tanh(host), rtol=1e-6)
    indices = backend.indices_to_device(np.array([1, 0]))
    np.testing.assert_array_equal(backend.to_host(backend.xp.take(device, indices, axis=0)),
                                  host[[1, 0]].astype(np.float32))
    assert get_backend("cupy", dtype="float64").to_device([0.1]).dtype == array_api_strict.float64


@pytest.mark.parametrize("options, problem", [
    ({}, None),
    ({"available": False}, "CuPy is installed but finds no CUDA device"),
    ({"kernel_runs": False}, "CuPy could not run a kernel (RuntimeError: CUDA driver version is insufficient"),
])
def test_auto_takes_cupy_only_when_it_runs_a_kernel(install_cupy, options, problem):
    install_cupy(**options)
    found = backend_module.cupy_problem()
    assert found == problem if problem is None else found.startswith(problem)
    assert get_backend("auto").name == ("cupy" if problem is None else "numpy")


def test_a_run_resumed_and_evaluated_on_the_cupy_backend_logs_what_numpy_logs(install_cupy, tmp_path, monkeypatch):
    """Acting (normalized), the buffer, TD3's updates, evaluation, the checkpoint and the resume on the stand-in
    device: the same log and checkpoint as on NumPy, bit for bit (array-api-strict computes with NumPy)."""
    install_cupy()
    monkeypatch.setattr(Run, "write_curve", lambda run: None)  # the plot is not what is tested here (and is slow)
    settings = {"td3": True, "normalize_obs": True, "eval_episodes": 1, "eval_every": 100, "checkpoint_every": 100,
                "random_steps": 60, "update_after": 50}
    for backend in ("numpy", "cupy"):
        train(fast_config(steps=100, backend=backend, **settings), tmp_path / backend, show_progress=False, threads=1)
        train(fast_config(steps=200, backend=backend, **settings), tmp_path / backend, resume=True,
              show_progress=False, threads=1)
    logs = [without_wall_clock(read_log(tmp_path / name / "progress.csv")) for name in ("numpy", "cupy")]
    assert logs[0] == logs[1] and [row["step"] for row in logs[1] if row["eval_return_mean"]] == ["100", "200"]
    numpy_arrays, _ = ckpt.load_checkpoint(tmp_path / "numpy" / "checkpoint.npz")
    cupy_arrays, meta = ckpt.load_checkpoint(tmp_path / "cupy" / "checkpoint.npz")
    assert meta["counters"]["step"] == 200 and sorted(cupy_arrays) == sorted(numpy_arrays)
    for key, array in numpy_arrays.items():
        np.testing.assert_array_equal(cupy_arrays[key], array, err_msg=key)


def test_tinyddpg_backend_cupy_is_taken_where_cupy_runs(install_cupy, monkeypatch):
    from tinyddpg.run.cli import backend_from_environment

    install_cupy()
    monkeypatch.setenv("TINYDDPG_BACKEND", "cupy")
    assert backend_from_environment({}) == "cupy" and get_backend().name == "cupy"
    install_cupy(available=False)
    with pytest.raises(ConfigError, match="TINYDDPG_BACKEND=cupy asks for the GPU, but CuPy is installed but finds no"):
        backend_from_environment({})
