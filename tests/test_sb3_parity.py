"""An independent reference that no one here wrote: Stable-Baselines3's DDPG, driven through its own `train()`
on the batches we hand it, compared with tinyddpg's update on all four networks and both losses, in float64.

SB3 differs from tinyddpg in three ways, all handled here and not in tinyddpg:
  - one learning rate for actor and critic: the tinyddpg agent gets actor_lr = critic_lr;
  - observations are cast to float32 (`preprocess_obs` calls .float()): the batch's observations are chosen
    exactly representable in float32, and a features extractor casts them back to float64 losslessly;
  - actions live in [-1, 1] (SB3 rescales the environment's bounds): the agent gets low = -1, high = 1.
SB3's DDPG is its TD3 with one critic, policy delay 1 and target noise clipped to 0, so it is plain DDPG.
"""

import gymnasium as gym
import numpy as np
import pytest
import stable_baselines3
import torch
from agent_helpers import host_batch, to_device_batch
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.torch_layers import FlattenExtractor
from stable_baselines3.common.type_aliases import ReplayBufferSamples
from torch_reference import flat_torch_params, load_weights, raw_arrays

from tinyddpg.agent import DDPG, DDPGConfig
from tinyddpg.backend import get_backend, make_rng

OBS_DIM, ACTION_DIM, HIDDEN, BATCH = 3, 2, (16, 12), 8
LR, RHO, GAMMA, UPDATES = 1e-2, 0.9, 0.99, 5  # big steps and fast targets: any difference would grow
TOLERANCE = 1e-12


class Float64Flatten(FlattenExtractor):
    """SB3's FlattenExtractor, then back to float64 (its .float() cast is lossless on our float32-exact obs)."""

    def forward(self, observations):
        return super().forward(observations).to(torch.float64)


class SpacesOnly(gym.Env):
    """SB3 needs an environment for its spaces; train() on a handed batch never steps it."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(OBS_DIM,), dtype=np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, shape=(ACTION_DIM,), dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        return np.zeros(OBS_DIM, np.float32), {}

    def step(self, action):
        return np.zeros(OBS_DIM, np.float32), 0.0, False, False, {}


def sb3_ddpg():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # SB3 builds its networks in the default dtype
    try:
        model = stable_baselines3.DDPG("MlpPolicy", SpacesOnly(), learning_rate=LR, buffer_size=BATCH,
                                       learning_starts=0, batch_size=BATCH, tau=1.0 - RHO, gamma=GAMMA, device="cpu",
                                       policy_kwargs={"net_arch": list(HIDDEN), "features_extractor_class": Float64Flatten})
    finally:
        torch.set_default_dtype(previous)
    model.set_logger(Logger(folder=None, output_formats=[]))
    return model


def sb3_networks(model):
    return [model.actor.mu, model.critic.qf0, model.actor_target.mu, model.critic_target.qf0]


def float32_exact_batch(seed):
    """host_batch with actions in [-1, 1] and observations rounded to float32, stored as float64."""
    obs, action, reward, next_obs, terminated = host_batch(seed, BATCH)
    action = make_rng([seed, 8]).uniform(-1.0, 1.0, size=(BATCH, ACTION_DIM))
    return (obs.astype(np.float32).astype(np.float64), action, reward,
            next_obs.astype(np.float32).astype(np.float64), terminated)


def hand_to_sb3(model, batch):
    """SB3's replay buffer replaced by the one batch: train() samples exactly these transitions."""
    obs, action, reward, next_obs, terminated = (torch.as_tensor(x, dtype=torch.float64) for x in batch)
    samples = ReplayBufferSamples(obs, action, next_obs, terminated[:, None], reward[:, None])
    model.replay_buffer.sample = lambda batch_size, env=None: samples


def run_both():
    """tinyddpg and SB3 from the same initial weights through UPDATES updates; per-update losses of both."""
    config = DDPGConfig(hidden=HIDDEN, batch_size=BATCH, actor_lr=LR, critic_lr=LR, gamma=GAMMA, rho=RHO)
    agent = DDPG(OBS_DIM, ACTION_DIM, -np.ones(ACTION_DIM), np.ones(ACTION_DIM), config,
                 backend=get_backend("numpy", dtype="float64"), rng=make_rng(0))
    model = sb3_ddpg()
    for module, net in zip(sb3_networks(model), (agent.actor, agent.critic, agent.actor_target, agent.critic_target)):
        load_weights(module, raw_arrays(net))  # raw numbers, one way: tinyddpg -> SB3
    losses = []
    for k in range(UPDATES):
        batch = float32_exact_batch(seed=k)
        ours = agent.update(to_device_batch(agent.backend, batch))
        hand_to_sb3(model, batch)
        model.train(gradient_steps=1, batch_size=BATCH)
        theirs = model.logger.name_to_value
        losses.append(((ours["critic_loss"], ours["actor_loss"]), (theirs["train/critic_loss"], theirs["train/actor_loss"])))
    ours = [agent.backend.to_host(n.flat_params) for n in (agent.actor, agent.critic, agent.actor_target, agent.critic_target)]
    return ours, [flat_torch_params(m) for m in sb3_networks(model)], losses


def max_differences():
    """Max abs difference per network (actor, critic, actor_target, critic_target) after UPDATES updates."""
    ours, theirs, _ = run_both()
    return {name: float(np.max(np.abs(a - b))) for name, a, b in
            zip(("actor", "critic", "actor_target", "critic_target"), ours, theirs)}


def test_sb3_uses_a_single_critic_and_no_target_noise():
    model = sb3_ddpg()
    assert model.policy_delay == 1 and model.target_noise_clip == 0.0 and len(model.critic.q_networks) == 1
    assert all(p.dtype == torch.float64 for p in model.policy.parameters())


def test_updates_equal_stable_baselines3_ddpg_on_all_four_networks_and_both_losses():
    ours, theirs, losses = run_both()
    for (critic_loss, actor_loss), (sb3_critic_loss, sb3_actor_loss) in losses:
        assert critic_loss == pytest.approx(sb3_critic_loss, rel=TOLERANCE, abs=TOLERANCE)
        assert actor_loss == pytest.approx(sb3_actor_loss, rel=TOLERANCE, abs=TOLERANCE)
    for name, a, b in zip(("actor", "critic", "actor_target", "critic_target"), ours, theirs):
        assert np.max(np.abs(a - b)) <= TOLERANCE, f"{name}: max abs difference {np.max(np.abs(a - b)):.2e}"
    assert np.max(np.abs(ours[0] - ours[2])) > 1e-3  # the networks did move: the comparison is not vacuous


if __name__ == "__main__":
    for name, difference in max_differences().items():
        print(f"{name:<14}max abs difference {difference:.1e}")
