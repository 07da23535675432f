"""The statistics of a sweep's summary (tinyddpg/run/stats.py) against values computed by hand: the IQM's
trimming for every small n, the mean of the last k evaluations, bootstrap intervals whose resampling
distribution is known exactly, and the interval's coverage on synthetic samples with a known true value."""

import math

import numpy as np
import pytest

from tinyddpg.run.plot import iqm_and_interval
from tinyddpg.run.stats import (
    SettingSummary,
    bootstrap_interval,
    iqm,
    mean,
    run_scores,
    setting_summaries,
    settings_table,
)

SQUARES = [1.0, 4.0, 9.0, 16.0, 25.0, 36.0, 49.0, 64.0, 81.0]


@pytest.mark.parametrize("n, expected", [
    (1, 1.0),                       # int(0.25) = 0 values cut at each end
    (2, (1 + 4) / 2),               # int(0.5) = 0: the IQM of 2 is their mean
    (3, (1 + 4 + 9) / 3),           # int(0.75) = 0: the IQM of 3 is their mean
    (4, (4 + 9) / 2),               # int(1.0) = 1 cut at each end
    (5, (4 + 9 + 16) / 3),          # int(1.25) = 1
    (7, (4 + 9 + 16 + 25 + 36) / 5),  # int(1.75) = 1
    (8, (9 + 16 + 25 + 36) / 4),    # int(2.0) = 2
    (9, (9 + 16 + 25 + 36 + 49) / 5),  # int(2.25) = 2
])
def test_iqm_cuts_a_quarter_rounded_down_at_each_end_like_scipy_trim_mean(n, expected):
    ascending = SQUARES[:n]
    scores = [ascending[-1 - i // 2] if i % 2 == 0 else ascending[i // 2] for i in range(n)]  # 16, 1, 9, 4 for n = 4
    assert iqm(scores) == pytest.approx(expected, rel=1e-15)
    # along an axis, each row for itself
    rows = np.array([scores, [10 * s for s in scores]])
    np.testing.assert_allclose(iqm(rows, axis=-1), [expected, 10 * expected], rtol=1e-15)
    np.testing.assert_allclose(iqm(rows.T, axis=0), [expected, 10 * expected], rtol=1e-15)


def test_a_run_is_scored_by_its_final_evaluation_the_mean_of_its_last_k_and_its_best():
    returns = [-900.0, -300.0, -500.0, -200.0, -400.0, -250.0, -350.0]
    assert run_scores(returns, 5) == {"final_eval_return": -350.0, "last5_mean_eval_return": (-500 - 200 - 400 - 250 - 350) / 5,
                                      "best_eval_return": -200.0}
    assert run_scores(returns, 1)["last1_mean_eval_return"] == -350.0
    assert run_scores([-900.0, -300.0], 5)["last5_mean_eval_return"] == -600.0  # fewer than k: all of them
    assert run_scores([], 5) == {"final_eval_return": None, "last5_mean_eval_return": None, "best_eval_return": None}
    assert run_scores([2251.3377777], 3)["last3_mean_eval_return"] == 2251.34  # 6 significant digits


@pytest.mark.parametrize("statistic", [mean, iqm])
def test_two_or_three_seeds_give_the_range_of_the_seeds_as_interval(statistic):
    """A resample of n runs is all copies of the lowest with probability n^-n (1/4, 1/27), more than 2.5%: the
    interval's ends are the lowest and the highest run, exactly."""
    assert bootstrap_interval([-1528.0, 2002.0], statistic) == (-1528.0, 2002.0)
    assert bootstrap_interval([7.0, -3.0, 2.0], statistic) == (-3.0, 7.0)


def test_four_seeds_give_the_quantiles_of_the_binomial_resampling_distribution():
    """Scores (0, 0, 0, 1): a resample holds k ~ Binomial(4, 1/4) ones, P(k <= 2) = 0.949 and P(k <= 3) = 0.996.
    The mean k/4 then has its 97.5% quantile at 3/4; the IQM (the middle two of four sorted values: 0 for k <= 1,
    1/2 for k = 2, 1 for k >= 3) at 1. Both have P(0) > 2.5%, so both intervals start at 0."""
    assert bootstrap_interval([0.0, 1.0, 0.0, 0.0], mean) == (0.0, 0.75)
    assert bootstrap_interval([0.0, 1.0, 0.0, 0.0], iqm) == (0.0, 1.0)


def test_one_seed_has_no_interval_and_the_table_says_so():
    assert bootstrap_interval([-350.0], mean) is None
    row = SettingSummary("td3=True", "last5_mean_eval_return", (-350.0,)).row()
    assert row == {"setting": "td3=True", "score": "last5_mean_eval_return", "seeds": 1, "mean": -350.0,
                   "mean_ci_low": None, "mean_ci_high": None, "iqm": -350.0, "iqm_ci_low": None, "iqm_ci_high": None}
    table = settings_table([row])
    assert table.splitlines()[1].split() == ["td3=True", "last5_mean_eval_return", "1", "-350.0", "none", "(1", "seed)",
                                             "-350.0", "none", "(1", "seed)"]
    assert "note" not in table


def test_the_intervals_are_the_same_every_time_and_change_with_the_bootstrap_seed():
    """Ten distinct scores and 100 resamples: the quantiles fall between resamples that differ from draw to draw."""
    scores = [3015.0, 3109.0, 2408.0, 1828.0, 2590.0, 1047.0, 2251.0, 2002.0, 1966.0, 2777.0]
    first = bootstrap_interval(scores, iqm, resamples=100)
    assert bootstrap_interval(scores, iqm, resamples=100) == first
    assert bootstrap_interval(scores, iqm, resamples=100, seed=1) != first


def test_settings_gather_their_seeds_scores_in_order_and_skip_runs_without_an_evaluation():
    runs = [("td3=False", run_scores([-200.0, -100.0], 5)), ("td3=True", run_scores([-50.0], 5)),
            ("td3=False", run_scores([-300.0], 5)), ("td3=False", run_scores([], 5))]
    summaries = setting_summaries(runs, 5)
    assert [(s.setting, s.score, s.scores) for s in summaries] == [
        ("td3=False", "final_eval_return", (-100.0, -300.0)), ("td3=False", "last5_mean_eval_return", (-150.0, -300.0)),
        ("td3=True", "final_eval_return", (-50.0,)), ("td3=True", "last5_mean_eval_return", (-50.0,))]
    row = summaries[1].row()
    assert (row["seeds"], row["mean"], row["mean_ci_low"], row["mean_ci_high"]) == (2, -225.0, -300.0, -150.0)
    table = settings_table([s.row() for s in summaries])
    assert "[-300.0, -150.0]" in table and "only about 50% or 75% of the time" in table


# --- coverage: how often the 95% interval holds the true value, on synthetic samples -------------------------
def coverage(samples, statistic, truth):
    """The fraction of rows whose bootstrap interval holds truth (2,000 resamples each, to keep it fast)."""
    low, high = bootstrap_interval(samples, statistic, resamples=2000, seed=7)
    return np.mean((low <= truth) & (truth <= high))


def test_with_20_seeds_the_interval_of_the_mean_holds_the_true_mean_about_95_percent_of_the_time():
    """Normal(3, 2) samples of 20, 1,000 of them. The percentile interval of the mean is about the z-interval with
    the standard deviation's n-1 replaced by n, against the t distribution: it holds the mean ~93% of the time
    (a 90% interval would hold it ~87%)."""
    samples = np.random.default_rng(123).normal(3.0, 2.0, size=(1000, 20))
    assert 0.91 <= coverage(samples, mean, 3.0) <= 0.97


def test_with_20_seeds_the_interval_of_the_iqm_holds_the_true_iqm_about_95_percent_of_the_time():
    """Exponential(1) samples, skewed like returns with a few failed seeds. The true IQM is the mean between the
    quartiles ln(4/3) and ln 4: 2 * integral of x e^-x over them = 2 * [(1 + ln(4/3)) 3/4 - (1 + ln 4) / 4]."""
    true_iqm = 2 * ((1 + math.log(4 / 3)) * 0.75 - (1 + math.log(4)) * 0.25)
    samples = np.random.default_rng(123).exponential(size=(1000, 20))
    assert 0.92 <= coverage(samples, iqm, true_iqm) <= 0.97


@pytest.mark.parametrize("seeds, expected", [(2, 0.5), (3, 0.75)])
def test_with_2_or_3_seeds_the_interval_holds_the_true_value_only_half_or_three_quarters_of_the_time(seeds, expected):
    """The interval is then the range of the seeds (above), which holds the median of a symmetric distribution
    unless all seeds fall on one side of it: 1 - 2 * 2^-n."""
    samples = np.random.default_rng(123).normal(3.0, 2.0, size=(2000, seeds))
    assert coverage(samples, mean, 3.0) == pytest.approx(expected, abs=0.03)


def test_the_plot_band_is_the_iqm_of_the_runs_and_its_interval_at_the_steps_all_of_them_reached():
    curves = [(np.array([100, 200, 300]), np.array([-900.0, -500.0, -200.0])),
              (np.array([100, 200]), np.array([-700.0, -300.0])),
              (np.array([100, 200, 300]), np.array([-800.0, -100.0, -150.0]))]
    steps, center, low, high = iqm_and_interval(curves)
    np.testing.assert_array_equal(steps, [100, 200])
    np.testing.assert_allclose(center, [-800.0, -300.0])  # three runs: the IQM is the mean
    np.testing.assert_array_equal(low, [-900.0, -500.0])  # and the interval their range
    np.testing.assert_array_equal(high, [-700.0, -100.0])
    assert iqm_and_interval(curves[:1])[2:] == (None, None)  # one run: no band


# --- five or more seeds, where the IQM is not the mean; scores of exactly 0; the best outside the window ------
def test_the_best_evaluation_outside_the_last_k_window_is_still_the_best_and_zero_is_a_score():
    scores = run_scores([500.0, -100.0, -200.0, -300.0], 3)  # the best came first, before the window
    assert scores == {"final_eval_return": -300.0, "last3_mean_eval_return": -200.0, "best_eval_return": 500.0}
    assert run_scores([-5.0, 0.0, 0.0], 2) == {"final_eval_return": 0.0, "last2_mean_eval_return": 0.0,
                                               "best_eval_return": 0.0}


def test_five_seeds_give_an_iqm_apart_from_the_mean_and_the_quantiles_of_the_binomial_resampling_distribution():
    """Scores (0, 0, 1, 0, 0): the mean is 1/5, the IQM (the middle three of five) 0. A resample holds k ~
    Binomial(5, 1/5) ones, P(k = 0) = 0.328, P(k <= 2) = 0.942, P(k <= 3) = 0.993: the mean's interval is
    [0, 3/5]; the IQM's middle three hold k - 1 ones for k = 2 to 4, so its interval is [0, 2/3]."""
    scores = (0.0, 0.0, 1.0, 0.0, 0.0)
    assert bootstrap_interval(scores, mean) == (0.0, 0.6)
    assert bootstrap_interval(scores, iqm) == (0.0, pytest.approx(2 / 3, rel=1e-15))
    row = SettingSummary("batch_size=64", "final_eval_return", scores).row()
    assert row == {"setting": "batch_size=64", "score": "final_eval_return", "seeds": 5, "mean": 0.2, "mean_ci_low": 0.0,
                   "mean_ci_high": 0.6, "iqm": 0.0, "iqm_ci_low": 0.0, "iqm_ci_high": 0.666667}
    cells = settings_table([row]).splitlines()[1].split()
    assert cells == ["batch_size=64", "final_eval_return", "5", "0.2", "[0.0,", "0.6]", "0.0", "[0.0,", "0.7]"]


def test_settings_of_five_and_six_seeds_keep_their_zero_scores_and_trim_one_seed_at_each_end():
    finals = {0: [0.0], 1: [500.0, -100.0, -200.0, -300.0], 2: [-50.0, -40.0, -30.0, -20.0],
              3: [-1000.0, -900.0, -800.0, -700.0], 4: [100.0, 200.0, 300.0, 400.0], 5: [0.0, 0.0]}
    runs = [("a", run_scores(finals[seed], 3)) for seed in range(5)] + [
        ("b", run_scores(finals[seed], 3)) for seed in range(6)]
    rows = {(s.setting, s.score): s.row() for s in setting_summaries(runs, 3)}
    # a: finals 0, -300, -20, -700, 400 and last-3 means 0, -200, -30, -800, 300 (seed 1's best, 500, is older)
    assert [rows["a", "final_eval_return"][key] for key in ("seeds", "mean", "iqm")] == [5, -124.0, -106.667]
    assert [rows["a", "last3_mean_eval_return"][key] for key in ("seeds", "mean", "iqm")] == [5, -146.0, -76.6667]
    # b adds seed 5 (0 twice): six seeds, still one trimmed at each end (int(6 / 4) = 1)
    assert [rows["b", "final_eval_return"][key] for key in ("seeds", "mean", "iqm")] == [6, -103.333, -80.0]
    for row in rows.values():  # the intervals lie within the seeds' range and hold their statistic
        for name in ("mean", "iqm"):
            assert -800.0 <= row[f"{name}_ci_low"] <= row[name] <= row[f"{name}_ci_high"] <= 400.0
