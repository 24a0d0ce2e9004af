"""Evaluation metrics against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from reasoning_economics.errors import ConfigError
from reasoning_economics.evaluation import metrics


def test_wilson_interval_matches_the_formula_worked_by_hand():
    # 8/10, z = 1.96: centre (0.8 + 0.19207)/1.38415 = 0.71674, half 0.31362/1.38415 = 0.22658
    p = metrics.wilson_interval(8, 10)
    assert p.value == 0.8
    assert p.low == pytest.approx(0.49016, abs=1e-5)
    assert p.high == pytest.approx(0.94332, abs=1e-5)
    # 0/5: [0, z²/(n + z²)] = [0, 3.84146/8.84146]
    zero = metrics.wilson_interval(0, 5)
    assert (zero.low, zero.high) == (0.0, pytest.approx(3.841459 / 8.841459, abs=1e-6))
    # 5/5: [n/(n + z²), 1]
    full = metrics.wilson_interval(5, 5)
    assert (full.low, full.high) == (pytest.approx(5 / 8.841459, abs=1e-6), 1.0)
    assert metrics.wilson_interval(0, 0).to_dict() == {"successes": 0, "total": 0, "value": 0.0, "low": 0.0, "high": 1.0}


@pytest.mark.parametrize("args", [(3, 2), (-1, 2), (1.5, 2), (True, 2)])
def test_wilson_interval_rejects_impossible_counts(args):
    with pytest.raises(ConfigError):
        metrics.wilson_interval(*args)


def test_rate_counts_true_flags():
    assert metrics.rate([True, False, True, True]).value == 0.75
    assert metrics.rate([]).total == 0


def test_unbiased_pass_at_k_by_hand():
    # n=5, c=2: pass@1 = 2/5; pass@2 = 1 - C(3,2)/C(5,2) = 1 - 3/10
    assert metrics.pass_at_k(5, 2, 1) == pytest.approx(0.4)
    assert metrics.pass_at_k(5, 2, 2) == pytest.approx(0.7)
    # pass@3 = 1 - C(3,3)/C(5,3) = 1 - 1/10
    assert metrics.pass_at_k(5, 2, 3) == pytest.approx(0.9)
    assert metrics.pass_at_k(4, 0, 2) == 0.0
    assert metrics.pass_at_k(4, 3, 2) == 1.0  # only one wrong sample: any two include a right one
    assert metrics.mean_pass_at_k([(5, 2), (4, 0)], 1) == pytest.approx(0.2)
    # large n stays finite: C(1000, 500) would overflow a float
    assert metrics.pass_at_k(1000, 1, 1) == pytest.approx(0.001)


@pytest.mark.parametrize("args", [(5, 6, 1), (5, 2, 0), (5, 2, 6), (-1, 0, 1)])
def test_pass_at_k_rejects_undefined_inputs(args):
    with pytest.raises(ConfigError):
        metrics.pass_at_k(*args)


def test_token_stats_mean_median_and_nearest_rank_p90():
    stats = metrics.token_stats([30, 10, 100, 40, 20])
    assert stats == {"count": 5, "mean": 40.0, "median": 30.0, "p90": 100.0, "min": 10.0, "max": 100.0}
    assert metrics.token_stats([1, 2, 3, 4])["median"] == 2.5
    # No answers: no statistic (a 0 would read as answers that cost nothing)
    assert metrics.token_stats([]) == {"count": 0, "mean": None, "median": None, "p90": None, "min": None, "max": None}


def test_ranks_share_ties_and_spearman_by_hand():
    assert metrics.ranks([10, 20, 20, 30]) == [1.0, 2.5, 2.5, 4.0]
    # ranks x = [1, 2.5, 2.5, 4], y = [1, 3, 2, 4]; deviations from 2.5:
    # sxy = 2.25 + 0 + 0 + 2.25 = 4.5, sxx = 4.5, syy = 5  ->  4.5 / sqrt(22.5) = 3 / sqrt(10)
    assert metrics.spearman_rho([10, 20, 20, 30], [0.1, 0.5, 0.3, 0.9]) == pytest.approx(3 / math.sqrt(10))
    assert metrics.spearman_rho([1, 2, 3], [10, 40, 90]) == pytest.approx(1.0)
    assert metrics.spearman_rho([1, 2, 3], [0.9, 0.5, 0.1]) == pytest.approx(-1.0)
    assert metrics.spearman_rho([5, 5, 5], [1, 2, 3]) is None
    assert metrics.spearman_rho([1], [1]) is None
    with pytest.raises(ConfigError):
        metrics.spearman_rho([1, 2], [1])


NAN = float("nan")


@pytest.mark.parametrize(
    "call",
    [
        lambda: metrics.spearman_rho([1, NAN, 3], [1, 2, 3]),  # a NaN ranked anywhere: rho 1.0
        lambda: metrics.spearman_rho([1, 2, 3], [1, 2, float("inf")]),
        lambda: metrics.spearman_rho(["a", "b"], [1, 2]),
        lambda: metrics.token_stats([1, NAN, 3]),  # mean and median NaN
        lambda: metrics.token_stats([1, -5, 3]),
        lambda: metrics.token_stats([True, 2]),
        lambda: metrics.accuracy_per_1k_tokens(3, NAN),
        lambda: metrics.accuracy_per_1k_tokens(NAN, 100),
        lambda: metrics.accuracy_by_length_bins([10, NAN], [True, False]),
        lambda: metrics.accuracy_by_length_bins([10, -1], [True, False]),
    ],
)
def test_metrics_refuse_nan_and_negative_counts(call):
    with pytest.raises(ConfigError):
        call()


def test_accuracy_per_1k_tokens_and_per_1k():
    assert metrics.accuracy_per_1k_tokens(3, 1500) == pytest.approx(2.0)
    assert metrics.accuracy_per_1k_tokens(3, 0) is None
    assert metrics.per_1k(4, 2000) == pytest.approx(2.0)
    assert metrics.per_1k(4, 0) is None


def test_compare_to_baseline_reports_reduction_and_points():
    # 1000 -> 700 tokens is 30% fewer; 0.80 -> 0.78 is -2 points
    result = metrics.compare_to_baseline(0.78, 700, 0.80, 1000)
    assert result["token_reduction_pct"] == pytest.approx(30.0)
    assert result["accuracy_change_points"] == pytest.approx(-2.0)
    assert metrics.compare_to_baseline(0.5, 10, 0.5, 0)["token_reduction_pct"] is None
    # a baseline (or run) without answers has no accuracy or tokens: nothing is compared
    assert metrics.compare_to_baseline(0.75, 120.0, None, None) == {
        "token_reduction_pct": None, "accuracy_change_points": None
    }
    assert metrics.compare_to_baseline(None, None, 0.8, 100.0) == {
        "token_reduction_pct": None, "accuracy_change_points": None
    }


def test_accuracy_by_length_bins_by_hand():
    bins = metrics.accuracy_by_length_bins([60, 10, 30, 20, 50, 40], [0, 1, 0, 1, 0, 1], num_bins=3)
    assert [(b["low"], b["high"], b["count"], b["accuracy"]) for b in bins] == [
        (10.0, 20.0, 2, 1.0),
        (30.0, 40.0, 2, 0.5),
        (50.0, 60.0, 2, 0.0),
    ]
    # equal lengths never straddle two bins
    tied = metrics.accuracy_by_length_bins([5, 5, 5, 9], [1, 0, 1, 1], num_bins=2)
    assert [(b["low"], b["count"]) for b in tied] == [(5.0, 3), (9.0, 1)]


@pytest.mark.parametrize(
    ("count", "sizes"),
    [(6, [2, 1, 1, 1, 1]), (8, [2, 2, 2, 1, 1]), (13, [3, 3, 3, 2, 2]), (10, [2, 2, 2, 2, 2]), (3, [1, 1, 1])],
)
def test_length_bins_have_equal_counts_the_first_ones_one_larger(count, sizes):
    # The first count % 5 bins take one sample more; filling each bin up to count / 5 rounded up
    # gave 2, 2, 2 for six samples and 3, 3, 3, 3, 1 for thirteen.
    bins = metrics.accuracy_by_length_bins(list(range(count, 0, -1)), [True] * count, num_bins=5)
    assert [b["count"] for b in bins] == sizes
    assert bins[0]["low"] == 1.0 and bins[-1]["high"] == float(count)


def test_a_tie_across_a_bin_end_shrinks_the_next_bins():
    # Planned ends after 2, 4 and 6 of six samples; the tie of 3s carries the first bin to 4, which
    # covers the second bin's end: the next bin runs to the third end.
    bins = metrics.accuracy_by_length_bins([1, 3, 3, 3, 5, 6], [1, 1, 1, 1, 0, 0], num_bins=3)
    assert [(b["low"], b["high"], b["count"]) for b in bins] == [(1.0, 3.0, 4), (5.0, 6.0, 2)]


def test_pareto_frontier_keeps_undominated_runs_in_token_order():
    points = {"long": (200, 0.8), "short": (100, 0.5), "bad": (150, 0.4), "twin": (100, 0.5), "best": (90, 0.7)}
    # "best" is cheaper and more accurate than short/twin/bad; "long" is more accurate than best
    assert metrics.pareto_frontier(points) == ["best", "long"]
    assert metrics.pareto_frontier({"a": (1, 0.5), "b": (1, 0.5)}) == ["a", "b"]


def test_anytime_metrics_are_the_reward_library_functions():
    from reasoning_economics.rewards import anytime

    assert metrics.anytime_score is anytime.anytime_score
    assert metrics.overthinking_count is anytime.overthinking_count
    # right at budget 0, wrong at budget 1: overthinking
    assert metrics.overthinking_count([[True, False, True], [False, True, True]]) == 1
    assert metrics.anytime_score([0.2, 0.4, 0.6]) == pytest.approx(0.4)
