"""The actor mu(s) and the critic Q(s, a) of DDPG, built from the layers in nn.py."""

from __future__ import annotations

import numpy as np

from .backend import Backend
from .nn import Module, Sequential, Tanh, mlp_layers

FINAL_INIT_BOUND = 3e-3  # DDPG paper, section 7: final layers uniform(-3e-3, 3e-3), so early outputs are near 0


class ScaleShift(Module):
    """y = x * scale + offset, per action dimension: maps tanh's (-1, 1) onto the action bounds (low, high)."""

    def __init__(self, low: np.ndarray, high: np.ndarray, backend: Backend):
        self.backend = backend
        self.scale = backend.to_device((np.asarray(high) - np.asarray(low)) / 2.0)  # (action_dim,)
        self.offset = backend.to_device((np.asarray(high) + np.asarray(low)) / 2.0)  # (action_dim,)

    def forward(self, x):
        return x * self.scale + self.offset  # (B, action_dim)

    def backward(self, dout, need_input_grad: bool = True, need_param_grads: bool = True):
        """dx = dout * scale."""
        return dout * self.scale


class Actor(Sequential):
    """mu(s) = offset + scale * tanh(MLP(s)),  scale = (high - low) / 2,  offset = (high + low) / 2.

    Layers: (Dense, ReLU) per hidden width, Dense, Tanh, ScaleShift. Input (B, obs_dim), output (B, action_dim).
    """

    def __init__(self, obs_dim: int, action_dim: int, low, high, hidden=(400, 300), *, backend: Backend,
                 rng: np.random.Generator, final_init_bound: float | None = FINAL_INIT_BOUND):
        layers = mlp_layers((obs_dim, *hidden, action_dim), backend=backend, rng=rng, final_init_bound=final_init_bound)
        super().__init__(*layers, Tanh(backend), ScaleShift(low, high, backend), backend=backend)


class Critic(Sequential):
    """Q(s, a): an MLP on the concatenation [s, a] with one output, returned with shape (B,).

    forward(obs, action)   (B, obs_dim), (B, action_dim) -> Q (B,)
    backward(dq)           dq = dL/dQ (B,) -> dL/dparam accumulated (the critic's own update)
    action_gradient(dq)    dq (B,) -> dL/da (B, action_dim) = dq * dQ/da, leaving the parameter gradients alone
                           (the actor's update needs only this)
    """

    def __init__(self, obs_dim: int, action_dim: int, hidden=(400, 300), *, backend: Backend,
                 rng: np.random.Generator, final_init_bound: float | None = FINAL_INIT_BOUND):
        self.obs_dim = obs_dim
        layers = mlp_layers((obs_dim + action_dim, *hidden, 1), backend=backend, rng=rng, final_init_bound=final_init_bound)
        super().__init__(*layers, backend=backend)

    def forward(self, obs, action):
        x = self.backend.xp.concat([obs, action], axis=1)  # (B, obs_dim + action_dim)
        q = super().forward(x)  # (B, 1)
        return self.backend.xp.reshape(q, (-1,))  # (B,): never let a (B, 1) meet a (B,) target

    def backward(self, dq, need_input_grad: bool = False, need_param_grads: bool = True):
        """dL/dparam += chain rule from dq = dL/dQ (B,); returns dL/d[s, a] only when asked."""
        return super().backward(self.backend.xp.reshape(dq, (-1, 1)), need_input_grad, need_param_grads)

    def action_gradient(self, dq):
        """dL/da = (dL/d[s, a])[:, obs_dim:], computed without touching the critic's parameter gradients."""
        dx = self.backward(dq, need_input_grad=True, need_param_grads=False)  # (B, obs_dim + action_dim)
        return dx[:, self.obs_dim:]  # (B, action_dim)
