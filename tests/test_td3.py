"""TD3's three switches (Fujimoto et al. 2018): off they leave the DDPG update as it was, each on its own changes
exactly what it should, and all three together equal an independent float64 TD3 written from the paper."""

import copy
import itertools

import numpy as np
import pytest
import torch
from agent_helpers import ACTION_DIM, HIGH, LOW, OBS_DIM, host_batch, small_agent, to_device_batch

from tinyddpg.agent import soft_update
from tinyddpg.backend import get_backend
from tinyddpg.ddpg_gradcheck import CHECK_FINAL_INIT_BOUND, critic_loss_report, td3_reports
from tinyddpg.errors import ConfigError
from tinyddpg.run.config import TD3_SETTINGS, preset, validate, with_overrides

TD3 = dict(twin_critics=True, target_noise=0.2, target_noise_clip=0.5)


def flat(agent, net):
    return agent.backend.to_host(net.flat_params).copy()


# --- off: the DDPG update, bit for bit -----------------------------------------------------------------------
def test_switches_off_run_exactly_the_four_ddpg_steps_and_draw_no_random_numbers(backend32):
    agent, by_hand = small_agent(backend32), small_agent(backend32)  # the same seed: the same weights
    for k in range(3):
        batch = to_device_batch(backend32, host_batch(seed=k))
        rng_state = copy.deepcopy(agent.rng.bit_generator.state)
        agent.update(batch)
        assert agent.rng.bit_generator.state == rng_state  # no target noise drawn
        # the paper's four steps, spelled out on the copy
        next_q = by_hand.critic_target.forward(batch.next_obs, by_hand.actor_target.forward(batch.next_obs))
        y = batch.reward + by_hand.config.gamma * (1.0 - batch.terminated) * next_q
        by_hand.compute_critic_gradients(batch, y)
        by_hand.critic_optimizer.step()
        by_hand.compute_actor_gradients(batch)
        by_hand.actor_optimizer.step()
        soft_update(by_hand.actor_target, by_hand.actor, by_hand.config.rho)
        soft_update(by_hand.critic_target, by_hand.critic, by_hand.config.rho)
    assert len(agent.critics) == 1 and not hasattr(agent, "critic2")
    for name in ("actor", "critic", "actor_target", "critic_target"):
        np.testing.assert_array_equal(flat(agent, getattr(agent, name)), flat(by_hand, getattr(by_hand, name)))


# --- each switch on its own ----------------------------------------------------------------------------------
def test_twin_critics_target_is_the_smaller_of_the_two_target_critics():
    backend = get_backend("numpy", dtype="float64")
    agent = small_agent(backend, twin_critics=True, final_init_bound=CHECK_FINAL_INIT_BOUND)
    batch = to_device_batch(backend, host_batch(batch_size=64))
    np.testing.assert_array_equal(flat(agent, agent.critic2_target), flat(agent, agent.critic2))
    assert not np.array_equal(flat(agent, agent.critic2), flat(agent, agent.critic))  # initialised independently
    agent.critic2_target.flat_params[...] = np.random.default_rng(3).normal(size=agent.critic2_target.flat_params.shape)
    next_action = agent.actor_target.forward(batch.next_obs)
    q1 = agent.critic_target.forward(batch.next_obs, next_action)
    q2 = agent.critic2_target.forward(batch.next_obs, next_action)
    expected = batch.reward + agent.config.gamma * (1.0 - batch.terminated) * np.minimum(q1, q2)
    np.testing.assert_array_equal(agent.td_target(batch), expected)
    assert (q1 < q2).any() and (q2 < q1).any()  # the min really takes from both


def test_twin_critics_both_learn_from_the_same_target_and_the_actor_follows_the_first():
    backend = get_backend("numpy", dtype="float64")
    agent = small_agent(backend, twin_critics=True)
    batch = to_device_batch(backend, host_batch())
    before = [flat(agent, c) for c in agent.critics]
    agent.update(batch)
    assert all(not np.array_equal(b, flat(agent, c)) for b, c in zip(before, agent.critics))
    agent.critic2.forward = None  # the actor step must not consult the second critic
    agent.compute_actor_gradients(batch)


def target_actions(backend, seed=0, batch_size=256, **noise):
    agent = small_agent(backend, seed=seed, **noise)
    next_obs = to_device_batch(backend, host_batch(batch_size=batch_size)).next_obs
    return backend.to_host(agent.actor_target.forward(next_obs)), backend.to_host(agent.target_action(next_obs))


def test_target_noise_is_clipped_in_half_ranges_and_deterministic_for_a_seed(backend32):
    scale = (HIGH - LOW) / 2.0
    clean, noisy = target_actions(backend32, target_noise=0.3, target_noise_clip=0.25)
    shift = noisy - clean
    assert np.all(np.abs(shift) <= 0.25 * scale + 1e-6)
    assert np.mean(np.isclose(np.abs(shift), 0.25 * scale, atol=1e-6)) > 0.2  # clipped often at sigma 0.3 > c
    assert np.std(shift / scale) == pytest.approx(0.2, abs=0.03)  # clipped N(0, 0.3): std about 0.2
    _, again = target_actions(backend32, target_noise=0.3, target_noise_clip=0.25)
    _, other_seed = target_actions(backend32, seed=1, target_noise=0.3, target_noise_clip=0.25)
    np.testing.assert_array_equal(noisy, again)
    assert not np.array_equal(noisy, other_seed)


def test_noisy_target_action_is_clipped_to_the_action_bounds(backend32):
    _, noisy = target_actions(backend32, target_noise=5.0, target_noise_clip=3.0)
    assert np.all(noisy >= LOW) and np.all(noisy <= HIGH)
    assert np.any(noisy == LOW) and np.any(noisy == HIGH)  # the noise pushed past both bounds


@pytest.mark.parametrize("delay", [2, 3])
def test_policy_delay_leaves_actor_and_targets_alone_on_skipped_steps(delay):
    backend = get_backend("numpy", dtype="float64")
    agent = small_agent(backend, policy_delay=delay, twin_critics=True)
    actor_side = ("actor", "actor_target", "critic_target", "critic2_target")
    for k in range(1, 2 * delay + 1):
        before = {name: flat(agent, getattr(agent, name)) for name in (*actor_side, "critic", "critic2")}
        stats = agent.update(to_device_batch(backend, host_batch(seed=k)))
        actor_step = k % delay == 0
        for name in actor_side:
            assert np.array_equal(before[name], flat(agent, getattr(agent, name))) != actor_step, (k, name)
        assert not np.array_equal(before["critic"], flat(agent, agent.critic))  # the critics learn every step
        assert not np.array_equal(before["critic2"], flat(agent, agent.critic2))
        assert ("actor_loss" in stats) == actor_step
        assert agent.actor_optimizer.t == k // delay and agent.critic_optimizer.t == k


def test_the_policy_delay_is_counted_by_the_agent_and_resumes_from_its_state_dict():
    """The delay's phase lives in agent.critic_updates, saved and restored with the rest; a state saved before the
    agent kept that count resumes from the critic optimizer's step count, which was the same number."""
    backend = get_backend("numpy", dtype="float64")
    agent = small_agent(backend, policy_delay=3, twin_critics=True)
    for k in range(1, 3):
        agent.update(to_device_batch(backend, host_batch(seed=k)))
    state = agent.state_dict()
    for saved in (state, {key: value for key, value in state.items() if key != "critic_updates/count"}):
        resumed = small_agent(backend, seed=1, policy_delay=3, twin_critics=True)
        resumed.load_state_dict(saved)
        before = flat(resumed, resumed.actor)
        assert resumed.critic_updates == 2 and "actor_loss" in resumed.update(to_device_batch(backend, host_batch(seed=3)))
        assert not np.array_equal(before, flat(resumed, resumed.actor)) and resumed.critic_updates == 3


# --- the twin critics' summed loss: its gradient checked ------------------------------------------------------
def test_twin_critic_loss_gradient_covers_both_critics(backend64):
    agent = small_agent(backend64, final_init_bound=CHECK_FINAL_INIT_BOUND, **TD3)
    report = critic_loss_report(agent, to_device_batch(backend64, host_batch()))
    assert len(report.rows) == 12 and report.passed(1e-6), str(report)


def test_gradcheck_command_reports_the_twin_critic_loss():
    (report,) = td3_reports()
    assert "Q2 0.W" in str(report) and report.passed(1e-6), str(report)


def test_negative_control_a_second_critic_gradient_left_out_fails():
    backend = get_backend("numpy", dtype="float64")
    agent = small_agent(backend, final_init_bound=CHECK_FINAL_INIT_BOUND, **TD3)
    original = agent.compute_critic_gradients

    def second_critic_forgotten(batch, y):
        loss, q = original(batch, y)
        agent.critic2.zero_grad()
        return loss, q

    agent.compute_critic_gradients = second_critic_forgotten
    assert not critic_loss_report(agent, to_device_batch(backend, host_batch())).passed(1e-2)


# --- parity: an independent TD3 from the paper (Fujimoto et al. 2018, Algorithm 1), float64 --------------------
def mlp(sizes, final=None):
    layers = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers += [torch.nn.Linear(n_in, n_out, dtype=torch.float64)] + ([torch.nn.ReLU()] if i < len(sizes) - 2 else [])
    return torch.nn.Sequential(*layers, *([final] if final else []))


def load_raw(module, arrays):
    """Raw (in, out) weight and bias arrays, in order, into the torch Linear layers (weights stored (out, in))."""
    linears = [m for m in module if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        for linear, (w, b) in zip(linears, zip(arrays[0::2], arrays[1::2])):
            linear.weight.copy_(torch.tensor(w.T))
            linear.bias.copy_(torch.tensor(b))


def flat_params(module):
    return np.concatenate([np.concatenate([m.weight.detach().numpy().T.ravel(), m.bias.detach().numpy()])
                           for m in module if isinstance(m, torch.nn.Linear)])


class PaperTD3:
    """Algorithm 1 of the TD3 paper, from shapes, bounds and hyperparameters; the target noise eps ~ N(0, 1) is
    drawn from a copy of the agent's generator (one (B, action_dim) draw per critic update), so both see the same."""

    def __init__(self, hidden, low, high, lr, gamma, rho, sigma, clip, delay, rng):
        self.low, self.high = torch.tensor(low), torch.tensor(high)
        self.scale, self.offset = (self.high - self.low) / 2, (self.high + self.low) / 2
        self.actor = mlp([OBS_DIM, *hidden, ACTION_DIM], final=torch.nn.Tanh())
        self.critics = [mlp([OBS_DIM + ACTION_DIM, *hidden, 1]) for _ in range(2)]
        self.actor_target = copy.deepcopy(self.actor)
        self.critic_targets = [copy.deepcopy(c) for c in self.critics]
        self.lr, self.gamma, self.rho, self.sigma, self.clip, self.delay, self.rng = lr, gamma, rho, sigma, clip, delay, rng
        self.updates = 0

    def start(self):
        self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=self.lr)
        self.critic_optimizer = torch.optim.Adam([p for c in self.critics for p in c.parameters()], lr=self.lr)

    def mu(self, actor, s):
        return self.offset + self.scale * actor(s)

    @staticmethod
    def q(critic, s, a):
        return critic(torch.cat([s, a], dim=1)).squeeze(1)

    def update(self, s, a, r, s2, d):
        with torch.no_grad():
            eps = torch.tensor(self.rng.standard_normal((s.shape[0], ACTION_DIM)))
            a2 = self.mu(self.actor_target, s2) + torch.clamp(self.sigma * eps, -self.clip, self.clip) * self.scale
            a2 = torch.max(torch.min(a2, self.high), self.low)
            y = r + self.gamma * (1 - d) * torch.min(*(self.q(c, s2, a2) for c in self.critic_targets))
        loss = sum(((self.q(c, s, a) - y) ** 2).mean() for c in self.critics)
        self.critic_optimizer.zero_grad()
        loss.backward()
        self.critic_optimizer.step()
        self.updates += 1
        if self.updates % self.delay == 0:
            actor_loss = -self.q(self.critics[0], s, self.mu(self.actor, s)).mean()
            self.actor_optimizer.zero_grad()
            actor_loss.backward()
            self.actor_optimizer.step()
            with torch.no_grad():
                for target, online in zip([self.actor_target, *self.critic_targets], [self.actor, *self.critics]):
                    for pt, p in zip(target.parameters(), online.parameters()):
                        pt.mul_(self.rho).add_(p, alpha=1 - self.rho)
        return loss.item()


def test_several_td3_updates_equal_the_papers_algorithm_in_float64():
    backend = get_backend("numpy", dtype="float64")
    hidden, lr, rho, delay = (16, 12), 1e-2, 0.9, 3  # big steps: a difference would show
    agent = small_agent(backend, hidden=hidden, actor_lr=lr, critic_lr=lr, rho=rho, policy_delay=delay, **TD3)
    paper = PaperTD3(hidden, LOW, HIGH, lr, agent.config.gamma, rho, 0.2, 0.5, delay, copy.deepcopy(agent.rng))
    state = agent.state_dict()
    for module, part in [(paper.actor, "actor"), *zip(paper.critics, ("critic", "critic2"))]:
        load_raw(module, [v for k, v in state.items() if k.startswith(part + "/")])
    for target, online in zip([paper.actor_target, *paper.critic_targets], [paper.actor, *paper.critics]):
        target.load_state_dict(online.state_dict())
    paper.start()
    for k in range(7):  # actor steps at updates 3 and 6; 7 ends on a skipped one
        batch = host_batch(seed=k)
        ours = agent.update(to_device_batch(backend, batch))["critic_loss"]
        theirs = paper.update(*(torch.tensor(np.asarray(x, dtype=np.float64)) for x in batch))
        assert ours == pytest.approx(theirs, rel=1e-10)
    pairs = [(agent.actor, paper.actor), (agent.critic, paper.critics[0]), (agent.critic2, paper.critics[1]),
             (agent.actor_target, paper.actor_target), (agent.critic_target, paper.critic_targets[0]),
             (agent.critic2_target, paper.critic_targets[1])]
    for net, reference in pairs:
        assert np.max(np.abs(flat(agent, net) - flat_params(reference))) <= 1e-10


# --- the td3 switch in the run settings ----------------------------------------------------------------------
def test_td3_switch_sets_the_papers_three_fixes_and_false_sets_them_back():
    td3 = with_overrides(preset("hopper"), {"td3": True})
    assert {name: getattr(td3.agent, name) for name in TD3_SETTINGS} == dict(TD3, policy_delay=2)
    validate(td3)
    back = with_overrides(td3, {"td3": False})
    assert (back.agent.twin_critics, back.agent.target_noise, back.agent.policy_delay) == (False, 0.0, 1)
    assert back == preset("hopper")


def test_td3_switch_refuses_a_fix_changed_beside_it():
    with pytest.raises(ConfigError, match="policy_delay=3 is not allowed: td3=true sets policy_delay=2"):
        validate(with_overrides(preset("hopper"), {"td3": True, "policy_delay": 3}))
    with pytest.raises(ConfigError, match="policy_delay=0"):
        validate(with_overrides(preset("hopper"), {"policy_delay": 0}))
