"""Independent PyTorch references for the tests: the same networks with the same weights, trained by the
plain textbook DDPG update with autograd."""

import numpy as np
import torch

from tinyddpg.networks import ScaleShift
from tinyddpg.nn import Dense, ReLU, Tanh


def torch_copy(net, dtype=torch.float64):
    """A torch.nn.Sequential with the same layers and weights (torch stores W transposed: (out, in))."""
    layers = []
    for layer in net.layers:
        if isinstance(layer, Dense):
            W, b = net.backend.to_host(layer.W), net.backend.to_host(layer.b)
            linear = torch.nn.Linear(*W.shape, dtype=dtype)
            with torch.no_grad():
                linear.weight.copy_(torch.tensor(W.T))
                linear.bias.copy_(torch.tensor(b))
            layers.append(linear)
        elif isinstance(layer, ReLU):
            layers.append(torch.nn.ReLU())
        elif isinstance(layer, Tanh):
            layers.append(torch.nn.Tanh())
        elif isinstance(layer, ScaleShift):
            layers.append(TorchScaleShift(net.backend.to_host(layer.scale), net.backend.to_host(layer.offset), dtype))
    return torch.nn.Sequential(*layers)


class TorchScaleShift(torch.nn.Module):
    def __init__(self, scale, offset, dtype):
        super().__init__()
        self.scale = torch.tensor(scale, dtype=dtype)
        self.offset = torch.tensor(offset, dtype=dtype)

    def forward(self, x):
        return x * self.scale + self.offset


def flat_torch_params(module) -> np.ndarray:
    """Parameters in tinyddpg's flat order: per layer W (in, out) row-major, then b."""
    parts = []
    for m in module:
        if isinstance(m, torch.nn.Linear):
            parts += [m.weight.detach().numpy().T.ravel(), m.bias.detach().numpy().ravel()]
    return np.concatenate(parts)


class TorchDDPG:
    """The textbook DDPG update in PyTorch, built from a tinyddpg agent's initial weights."""

    def __init__(self, agent, dtype=torch.float64):
        self.dtype = dtype
        self.actor, self.critic = torch_copy(agent.actor, dtype), torch_copy(agent.critic, dtype)
        self.actor_target = torch_copy(agent.actor_target, dtype)
        self.critic_target = torch_copy(agent.critic_target, dtype)
        self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=agent.config.actor_lr)
        self.critic_optimizer = torch.optim.Adam(self.critic.parameters(), lr=agent.config.critic_lr)
        self.gamma, self.rho = agent.config.gamma, agent.config.rho

    def q(self, critic, obs, action):
        return critic(torch.cat([obs, action], dim=1)).squeeze(-1)

    def update(self, batch):
        obs, action, reward, next_obs, terminated = (torch.tensor(np.asarray(x), dtype=self.dtype) for x in batch)
        with torch.no_grad():
            y = reward + self.gamma * (1 - terminated) * self.q(self.critic_target, next_obs, self.actor_target(next_obs))
        critic_loss = ((self.q(self.critic, obs, action) - y) ** 2).mean()
        self.critic_optimizer.zero_grad()
        critic_loss.backward()
        self.critic_optimizer.step()
        actor_loss = -self.q(self.critic, obs, self.actor(obs)).mean()
        self.actor_optimizer.zero_grad()
        actor_loss.backward()
        self.actor_optimizer.step()
        with torch.no_grad():
            for target, online in ((self.actor_target, self.actor), (self.critic_target, self.critic)):
                for pt, p in zip(target.parameters(), online.parameters()):
                    pt.mul_(self.rho).add_((1 - self.rho) * p)
        return critic_loss.item(), actor_loss.item()
