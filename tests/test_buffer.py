import numpy as np
import pytest

from tinyddpg.backend import get_backend, make_rng
from tinyddpg.buffer import ReplayBuffer


def transition(i):
    """Transition i: every column holds its own values (obs 10i+1, 10i+2 | action 10i+3 | reward 10i+4 |
    next_obs 10i+5, 10i+6 | terminated on odd i), so a column sliced from the wrong place cannot match."""
    base = 10.0 * i
    return [base + 1, base + 2], [base + 3], base + 4, [base + 5, base + 6], i % 2 == 1


def expected_columns(indices):
    """The Batch columns that transitions `indices` must come back as, built from `transition` alone."""
    rows = [transition(i) for i in indices]
    return (np.array([r[0] for r in rows]), np.array([r[1] for r in rows]), np.array([r[2] for r in rows]),
            np.array([r[3] for r in rows]), np.array([float(r[4]) for r in rows]))


def filled_buffer(backend, capacity, count, seed=0):
    buffer = ReplayBuffer(capacity, obs_dim=2, action_dim=1, backend=backend, rng=make_rng(seed))
    for i in range(count):
        buffer.add(*transition(i))
    return buffer


def test_ring_overwrites_the_oldest_in_order(backend32):
    buffer = filled_buffer(backend32, capacity=4, count=6)
    assert len(buffer) == 4 and buffer.next_index == 2
    slots = [4, 5, 2, 3]  # transitions 4 and 5 overwrote 0 and 1
    np.testing.assert_array_equal(backend32.to_host(buffer.rows), np.column_stack(expected_columns(slots)))


@pytest.mark.parametrize("count", [7, 13], ids=["filling: 7 of 10 slots", "full, after wraparound"])
def test_every_column_of_a_sample_comes_back_whole(backend32, count):
    buffer = filled_buffer(backend32, capacity=10, count=count)
    batch = buffer.sample(64)
    assert batch.obs.shape == (64, 2) and batch.action.shape == (64, 1) and batch.next_obs.shape == (64, 2)
    assert batch.reward.shape == (64,) and batch.terminated.shape == (64,)
    assert all(x.dtype == backend32.xp.float32 for x in batch)
    position = (backend32.to_host(batch.reward) - 4) / 10  # which transition each row is
    indices = position.astype(int)
    np.testing.assert_array_equal(position, indices)  # a never-filled slot (all zeros) is no transition
    assert set(indices) <= set(range(max(count - 10, 0), count)) and len(set(indices)) > 5  # only filled, live slots
    for name, ours, expected in zip(batch._fields, batch, expected_columns(indices)):
        np.testing.assert_array_equal(backend32.to_host(ours), expected, err_msg=name)


def test_sampling_is_reproducible_from_a_seed_and_uniform():
    backend = get_backend("numpy")
    first = filled_buffer(backend, 50, 50, seed=3).sample(32).reward
    np.testing.assert_array_equal(filled_buffer(backend, 50, 50, seed=3).sample(32).reward, first)
    assert not np.array_equal(filled_buffer(backend, 50, 50, seed=4).sample(32).reward, first)
    counts = np.bincount(((filled_buffer(backend, 10, 10).sample(100_000).reward - 4) / 10).astype(int), minlength=10)
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
