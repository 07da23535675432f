import numpy as np
import pytest

from tinyddpg.backend import BACKEND_ENV_VAR, cupy_problem, get_backend, make_rng
from tinyddpg.errors import ConfigError


def test_unknown_backend_names_the_choices():
    with pytest.raises(ConfigError, match=r"backend='tensorflow' is unknown; choose one of numpy, cupy, auto"):
        get_backend("tensorflow")


def test_unknown_dtype_is_refused():
    with pytest.raises(ConfigError, match="dtype='float16' is not supported"):
        get_backend("numpy", dtype="float16")


@pytest.mark.skipif(cupy_problem() is None, reason="a CUDA device works here")
def test_cupy_without_device_says_what_is_missing_and_how_to_install():
    with pytest.raises(ConfigError) as error:
        get_backend("cupy")
    message = str(error.value)
    assert "backend 'cupy' is not available" in message
    assert cupy_problem() in message
    assert "pip install 'tinyddpg[cuda12]'" in message and "or choose backend='numpy'" in message  # called from Python


@pytest.mark.skipif(cupy_problem() is None, reason="a CUDA device works here")
def test_auto_falls_back_to_numpy_only_without_a_working_cupy():
    assert get_backend("auto").name == "numpy"


def test_environment_variable_chooses_the_backend(monkeypatch):
    monkeypatch.setenv(BACKEND_ENV_VAR, "strict:device1")
    assert get_backend().name == "strict:device1"
    monkeypatch.setenv(BACKEND_ENV_VAR, "nonsense")
    with pytest.raises(ConfigError, match="unknown"):
        get_backend()


@pytest.mark.parametrize("name", ["numpy", "strict:device1"])
def test_float32_is_the_default_and_float64_selectable(name):
    default = get_backend(name)  # no dtype given
    assert default.dtype_name == "float32" and default.to_device([1.0, 2.0]).dtype == default.xp.float32
    assert default.zeros((2,)).dtype == default.xp.float32
    chosen = get_backend(name, dtype="float64")
    assert chosen.dtype_name == "float64" and chosen.to_device([1.0, 2.0]).dtype == chosen.xp.float64
    assert chosen.zeros((2,)).dtype == chosen.xp.float64


def test_host_device_round_trip_keeps_values_and_dtype(backend32):
    host = np.arange(6, dtype=np.float64).reshape(2, 3) / 7
    back = backend32.to_host(backend32.to_device(host))
    assert isinstance(back, np.ndarray) and back.dtype == np.float32
    np.testing.assert_array_equal(back, host.astype(np.float32))


def test_random_draws_are_the_same_on_every_backend(backend32):
    numpy_draw = get_backend("numpy").uniform(make_rng(3), -1.0, 1.0, (4, 5))
    np.testing.assert_array_equal(backend32.to_host(backend32.uniform(make_rng(3), -1.0, 1.0, (4, 5))), numpy_draw)


def test_strict_stand_in_refuses_host_conversion_like_a_gpu_library():
    device_array = get_backend("strict:device1").to_device([1.0, 2.0])
    with pytest.raises(RuntimeError):
        np.asarray(device_array)
