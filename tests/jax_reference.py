"""An independent JAX reference: the textbook DDPG update written plainly with jax.grad and optax's Adam, the
whole update under one `jax.jit` (XLA fuses its elementwise work), as a speed-minded user would write it on a CPU.
Like tests/torch_reference.py it is built from shapes, bounds and hyperparameters alone; only raw weight arrays
cross over, one way (`load_weights`). tests/test_jax_parity.py proves it equal to tinyddpg's update; the
benchmarks time this same code. Needs the optional extra `pip install -e ".[jax]"`."""

import jax
import jax.numpy as jnp
import numpy as np
import optax


def mlp(layers, x):
    """Linear-ReLU-...-Linear; layers = [(W (in, out), b (out,)), ...]."""
    for W, b in layers[:-1]:
        x = jax.nn.relu(x @ W + b)
    W, b = layers[-1]
    return x @ W + b


def pairs(arrays, dtype):
    """Raw host arrays [W_0, b_0, W_1, b_1, ...] -> [(W_0, b_0), ...] as JAX arrays of `dtype`."""
    arrays = [jnp.asarray(np.asarray(a), dtype=dtype) for a in arrays]
    return list(zip(arrays[0::2], arrays[1::2]))


class JaxDDPG:
    """The textbook DDPG update in JAX: TD target, critic Adam step, actor Adam step through the critic, Polyak."""

    def __init__(self, obs_dim, action_dim, low, high, hidden, *, actor_lr, critic_lr, gamma, rho, dtype=jnp.float64):
        self.sizes = (obs_dim, action_dim, tuple(hidden))
        self.dtype = dtype
        low, high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
        scale, offset = jnp.asarray((high - low) / 2.0, dtype), jnp.asarray((high + low) / 2.0, dtype)
        actor_adam, critic_adam = optax.adam(actor_lr), optax.adam(critic_lr)

        def mu(actor, obs):  # offset + scale * tanh(MLP(s))
            return offset + scale * jnp.tanh(mlp(actor, obs))

        def q(critic, obs, action):  # MLP([s, a]), shape (B,)
            return mlp(critic, jnp.concatenate([obs, action], axis=1))[:, 0]

        def update(state, obs, action, reward, next_obs, terminated):
            actor, critic, actor_target, critic_target, actor_opt, critic_opt = state
            y = reward + gamma * (1.0 - terminated) * q(critic_target, next_obs, mu(actor_target, next_obs))

            def critic_loss(c):
                q_now = q(c, obs, action)
                return jnp.mean((q_now - y) ** 2), q_now

            (loss_q, q_now), grads = jax.value_and_grad(critic_loss, has_aux=True)(critic)
            steps, critic_opt = critic_adam.update(grads, critic_opt)
            critic = optax.apply_updates(critic, steps)
            loss_mu, grads = jax.value_and_grad(lambda a: -jnp.mean(q(critic, obs, mu(a, obs))))(actor)
            steps, actor_opt = actor_adam.update(grads, actor_opt)
            actor = optax.apply_updates(actor, steps)
            polyak = lambda target, online: jax.tree.map(lambda t, o: rho * t + (1.0 - rho) * o, target, online)  # noqa: E731
            state = (actor, critic, polyak(actor_target, actor), polyak(critic_target, critic), actor_opt, critic_opt)
            return state, (loss_q, loss_mu, jnp.mean(q_now))

        self.adams = (actor_adam, critic_adam)
        self._update = jax.jit(update)
        self.state = None

    def load_weights(self, actor, critic, actor_target, critic_target) -> "JaxDDPG":
        """Raw host arrays [W_0, b_0, ...] (W is (in, out)) of the four networks; fresh Adam states."""
        nets = [pairs(arrays, self.dtype) for arrays in (actor, critic, actor_target, critic_target)]
        self.state = (*nets, self.adams[0].init(nets[0]), self.adams[1].init(nets[1]))
        return self

    def arrays(self, host_batch) -> tuple:
        return tuple(jnp.asarray(np.asarray(x), dtype=self.dtype) for x in host_batch)

    def update(self, obs, action, reward, next_obs, terminated) -> dict[str, float]:
        """One update on JAX arrays; returns the losses and mean Q as Python floats (a host sync)."""
        self.state, (loss_q, loss_mu, mean_q) = self._update(self.state, obs, action, reward, next_obs, terminated)
        return {"critic_loss": float(loss_q), "actor_loss": float(loss_mu), "mean_q": float(mean_q)}

    def networks(self) -> list[np.ndarray]:
        """Flat parameters of actor, critic, actor_target, critic_target (tinyddpg's order: W row-major, then b)."""
        return [np.concatenate([np.asarray(p).ravel() for layer in net for p in layer]) for net in self.state[:4]]


def jax_reference_for(agent, dtype=jnp.float32) -> JaxDDPG:
    """A reference with the agent's constructor inputs (sizes, bounds, hyperparameters) and its initial weights."""
    config = agent.config
    reference = JaxDDPG(agent.critic.obs_dim, len(agent.low), agent.low, agent.high, config.hidden,
                        actor_lr=config.actor_lr, critic_lr=config.critic_lr, gamma=config.gamma, rho=config.rho,
                        dtype=dtype)
    raw = [list(net.state_dict().values()) for net in (agent.actor, agent.critic, agent.actor_target, agent.critic_target)]
    return reference.load_weights(*raw)
