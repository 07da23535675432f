"""Layers written by hand: each `forward` caches what its `backward` needs, right above it.

Conventions (B = batch size):
  forward(x)       x (B, in) -> y (B, out), caching what backward needs.
  backward(dout)   dout = dL/dy (B, out) -> dL/dx (B, in); *adds* dL/dparam into the gradient arrays
                   (call zero_grad() first), like PyTorch's .grad. Two switches skip work nobody will use:
                   need_input_grad=False (no dL/dx) and need_param_grads=False (no dL/dparam).
  parameters()     the parameter arrays in order: for each layer, first to last, W then b.
  grads()          the gradient arrays, in the same order.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .backend import Backend


def matmul(a, b):
    """a @ b. When the shared dimension is 1 the product is an outer product, which NumPy's matmul computes
    outside BLAS at about 1 GFLOP/s; broadcasting a * b gives the same numbers several times faster."""
    return a * b if a.shape[-1] == 1 else a @ b


class Module:
    """Base class. A module with parameters lists their attribute names in `param_names`;
    the gradient of `name` lives in `"d" + name` (W -> dW)."""

    param_names: tuple[str, ...] = ()

    def parameters(self) -> list:
        return [getattr(self, name) for name in self.param_names]

    def grads(self) -> list:
        return [getattr(self, "d" + name) for name in self.param_names]

    def zero_grad(self) -> None:
        for grad in self.grads():
            grad[...] = 0.0

    def state_dict(self) -> dict[str, np.ndarray]:
        """Host copies of the parameters, keyed "<index>.<name>" in parameters() order."""
        return {key: self.backend.to_host(p).copy() for key, p in zip(self.param_keys(), self.parameters())}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy host arrays into the parameters, in place (views of them stay valid); shapes must match."""
        keys = self.param_keys()
        if set(state) != set(keys):
            raise ValueError(f"state keys {sorted(state)} do not match the module's {keys}")
        for key, p in zip(keys, self.parameters()):
            if tuple(state[key].shape) != tuple(p.shape):
                raise ValueError(f"{key}: saved shape {tuple(state[key].shape)} != module shape {tuple(p.shape)}")
            p[...] = self.backend.to_device(state[key])

    def param_keys(self) -> list[str]:
        return [f"0.{name}" for name in self.param_names]


class Dense(Module):
    """y = x @ W + b, with W of shape (in_features, out_features) and b of shape (out_features,).

    Initialised uniform(-bound, bound) for W and b, bound = 1/sqrt(in_features) as torch.nn.Linear does,
    or `init_bound` (the DDPG paper uses 3e-3 for the final layers so that early outputs are near zero).
    """

    param_names = ("W", "b")

    def __init__(self, in_features: int, out_features: int, *, backend: Backend, rng: np.random.Generator,
                 init_bound: float | None = None):
        self.backend = backend
        bound = 1.0 / math.sqrt(in_features) if init_bound is None else init_bound
        self.W = backend.uniform(rng, -bound, bound, (in_features, out_features))
        self.b = backend.uniform(rng, -bound, bound, (out_features,))
        self.dW = backend.zeros((in_features, out_features))
        self.db = backend.zeros((out_features,))
        self.x = None

    def forward(self, x):
        self.x = x  # (B, in)
        y = x @ self.W  # (B, in) @ (in, out) -> (B, out)
        y += self.b  # + (out,), in place: no second (B, out) array
        return y

    def backward(self, dout, need_input_grad: bool = True, need_param_grads: bool = True):
        """dW += x^T @ dout;  db += sum over the batch of dout;  dx = dout @ W^T.

        Adds into self.dW and self.db in place (+=: they are views of the network's flat gradient array, and two
        calls add up); zero_grad() is the caller's."""
        if need_param_grads:
            self.dW += self.x.T @ dout  # (in, B) @ (B, out) -> (in, out)
            self.db += self.backend.xp.sum(dout, axis=0)  # (out,)
        return matmul(dout, self.W.T) if need_input_grad else None  # (B, out) @ (out, in) -> (B, in)


class ReLU(Module):
    """y = max(x, 0)."""

    def __init__(self, backend: Backend):
        self.backend = backend
        self.positive = None

    def forward(self, x):
        # A 0/1 mask in x's dtype, multiplied. NumPy's where() with a scalar branch takes a slow generic path:
        # xp.where(mask, dout, 0) measured 70x slower than this multiply (float32, (256, 400), NumPy 2.4).
        if self.positive is None or self.positive.shape != x.shape:
            self.positive = self.backend.xp.zeros_like(x)
        self.backend.ufuncs.greater(x, 0.0, out=self.positive)  # (B, n): 1 where x > 0, else 0, over the last mask
        return x * self.positive

    def backward(self, dout, need_input_grad: bool = True, need_param_grads: bool = True):
        """dx = dout * [x > 0]  (the subgradient 0 is used at x = 0)."""
        return dout * self.positive


class Tanh(Module):
    """y = tanh(x)."""

    def __init__(self, backend: Backend):
        self.backend = backend
        self.y = None

    def forward(self, x):
        self.y = self.backend.xp.tanh(x)
        return self.y

    def backward(self, dout, need_input_grad: bool = True, need_param_grads: bool = True):
        """dx = dout * (1 - y^2), since d tanh(x)/dx = 1 - tanh(x)^2."""
        return dout * (1.0 - self.y * self.y)


class Sequential(Module):
    """Layers applied in order; backward runs them in reverse.

    All parameters of all layers live in one flat array `flat_params` (and their gradients in `flat_grads`);
    each layer's W and b are views into it. An optimizer or a Polyak update then touches a whole network in a
    few whole-array operations instead of one per layer. See `_share_one_array`.
    """

    def __init__(self, *layers: Module, backend: Backend):
        self.backend = backend
        self.layers = list(layers)
        self.flat_params, self.flat_grads = self._share_one_array()

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout, need_input_grad: bool = True, need_param_grads: bool = True):
        """Chain rule, last layer first: dL/dx_(k-1) = layer_k.backward(dL/dx_k), x_k being layer k's output."""
        last = len(self.layers) - 1
        for i, layer in enumerate(reversed(self.layers)):
            dout = layer.backward(dout, need_input_grad=need_input_grad or i < last, need_param_grads=need_param_grads)
        return dout

    def parameters(self) -> list:
        return [p for layer in self.layers for p in layer.parameters()]

    def grads(self) -> list:
        return [g for layer in self.layers for g in layer.grads()]

    def zero_grad(self) -> None:
        self.flat_grads[...] = 0.0

    def param_keys(self) -> list[str]:
        return [f"{i}.{name}" for i, layer in enumerate(self.layers) for name in layer.param_names]

    def _share_one_array(self):
        """Copy every parameter into one flat array and rebind each layer's W, b (and dW, db) to views of it."""
        xp = self.backend.xp
        params = self.parameters()
        if not params:
            return self.backend.zeros((0,)), self.backend.zeros((0,))
        flat_params = xp.concat([xp.reshape(p, (-1,)) for p in params])
        flat_grads = xp.zeros_like(flat_params)
        start = 0
        for layer in self.layers:
            for name in layer.param_names:
                shape = getattr(layer, name).shape
                stop = start + math.prod(shape)
                setattr(layer, name, xp.reshape(flat_params[start:stop], shape))
                setattr(layer, "d" + name, xp.reshape(flat_grads[start:stop], shape))
                start = stop
        return flat_params, flat_grads


def mlp_layers(sizes, *, backend: Backend, rng: np.random.Generator, final_init_bound: float | None = None) -> list[Module]:
    """The layers Dense, ReLU, ..., Dense for sizes = (in, hidden..., out); the last Dense starts
    uniform(-final_init_bound, final_init_bound) when given. Weights are drawn first layer first."""
    layers: list[Module] = []
    for fan_in, fan_out in itertools.pairwise(sizes[:-1]):
        layers += [Dense(fan_in, fan_out, backend=backend, rng=rng), ReLU(backend)]
    return [*layers, Dense(sizes[-2], sizes[-1], backend=backend, rng=rng, init_bound=final_init_bound)]


def mlp(sizes, *, backend: Backend, rng: np.random.Generator, output_activation: type[Module] | None = None,
        final_init_bound: float | None = None) -> Sequential:
    """Dense-ReLU-...-Dense for sizes = (in, hidden..., out), optionally followed by an output activation."""
    layers = mlp_layers(sizes, backend=backend, rng=rng, final_init_bound=final_init_bound)
    if output_activation is not None:
        layers.append(output_activation(backend))
    return Sequential(*layers, backend=backend)
