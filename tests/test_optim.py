import math

import numpy as np
import torch

from tinyddpg.backend import get_backend, make_rng
from tinyddpg.optim import SGD, Adam


def gradient_sequence(steps, shape, seed=0):
    return [make_rng(seed + k).normal(size=shape) for k in range(steps)]


def closed_form_adam(p, grads, lr, beta1, beta2, eps):
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        p = p - lr * m_hat / (math.sqrt(1) * np.sqrt(v_hat) + eps)
    return p


def run_adam(backend, p0, grads, **hyper):
    p = backend.to_device(p0)
    g = backend.zeros(p0.shape)
    adam = Adam([p], [g], backend, **hyper)
    for grad in grads:
        g[...] = backend.to_device(grad)
        adam.step()
    return backend.to_host(p), adam


def test_adam_equals_the_closed_form_rule(backend64):
    p0 = make_rng(9).normal(size=(7, 3))
    grads = gradient_sequence(6, (7, 3))
    ours, adam = run_adam(backend64, p0, grads, lr=1e-2, betas=(0.8, 0.99), eps=1e-6)
    assert adam.t == 6  # one advance per step, never two
    np.testing.assert_allclose(ours, closed_form_adam(p0, grads, 1e-2, 0.8, 0.99, 1e-6), rtol=0, atol=1e-12)


def test_adam_equals_torch_adam_in_float64():
    p0 = make_rng(1).normal(size=(5, 4))
    grads = gradient_sequence(10, (5, 4), seed=3)
    ours, _ = run_adam(get_backend("numpy", dtype="float64"), p0, grads, lr=3e-3, betas=(0.9, 0.999), eps=1e-8)
    reference = torch.tensor(p0, requires_grad=True)
    optimizer = torch.optim.Adam([reference], lr=3e-3, betas=(0.9, 0.999), eps=1e-8)
    for grad in grads:
        reference.grad = torch.tensor(grad)
        optimizer.step()
    assert np.max(np.abs(ours - reference.detach().numpy())) <= 1e-12


def test_adam_runs_on_every_backend_like_numpy_and_keeps_float32(backend32):
    p0 = make_rng(1).normal(size=(5, 4))
    grads = gradient_sequence(3, (5, 4))
    ours, adam = run_adam(backend32, p0, grads)
    reference, _ = run_adam(get_backend("numpy"), p0, grads)
    assert adam.m[0].dtype == adam.v[0].dtype == backend32.xp.float32 and ours.dtype == np.float32
    np.testing.assert_allclose(ours, reference, rtol=1e-6)


def test_adam_state_round_trip_continues_identically():
    backend = get_backend("numpy", dtype="float64")
    p0 = make_rng(1).normal(size=(3,))
    grads = gradient_sequence(4, (3,))
    uninterrupted, _ = run_adam(backend, p0, grads)
    first, adam = run_adam(backend, p0, grads[:2])
    p = backend.to_device(first)
    g = backend.zeros((3,))
    resumed = Adam([p], [g], backend)
    resumed.load_state_dict(adam.state_dict())
    for grad in grads[2:]:
        g[...] = grad
        resumed.step()
    assert resumed.t == 4
    np.testing.assert_array_equal(p, uninterrupted)


def test_sgd_step(backend64):
    p = backend64.to_device([1.0, -2.0])
    SGD([p], [backend64.to_device([0.5, 1.0])], lr=0.1).step()
    np.testing.assert_allclose(backend64.to_host(p), [0.95, -2.1])
