import numpy as np
import pytest

from tinyddpg.backend import get_backend, make_rng
from tinyddpg.buffer import ReplayBuffer


def filled_buffer(backend, capacity, count, seed=0):
    buffer = ReplayBuffer(capacity, obs_dim=2, action_dim=1, backend=backend, rng=make_rng(seed))
    for i in range(count):  # transition i carries i everywhere, so rows can be identified
        buffer.add([i, i], [i], float(i), [i + 0.5, i + 0.5], terminated=i % 2 == 1)
    return buffer


def test_ring_overwrites_the_oldest_in_order(backend32):
    buffer = filled_buffer(backend32, capacity=4, count=6)
    assert len(buffer) == 4 and buffer.next_index == 2
    np.testing.assert_array_equal(backend32.to_host(buffer.rows[:, 0]), [4, 5, 2, 3])


def test_samples_come_only_from_filled_slots_with_shapes_and_dtypes(backend32):
    buffer = filled_buffer(backend32, capacity=100, count=10)
    batch = buffer.sample(64)
    assert batch.obs.shape == (64, 2) and batch.action.shape == (64, 1) and batch.next_obs.shape == (64, 2)
    assert batch.reward.shape == (64,) and batch.terminated.shape == (64,)
    assert all(x.dtype == backend32.xp.float32 for x in batch)
    reward = backend32.to_host(batch.reward)
    assert set(reward) <= set(range(10)) and len(set(reward)) > 5
    np.testing.assert_array_equal(backend32.to_host(batch.obs)[:, 0], reward)  # rows stay whole
    np.testing.assert_array_equal(backend32.to_host(batch.next_obs)[:, 1], reward + 0.5)
    np.testing.assert_array_equal(backend32.to_host(batch.terminated), reward % 2)


def test_sampling_is_reproducible_from_a_seed_and_uniform():
    backend = get_backend("numpy")
    first = filled_buffer(backend, 50, 50, seed=3).sample(32).reward
    np.testing.assert_array_equal(filled_buffer(backend, 50, 50, seed=3).sample(32).reward, first)
    assert not np.array_equal(filled_buffer(backend, 50, 50, seed=4).sample(32).reward, first)
    counts = np.bincount(filled_buffer(backend, 10, 10).sample(100_000).reward.astype(int), minlength=10)
    assert counts.min() > 9_500 and counts.max() < 10_500  # each slot 1/10 (binomial std ~95)


def test_memory_is_the_raw_transition_bytes_and_state_round_trips():
    backend = get_backend("numpy")
    buffer = filled_buffer(backend, capacity=8, count=11)
    assert buffer.nbytes == buffer.rows.nbytes == 8 * (2 * 2 + 1 + 2) * 4
    restored = ReplayBuffer(8, 2, 1, backend=backend, rng=make_rng(0))
    restored.load_state_dict(buffer.state_dict())
    np.testing.assert_array_equal(restored.rows, buffer.rows)
    assert (restored.next_index, len(restored)) == (buffer.next_index, len(buffer))


def test_empty_buffer_refuses_to_sample():
    with pytest.raises(ValueError, match="empty replay buffer"):
        ReplayBuffer(4, 2, 1, backend=get_backend("numpy"), rng=make_rng(0)).sample(2)
