"""Direct tests of the DDPG essentials, each able to fail on its own. A gradient check cannot see these: they
change the loss itself (what is computed), not whether the backward agrees with the forward."""

import gymnasium as gym
import numpy as np
from agent_helpers import HIGH, LOW, OBS_DIM, host_batch, small_agent, to_device_batch
from helpers import fast_config

from tinyddpg.backend import get_backend, make_rng
from tinyddpg.coursework.training import ContextualBandit
from tinyddpg.run.runlog import read_log
from tinyddpg.run.train import Run

NORMALIZER_EPS, NORMALIZER_CLIP = 1e-8, 10.0  # ObservationNormalizer's defaults: a hyperparameter, not its code


def float64_agent(**config):
    return small_agent(get_backend("numpy", dtype="float64"), **config)


def test_a_terminal_transition_has_target_y_equal_to_r_exactly():
    agent = float64_agent()
    batch = host_batch(batch_size=16)._replace(terminated=np.tile([1.0, 0.0], 8))
    y = agent.td_target(to_device_batch(agent.backend, batch))
    np.testing.assert_array_equal(y[0::2], batch.reward[0::2])  # no bootstrapping past a real end
    assert np.all(y[1::2] != batch.reward[1::2])  # the others do bootstrap


def test_the_td_target_depends_only_on_the_target_networks():
    agent = float64_agent()
    batch = to_device_batch(agent.backend, host_batch())
    y = agent.td_target(batch).copy()
    rng = make_rng(5)
    for online in (agent.actor, agent.critic):
        online.flat_params += rng.normal(size=online.flat_params.shape)
    np.testing.assert_array_equal(agent.td_target(batch), y)
    agent.critic_target.flat_params += 0.1 * rng.normal(size=agent.critic_target.flat_params.shape)
    assert np.max(np.abs(agent.td_target(batch) - y)) > 1e-3  # while the target networks do move it


def test_one_actor_step_raises_mean_q_of_its_batch():
    agent = float64_agent(actor_lr=1e-4, final_init_bound=0.3)  # a larger critic head: Q really depends on a
    batch = to_device_batch(agent.backend, host_batch(batch_size=64))

    def mean_q():
        return float(np.mean(agent.critic.forward(batch.obs, agent.actor.forward(batch.obs))))

    before = mean_q()
    agent.compute_actor_gradients(batch)
    agent.actor_optimizer.step()
    assert mean_q() > before + 1e-5  # gradient *ascent* on Q: the actor loss is -mean Q


def test_the_actor_saturates_exactly_at_the_bounds_and_centres_between_them(backend32):
    """With the last layer's weights zeroed, its bias is the pre-activation: +-50 saturates tanh, 0 is the middle."""
    agent = small_agent(backend32)
    head = [layer for layer in agent.actor.layers if layer.param_names][-1]  # the last Dense
    obs = backend32.to_device(make_rng(1).normal(size=(4, OBS_DIM)))
    head.W[...] = 0.0
    for bias, expected in (([50.0, -50.0], [HIGH[0], LOW[1]]), ([-50.0, 50.0], [LOW[0], HIGH[1]]),
                           ([0.0, 0.0], (HIGH + LOW) / 2)):
        head.b[...] = backend32.to_device(np.array(bias))
        np.testing.assert_array_equal(backend32.to_host(agent.actor.forward(obs)), np.tile(expected, (4, 1)))


def observed_agent(normalize_obs, count=200):
    """An agent that has seen `count` observations with very different scales per dimension; and those."""
    agent = float64_agent(normalize_obs=normalize_obs)
    data = make_rng(3).normal(loc=[3.0, -1.0, 50.0], scale=[0.5, 2.0, 30.0], size=(count, OBS_DIM))
    for x in data:
        agent.observe(x)
    return agent, data


def normalized_by_hand(obs, data):
    std = np.sqrt(data.var(axis=0) + NORMALIZER_EPS)
    return np.clip((obs - data.mean(axis=0)) / std, -NORMALIZER_CLIP, NORMALIZER_CLIP)


def test_an_update_with_normalization_equals_one_without_on_a_batch_normalized_by_hand():
    normalizing, data = observed_agent(normalize_obs=True)
    plain = float64_agent()
    np.testing.assert_array_equal(normalizing.actor.flat_params, plain.actor.flat_params)  # same start
    raw = host_batch(batch_size=16)._replace(obs=data[:16], next_obs=data[16:32])
    by_hand = raw._replace(obs=normalized_by_hand(raw.obs, data), next_obs=normalized_by_hand(raw.next_obs, data))
    normalizing.update(to_device_batch(normalizing.backend, raw))
    plain.update(to_device_batch(plain.backend, by_hand))
    for name in ("actor", "critic", "actor_target", "critic_target"):
        np.testing.assert_allclose(getattr(normalizing, name).flat_params, getattr(plain, name).flat_params,
                                   rtol=0, atol=1e-10, err_msg=name)


def test_act_is_the_actor_on_the_normalized_observation():
    agent, data = observed_agent(normalize_obs=True)
    obs = data[7] + 1.0
    expected = agent.actor.forward(normalized_by_hand(obs, data)[None, :])[0]
    np.testing.assert_allclose(agent.eval().act(obs), np.clip(expected, LOW, HIGH), rtol=0, atol=1e-12)
    assert np.max(np.abs(agent.actor.forward(obs[None, :])[0] - expected)) > 1e-3  # normalizing matters here


BANDIT_STEPS = 1_500
BANDIT_THRESHOLD = -0.05  # a random policy about -0.4; this run ends near -0.002


def test_a_contextual_bandit_is_learned_in_seconds(tmp_path):
    """A learning test small enough for every CI run: it sees bugs that change no single update's math but the
    data the agent learns from (what the trainer stores)."""
    if "tinyddpg-test/Bandit-v0" not in gym.envs.registry:
        gym.register("tinyddpg-test/Bandit-v0", entry_point=ContextualBandit)
    config = fast_config(env_id="tinyddpg-test/Bandit-v0", steps=BANDIT_STEPS, random_steps=300, update_after=100,
                         eval_every=BANDIT_STEPS, eval_episodes=50, checkpoint_every=BANDIT_STEPS)
    run = Run(config, tmp_path)
    run.train(show_progress=False)
    final = float(read_log(tmp_path / "progress.csv")[-1]["eval_return_mean"])
    assert final > BANDIT_THRESHOLD, final
