"""DDPG (Lillicrap et al. 2016, "Continuous control with deep reinforcement learning", Algorithm 1).

One update, as the paper's inner loop, for a batch (s, a, r, s', terminated) of B transitions:

    1. TD target, no gradient:  y = r + gamma * (1 - terminated) * Q'(s', mu'(s'))              (B,)
    2. Critic step:             L_Q  = mean((Q(s, a) - y)^2);  Adam on dL_Q/dtheta_Q
    3. Actor step:              L_mu = -mean(Q(s, mu(s)));     dL_mu/dtheta_mu = (dL_mu/da) (da/dtheta_mu),
                                dL_mu/da from the critic's backward to its action input (the critic's own
                                parameter gradients from this pass are neither computed nor applied)
    4. Polyak averaging:        theta' <- rho * theta' + (1 - rho) * theta   for both targets (tau = 1 - rho)

Only `terminated` stops bootstrapping; a time-limit truncation does not (the trainer stores terminated=False).

TD3 (Fujimoto et al. 2018, "Addressing Function Approximation Error in Actor-Critic Methods", Algorithm 1) is
three switches on this update, each off by default (off = the DDPG update above, bit for bit):

    twin_critics   1. y = r + gamma (1 - terminated) min(Q1'(s', a'), Q2'(s', a'))   (clipped double Q)
                   2. L_Q = L_Q1 + L_Q2, both critics regress on the same y; the actor follows Q1
    target_noise   1. a' = clip(mu'(s') + clip(target_noise xi, -target_noise_clip, target_noise_clip) * scale, low, high),
                      xi ~ N(0, 1) (target policy smoothing, in action half-ranges)
    policy_delay   3.-4. run only on every policy_delay-th critic update
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from .backend import Backend, get_backend, make_rng
from .buffer import Batch
from .errors import ConfigError, NumericalError
from .hyperparameters import DDPGConfig
from .losses import mse
from .networks import Actor, Critic
from .noise import make_noise
from .normalizer import ObservationNormalizer
from .optim import Adam


class DDPG:
    """A DDPG agent: actor, critic, their targets, two Adam optimizers and exploration noise.

    obs_dim, action_dim  lengths of an observation and of an action vector
    low, high            action bounds, one per action dimension or one for all (low < high): the actor maps tanh's (-1, 1)
                         onto (low, high), act() clips to [low, high]
    config               hyperparameters, a DDPGConfig (each field's help says what it does); default DDPGConfig()
    backend              array library and dtype, get_backend(...); default $TINYDDPG_BACKEND or NumPy, float32
    rng                  numpy.random.Generator for the initial weights and the noise; default make_rng(0)

    act(obs, explore) gives an action, observe(obs) feeds the normalizer, update(batch) learns from a Batch;
    train(), eval() and evaluation() set the mode; state_dict() and load_state_dict() save and restore it all.
    """

    def __init__(self, obs_dim: int, action_dim: int, low, high, config: DDPGConfig | None = None, *,
                 backend: Backend | None = None, rng: np.random.Generator | None = None):
        self.config = config = (config or DDPGConfig()).validate()
        self.backend = backend = backend or get_backend()
        self.rng = rng if rng is not None else make_rng(0)
        self.low, self.high = action_bounds(low, action_dim), action_bounds(high, action_dim)
        sizes_fit = min(obs_dim, action_dim) >= 1 and self.low.shape == self.high.shape == (action_dim,)
        if not (sizes_fit and np.all(np.isfinite(self.high - self.low)) and np.all(self.low < self.high)):
            raise ConfigError(f"DDPG(obs_dim={obs_dim}, action_dim={action_dim}, low={low}, high={high}) is not allowed: "
                              f"obs_dim and action_dim must be >= 1, low and high {action_dim} finite numbers each, "
                              f"low < high in every dimension")
        self.action_scale, self.obs_dim = (self.high - self.low) / 2.0, obs_dim  # the noise scale (host); for act

        options = dict(hidden=config.hidden, backend=backend, final_init_bound=config.final_init_bound)

        def critic(rng):
            return Critic(obs_dim, action_dim, rng=rng, **options)

        self.actor = Actor(obs_dim, action_dim, self.low, self.high, rng=self.rng, **options)  # drawn first, then:
        self.critic = critic(self.rng)
        self.actor_target = Actor(obs_dim, action_dim, self.low, self.high, rng=make_rng(0), **options)  # weights copied below
        self.critic_target = critic(make_rng(0))
        self.critics, self.critic_targets = [self.critic], [self.critic_target]
        if config.twin_critics:  # TD3: a second critic, initialised independently, with its own target
            self.critic2 = critic(self.rng)
            self.critic2_target = critic(make_rng(0))
            self.critics, self.critic_targets = [self.critic, self.critic2], [self.critic_target, self.critic2_target]
        for target, online in zip([self.actor_target, *self.critic_targets], [self.actor, *self.critics]):
            target.flat_params[...] = online.flat_params  # targets start as exact copies
        self.actor_optimizer = Adam([self.actor.flat_params], [self.actor.flat_grads], backend, lr=config.actor_lr)
        self.critic_optimizer = Adam([c.flat_params for c in self.critics], [c.flat_grads for c in self.critics],
                                     backend, lr=config.critic_lr)  # one Adam over both twins: the summed loss
        self.low_device, self.high_device = backend.to_device(self.low), backend.to_device(self.high)
        self.noise = make_noise(config.noise, config.noise_scale, action_dim, self.rng, config.ou_theta, config.ou_dt)
        self.normalizer = ObservationNormalizer(obs_dim, backend) if config.normalize_obs else None
        self.training = True
        self.critic_updates = 0  # critic steps taken: TD3's policy delay counts these (saved in state_dict)

    # --- modes ----------------------------------------------------------------------------------------------
    def train(self) -> DDPG:
        """Training mode: act() explores with noise, update() runs."""
        self.training = True
        return self

    def eval(self) -> DDPG:
        """Evaluation mode: act() is deterministic (no noise) and update() refuses to run."""
        self.training = False
        return self

    @contextmanager
    def evaluation(self):
        """Evaluation mode inside a with-block; the previous mode comes back afterwards, even on an error."""
        was_training = self.training
        self.eval()
        try:
            yield self
        finally:
            self.training = was_training

    # --- acting ---------------------------------------------------------------------------------------------
    def observe(self, obs) -> None:
        """Show the agent an observation collected from the environment (updates the normalizer, if any,
        only in training mode: evaluation never moves the statistics)."""
        if self.normalizer is not None and self.training:
            self.normalizer.update(obs)

    def act(self, obs, explore: bool = True) -> np.ndarray:
        """The action for one host observation: mu(s), plus noise when training and explore, clipped to bounds."""
        try:  # obs_dim numbers, or an error that says so (not a matmul's)
            shape = np.asarray(obs, dtype=np.float64).shape
        except (TypeError, ValueError):
            shape = None
        if shape != (self.obs_dim,):
            got = f"obs of shape {shape}" if shape is not None else f"obs={obs!r:.40}"
            raise ConfigError(f"act({got}) is not allowed: obs must be one observation of {self.obs_dim} numbers "
                              f"(shape ({self.obs_dim},)), as this agent was made with obs_dim={self.obs_dim}")
        if self.normalizer is not None:
            obs = self.normalizer.normalize_host(obs)
        action = self.backend.to_host(self.actor.forward(self.backend.to_device(obs)[None, :]))[0]
        if self.training and explore:
            action = action + self.action_scale * self.noise.sample()
        return np.clip(action, self.low, self.high)

    # --- learning -------------------------------------------------------------------------------------------
    def update(self, batch: Batch) -> dict[str, float]:
        """One DDPG update on a batch; returns critic_loss, mean_q (of Q1(s, a)) and, if the actor stepped, actor_loss.

        In order: refuse (RuntimeError) in evaluation mode; 0. normalize_batch(batch); 1.-2. the critic gradients on
        td_target; refuse (NumericalError) a non-finite critic loss before any weight moves; the critic step, then
        self.critic_updates += 1; only when self.critic_updates % policy_delay == 0 (TD3's delay, counted by the
        agent so a checkpoint resumes it): 3. the actor step and 4. soft_update of every target toward its network."""
        if not self.training:
            raise RuntimeError("update() called in evaluation mode: call agent.train() before updating")
        batch = self.normalize_batch(batch)
        critic_loss, q = self.compute_critic_gradients(batch, self.td_target(batch))  # steps 1. and 2.
        stats = {"critic_loss": float(critic_loss)}
        if not np.isfinite(stats["critic_loss"]):  # checked before any step: a bad batch changes no weight
            raise NumericalError(f"the critic loss is {stats['critic_loss']}; this update changed no weight: " +
                                 batch.nonfinite_text(self.backend.xp, or_else="the batch is finite, so the networks "
                                                                               "diverged (lower the learning rates)"))
        self.critic_optimizer.step()
        self.critic_updates += 1
        if self.critic_updates % self.config.policy_delay == 0:  # TD3 delay: skip 3.-4. on the other updates
            stats["actor_loss"] = float(self.compute_actor_gradients(batch))
            self.actor_optimizer.step()
            for target, online in zip([self.actor_target, *self.critic_targets], [self.actor, *self.critics]):
                soft_update(target, online, self.config.rho)
        return {**stats, "mean_q": float(self.backend.xp.mean(q))}

    def normalize_batch(self, batch: Batch) -> Batch:
        """0. With observation normalization on, standardise obs and next_obs of a raw sampled batch."""
        if self.normalizer is None:
            return batch
        return batch._replace(obs=self.normalizer.normalize(batch.obs), next_obs=self.normalizer.normalize(batch.next_obs))

    def td_target(self, batch: Batch):
        """1. y = r + gamma * (1 - terminated) * Q'(s', a'), a' = target_action(s'), Q' = target_q: no gradient.  (B,)"""
        next_q = self.target_q(batch.next_obs, self.target_action(batch.next_obs))  # (B,)
        return batch.reward + self.config.gamma * (1.0 - batch.terminated) * next_q

    def target_q(self, next_obs, next_action):
        """1b. Q'(s', a') of the target critic; with twin critics (TD3's clipped double Q) min(Q1', Q2').  (B,)"""
        q1 = self.critic_target.forward(next_obs, next_action)  # (B,)
        q2 = self.critic2_target.forward(next_obs, next_action) if self.config.twin_critics else q1
        return self.backend.xp.minimum(q1, q2)  # the smaller target estimate; exactly q1 when there is one critic

    def target_action(self, next_obs):
        """1a. a' = mu'(s'); with target_noise (TD3 target policy smoothing) one host draw xi ~ N(0, 1) of shape
        (B, action_dim) from self.rng: a' = clip(mu'(s') + clip(target_noise xi, +-target_noise_clip) * scale, low, high)."""
        action = self.actor_target.forward(next_obs)  # (B, action_dim)
        if self.config.target_noise == 0.0:
            return action
        clip = self.config.target_noise_clip
        noise = np.clip(self.config.target_noise * self.rng.standard_normal(action.shape), -clip, clip)
        action = action + self.backend.to_device(noise * self.action_scale)
        return self.backend.xp.minimum(self.backend.xp.maximum(action, self.low_device), self.high_device)

    def compute_critic_gradients(self, batch: Batch, y):
        """2. L_Q = mean((Q(s, a) - y)^2), summed over the twin critics when there are two; leaves dL_Q/dtheta_Q
        in each critic's flat_grads, zeroed first in place (critic.zero_grad(): its layers and the critic optimizer
        hold views of that array). Returns (L_Q, Q1(s, a))."""
        losses, qs = [], []
        for critic in self.critics:
            qs.append(critic.forward(batch.obs, batch.action))  # (B,)
            loss, dq = mse(qs[-1], y)  # dq = 2 (Q - y) / B: the only division by the batch size
            losses.append(loss)
            critic.zero_grad()
            critic.backward(dq)
        return sum(losses), qs[0]

    def compute_actor_gradients(self, batch: Batch):
        """3. L_mu = -mean(Q(s, mu(s))); leaves dL_mu/dtheta_mu in actor.flat_grads, zeroed first in place
        (actor.zero_grad()). Returns L_mu."""
        xp = self.backend.xp
        q = self.critic.forward(batch.obs, self.actor.forward(batch.obs))  # (B,)
        batch_size = q.shape[0]
        dq = xp.full((batch_size,), -1.0 / batch_size, dtype=self.backend.dtype, device=self.backend.device)
        self.actor.zero_grad()
        self.actor.backward(self.critic.action_gradient(dq), need_input_grad=False)  # through dQ/da
        return -xp.mean(q)

    # --- saving ---------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Host arrays of every network and target, both optimizers, the noise, the normalizer and the count of critic
        updates: "<part>/<name>"."""
        state = {f"{part}/{key}": value for part, obj in self._parts().items() for key, value in obj.state_dict().items()}
        return {**state, "critic_updates/count": np.asarray(self.critic_updates)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        # a checkpoint written before the agent kept its count: the critic optimizer's step count is the same number
        self.critic_updates = int(state.get("critic_updates/count", state["critic_optimizer/t"]))
        for part, obj in self._parts().items():
            prefix = f"{part}/"
            obj.load_state_dict({k.removeprefix(prefix): v for k, v in state.items() if k.startswith(prefix)})

    def _parts(self) -> dict:
        parts = {"actor": self.actor, "critic": self.critic, "actor_target": self.actor_target,
                 "critic_target": self.critic_target, "actor_optimizer": self.actor_optimizer,
                 "critic_optimizer": self.critic_optimizer, "noise": self.noise}
        if self.config.twin_critics:
            parts.update(critic2=self.critic2, critic2_target=self.critic2_target)
        if self.normalizer is not None:
            parts["normalizer"] = self.normalizer
        return parts


def action_bounds(bound, action_dim: int) -> np.ndarray:
    """One bound per action dimension, float64 on the host; a single number is repeated for every dimension."""
    if np.ndim(bound) == 0:
        return np.full(max(action_dim, 0), bound, dtype=np.float64)
    return np.asarray(bound, dtype=np.float64)


def soft_update(target, online, rho: float) -> None:
    """4. Polyak averaging, in place on the whole flat parameter array: theta' <- rho theta' + (1 - rho) theta."""
    target.flat_params *= rho
    target.flat_params += (1.0 - rho) * online.flat_params

