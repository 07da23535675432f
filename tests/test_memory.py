"""The memory estimate against what NumPy really allocates (tracemalloc sees every NumPy allocation)."""

import tracemalloc

import numpy as np
import pytest

from tinyddpg.agent import DDPG
from tinyddpg.backend import get_backend, make_rng
from tinyddpg.buffer import ReplayBuffer
from tinyddpg.run.config import preset, with_overrides
from tinyddpg.run.memory import estimate


@pytest.mark.parametrize("obs_dim, action_dim, hidden, batch, td3", [(3, 1, (400, 300), 256, False),
                                                                    (17, 6, (256, 256), 100, False),
                                                                    (3, 1, (64, 64), 2048, False),
                                                                    (11, 3, (400, 300), 256, True)])
def test_the_estimate_covers_the_networks_and_an_update_without_doubling_them(obs_dim, action_dim, hidden, batch, td3):
    config = with_overrides(preset("pendulum"), {"hidden": hidden, "batch_size": batch, "buffer_size": 2 * batch,
                                                 "td3": td3})
    estimated = estimate(config, obs_dim, action_dim)
    backend, rng = get_backend("numpy"), make_rng(0)
    tracemalloc.start()
    try:
        agent = DDPG(obs_dim, action_dim, -np.ones(action_dim), np.ones(action_dim), config.agent, backend=backend,
                     rng=rng)
        networks = tracemalloc.get_traced_memory()[0]
        buffer = ReplayBuffer(2 * batch, obs_dim, action_dim, backend=backend, rng=rng)
        for _ in range(2 * batch):
            buffer.add(np.zeros(obs_dim), np.zeros(action_dim), 0.0, np.zeros(obs_dim), False)
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(3):
            agent.update(buffer.sample(batch))
        activations = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert networks <= estimated.networks <= 1.5 * networks
    assert activations <= estimated.activations <= 2 * activations
