"""Malformed inputs to the credit-assignment helpers are typed errors, not bare crashes.

``EnvGRPOTrainer`` feeds them a rollout_func's fields, which a user's own rollout may get wrong.
"""

from __future__ import annotations

import math

import pytest

from reasoning_economics.errors import ConfigError, RewardInputError
from reasoning_economics.training import credit


@pytest.mark.parametrize("rewards", [[1.0, "0.5"], [1.0, None], [1.0, True], "10", None])
def test_rloo_by_group_refuses_rewards_that_are_not_numbers(rewards):
    # A str or None raised a bare TypeError from math.isnan.
    with pytest.raises(RewardInputError, match="rewards"):
        credit.rloo_by_group(rewards, 2)


def test_rloo_by_group_still_leaves_a_nan_reward_out():
    # [3, nan, 1]: the NaN sample gets 0 and is no sibling: 3 - 1 = 2, 1 - 3 = -2.
    assert credit.rloo_by_group([3.0, math.nan, 1.0], 3) == [2.0, 0.0, -2.0]


@pytest.mark.parametrize("group_size", [2.0, "2", None, True])
def test_group_size_must_be_an_int(group_size):
    # 2.0 and "2" raised a bare TypeError; True was taken as groups of one, every advantage 0.
    for estimate in (
        lambda: credit.rloo_by_group([1.0, 0.0], group_size),
        lambda: credit.reward_to_go_by_group([[1.0], [0.0]], group_size),
        lambda: credit.brpo_by_group([[1.0], [0.0]], [1.0], group_size),
    ):
        with pytest.raises(ConfigError, match="do not split into groups of"):
            estimate()


def test_reward_to_go_and_brpo_refuse_a_missing_batch():
    with pytest.raises(RewardInputError, match="step_rewards must be a sequence"):
        credit.reward_to_go_by_group(None, 2)
    with pytest.raises(RewardInputError, match="budget_scores must be a sequence"):
        credit.brpo_by_group(None, [1.0], 2)


@pytest.mark.parametrize(
    "spans, named",
    [
        ([[0, 1.5]], r"spans\[0\] must be \[start, end\) as two ints, got \[0, 1.5\]"),
        ([[0, 1, 2]], r"spans\[0\] must be \[start, end\) as two ints"),
        ([None], r"spans\[0\] must be a sequence of two ints"),
    ],
)
def test_token_advantages_refuse_malformed_spans(spans, named):
    with pytest.raises(ConfigError, match=named):
        credit.token_advantages([1.0], spans, 3)


def test_token_advantages_refuse_a_value_that_is_not_a_number():
    with pytest.raises(ConfigError, match=r"values\[0\] must be a finite number"):
        credit.token_advantages(["x"], [[0, 1]], 3)
    # A valid call is unchanged: 1.0 on positions 0-1, 0 on the rest.
    assert credit.token_advantages([1.0], [(0, 2)], 3) == [1.0, 1.0, 0.0]


@pytest.mark.parametrize("weight", [math.nan, math.inf, "0.5", None, True])
def test_step_shaping_refuses_a_reflection_weight_that_is_not_a_finite_number(weight):
    # NaN and inf passed the "< 0" check and made every episode return NaN or inf (no error, no
    # learning); a str or None raised a bare TypeError.
    from reasoning_economics.training.rollout import StepShaping

    with pytest.raises(ConfigError, match="reflection_weight must be a finite number"):
        StepShaping(reflection_weight=weight)
    with pytest.raises(ConfigError, match="reflection_weight must be >= 0"):
        StepShaping(reflection_weight=-1.0)
    # Step rewards [1, -0.1] with reflection rewards [0.5, 0]: weight 2 adds 1.0 to the first only.
    assert StepShaping(reflection_weight=2).shape([1.0, -0.1], [0.5, 0.0]) == [2.0, -0.1]
