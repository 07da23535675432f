"""The array backend: the one module that knows NumPy from CuPy.

Every other module asks a `Backend` for its array namespace `xp`, its dtype and its device, and writes
`x @ W`, `xp.tanh(x)`, `xp.sum(x, axis=0)` against that namespace (the Python array API standard, which
NumPy 2, CuPy through array-api-compat, and array-api-strict all speak).

Host (NumPy, where environments live) and device meet in exactly two methods: `to_device` and `to_host`.
Random numbers are drawn on the host with a seeded `numpy.random.Generator` and then moved, so a seed gives
the same weights, batches and noise on every backend.

Backends:
  numpy            CPU.
  cupy             a CUDA GPU; a clear error when CuPy or a working device is missing.
  auto             CuPy when a device really works (import, `cupy.is_available()`, one tiny kernel), else NumPy.
  strict:DEVICE    array-api-strict on a simulated device (`device1`, `no_float64`): a stand-in for a GPU
                   library in tests. Any `np.*` call or implicit host conversion on its arrays raises.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import ConfigError, setting_text

BACKEND_ENV_VAR = "TINYDDPG_BACKEND"
BACKEND_CHOICES = ("numpy", "cupy", "auto")
STRICT_DEVICES = ("device1", "no_float64")
DTYPE_CHOICES = ("float32", "float64")
CUPY_INSTALL_HINT = (
    "install CuPy for your CUDA version with `pip install 'tinyddpg[cuda12]'` or `pip install 'tinyddpg[cuda13]'`, "
    "check that `nvidia-smi` lists a GPU, or choose "
)


@dataclass(frozen=True)
class Backend:
    """An array namespace with the dtype and device that every engine array is created with."""

    name: str  # "numpy", "cupy" or "strict:<device>"
    xp: Any  # the array namespace: numpy, array_api_compat.cupy or array_api_strict
    dtype: Any  # xp.float32 (default, fast) or xp.float64 (gradient checks)
    device: Any  # passed to every array creation
    _to_host: Callable[[Any], np.ndarray] = field(repr=False)
    ufuncs: Any = field(repr=False)  # elementwise functions that take out= (the namespace, or CopyInto of it)

    @property
    def dtype_name(self) -> str:
        return "float64" if self.dtype == self.xp.float64 else "float32"

    def to_device(self, host_array) -> Any:
        """Host data (NumPy array, list, scalar) -> a new device array of the backend's dtype."""
        host = np.array(host_array, dtype=self.dtype_name)  # always a fresh copy: never aliases the caller's data
        return self.xp.asarray(host, device=self.device)

    def indices_to_device(self, host_indices: np.ndarray) -> Any:
        """Host integer indices -> a device integer array (for `xp.take`)."""
        return self.xp.asarray(np.asarray(host_indices, dtype=np.int64), device=self.device)

    def to_host(self, array) -> np.ndarray:
        """A device array -> a NumPy array on the host (a copy where the device is not the host)."""
        return self._to_host(array)

    def zeros(self, shape) -> Any:
        return self.xp.zeros(shape, dtype=self.dtype, device=self.device)

    def uniform(self, rng: np.random.Generator, low: float, high: float, shape) -> Any:
        """Uniform(low, high) drawn on the host in float64, then cast: the same numbers on every backend."""
        return self.to_device(rng.uniform(low, high, size=shape))


def make_rng(seed: int | list[int] | None) -> np.random.Generator:
    """A seeded host generator (PCG64). A list such as [run_seed, episode] derives an independent stream."""
    return np.random.default_rng(seed)


def get_backend(name: str | None = None, dtype: str = "float32") -> Backend:
    """The backend called `name` (default: $TINYDDPG_BACKEND, else "numpy") with the given dtype.

    Raises ConfigError for an unknown name or dtype, and for "cupy" without a working CUDA device.
    """
    if name is None:
        name = os.environ.get(BACKEND_ENV_VAR, "numpy")
    if dtype not in DTYPE_CHOICES:
        raise ConfigError(f"dtype={dtype!r} is not supported; choose one of {', '.join(DTYPE_CHOICES)}")
    if name == "numpy":
        return _numpy_backend(dtype)
    if name == "cupy":
        problem = cupy_problem()
        if problem is not None:
            raise ConfigError(f"backend 'cupy' is not available: {problem}. To fix: {CUPY_INSTALL_HINT}"
                              f"{setting_text('backend', 'numpy')}")
        return _cupy_backend(dtype)
    if name == "auto":
        return _cupy_backend(dtype) if cupy_problem() is None else _numpy_backend(dtype)
    if name.startswith("strict:") and name.removeprefix("strict:") in STRICT_DEVICES:
        return _strict_backend(name.removeprefix("strict:"), dtype)
    known = ", ".join(BACKEND_CHOICES + tuple(f"strict:{d}" for d in STRICT_DEVICES))
    raise ConfigError(f"backend={name!r} is unknown; choose one of {known}")


class CopyInto:
    """The elementwise functions of a namespace whose functions take no `out=` (the array API standard has none),
    called like NumPy's and CuPy's: f(a, b, out=work) computes f(a, b), then copies it into `work` (cast to its
    dtype). The same numbers as writing into `work` directly, with one temporary and one copy more."""

    def __init__(self, xp):
        self.xp = xp

    def __getattr__(self, name: str):
        function = getattr(self.xp, name)

        def into(*args, out):
            out[...] = self.xp.astype(function(*args), out.dtype, copy=False)
            return out

        return into


def _numpy_backend(dtype: str) -> Backend:
    return Backend("numpy", np, getattr(np, dtype), "cpu", np.asarray, np)  # NumPy's ufuncs take out=


def _cupy_backend(dtype: str) -> Backend:
    import array_api_compat.cupy as xp
    import cupy

    return Backend("cupy", xp, getattr(xp, dtype), cupy.cuda.Device(), cupy.asnumpy, cupy)  # CuPy's ufuncs take out=


def _strict_backend(device_name: str, dtype: str) -> Backend:
    import array_api_strict as xp

    if device_name == "no_float64" and dtype == "float64":
        raise ConfigError("the strict:no_float64 device has no float64; use dtype='float32'")
    host_device = xp.Device("CPU_DEVICE")
    return Backend(
        f"strict:{device_name}",
        xp,
        getattr(xp, dtype),
        xp.Device(device_name),
        lambda array: np.asarray(array.to_device(host_device)),
        CopyInto(xp),
    )


def limit_blas_threads(threads: int | None) -> str:
    """Cap the threads of NumPy's BLAS for this process (None: leave its default, one per core); returns a
    description for the user. DDPG's products are small: on 2 cores a second thread gains 20-30% when the
    machine is idle and loses badly when other processes compete (see docs/speed.md, "Threads")."""
    from threadpoolctl import threadpool_info, threadpool_limits

    if threads is not None:
        if threads < 1:
            raise ConfigError(f"threads={threads} is not allowed: must be >= 1")
        threadpool_limits(limits=threads, user_api="blas")
    pools = [f"{pool['internal_api']} {pool['num_threads']}" for pool in threadpool_info() if pool["user_api"] == "blas"]
    return "BLAS threads: " + (", ".join(pools) or "unknown")


@functools.cache
def cupy_problem() -> str | None:
    """Why CuPy cannot be used here, or None when it works. Checked once per process."""
    try:
        import cupy
    except ImportError as error:
        return f"CuPy is not installed ({error})"
    try:
        if not cupy.is_available():
            return "CuPy is installed but finds no CUDA device"
        (cupy.arange(4, dtype=cupy.float32) * 2).sum().item()  # one tiny kernel
    except Exception as error:  # a broken driver or toolkit shows up here in many forms
        return f"CuPy could not run a kernel ({type(error).__name__}: {error})"
    return None
