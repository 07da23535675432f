import numpy as np
import torch

from tinyddpg.backend import get_backend, make_rng
from tinyddpg.nn import Tanh, mlp


def torch_mlp_like(net):
    """A torch Sequential with the same weights (torch stores W transposed: (out, in))."""
    layers = []
    for layer in net.layers:
        if hasattr(layer, "W"):
            linear = torch.nn.Linear(*layer.W.shape, dtype=torch.float64)
            with torch.no_grad():
                linear.weight.copy_(torch.tensor(layer.W.T))
                linear.bias.copy_(torch.tensor(layer.b))
            layers.append(linear)
        else:
            layers.append(torch.nn.Tanh() if isinstance(layer, Tanh) else torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def test_mlp_forward_and_backward_equal_pytorch_in_float64():
    backend = get_backend("numpy", dtype="float64")
    net = mlp((5, 32, 32, 3), backend=backend, rng=make_rng(0), output_activation=Tanh)
    reference = torch_mlp_like(net)
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
    torch_linears = [m for m in reference if isinstance(m, torch.nn.Linear)]
    dense_layers = [layer for layer in net.layers if hasattr(layer, "W")]
    for ours, theirs in zip(dense_layers, torch_linears):
        assert np.max(np.abs(ours.dW - theirs.weight.grad.numpy().T)) <= 1e-10
        assert np.max(np.abs(ours.db - theirs.bias.grad.numpy())) <= 1e-10
