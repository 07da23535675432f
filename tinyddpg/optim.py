"""Optimizers: they update parameter arrays in place from their gradient arrays.

Give them a network's `flat_params` and `flat_grads` and each step is a handful of whole-array operations.
"""

from __future__ import annotations

import math

import numpy as np


class SGD:
    """p <- p - lr * g."""

    def __init__(self, params: list, grads: list, lr: float):
        self.params = params
        self.grads = grads
        self.lr = float(lr)

    def step(self) -> None:
        for p, g in zip(self.params, self.grads):
            p -= self.lr * g

    def state_dict(self) -> dict[str, np.ndarray]:
        return {}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        pass


class Adam:
    """Adam with exactly torch.optim.Adam's rule (no weight decay, no amsgrad). At step t:

        m <- beta1 m + (1 - beta1) g                  first moment
        v <- beta2 v + (1 - beta2) g^2                second moment
        p <- p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    eps is added *after* the square root of the bias-corrected v, as PyTorch does.
    """

    def __init__(self, params: list, grads: list, backend, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8):
        self.params = params
        self.grads = grads
        self.backend = backend
        self.lr = float(lr)
        self.beta1, self.beta2 = float(betas[0]), float(betas[1])
        self.eps = float(eps)
        self.t = 0  # steps taken: advances exactly once per step()
        self.m = [backend.xp.zeros_like(p) for p in params]
        self.v = [backend.xp.zeros_like(p) for p in params]
        self.work = [backend.xp.zeros_like(p) for p in params]  # step()'s scratch: big temporaries cost page faults

    def step(self) -> None:
        """t <- t + 1, then in place for each parameter p with gradient g:  m <- beta1 m + (1 - beta1) g;
        v <- beta2 v + (1 - beta2) g^2;  p <- p - (lr / (1 - beta1^t)) m / (sqrt(v) / sqrt(1 - beta2^t) + eps)."""
        ufuncs = self.backend.ufuncs  # written into a preallocated work array (out=): no temporary per operation
        self.t += 1
        step_size = self.lr / (1.0 - self.beta1**self.t)
        sqrt_bias_correction2 = math.sqrt(1.0 - self.beta2**self.t)
        for p, g, m, v, work in zip(self.params, self.grads, self.m, self.v, self.work):
            m *= self.beta1
            ufuncs.multiply(g, 1.0 - self.beta1, out=work)
            m += work  # m <- beta1 m + (1 - beta1) g
            v *= self.beta2
            ufuncs.multiply(g, g, out=work)
            work *= 1.0 - self.beta2
            v += work  # v <- beta2 v + (1 - beta2) g^2
            ufuncs.sqrt(v, out=work)
            work /= sqrt_bias_correction2
            work += self.eps  # work = sqrt(v) / sqrt(1 - beta2^t) + eps
            ufuncs.divide(m, work, out=work)
            work *= step_size
            p -= work  # p <- p - (lr / (1 - beta1^t)) m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    def state_dict(self) -> dict[str, np.ndarray]:
        state = {"t": np.asarray(self.t)}
        for i, (m, v) in enumerate(zip(self.m, self.v)):
            state[f"m.{i}"] = self.backend.to_host(m).copy()
            state[f"v.{i}"] = self.backend.to_host(v).copy()
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.t = int(state["t"])
        for i, (m, v) in enumerate(zip(self.m, self.v)):
            for name, moment in (("m", m), ("v", v)):
                saved = state[f"{name}.{i}"]
                if tuple(saved.shape) != tuple(moment.shape):
                    raise ValueError(f"Adam {name}.{i}: saved shape {saved.shape} != {tuple(moment.shape)}")
                moment[...] = self.backend.to_device(saved)
