import numpy as np
import torch
from torch_reference import linears, load_weights, raw_arrays, torch_mlp

from tinyddpg.backend import get_backend, make_rng
from tinyddpg.nn import Dense, Tanh, mlp


def test_mlp_forward_and_backward_equal_pytorch_in_float64():
    backend = get_backend("numpy", dtype="float64")
    net = mlp((5, 32, 32, 3), backend=backend, rng=make_rng(0), output_activation=Tanh)
    reference = torch.nn.Sequential(*torch_mlp((5, 32, 32, 3)), torch.nn.Tanh())  # from the sizes alone
    load_weights(reference, raw_arrays(net))
    rng = make_rng(1)
    x, dout = rng.normal(size=(16, 5)), rng.normal(size=(16, 3))

    y = net.forward(x)
    net.zero_grad()
    dx = net.backward(dout)

    x_torch = torch.tensor(x, requires_grad=True)
    y_torch = reference(x_torch)
    y_torch.backward(torch.tensor(dout))
    assert np.max(np.abs(y - y_torch.detach().numpy())) <= 1e-10
    assert np.max(np.abs(dx - x_torch.grad.numpy())) <= 1e-10
    torch_linears = linears(reference)
    dense_layers = [layer for layer in net.layers if isinstance(layer, Dense)]
    for ours, theirs in zip(dense_layers, torch_linears, strict=True):
        assert np.max(np.abs(ours.dW - theirs.weight.grad.numpy().T)) <= 1e-10
        assert np.max(np.abs(ours.db - theirs.bias.grad.numpy())) <= 1e-10
