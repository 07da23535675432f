"""The independent PyTorch reference: tinyddpg's networks copied into torch with the same weights, trained by
the plain textbook DDPG update with autograd. The parity tests prove it equal to tinyddpg's update; the
benchmarks time this same code."""

import numpy as np
import torch

from tinyddpg.networks import ScaleShift
from tinyddpg.nn import Dense, ReLU, Tanh


class TorchScaleShift(torch.nn.Module):
    """y = x * scale + offset (the actor's map from tanh's (-1, 1) onto the action bounds)."""

    def __init__(self, scale: torch.Tensor, offset: torch.Tensor):
        super().__init__()
        self.register_buffer("scale", scale)
        self.register_buffer("offset", offset)

    def forward(self, x):
        return x * self.scale + self.offset


def torch_copy(net, dtype=torch.float64, device="cpu") -> torch.nn.Sequential:
    """A torch.nn.Sequential with the same layers and weights (torch stores W transposed: (out, in))."""

    def tensor(array):
        return torch.tensor(net.backend.to_host(array), dtype=dtype, device=device)

    layers = []
    for layer in net.layers:
        if isinstance(layer, Dense):
            linear = torch.nn.Linear(*layer.W.shape, dtype=dtype, device=device)
            with torch.no_grad():
                linear.weight.copy_(tensor(layer.W).T)
                linear.bias.copy_(tensor(layer.b))
            layers.append(linear)
        elif isinstance(layer, ReLU):
            layers.append(torch.nn.ReLU())
        elif isinstance(layer, Tanh):
            layers.append(torch.nn.Tanh())
        elif isinstance(layer, ScaleShift):
            layers.append(TorchScaleShift(tensor(layer.scale), tensor(layer.offset)))
        else:
            raise TypeError(f"no PyTorch counterpart for layer {type(layer).__name__}")
    return torch.nn.Sequential(*layers)


def flat_torch_params(module) -> np.ndarray:
    """Parameters in tinyddpg's flat order: per layer W (in, out) row-major, then b."""
    parts = []
    for m in module:
        if isinstance(m, torch.nn.Linear):
            parts += [m.weight.detach().cpu().numpy().T.ravel(), m.bias.detach().cpu().numpy().ravel()]
    return np.concatenate(parts)


class TorchDDPG:
    """The textbook DDPG update in PyTorch, built from a tinyddpg agent's initial weights."""

    def __init__(self, agent, dtype=torch.float64, device="cpu"):
        self.dtype, self.device = dtype, device
        self.actor, self.critic = (torch_copy(n, dtype, device) for n in (agent.actor, agent.critic))
        self.actor_target = torch_copy(agent.actor_target, dtype, device)
        self.critic_target = torch_copy(agent.critic_target, dtype, device)
        self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=agent.config.actor_lr)
        self.critic_optimizer = torch.optim.Adam(self.critic.parameters(), lr=agent.config.critic_lr)
        self.gamma, self.rho = agent.config.gamma, agent.config.rho

    def tensors(self, host_batch) -> tuple[torch.Tensor, ...]:
        return tuple(torch.as_tensor(np.asarray(x), dtype=self.dtype, device=self.device) for x in host_batch)

    @staticmethod
    def q(critic, obs, action):
        return critic(torch.cat([obs, action], dim=1)).squeeze(1)

    def update(self, obs, action, reward, next_obs, terminated) -> dict[str, float]:
        """One update on torch tensors; returns the losses and mean Q as Python floats."""
        with torch.no_grad():
            next_q = self.q(self.critic_target, next_obs, self.actor_target(next_obs))
            y = reward + self.gamma * (1.0 - terminated) * next_q
        q = self.q(self.critic, obs, action)
        critic_loss = ((q - y) ** 2).mean()
        self.critic_optimizer.zero_grad()
        critic_loss.backward()
        self.critic_optimizer.step()
        actor_loss = -self.q(self.critic, obs, self.actor(obs)).mean()
        self.actor_optimizer.zero_grad()
        actor_loss.backward()
        self.actor_optimizer.step()
        with torch.no_grad():
            for target, online in ((self.actor_target, self.actor), (self.critic_target, self.critic)):
                for p_target, p in zip(target.parameters(), online.parameters()):
                    p_target.mul_(self.rho).add_(p, alpha=1.0 - self.rho)
        return {"critic_loss": critic_loss.item(), "actor_loss": actor_loss.item(), "mean_q": q.mean().item()}
