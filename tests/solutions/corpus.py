"""Solutions to grade the grader by (issue 24, item 7): correct ones written in styles other than the engine's, which
must score full marks, and wrong ones written as students write them, which must lose exactly `lost` points on their
own part and nothing elsewhere. Each is the source of one part's function (a whole `def`, at column 0; a method's
`def` may bring a helper method along), put in place of the engine's in `tinyddpg assignment new --solution --td3`'s
copy; `module` is text added above the class or function (an import, a helper, a constant, a lambda); `below_stub`
keeps the stub and writes the def below it, where Python's last definition wins.

Points lost follow from the part's checks (tinyddpg/coursework/checks.py; points split evenly over them), in a TD3
assignment: dense_backward 4 checks, relu 2, tanh 2, mse 3, adam 3, td_target 4, critic_gradients 5 (3 + 2 for the
twin critics), action_gradient 2, actor_gradient 4, polyak 2, replay 3, ou 2, td3_clipped_double_q 2,
td3_target_smoothing 2, td3_policy_delay 5. The comment of each wrong one names the checks it fails.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Solution:
    part: str
    style: str  # how a correct one is written, or the mistake in a wrong one
    code: str
    lost: float = 0.0  # the points it must lose on its part
    module: str = ""
    below_stub: bool = False
    needs_import_planting: bool = False  # the AST planting of run_part.py cannot take it; grader-core's can


NUMPY = "import numpy as np\n"  # losses.py imports no numpy; a student adds it

CORRECT = [
    # --- first submission: one style per part -------------------------------------------------------------------
    Solution("dense_backward", "np.einsum for dW, db and dx", '''
def backward(self, dout, need_input_grad=True, need_param_grads=True):
    if need_param_grads:
        self.dW += np.einsum("bi,bo->io", self.x, dout)
        self.db += np.einsum("bo->o", dout)
    if need_input_grad:
        return np.einsum("bo,io->bi", dout, self.W)
    return None
'''),
    Solution("relu_backward", "np.where on the cached mask", '''
def backward(self, dout, need_input_grad=True, need_param_grads=True):
    return np.where(self.positive > 0, dout, 0.0)
'''),
    Solution("tanh_backward", "dout - dout * y**2", '''
def backward(self, dout, need_input_grad=True, need_param_grads=True):
    return dout - dout * self.y ** 2
'''),
    Solution("mse", "shape check written as assert; np.sum / size; its own numpy import", '''
def mse(prediction, target):
    assert prediction.shape == target.shape, f"shapes {prediction.shape} and {target.shape} differ"
    diff = prediction - target
    n = diff.size
    return np.sum(diff ** 2) / n, 2 * diff / n
''', module=NUMPY),
    Solution("adam_step", "textbook m_hat, v_hat by index, out-of-place p[...] = p - ...", '''
def step(self):
    self.t += 1
    for i in range(len(self.params)):
        g = self.grads[i]
        self.m[i][...] = self.beta1 * self.m[i] + (1 - self.beta1) * g
        self.v[i][...] = self.beta2 * self.v[i] + (1 - self.beta2) * g ** 2
        m_hat = self.m[i] / (1 - self.beta1 ** self.t)
        v_hat = self.v[i] / (1 - self.beta2 ** self.t)
        self.params[i][...] = self.params[i] - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
'''),
    Solution("td_target", "float32 gamma and np.where on terminated", '''
def td_target(self, batch):
    gamma = np.float32(self.config.gamma)
    a2 = self.target_action(batch.next_obs)
    q2 = self.target_q(batch.next_obs, a2)
    return np.where(batch.terminated > 0.5, batch.reward, batch.reward + gamma * q2)
'''),
    Solution("critic_gradients", "MSE gradient by hand in a loop; zeroed with flat_grads[:] = 0", '''
def compute_critic_gradients(self, batch, y):
    total, first_q = 0.0, None
    for critic in self.critics:
        q = critic.forward(batch.obs, batch.action)
        err = q - y
        total = total + np.mean(err ** 2)
        critic.flat_grads[:] = 0.0
        critic.backward(2.0 * err / len(y))
        if first_q is None:
            first_q = q
    return total, first_q
'''),
    Solution("action_gradient", "the action columns by a negative slice", '''
def action_gradient(self, dq):
    grad_input = self.backward(dq, need_input_grad=True, need_param_grads=False)
    action_dim = grad_input.shape[1] - self.obs_dim
    return grad_input[:, -action_dim:]
'''),
    Solution("actor_gradient", "np.full_like for dL/dQ, q.mean()", '''
def compute_actor_gradients(self, batch):
    actions = self.actor.forward(batch.obs)
    q = self.critic.forward(batch.obs, actions)
    self.actor.zero_grad()
    dq = np.full_like(q, -1.0 / q.shape[0])
    da = self.critic.action_gradient(dq)
    self.actor.backward(da)
    return -q.mean()
'''),
    Solution("polyak", "a loop over the layers' parameter pairs", '''
def soft_update(target, online, rho):
    for t_param, o_param in zip(target.parameters(), online.parameters()):
        t_param[...] = rho * t_param + (1 - rho) * o_param
'''),
    Solution("replay_sample", "rng.choice with replacement and fancy indexing", '''
def sample(self, batch_size):
    if self.size == 0:
        raise ValueError("the buffer is empty")
    idx = self.rng.choice(self.size, size=batch_size, replace=True)
    rows = self.rows[idx]
    o, a = self.obs_dim, self.action_dim
    obs = rows[:, :o]
    action = rows[:, o:o + a]
    reward = rows[:, o + a]
    next_obs = rows[:, o + a + 1:o + a + 1 + o]
    done = rows[:, -1]
    return Batch(obs, action, reward, next_obs, done)
'''),
    Solution("ou_noise", "out of place (self.x rebound), standard_normal, np.sqrt", '''
def sample(self):
    noise = self.rng.standard_normal(self.x.shape)
    self.x = self.x + self.theta * (0.0 - self.x) * self.dt + self.sigma * np.sqrt(self.dt) * noise
    return self.x.copy()
'''),
    Solution("td3_clipped_double_q", "if/else on twin_critics, np.where for the min", '''
def target_q(self, next_obs, next_action):
    q1 = self.critic_target.forward(next_obs, next_action)
    if not self.config.twin_critics:
        return q1
    q2 = self.critic2_target.forward(next_obs, next_action)
    return np.where(q1 < q2, q1, q2)
'''),
    Solution("td3_target_smoothing", "rng.normal(0, sigma), clipped with np.minimum/np.maximum", '''
def target_action(self, next_obs):
    mu = self.actor_target.forward(next_obs)
    sigma, c = self.config.target_noise, self.config.target_noise_clip
    if sigma == 0:
        return mu
    eps = self.rng.normal(0.0, sigma, size=mu.shape)
    eps = np.minimum(np.maximum(eps, -c), c)
    return np.clip(mu + eps * self.action_scale, self.low, self.high)
'''),
    Solution("td3_policy_delay", "early return on the skipped updates; targets updated one by one", '''
def update(self, batch):
    if not self.training:
        raise RuntimeError("call train() first")
    batch = self.normalize_batch(batch)
    y = self.td_target(batch)
    critic_loss, q = self.compute_critic_gradients(batch, y)
    if not np.isfinite(float(critic_loss)):
        raise NumericalError(f"critic loss {float(critic_loss)}")
    self.critic_optimizer.step()
    self.critic_updates += 1
    out = {"critic_loss": float(critic_loss), "mean_q": float(np.mean(q))}
    if self.critic_updates % self.config.policy_delay != 0:
        return out
    out["actor_loss"] = float(self.compute_actor_gradients(batch))
    self.actor_optimizer.step()
    soft_update(self.actor_target, self.actor, self.config.rho)
    for tgt, src in zip(self.critic_targets, self.critics):
        soft_update(tgt, src, self.config.rho)
    return out
'''),
    # --- second submission: another style per part --------------------------------------------------------------
    Solution("dense_backward", "a loop over the batch with np.outer; np.dot with np.transpose", '''
def backward(self, dout, need_input_grad=True, need_param_grads=True):
    if need_param_grads:
        for b in range(dout.shape[0]):
            self.dW += np.outer(self.x[b], dout[b])
            self.db += dout[b]
    return np.dot(dout, np.transpose(self.W)) if need_input_grad else None
'''),
    Solution("relu_backward", "a copy with the masked entries set to 0", '''
def backward(self, dout, need_input_grad=True, need_param_grads=True):
    dx = dout.copy()
    dx[self.positive == 0] = 0.0
    return dx
'''),
    Solution("tanh_backward", "a double loop over the entries", '''
def backward(self, dout, need_input_grad=True, need_param_grads=True):
    grad = np.empty_like(dout)
    for i in range(dout.shape[0]):
        for j in range(dout.shape[1]):
            grad[i, j] = dout[i, j] * (1.0 - self.y[i, j] ** 2)
    return grad
'''),
    Solution("mse", "ValueError and a module-level helper function", '''
def mse(prediction, target):
    _same_shape(prediction, target)
    residual = prediction - target
    loss = (residual ** 2).mean()
    grad = residual * 2 / residual.size
    return loss, grad
''', module='''
def _same_shape(a, b):
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch: {a.shape} vs {b.shape}")
'''),
    Solution("adam_step", "PyTorch's form with np.square, np.multiply(out=) and np.subtract(out=)", '''
def step(self):
    self.t += 1
    b1, b2 = self.beta1, self.beta2
    for p, g, m, v in zip(self.params, self.grads, self.m, self.v):
        np.multiply(m, b1, out=m)
        m += (1 - b1) * g
        v[:] = b2 * v + (1 - b2) * np.square(g)
        denom = np.sqrt(v / (1 - b2 ** self.t)) + self.eps
        np.subtract(p, self.lr / (1 - b1 ** self.t) * m / denom, out=p)
'''),
    Solution("td_target", "a not-done mask from terminated == 0, other names", '''
def td_target(self, batch):
    next_actions = self.target_action(batch.next_obs)
    bootstrap = self.target_q(batch.next_obs, next_actions)
    not_done = (batch.terminated == 0).astype(bootstrap.dtype)
    return batch.reward + self.config.gamma * not_done * bootstrap
'''),
    Solution("critic_gradients", "a list comprehension of Q values; zeroed layer by layer", '''
def compute_critic_gradients(self, batch, y):
    results = [critic.forward(batch.obs, batch.action) for critic in self.critics]
    loss_total = 0.0
    for critic, q in zip(self.critics, results):
        loss, dq = mse(q, y)
        for layer_grad in critic.grads():
            layer_grad[...] = 0
        critic.backward(dq)
        loss_total += loss
    return loss_total, results[0]
'''),
    Solution("action_gradient", "np.split at obs_dim", '''
def action_gradient(self, dq):
    d_input = self.backward(dq, need_input_grad=True, need_param_grads=False)
    _, d_action = np.split(d_input, [self.obs_dim], axis=1)
    return d_action
'''),
    Solution("actor_gradient", "-np.ones(B) / B; zeroed with flat_grads[...] = 0", '''
def compute_actor_gradients(self, batch):
    B = batch.obs.shape[0]
    a = self.actor.forward(batch.obs)
    q_values = self.critic.forward(batch.obs, a)
    self.actor.flat_grads[...] = 0.0
    grad_a = self.critic.action_gradient(-np.ones(B) / B)
    self.actor.backward(grad_a, need_input_grad=False)
    return -np.mean(q_values)
'''),
    Solution("polyak", "one expression into the whole flat array, out of place into [:]", '''
def soft_update(target, online, rho):
    target.flat_params[:] = rho * target.flat_params + (1.0 - rho) * online.flat_params
'''),
    Solution("replay_sample", "integers(size) and np.split of the columns", '''
def sample(self, batch_size):
    indices = self.rng.integers(self.size, size=batch_size)
    obs, action, reward, next_obs, terminated = np.split(
        self.rows[indices], np.cumsum([self.obs_dim, self.action_dim, 1, self.obs_dim]), axis=1)
    return Batch(obs, action, reward[:, 0], next_obs, terminated[:, 0])
'''),
    Solution("ou_noise", "a loop over the action dimensions, one normal() each, math.sqrt", '''
def sample(self):
    for i in range(len(self.x)):
        self.x[i] += -self.theta * self.x[i] * self.dt + self.sigma * math.sqrt(self.dt) * self.rng.normal()
    return np.array(self.x)
'''),
    Solution("td3_clipped_double_q", "np.min over np.stack of every target critic", '''
def target_q(self, next_obs, next_action):
    qs = [c.forward(next_obs, next_action) for c in self.critic_targets]
    return np.min(np.stack(qs), axis=0)
'''),
    Solution("td3_target_smoothing", "standard_normal and np.clip, `if not target_noise`", '''
def target_action(self, next_obs):
    action = self.actor_target.forward(next_obs)
    if not self.config.target_noise:
        return action
    xi = self.rng.standard_normal(size=action.shape)
    noise = np.clip(self.config.target_noise * xi, -self.config.target_noise_clip, self.config.target_noise_clip)
    smoothed = action + noise * self.action_scale
    return np.clip(smoothed, self.low, self.high)
'''),
    Solution("td3_policy_delay", "a named flag for the delayed step, the stats dict built at the end", '''
def update(self, batch):
    if not self.training:
        raise RuntimeError("update() in evaluation mode")
    normalized = self.normalize_batch(batch)
    loss_q, q1 = self.compute_critic_gradients(normalized, self.td_target(normalized))
    loss_value = float(loss_q)
    if np.isnan(loss_value) or np.isinf(loss_value):
        raise NumericalError("non-finite critic loss")
    self.critic_optimizer.step()
    self.critic_updates = self.critic_updates + 1
    delayed_step = self.critic_updates % self.config.policy_delay == 0
    actor_loss = None
    if delayed_step:
        actor_loss = float(self.compute_actor_gradients(normalized))
        self.actor_optimizer.step()
        for pair in zip([self.actor_target] + self.critic_targets, [self.actor] + self.critics):
            soft_update(pair[0], pair[1], self.config.rho)
    stats = {"critic_loss": loss_value, "mean_q": float(q1.mean())}
    if actor_loss is not None:
        stats["actor_loss"] = actor_loss
    return stats
'''),
]

NEEDS_IMPORT_PLANTING = [  # correct, but run_part.py's AST planting loses what they rely on
    Solution("relu_backward", "a module-level constant", '''
def backward(self, dout, need_input_grad=True, need_param_grads=True):
    return np.where(self.positive > 0, dout, NO_GRADIENT)
''', module="NO_GRADIENT = 0.0\n", needs_import_planting=True),
    Solution("tanh_backward", "a module-level lambda", '''
def backward(self, dout, need_input_grad=True, need_param_grads=True):
    return dout * tanh_derivative(self.y)
''', module="tanh_derivative = lambda y: 1.0 - y * y  # noqa: E731\n", needs_import_planting=True),
    Solution("dense_backward", "a helper method added to the class", '''
def _parameter_gradients(self, dout):
    return self.x.T @ dout, dout.sum(axis=0)

def backward(self, dout, need_input_grad=True, need_param_grads=True):
    if need_param_grads:
        dW, db = self._parameter_gradients(dout)
        self.dW += dW
        self.db += db
    return dout @ self.W.T if need_input_grad else None
''', needs_import_planting=True),
    Solution("action_gradient", "super().backward", '''
def action_gradient(self, dq):
    dx = super().backward(dq.reshape(-1, 1), need_input_grad=True, need_param_grads=False)
    return dx[:, self.obs_dim:]
''', needs_import_planting=True),
    Solution("polyak", "a correct def below the untouched stub", '''
def soft_update(target, online, rho):
    target.flat_params[...] = rho * target.flat_params + (1 - rho) * online.flat_params
''', below_stub=True, needs_import_planting=True),
    Solution("td_target", "a correct method below the untouched stub", '''
def td_target(self, batch):
    q_next = self.target_q(batch.next_obs, self.target_action(batch.next_obs))
    return batch.reward + self.config.gamma * (1.0 - batch.terminated) * q_next
''', below_stub=True, needs_import_planting=True),
]

WRONG = [
    # --- first submission: one mistake per part -------------------------------------------------------------------
    Solution("dense_backward", "dW, db overwritten in place (= instead of +=): fails the two-calls check", '''
def backward(self, dout, need_input_grad=True, need_param_grads=True):
    if need_param_grads:
        self.dW[...] = self.x.T @ dout
        self.db[...] = dout.sum(axis=0)
    return dout @ self.W.T if need_input_grad else None
''', lost=2.5),
    Solution("relu_backward", "the mask taken on dout instead of the input: fails both", '''
def backward(self, dout, need_input_grad=True, need_param_grads=True):
    return dout * (dout > 0)
''', lost=5),
    Solution("tanh_backward", "tanh applied again to the cached output: 1 - tanh(y)^2, fails both", '''
def backward(self, dout, need_input_grad=True, need_param_grads=True):
    return dout * (1 - np.tanh(self.y) ** 2)
''', lost=5),
    Solution("mse", "gradient missing the 1/N: fails both values, not the refusal", '''
def mse(prediction, target):
    if prediction.shape != target.shape:
        raise ValueError("shapes differ")
    diff = prediction - target
    return np.mean(diff ** 2), 2 * diff
''', module=NUMPY, lost=3.33),
    Solution("adam_step", "bias correction one step ahead (t + 1): fails Adam's rule only", '''
def step(self):
    self.t += 1
    for p, g, m, v in zip(self.params, self.grads, self.m, self.v):
        m[...] = self.beta1 * m + (1 - self.beta1) * g
        v[...] = self.beta2 * v + (1 - self.beta2) * g * g
        m_hat = m / (1 - self.beta1 ** (self.t + 1))
        v_hat = v / (1 - self.beta2 ** (self.t + 1))
        p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
''', lost=3.33),
    Solution("td_target", "the terminal mask inverted (gamma * terminated * Q'): all but the online-networks check", '''
def td_target(self, batch):
    next_q = self.target_q(batch.next_obs, self.target_action(batch.next_obs))
    return batch.reward + self.config.gamma * batch.terminated * next_q
''', lost=7.5),
    Solution("critic_gradients", "zeroed by rebinding flat_grads to a new array: both zeroing checks", '''
def compute_critic_gradients(self, batch, y):
    losses, qs = [], []
    for critic in self.critics:
        qs.append(critic.forward(batch.obs, batch.action))
        loss, dq = mse(qs[-1], y)
        losses.append(loss)
        critic.flat_grads = np.zeros_like(critic.flat_grads)
        critic.backward(dq)
    return sum(losses), qs[0]
''', lost=4),
    Solution("action_gradient", "the critic's parameter gradients computed too: the untouched check", '''
def action_gradient(self, dq):
    dx = self.backward(dq, need_input_grad=True)
    return dx[:, self.obs_dim:]
''', lost=2.5),
    Solution("actor_gradient", "dL/dQ missing the 1/B (dq = -1): the gradient check", '''
def compute_actor_gradients(self, batch):
    q = self.critic.forward(batch.obs, self.actor.forward(batch.obs))
    self.actor.zero_grad()
    self.actor.backward(self.critic.action_gradient(-np.ones_like(q)), need_input_grad=False)
    return -np.mean(q)
''', lost=2.5),
    Solution("polyak", "rho and 1 - rho swapped: both", '''
def soft_update(target, online, rho):
    target.flat_params[...] = (1 - rho) * target.flat_params + rho * online.flat_params
''', lost=5),
    Solution("replay_sample", "sampled without replacement: all three (64 draws from 10 slots raise)", '''
def sample(self, batch_size):
    idx = self.rng.choice(self.size, size=batch_size, replace=False)
    rows = self.rows[idx]
    o, a = self.obs_dim, self.action_dim
    return Batch(rows[:, :o], rows[:, o:o + a], rows[:, o + a], rows[:, o + a + 1:2 * o + a + 1], rows[:, -1])
''', lost=5),
    Solution("ou_noise", "drawn from NumPy's global generator, not self.rng: the 50 steps", '''
def sample(self):
    self.x += -self.theta * self.x * self.dt + self.sigma * math.sqrt(self.dt) * np.random.normal(size=self.x.shape)
    return self.x.copy()
''', lost=2.5),
    Solution("td3_clipped_double_q", "the second target critic ignored: the twin check", '''
def target_q(self, next_obs, next_action):
    return self.critic_target.forward(next_obs, next_action)
''', lost=5),
    Solution("td3_target_smoothing", "noise not scaled to the action half-range: the smoothed check", '''
def target_action(self, next_obs):
    action = self.actor_target.forward(next_obs)
    if self.config.target_noise == 0.0:
        return action
    c = self.config.target_noise_clip
    noise = np.clip(self.config.target_noise * self.rng.standard_normal(action.shape), -c, c)
    return np.clip(action + noise, self.low, self.high)
''', lost=5),
    Solution("td3_policy_delay", "the delay off by one (the actor steps on updates 1, 3, ...): all but the refusals", '''
def update(self, batch):
    if not self.training:
        raise RuntimeError("evaluation mode")
    batch = self.normalize_batch(batch)
    loss, q = self.compute_critic_gradients(batch, self.td_target(batch))
    if not np.isfinite(float(loss)):
        raise NumericalError("non-finite critic loss")
    self.critic_optimizer.step()
    self.critic_updates += 1
    stats = {"critic_loss": float(loss), "mean_q": float(np.mean(q))}
    if (self.critic_updates - 1) % self.config.policy_delay == 0:
        stats["actor_loss"] = float(self.compute_actor_gradients(batch))
        self.actor_optimizer.step()
        for target, online in zip([self.actor_target, *self.critic_targets], [self.actor, *self.critics]):
            soft_update(target, online, self.config.rho)
    return stats
''', lost=8),
    # --- second submission ----------------------------------------------------------------------------------------
    Solution("dense_backward", "bias gradient not summed over the batch (first row only): all four", '''
def backward(self, dout, need_input_grad=True, need_param_grads=True):
    if need_param_grads:
        self.dW += self.x.T @ dout
        self.db += dout[0]
    return dout @ self.W.T if need_input_grad else None
''', lost=10),
    Solution("relu_backward", "the kink let through: mask >= 0 on the cached 0/1 mask, all pass: both", '''
def backward(self, dout, need_input_grad=True, need_param_grads=True):
    return dout * (self.positive >= 0)
''', lost=5),
    Solution("tanh_backward", "1 - x^2 of the input recovered with arctanh: both", '''
def backward(self, dout, need_input_grad=True, need_param_grads=True):
    x = np.arctanh(self.y)
    return dout * (1 - x ** 2)
''', lost=5),
    Solution("mse", "gradient without the factor 2: both values", '''
def mse(prediction, target):
    if prediction.shape != target.shape:
        raise ValueError("shapes differ")
    diff = prediction - target
    return np.mean(diff ** 2), diff / diff.size
''', module=NUMPY, lost=3.33),
    Solution("adam_step", "eps inside the square root: Adam's rule", '''
def step(self):
    self.t += 1
    for p, g, m, v in zip(self.params, self.grads, self.m, self.v):
        m *= self.beta1
        m += (1 - self.beta1) * g
        v *= self.beta2
        v += (1 - self.beta2) * g * g
        m_hat = m / (1 - self.beta1 ** self.t)
        v_hat = v / (1 - self.beta2 ** self.t)
        p -= self.lr * m_hat / np.sqrt(v_hat + self.eps)
''', lost=3.33),
    Solution("td_target", "target networks called directly, past target_action and target_q: that check", '''
def td_target(self, batch):
    next_q = self.critic_target.forward(batch.next_obs, self.actor_target.forward(batch.next_obs))
    return batch.reward + self.config.gamma * (1.0 - batch.terminated) * next_q
''', lost=2.5),
    Solution("critic_gradients", "the second critic ignored (TD3): both twin checks", '''
def compute_critic_gradients(self, batch, y):
    q = self.critic.forward(batch.obs, batch.action)
    loss, dq = mse(q, y)
    self.critic.zero_grad()
    self.critic.backward(dq)
    return loss, q
''', lost=4),
    Solution("action_gradient", "the observation columns returned: both", '''
def action_gradient(self, dq):
    dx = self.backward(dq, need_input_grad=True, need_param_grads=False)
    return dx[:, :self.obs_dim]
''', lost=5),
    Solution("actor_gradient", "gradients not zeroed before backward: the zeroing check", '''
def compute_actor_gradients(self, batch):
    q = self.critic.forward(batch.obs, self.actor.forward(batch.obs))
    dq = np.full(q.shape, -1.0 / q.shape[0])
    self.actor.backward(self.critic.action_gradient(dq), need_input_grad=False)
    return -np.mean(q)
''', lost=2.5),
    Solution("polyak", "out of place: flat_params rebound, the layers keep the old weights: the in-place check", '''
def soft_update(target, online, rho):
    target.flat_params = rho * target.flat_params + (1 - rho) * online.flat_params
''', lost=2.5),
    Solution("replay_sample", "reward column off by one (next_obs[0] taken): each row whole", '''
def sample(self, batch_size):
    idx = self.rng.integers(0, self.size, size=batch_size)
    rows = self.rows[idx]
    o, a = self.obs_dim, self.action_dim
    return Batch(rows[:, :o], rows[:, o:o + a], rows[:, o + a + 1], rows[:, o + a + 1:2 * o + a + 1], rows[:, -1])
''', lost=1.67),
    Solution("ou_noise", "returns self.x itself, not a copy: the copy check", '''
def sample(self):
    self.x += -self.theta * self.x * self.dt + self.sigma * math.sqrt(self.dt) * self.rng.normal(size=self.x.shape)
    return self.x
''', lost=2.5),
    Solution("td3_clipped_double_q", "the mean of the two target critics: the twin check", '''
def target_q(self, next_obs, next_action):
    qs = [critic.forward(next_obs, next_action) for critic in self.critic_targets]
    return sum(qs) / len(qs)
''', lost=5),
    Solution("td3_target_smoothing", "the smoothed action not clipped to the bounds: the smoothed check", '''
def target_action(self, next_obs):
    action = self.actor_target.forward(next_obs)
    if self.config.target_noise == 0.0:
        return action
    c = self.config.target_noise_clip
    noise = np.clip(self.config.target_noise * self.rng.standard_normal(action.shape), -c, c)
    return action + noise * self.action_scale
''', lost=5),
    Solution("td3_policy_delay", "normalize_batch skipped: the normalization check", '''
def update(self, batch):
    if not self.training:
        raise RuntimeError("evaluation mode")
    loss, q = self.compute_critic_gradients(batch, self.td_target(batch))
    if not np.isfinite(float(loss)):
        raise NumericalError("non-finite critic loss")
    self.critic_optimizer.step()
    self.critic_updates += 1
    stats = {"critic_loss": float(loss), "mean_q": float(np.mean(q))}
    if self.critic_updates % self.config.policy_delay == 0:
        stats["actor_loss"] = float(self.compute_actor_gradients(batch))
        self.actor_optimizer.step()
        for target, online in zip([self.actor_target, *self.critic_targets], [self.actor, *self.critics]):
            soft_update(target, online, self.config.rho)
    return stats
''', lost=2),
    # --- third submission ------------------------------------------------------------------------------------------
    Solution("dense_backward", "dx without the transpose (dout @ W): all four", '''
def backward(self, dout, need_input_grad=True, need_param_grads=True):
    if need_param_grads:
        self.dW += self.x.T @ dout
        self.db += dout.sum(axis=0)
    return dout @ self.W if need_input_grad else None
''', lost=10),
    Solution("tanh_backward", "(1 - y)^2 instead of 1 - y^2: both", '''
def backward(self, dout, need_input_grad=True, need_param_grads=True):
    return dout * (1 - self.y) ** 2
''', lost=5),
    Solution("mse", "the loss summed instead of averaged: both values", '''
def mse(prediction, target):
    if prediction.shape != target.shape:
        raise ValueError("shapes differ")
    diff = prediction - target
    return np.sum(diff ** 2), 2 * diff / diff.size
''', module=NUMPY, lost=3.33),
    Solution("adam_step", "moments rebound (m = ..., not in place), so they never accumulate: Adam's rule", '''
def step(self):
    self.t += 1
    for p, g, m, v in zip(self.params, self.grads, self.m, self.v):
        m = self.beta1 * m + (1 - self.beta1) * g
        v = self.beta2 * v + (1 - self.beta2) * g * g
        p -= self.lr / (1 - self.beta1 ** self.t) * m / (np.sqrt(v) / math.sqrt(1 - self.beta2 ** self.t) + self.eps)
''', module="import math\n", lost=3.33),
    Solution("td_target", "(1 - terminated) on the reward too: all but the online-networks check", '''
def td_target(self, batch):
    next_q = self.target_q(batch.next_obs, self.target_action(batch.next_obs))
    return (1.0 - batch.terminated) * (batch.reward + self.config.gamma * next_q)
''', lost=7.5),
    Solution("critic_gradients", "dL/dQ with the sign flipped (y - Q): both gradient checks", '''
def compute_critic_gradients(self, batch, y):
    total, first = 0.0, None
    for critic in self.critics:
        q = critic.forward(batch.obs, batch.action)
        critic.zero_grad()
        critic.backward(2.0 * (y - q) / q.shape[0])
        total += np.mean((q - y) ** 2)
        first = q if first is None else first
    return total, first
''', lost=4),
    Solution("action_gradient", "the whole dL/d[s, a] returned: both", '''
def action_gradient(self, dq):
    return self.backward(dq, need_input_grad=True, need_param_grads=False)
''', lost=5),
    Solution("actor_gradient", "the loss returned as +mean Q (the gradient right): the loss check, and the gradient "
             "check, which differentiates the returned loss", '''
def compute_actor_gradients(self, batch):
    q = self.critic.forward(batch.obs, self.actor.forward(batch.obs))
    self.actor.zero_grad()
    self.actor.backward(self.critic.action_gradient(np.full(q.shape, -1.0 / q.shape[0])), need_input_grad=False)
    return np.mean(q)
''', lost=5),
    Solution("polyak", "a hard copy (target = online): both", '''
def soft_update(target, online, rho):
    target.flat_params[...] = online.flat_params
''', lost=5),
    Solution("replay_sample", "integers(0, size - 1): the newest slot never drawn: the uniform check", '''
def sample(self, batch_size):
    idx = self.rng.integers(0, self.size - 1, size=batch_size)
    rows = self.rows[idx]
    o, a = self.obs_dim, self.action_dim
    return Batch(rows[:, :o], rows[:, o:o + a], rows[:, o + a], rows[:, o + a + 1:2 * o + a + 1], rows[:, -1])
''', lost=1.67),
    Solution("ou_noise", "mean reversion with the wrong sign (+theta x dt): the 50 steps", '''
def sample(self):
    self.x += self.theta * self.x * self.dt + self.sigma * math.sqrt(self.dt) * self.rng.normal(size=self.x.shape)
    return self.x.copy()
''', lost=2.5),
    Solution("td3_clipped_double_q", "the second online critic instead of its target: the twin check", '''
def target_q(self, next_obs, next_action):
    q1 = self.critic_target.forward(next_obs, next_action)
    if not self.config.twin_critics:
        return q1
    return np.minimum(q1, self.critic2.forward(next_obs, next_action))
''', lost=5),
    Solution("td3_target_smoothing", "the noise drawn from NumPy's global generator: the smoothed check", '''
def target_action(self, next_obs):
    action = self.actor_target.forward(next_obs)
    if self.config.target_noise == 0.0:
        return action
    c = self.config.target_noise_clip
    noise = np.clip(self.config.target_noise * np.random.standard_normal(action.shape), -c, c)
    return np.clip(action + noise * self.action_scale, self.low, self.high)
''', lost=5),
    Solution("td3_policy_delay", "the delay counted by the critic optimizer's step count: the counter check", '''
def update(self, batch):
    if not self.training:
        raise RuntimeError("evaluation mode")
    batch = self.normalize_batch(batch)
    loss, q = self.compute_critic_gradients(batch, self.td_target(batch))
    if not np.isfinite(float(loss)):
        raise NumericalError("non-finite critic loss")
    self.critic_optimizer.step()
    stats = {"critic_loss": float(loss), "mean_q": float(np.mean(q))}
    if self.critic_optimizer.t % self.config.policy_delay == 0:
        stats["actor_loss"] = float(self.compute_actor_gradients(batch))
        self.actor_optimizer.step()
        for target, online in zip([self.actor_target, *self.critic_targets], [self.actor, *self.critics]):
            soft_update(target, online, self.config.rho)
    return stats
''', lost=2),
]
