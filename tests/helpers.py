"""Small shared helpers for the tests."""

import numpy as np

from tinyddpg.backend import make_rng


def normal_input(backend, shape, seed=0, away_from_zero=0.0):
    """A random normal input on the backend; `away_from_zero` keeps entries off ReLU's kink."""
    x = make_rng(seed).normal(size=shape)
    return backend.to_device(np.sign(x) * (away_from_zero + np.abs(x)))
