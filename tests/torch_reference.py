"""The independent PyTorch reference: the textbook DDPG update with autograd, its four networks built from
shapes, bounds and hyperparameters alone (obs_dim, action_dim, low, high, hidden), never from tinyddpg's
objects. Only raw weight arrays cross over, one way: `load_weights` copies a tinyddpg agent's initial numbers
into these networks. So a wrong action scale or a missing layer in tinyddpg cannot be copied into the reference.
The parity tests prove it equal to tinyddpg's update; the benchmarks time this same code."""

import itertools

import numpy as np
import torch


def torch_mlp(sizes, dtype=torch.float64, device="cpu") -> torch.nn.Sequential:
    """Linear-ReLU-...-Linear for sizes = (in, hidden..., out)."""
    layers = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        layers += [torch.nn.Linear(fan_in, fan_out, dtype=dtype, device=device), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


class TorchActor(torch.nn.Module):
    """mu(s) = (high + low) / 2 + (high - low) / 2 * tanh(MLP(s)), from the bounds alone."""

    def __init__(self, obs_dim, action_dim, low, high, hidden, dtype=torch.float64, device="cpu"):
        super().__init__()
        self.mlp = torch_mlp((obs_dim, *hidden, action_dim), dtype, device)
        low, high = (torch.as_tensor(np.asarray(x, dtype=np.float64), dtype=dtype, device=device) for x in (low, high))
        self.register_buffer("scale", (high - low) / 2.0)
        self.register_buffer("offset", (high + low) / 2.0)

    def forward(self, obs):
        return self.offset + self.scale * torch.tanh(self.mlp(obs))


class TorchCritic(torch.nn.Module):
    """Q(s, a) = MLP([s, a]), shape (B,)."""

    def __init__(self, obs_dim, action_dim, hidden, dtype=torch.float64, device="cpu"):
        super().__init__()
        self.mlp = torch_mlp((obs_dim + action_dim, *hidden, 1), dtype, device)

    def forward(self, obs, action):
        return self.mlp(torch.cat([obs, action], dim=1)).squeeze(1)


def linears(module) -> list[torch.nn.Linear]:
    return [m for m in module.modules() if isinstance(m, torch.nn.Linear)]


def load_weights(module, arrays) -> None:
    """Copy raw host arrays [W_0, b_0, W_1, b_1, ...] (tinyddpg's order; W is (in, out)) into the Linear layers."""
    layers = linears(module)
    arrays = list(arrays)
    assert len(arrays) == 2 * len(layers), f"{len(arrays)} arrays for {len(layers)} Linear layers"
    with torch.no_grad():
        for linear, W, b in zip(layers, arrays[0::2], arrays[1::2]):
            assert tuple(W.shape) == (linear.in_features, linear.out_features), (W.shape, linear)
            linear.weight.copy_(torch.as_tensor(np.asarray(W).T))
            linear.bias.copy_(torch.as_tensor(np.asarray(b)))


def flat_torch_params(module) -> np.ndarray:
    """Parameters in tinyddpg's flat order: per Linear layer W (in, out) row-major, then b."""
    return np.concatenate([part for m in linears(module) for part in
                           (m.weight.detach().cpu().numpy().T.ravel(), m.bias.detach().cpu().numpy().ravel())])


def raw_arrays(net) -> list[np.ndarray]:
    """A tinyddpg network's parameters as host arrays, in its parameters() order (W, b per Dense layer)."""
    return list(net.state_dict().values())


class TorchDDPG:
    """The textbook DDPG update in PyTorch."""

    def __init__(self, obs_dim, action_dim, low, high, hidden, *, actor_lr, critic_lr, gamma, rho,
                 dtype=torch.float64, device="cpu"):
        self.dtype, self.device = dtype, device
        self.actor, self.actor_target = (TorchActor(obs_dim, action_dim, low, high, hidden, dtype, device)
                                         for _ in range(2))
        self.critic, self.critic_target = (TorchCritic(obs_dim, action_dim, hidden, dtype, device) for _ in range(2))
        self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=actor_lr)
        self.critic_optimizer = torch.optim.Adam(self.critic.parameters(), lr=critic_lr)
        self.gamma, self.rho = gamma, rho

    def load_weights(self, agent) -> "TorchDDPG":
        """Copy the raw weights of a tinyddpg agent's four networks into this reference (one way)."""
        for ours, theirs in ((self.actor, agent.actor), (self.critic, agent.critic),
                             (self.actor_target, agent.actor_target), (self.critic_target, agent.critic_target)):
            load_weights(ours, raw_arrays(theirs))
        return self

    def tensors(self, host_batch) -> tuple[torch.Tensor, ...]:
        return tuple(torch.as_tensor(np.asarray(x), dtype=self.dtype, device=self.device) for x in host_batch)

    def networks(self) -> list[np.ndarray]:
        """Flat parameters of actor, critic, actor_target, critic_target (tinyddpg's order)."""
        return [flat_torch_params(n) for n in (self.actor, self.critic, self.actor_target, self.critic_target)]

    def update(self, obs, action, reward, next_obs, terminated) -> dict[str, float]:
        """One update on torch tensors; returns the losses and mean Q as Python floats."""
        with torch.no_grad():
            y = reward + self.gamma * (1.0 - terminated) * self.critic_target(next_obs, self.actor_target(next_obs))
        q = self.critic(obs, action)
        critic_loss = ((q - y) ** 2).mean()
        self.critic_optimizer.zero_grad()
        critic_loss.backward()
        self.critic_optimizer.step()
        actor_loss = -self.critic(obs, self.actor(obs)).mean()
        self.actor_optimizer.zero_grad()
        actor_loss.backward()
        self.actor_optimizer.step()
        with torch.no_grad():
            for target, online in ((self.actor_target, self.actor), (self.critic_target, self.critic)):
                for p_target, p in zip(target.parameters(), online.parameters()):
                    p_target.mul_(self.rho).add_(p, alpha=1.0 - self.rho)
        return {"critic_loss": critic_loss.item(), "actor_loss": actor_loss.item(), "mean_q": q.mean().item()}


def reference_for(agent, dtype=torch.float64, device="cpu") -> TorchDDPG:
    """A reference with the agent's constructor inputs (sizes, bounds, hyperparameters) and its initial weights
    (for the benchmarks, which time both on the same numbers)."""
    config = agent.config
    obs_dim = agent.critic.obs_dim
    action_dim = len(agent.low)
    return TorchDDPG(obs_dim, action_dim, agent.low, agent.high, config.hidden, actor_lr=config.actor_lr,
                     critic_lr=config.critic_lr, gamma=config.gamma, rho=config.rho, dtype=dtype,
                     device=device).load_weights(agent)
