"""Small agents and batches shared by the agent tests."""

import numpy as np

from tinyddpg.agent import DDPG, DDPGConfig
from tinyddpg.backend import make_rng
from tinyddpg.buffer import Batch

OBS_DIM, ACTION_DIM = 3, 2
LOW, HIGH = np.array([-2.0, -1.0]), np.array([2.0, 0.5])  # asymmetric on purpose


def small_agent(backend, seed=0, **config):
    config = DDPGConfig(**{"hidden": (16, 12), "batch_size": 8, **config})
    return DDPG(OBS_DIM, ACTION_DIM, LOW, HIGH, config, backend=backend, rng=make_rng(seed))


def host_batch(seed=0, batch_size=8):
    """A host batch with some terminal transitions; ReLU pre-activations sit well away from 0 in practice."""
    rng = make_rng([seed, 7])
    return Batch(rng.normal(size=(batch_size, OBS_DIM)), rng.uniform(LOW, HIGH, size=(batch_size, ACTION_DIM)),
                 rng.normal(size=batch_size), rng.normal(size=(batch_size, OBS_DIM)),
                 (rng.random(batch_size) < 0.3).astype(float))


def to_device_batch(backend, batch):
    return Batch(*(backend.to_device(x) for x in batch))
