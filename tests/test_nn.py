import numpy as np
import pytest
from helpers import normal_input

from tinyddpg.backend import get_backend, make_rng
from tinyddpg.gradcheck import check_module, standard_reports
from tinyddpg.losses import mse
from tinyddpg.nn import Dense, ReLU, Sequential, Tanh, mlp

SINGLE_LAYER_TOLERANCE = 1e-8
NETWORK_TOLERANCE = 1e-6


@pytest.mark.parametrize("make_layer, away_from_zero", [
    (lambda b: Dense(4, 3, backend=b, rng=make_rng(1)), 0.0),
    (lambda b: ReLU(b), 0.1),
    (lambda b: Tanh(b), 0.0),
])
def test_single_layer_gradients_match_finite_differences(backend64, make_layer, away_from_zero):
    report = check_module(make_layer(backend64), normal_input(backend64, (5, 4), away_from_zero=away_from_zero))
    assert report.passed(SINGLE_LAYER_TOLERANCE), str(report)


def test_mlp_gradients_match_finite_differences(backend64):
    net = mlp((4, 16, 16, 2), backend=backend64, rng=make_rng(2), output_activation=Tanh)
    report = check_module(net, normal_input(backend64, (6, 4)))
    assert [row.name for row in report.rows] == ["input", "0.W", "0.b", "2.W", "2.b", "4.W", "4.b"]
    assert report.passed(NETWORK_TOLERANCE), str(report)


def test_standard_report_covers_layers_and_mlp():
    reports = standard_reports()
    assert [r.title.split("(")[0].split(" ")[0] for r in reports] == ["Dense", "ReLU", "Tanh", "MLP"]
    assert all(r.worst() < NETWORK_TOLERANCE for r in reports)
    assert "rel error" in str(reports[0])


class TransposedDense(Dense):
    """A deliberately wrong backward: dW transposed (dout^T x instead of x^T dout; a square layer hides the shape)."""

    def backward(self, dout, need_input_grad=True, need_param_grads=True):
        dx = super().backward(dout, need_input_grad, need_param_grads)
        self.dW[...] = self.dW.T
        return dx


class HalfScaledDense(Dense):
    """A deliberately wrong backward: db missing a factor 2 (as if divided by the batch size twice)."""

    def backward(self, dout, need_input_grad=True, need_param_grads=True):
        dx = super().backward(dout, need_input_grad, need_param_grads)
        self.db[...] = self.db * 0.5
        return dx


@pytest.mark.parametrize("broken_layer", [TransposedDense, HalfScaledDense])
def test_negative_control_a_wrong_backward_fails_the_check(broken_layer):
    backend = get_backend("numpy", dtype="float64")
    report = check_module(broken_layer(4, 4, backend=backend, rng=make_rng(0)), normal_input(backend, (5, 4)))
    assert not report.passed(1e-2), str(report)


def test_gradcheck_refuses_float32():
    backend = get_backend("numpy")
    with pytest.raises(ValueError, match="need float64"):
        check_module(Dense(2, 2, backend=backend, rng=make_rng(0)), normal_input(backend, (3, 2)))


def test_default_init_is_uniform_in_one_over_sqrt_fan_in_and_final_layer_option():
    backend = get_backend("numpy", dtype="float64")
    layer = Dense(100, 400, backend=backend, rng=make_rng(0))
    bound = 1 / np.sqrt(100)
    assert np.abs(layer.W).max() <= bound and np.abs(layer.W).max() > 0.99 * bound
    assert np.abs(layer.b).max() <= bound and layer.W.std() == pytest.approx(bound / np.sqrt(3), rel=0.02)
    final = Dense(300, 1, backend=backend, rng=make_rng(0), init_bound=3e-3)
    assert np.abs(final.W).max() <= 3e-3 and np.abs(final.b).max() <= 3e-3


def test_backward_accumulates_until_zero_grad(backend32):
    layer = Dense(3, 2, backend=backend32, rng=make_rng(0))
    x = normal_input(backend32, (4, 3))
    dout = normal_input(backend32, (4, 2), seed=1)
    layer.forward(x)
    layer.backward(dout)
    once = backend32.to_host(layer.dW).copy()
    layer.backward(dout)
    np.testing.assert_allclose(backend32.to_host(layer.dW), 2 * once, rtol=1e-6)
    layer.zero_grad()
    assert not backend32.to_host(layer.dW).any()


def test_sequential_keeps_parameters_in_one_flat_array_in_documented_order(backend32):
    net = mlp((3, 5, 2), backend=backend32, rng=make_rng(0))
    sizes = [int(np.prod(p.shape)) for p in net.parameters()]
    assert net.param_keys() == ["0.W", "0.b", "2.W", "2.b"] and sizes == [15, 5, 10, 2]
    assert net.flat_params.shape == (32,) and net.flat_grads.shape == (32,)
    net.flat_params[...] = 0.0  # the layers see it: their W and b are views
    assert not backend32.to_host(net.layers[2].W).any()
    net.forward(normal_input(backend32, (4, 3)))
    net.backward(normal_input(backend32, (4, 2), seed=1))
    np.testing.assert_array_equal(backend32.to_host(net.flat_grads)[20:30], backend32.to_host(net.layers[2].dW).ravel())


def test_state_dict_round_trip_and_shape_check():
    backend = get_backend("numpy")
    source = mlp((3, 8, 2), backend=backend, rng=make_rng(0))
    target = mlp((3, 8, 2), backend=backend, rng=make_rng(1))
    target.load_state_dict(source.state_dict())
    np.testing.assert_array_equal(target.flat_params, source.flat_params)
    wrong = mlp((3, 9, 2), backend=backend, rng=make_rng(0))
    with pytest.raises(ValueError, match=r"0.W: saved shape \(3, 9\) != module shape \(3, 8\)"):
        target.load_state_dict(wrong.state_dict())


def test_every_layer_and_loss_gives_numpys_results_and_keeps_the_dtype(backend32):
    reference = get_backend("numpy")
    results = {}
    for backend in (reference, backend32):
        net = Sequential(Dense(4, 6, backend=backend, rng=make_rng(0)), ReLU(backend),
                         Dense(6, 3, backend=backend, rng=make_rng(1)), Tanh(backend), backend=backend)
        y = net.forward(normal_input(backend, (5, 4)))
        loss, dy = mse(y, normal_input(backend, (5, 3), seed=1))
        dx = net.backward(dy)
        assert y.dtype == dx.dtype == net.flat_grads.dtype == loss.dtype == backend.xp.float32
        results[backend.name] = [backend.to_host(a) for a in (y, loss, dx, net.flat_grads)]
    for ours, theirs in zip(results[backend32.name], results["numpy"]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)


def test_mse_value_gradient_and_shape_guard(backend64):
    prediction = backend64.to_device([1.0, 2.0, 4.0])
    target = backend64.to_device([0.0, 2.0, 1.0])
    loss, grad = mse(prediction, target)
    assert float(loss) == pytest.approx((1 + 0 + 9) / 3)
    np.testing.assert_allclose(backend64.to_host(grad), [2 / 3, 0.0, 2.0])
    with pytest.raises(ValueError, match=r"prediction shape \(3, 1\) != target shape \(3,\)"):
        mse(backend64.xp.reshape(prediction, (3, 1)), target)
