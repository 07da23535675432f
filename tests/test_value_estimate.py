"""The estimate-vs-true measurement (value_estimate.py): the true discounted return-to-go, the cut before a
time limit, and the logged columns, on toy environments whose true value is known in closed form."""

import math

import numpy as np
import pytest
from helpers import fast_config
from toy_envs import register_toy_envs

from tinyddpg.agent import DDPG, DDPGConfig
from tinyddpg.backend import get_backend, make_rng
from tinyddpg.run.envs import make_env
from tinyddpg.run.runlog import read_log
from tinyddpg.run.train import Run, evaluate
from tinyddpg.run.value_estimate import TAIL_FRACTION, EvaluationEpisodes, horizon, returns_to_go

register_toy_envs()
ACTOR_BIAS, CRITIC_BIAS = 0.5, 7.0


@pytest.mark.parametrize("gamma", [0.3, 0.9, 0.99, 0.999])
def test_horizon_is_the_first_step_where_the_missing_tail_is_below_the_tolerance(gamma):
    n = horizon(gamma)
    assert gamma**n <= TAIL_FRACTION < gamma ** (n - 1)
    assert horizon(0.99) == 459 and horizon(1.0) == math.inf


def test_returns_to_go_of_a_constant_reward_are_geometric_sums():
    gamma, T = 0.9, 6
    expected = [2.0 * (1 - gamma ** (T - t)) / (1 - gamma) for t in range(T)]
    np.testing.assert_allclose(returns_to_go(np.full(T, 2.0), gamma), expected, rtol=1e-12)


def constant_agent(env, gamma):
    """An agent whose actor always outputs tanh(ACTOR_BIAS) and whose critic always says CRITIC_BIAS."""
    agent = DDPG(2, 1, env.action_space.low, env.action_space.high, DDPGConfig(hidden=(4,), gamma=gamma),
                 backend=get_backend("numpy", dtype="float64"), rng=make_rng(0))
    for net, bias in ((agent.actor, ACTOR_BIAS), (agent.critic, CRITIC_BIAS)):
        final = net.layers[-1] if net is agent.critic else net.layers[-3]  # the actor ends Dense, Tanh, ScaleShift
        final.W[...] = 0.0
        final.b[...] = bias
    return agent


@pytest.mark.parametrize("env_id, gamma, expected_states", [
    ("tinyddpg-test/Terminating-v0", 0.3, [0, 1, 2]),  # falls after 3 steps: every state has its whole future
    ("tinyddpg-test/Truncated-v0", 0.3, [0, 1]),  # cut after 5 steps, horizon(0.3) = 4: t <= 5 - 4
    ("tinyddpg-test/Truncated-v0", 0.5, []),  # horizon(0.5) = 7 > 5: no state is far enough from the cut
])
def test_columns_equal_the_closed_form_for_a_constant_policy(env_id, gamma, expected_states):
    env = make_env(env_id)
    agent = constant_agent(env, gamma)
    episodes = EvaluationEpisodes()
    evaluate(agent, env, 3, run_seed=0, after_step=episodes.add)
    columns = episodes.value_columns(agent)
    if not expected_states:
        assert columns == {}
        return
    a = math.tanh(ACTOR_BIAS)  # the reward is the action
    length = 3 if "Terminating" in env_id else 5
    true = np.mean([a * (1 - gamma ** (length - t)) / (1 - gamma) for t in expected_states])
    assert columns["value_true"] == pytest.approx(true, rel=1e-12)
    assert columns["value_estimate"] == pytest.approx(CRITIC_BIAS, rel=1e-12)


def test_a_run_logs_estimate_and_true_value_at_every_evaluation(tmp_path):
    Run(fast_config(env_id="tinyddpg-test/Terminating-v0", steps=400, gamma=0.3), tmp_path).train(show_progress=False)
    rows = [r for r in read_log(tmp_path / "progress.csv") if r["eval_return_mean"]]
    assert [int(r["step"]) for r in rows] == [200, 400]
    for row in rows:  # 3-step episodes that fall: every state counts
        assert math.isfinite(float(row["value_estimate"])) and math.isfinite(float(row["value_true"]))
    assert all(not r["value_true"] for r in read_log(tmp_path / "progress.csv") if not r["eval_return_mean"])


def test_plot_draws_estimate_vs_true_and_labels_td3_runs_by_the_switch_alone(tmp_path):
    from tinyddpg.run.config import with_overrides
    from tinyddpg.run.plot import group_runs, plot_runs

    for td3 in (False, True):
        config = with_overrides(fast_config(env_id="tinyddpg-test/Terminating-v0", steps=200, gamma=0.3), {"td3": td3})
        Run(config, tmp_path / f"td3={str(td3).lower()}").train(show_progress=False)
    assert sorted(group_runs(sorted(tmp_path.iterdir()))) == ["td3=false", "td3=true"]
    ablation = with_overrides(fast_config(steps=0), {"twin_critics": True})  # a fix on its own is named
    (tmp_path / "twin").mkdir()
    (tmp_path / "twin" / "config.json").write_text(ablation.to_json())
    assert "twin_critics=true" in " ".join(group_runs([*sorted(tmp_path.iterdir())]))
    assert plot_runs([tmp_path / "td3=false", tmp_path / "td3=true"], tmp_path / "curve.png").stat().st_size > 0


def test_a_log_written_before_the_value_columns_still_reads_and_plots(tmp_path):
    from tinyddpg.run.plot import plot_runs

    old_columns = "step,episode,episode_return,eval_return_mean,eval_return_std,critic_loss,actor_loss,mean_q,steps_per_s\n"
    (tmp_path / "progress.csv").write_text(old_columns + "200,1,-900.0,-800.0,10.0,0.5,3.0,-3.0,400.0\n"
                                           + "400,2,-700.0,-600.0,12.0,0.4,2.5,-2.5,410.0\n" + "600,3,-5")
    rows = read_log(tmp_path / "progress.csv")
    assert [r["eval_return_mean"] for r in rows] == ["-800.0", "-600.0"]  # the half-written last line is skipped
    assert plot_runs([tmp_path], tmp_path / "curve.png").stat().st_size > 0
