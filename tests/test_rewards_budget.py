"""The shared-budget step reward and episode bonus (methods.md §1), worked out by hand."""

from __future__ import annotations

import doctest

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
