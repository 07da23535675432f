"""tinyddpg's update equals the textbook DDPG update written in JAX with optax's Adam and jitted whole (the peer
benchmarks/bench_update.py times), on all four networks and both losses, in float64. JAX is an optional extra:
without it these tests skip and say so."""

import numpy as np
import pytest

jax = pytest.importorskip("jax", reason="JAX is not installed (optional extra: pip install -e '.[jax]')")
pytest.importorskip("optax", reason="optax is not installed (optional extra: pip install -e '.[jax]')")

from agent_helpers import ACTION_DIM, HIGH, LOW, OBS_DIM, host_batch, to_device_batch  # noqa: E402
from jax_reference import jax_reference_for  # noqa: E402

from tinyddpg.agent import DDPG, DDPGConfig  # noqa: E402
from tinyddpg.backend import get_backend, make_rng  # noqa: E402

HIDDEN, BATCH, LR, RHO, GAMMA, UPDATES = (16, 12), 8, 1e-2, 0.9, 0.99, 5  # big steps, fast targets: errors grow
TOLERANCE = 1e-12
NETWORKS = ("actor", "critic", "actor_target", "critic_target")


@pytest.fixture(autouse=True)
def float64_jax():
    with jax.enable_x64(True):
        yield


def run_both():
    """tinyddpg and JAX from the same initial weights through UPDATES updates; per-update stats of both."""
    config = DDPGConfig(hidden=HIDDEN, batch_size=BATCH, actor_lr=LR, critic_lr=2 * LR, gamma=GAMMA, rho=RHO)
    agent = DDPG(OBS_DIM, ACTION_DIM, LOW, HIGH, config, backend=get_backend("numpy", dtype="float64"), rng=make_rng(0))
    reference = jax_reference_for(agent, dtype=jax.numpy.float64)
    stats = []
    for k in range(UPDATES):
        batch = host_batch(seed=k, batch_size=BATCH)
        stats.append((agent.update(to_device_batch(agent.backend, batch)), reference.update(*reference.arrays(batch))))
    ours = [agent.backend.to_host(n.flat_params) for n in (agent.actor, agent.critic, agent.actor_target, agent.critic_target)]
    return ours, reference.networks(), stats


def test_updates_equal_the_jitted_jax_update_on_all_four_networks_losses_and_mean_q():
    ours, theirs, stats = run_both()
    for mine, jaxs in stats:
        for key in ("critic_loss", "actor_loss", "mean_q"):
            assert mine[key] == pytest.approx(jaxs[key], rel=TOLERANCE, abs=TOLERANCE), key
    for name, a, b in zip(NETWORKS, ours, theirs):
        assert np.max(np.abs(a - b)) <= TOLERANCE, f"{name}: max abs difference {np.max(np.abs(a - b)):.2e}"
    assert np.max(np.abs(ours[0] - ours[2])) > 1e-3  # the networks did move: the comparison is not vacuous


if __name__ == "__main__":
    with jax.enable_x64(True):
        ours, theirs, _ = run_both()
    for name, a, b in zip(NETWORKS, ours, theirs):
        print(f"{name:<14}max abs difference {np.max(np.abs(a - b)):.1e}")
