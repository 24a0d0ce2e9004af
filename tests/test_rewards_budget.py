"""The shared-budget step reward and episode bonus (methods.md §1), worked out by hand."""

from __future__ import annotations

import doctest

import numpy

import pytest

from reasoning_economics.errors import RewardInputError
from reasoning_economics.rewards import budget
from reasoning_economics.rewards.budget import StepReward, episode_bonus, fair_share, step_reward


def test_correct_under_the_fair_share_earns_the_efficiency_bonus():
    # fair = 1000/10 = 100; ratio 0.5: 1 + 0.1 * 0.5
    parts = step_reward(correct=True, tokens_used=50, total_budget=1000, num_questions=10)
    assert parts == StepReward(correctness=1.0, efficiency_bonus=pytest.approx(0.05), cost_penalty=0.0,
                               overspend_penalty=0.0)  # fmt: skip
    assert parts.total == pytest.approx(1.05)


def test_wrong_and_over_the_fair_share_pays_the_cost_penalty():
    # ratio 250/100 = 2.5: -0.1 - 0.05 * 1.5 = -0.175
    parts = step_reward(correct=False, tokens_used=250, total_budget=1000, num_questions=10)
    assert (parts.correctness, parts.efficiency_bonus) == (-0.1, 0.0)
    assert parts.cost_penalty == pytest.approx(0.075) and parts.total == pytest.approx(-0.175)


def test_correct_but_over_the_fair_share_has_a_negative_efficiency_term():
    # ratio 2: 1 + 0.1 * (1 - 2) - 0.05 * (2 - 1) = 0.85
    assert step_reward(correct=True, tokens_used=200, total_budget=1000, num_questions=10).total == pytest.approx(0.85)


def test_overspend_penalty_applies_only_in_soft_mode():
    # 40 tokens beyond the budget, fair 100: 0.25 * 40/100 = 0.1
    soft = step_reward(correct=True, tokens_used=100, total_budget=1000, num_questions=10,
                       overspend_tokens=40, soft_mode=True)  # fmt: skip
    hard = step_reward(correct=True, tokens_used=100, total_budget=1000, num_questions=10, overspend_tokens=40)
    assert soft.overspend_penalty == pytest.approx(0.1) and soft.total == pytest.approx(0.9)
    assert hard.overspend_penalty == 0.0 and hard.total == pytest.approx(1.0)


def test_step_reward_parts_are_immutable():
    parts = step_reward(correct=True, tokens_used=10, total_budget=100, num_questions=1)
    with pytest.raises(AttributeError):
        parts.correctness = 2.0  # type: ignore[misc]


def test_episode_bonus_peaks_at_the_target_utilization():
    # 0.5 * 0.8 * max(0, 1 - |0.9 - 0.9|) = 0.4; at 0.5 use: 0.5 * 0.8 * 0.6 = 0.24
    assert episode_bonus(accuracy=0.8, spent=900, total_budget=1000) == pytest.approx(0.4)
    assert episode_bonus(accuracy=0.8, spent=500, total_budget=1000) == pytest.approx(0.24)
    assert episode_bonus(accuracy=1.0, spent=0, total_budget=1000, target_utilization=0.0) == pytest.approx(0.5)


@pytest.mark.parametrize(
    "call",
    [
        lambda: fair_share(100, 0),
        lambda: fair_share(0, 10),
        lambda: step_reward(correct=True, tokens_used=-1, total_budget=100, num_questions=1),
        lambda: episode_bonus(accuracy=1.5, spent=1, total_budget=10),
        lambda: episode_bonus(accuracy=0.5, spent=1, total_budget=0),
        # NaN spent or budget once came back as a bonus of 0.
        lambda: episode_bonus(accuracy=1.0, spent=float("nan"), total_budget=1000),
        lambda: episode_bonus(accuracy=1.0, spent=900, total_budget=float("nan")),
        lambda: episode_bonus(accuracy=1.0, spent=-100, total_budget=1000),
        # NaN once came back as a NaN efficiency bonus.
        lambda: step_reward(correct=True, tokens_used=float("nan"), total_budget=100, num_questions=1),
        lambda: step_reward(correct=True, tokens_used=float("inf"), total_budget=100, num_questions=1),
        lambda: step_reward(correct=True, tokens_used=1, overspend_tokens=float("nan"), total_budget=100, num_questions=1),
        lambda: step_reward(correct=True, tokens_used=1, total_budget=float("nan"), num_questions=1),
        # A string was truthy: "no" earned a right answer's 1.05. NaN or negative weights came
        # back as a NaN reward or a bonus for spending (gamma=-1: 1.95 for a fifth of fair).
        lambda: step_reward(correct="no", tokens_used=50, total_budget=1000, num_questions=10),
        lambda: step_reward(correct=2, tokens_used=50, total_budget=1000, num_questions=10),
        lambda: step_reward(correct=None, tokens_used=50, total_budget=1000, num_questions=10),
        lambda: step_reward(correct=True, tokens_used=200, total_budget=1000, num_questions=10, beta=float("nan")),
        lambda: step_reward(correct=True, tokens_used=20, total_budget=1000, num_questions=10, gamma=-1),
        lambda: step_reward(correct=True, tokens_used=20, total_budget=1000, num_questions=10, gamma="0.1"),
        lambda: step_reward(correct=True, tokens_used=20, total_budget=1000, num_questions=10,
                            soft_overspend_penalty=float("inf")),
        lambda: episode_bonus(accuracy=1.0, spent=900, total_budget=1000, target_utilization=float("nan")),
        lambda: episode_bonus(accuracy=1.0, spent=900, total_budget=1000, lambda_ep=float("nan")),
        lambda: episode_bonus(accuracy=1.0, spent=900, total_budget=1000, lambda_ep=-0.5),
    ],
)
def test_impossible_inputs_raise(call):
    with pytest.raises(RewardInputError):  # a ValueError too, as docs/rewards.md states
        call()


def test_zero_one_and_numpy_flags_are_correctness_too():
    import numpy
    right = step_reward(correct=True, tokens_used=50, total_budget=1000, num_questions=10)
    wrong = step_reward(correct=False, tokens_used=50, total_budget=1000, num_questions=10)
    for flag, expected in ((1, right), (0, wrong), (1.0, right), (numpy.bool_(True), right), (numpy.bool_(False), wrong)):
        assert step_reward(correct=flag, tokens_used=50, total_budget=1000, num_questions=10) == expected


def test_docstring_examples_hold():
    from reasoning_economics.env import history, prompt

    for module in (budget, prompt, history):
        failed, attempted = doctest.testmod(module)
        assert attempted > 0 and failed == 0, module.__name__


@pytest.mark.parametrize(
    ("call", "named"),
    [
        # An int past float range raised a raw OverflowError from math.isfinite.
        (lambda: step_reward(correct=True, tokens_used=10**400, total_budget=10, num_questions=1), "tokens_used"),
        (lambda: episode_bonus(accuracy=0.5, spent=10**400, total_budget=10), "spent"),
        # N must be a whole count: True was read as 1, 2.5 as 2.5 questions, NaN gave a NaN
        # bonus and inf a ZeroDivisionError.
        (lambda: step_reward(correct=True, tokens_used=1, total_budget=10, num_questions=True), "num_questions"),
        (lambda: step_reward(correct=True, tokens_used=1, total_budget=10, num_questions=2.5), "num_questions"),
        (lambda: step_reward(correct=True, tokens_used=1, total_budget=10, num_questions=float("nan")), "num_questions"),
        (lambda: step_reward(correct=True, tokens_used=1, total_budget=10, num_questions=float("inf")), "num_questions"),
        (lambda: fair_share(100, 2.5), "num_questions"),
        # Strings were compared with numbers: a raw TypeError.
        (lambda: step_reward(correct=True, tokens_used="1", total_budget=10, num_questions=1), "tokens_used"),
        (lambda: step_reward(correct=True, tokens_used=1, total_budget="10", num_questions=1), "total_budget"),
        (lambda: episode_bonus(accuracy="0.5", spent=1, total_budget=10), "accuracy"),
        # A 1-element array came back as an array bonus; a 2-element one raised numpy's error.
        (lambda: episode_bonus(accuracy=numpy.array([0.5]), spent=8, total_budget=10), "accuracy"),
        (lambda: step_reward(correct=numpy.array([True, False]), tokens_used=1, total_budget=10, num_questions=1), "correct"),
        (lambda: step_reward(correct=True, tokens_used=numpy.array([5.0]), total_budget=10, num_questions=1), "tokens_used"),
        # "False" is a truthy str: it turned the overspend penalty on.
        (lambda: step_reward(correct=True, tokens_used=1, total_budget=10, num_questions=1, soft_mode="False"), "soft_mode"),
        # Magnitudes past 1e150 are refused, as for every reward input (the penalty was 2.5e306).
        (lambda: step_reward(correct=True, tokens_used=1, total_budget=10, num_questions=1, overspend_tokens=1e308,
                             soft_mode=True), "overspend_tokens"),  # fmt: skip
        (lambda: step_reward(correct=True, tokens_used=1, total_budget=10, num_questions=1, beta=1e300), "beta"),
        # In range, yet 1e150 tokens of a 1e-200 budget overflow: that came back as inf.
        (lambda: step_reward(correct=True, tokens_used=1e150, total_budget=1e-200, num_questions=1), "not finite"),
        (lambda: step_reward(correct=False, tokens_used=0, overspend_tokens=1e150, total_budget=1e-200,
                             num_questions=1, soft_mode=True), "not finite"),  # fmt: skip
        # B / N underflows to 0: a ZeroDivisionError.
        (lambda: step_reward(correct=True, tokens_used=1, total_budget=5e-324, num_questions=2), "total_budget"),
    ],
)
def test_bad_numbers_are_a_reward_input_error_naming_the_argument(call, named):
    with pytest.raises(RewardInputError, match=named):
        call()


def test_numpy_numbers_and_large_in_range_inputs_still_give_the_formula():
    # numpy scalars take the named checks and come back as plain floats, same values.
    parts = step_reward(correct=numpy.bool_(True), tokens_used=numpy.int64(50), total_budget=numpy.float64(1000),
                        num_questions=numpy.int64(10))  # fmt: skip
    assert parts == step_reward(correct=True, tokens_used=50, total_budget=1000, num_questions=10)
    assert all(type(part) is float for part in parts)
    # 1e150 tokens of a budget of 1 (fair 1): ratio 1e150; bonus 0.1 * (1 - 1e150) = -1e149,
    # cost 0.05 * (1e150 - 1) = 5e148: large, finite, returned.
    big = step_reward(correct=True, tokens_used=1e150, total_budget=1, num_questions=1)
    assert big.efficiency_bonus == pytest.approx(-1e149) and big.cost_penalty == pytest.approx(5e148)
    # episode bonus: 1e150 tokens of a 1e-200 budget is a utilization of inf: bonus 0, not NaN.
    assert episode_bonus(accuracy=1.0, spent=1e150, total_budget=1e-200) == 0.0
    assert type(episode_bonus(accuracy=numpy.float64(0.5), spent=800, total_budget=1000)) is float


@pytest.mark.parametrize("name", ["tokens_used", "total_budget", "overspend_tokens", "beta", "gamma", "soft_overspend_penalty"])
@pytest.mark.parametrize("flag", [True, False])
def test_a_bool_is_not_a_number_of_tokens_or_a_weight(name, flag):
    # True and False passed the fast path's range comparisons as 1 and 0 (False as total_budget
    # only failed them by being 0), while the named checks refused them.
    given = {"correct": True, "tokens_used": 5, "total_budget": 10, "num_questions": 1, name: flag}
    with pytest.raises(RewardInputError, match=f"{name} must be a finite number, got {flag}"):
        step_reward(**given)
