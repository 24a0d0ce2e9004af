"""Group advantages (methods.md §6): GRPO, Dr. GRPO, RLOO, per-question reward-to-go."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reasoning_economics.rewards import RewardInputError  # where docs/rewards.md says it is
from reasoning_economics.rewards import brpo_advantages, grpo_advantages, reward_to_go_advantages, rloo
from reasoning_economics.rewards import advantages as advantages_module

approx = pytest.approx
_rewards = st.lists(st.floats(-10, 10, allow_nan=False), min_size=1, max_size=16)


def test_grpo_by_hand():
    # [1, 0, 0, 1]: mean .5, sample std (ddof=1) = sqrt(4*.25/3) = 0.5773503
    # A = +-.5 / (0.5773503 + 1e-4) = +-0.8658754
    assert grpo_advantages([1, 0, 0, 1]) == approx([0.8658754, -0.8658754, -0.8658754, 0.8658754], abs=1e-6)
    # Dr. GRPO: no std -> +-.5
    assert grpo_advantages([1, 0, 0, 1], scale_by_std=False) == approx([0.5, -0.5, -0.5, 0.5])
    # [3, 1]: mean 2, std sqrt(2) -> 1/(1.4142136 + 0.5) with eps .5 = 0.5224077
    assert grpo_advantages([3, 1], eps=0.5) == approx([0.5224077, -0.5224077], abs=1e-6)


def test_grpo_edge_groups():
    assert grpo_advantages([]) == []
    assert grpo_advantages([0.7]) == [0.0]  # a group of one has nothing to compare with
    assert grpo_advantages([1, 1, 1]) == [0.0, 0.0, 0.0]  # all equal: std 0, advantage 0


def test_rloo_by_hand():
    # A_0 = 1 - (0+0+1)/3 = 2/3; A_1 = 0 - (1+0+1)/3 = -2/3
    assert rloo([1, 0, 0, 1]) == approx([2 / 3, -2 / 3, -2 / 3, 2 / 3])
    # [0.9, 0.5, 0.1]: .9 - .3 = .6; .5 - .5 = 0; .1 - .7 = -.6
    assert rloo([0.9, 0.5, 0.1]) == approx([0.6, 0.0, -0.6])
    assert rloo([5.0]) == [0.0]
    assert rloo([]) == []


@given(_rewards)
def test_rloo_sums_to_zero(rewards):
    assert sum(rloo(rewards)) == approx(0.0, abs=1e-9)


@given(_rewards.filter(lambda r: len(r) > 1))
def test_rloo_is_a_scaled_dr_grpo(rewards):
    # r_i - (sum - r_i)/(G-1) = G/(G-1) * (r_i - mean)
    g = len(rewards)
    scaled = [g / (g - 1) * a for a in grpo_advantages(rewards, scale_by_std=False)]
    assert rloo(rewards) == approx(scaled, abs=1e-9)


@given(_rewards)
def test_group_relative_advantages_are_centred(rewards):
    assert sum(grpo_advantages(rewards, scale_by_std=False)) == approx(0.0, abs=1e-9)
    assert sum(grpo_advantages(rewards)) == approx(0.0, abs=1e-6)


def test_brpo_is_re_exported_here():
    assert advantages_module.brpo_advantages is brpo_advantages


def test_reward_to_go_by_hand():
    # episode 0 rewards [1, 0] -> G = [1, 0]; episode 1 [0, 1] -> G = [1, 1]
    # baseline [1, .5] -> A_0 = [0, -.5], A_1 = [0, .5]
    assert reward_to_go_advantages([[1, 0], [0, 1]]) == [approx([0.0, -0.5]), approx([0.0, 0.5])]


def test_reward_to_go_with_an_episode_that_ended_early():
    # episode 0 rewards [1, 2, 3] -> G = [6, 5, 3]; episode 1 ended after one step: [1] -> G = [1, 0, 0]
    # baseline per step [3.5, 2.5, 1.5] -> A_0 = [2.5, 2.5, 1.5]; A_1 = [1 - 3.5] = [-2.5]
    assert reward_to_go_advantages([[1, 2, 3], [1]]) == [approx([2.5, 2.5, 1.5]), approx([-2.5])]
    assert reward_to_go_advantages([[1.0], []]) == [approx([0.5]), []]
    assert reward_to_go_advantages([]) == []


_episodes = st.integers(1, 6).flatmap(
    lambda k: st.lists(st.lists(st.floats(-2, 2), min_size=k, max_size=k), min_size=1, max_size=8)
)


@given(_episodes)
def test_reward_to_go_is_centred_per_step_for_equal_lengths(episodes):
    advantages = reward_to_go_advantages(episodes)
    for k in range(len(episodes[0])):
        assert sum(row[k] for row in advantages) == approx(0.0, abs=1e-9)


@pytest.mark.parametrize(
    "call",
    [
        lambda: grpo_advantages([1, "x"]),
        lambda: grpo_advantages([1, float("nan")]),
        lambda: grpo_advantages([1, 2], eps=-1),
        lambda: rloo([float("inf"), 1]),
        lambda: reward_to_go_advantages([[1, None]]),
    ],
)
def test_bad_input_raises_value_error(call):
    with pytest.raises(RewardInputError):
        call()


def test_numbers_whose_squares_overflow_are_refused_not_turned_into_zeros_or_nan():
    # [1e300, 1.0] gave advantages [0.0, -0.0] (the std overflowed to inf), [1e308, 1e308, 0] NaN,
    # and rloo an OverflowError from fsum.
    for function in (grpo_advantages, rloo):
        with pytest.raises(RewardInputError, match=r"rewards\[0\] must be at most 1e\+150 in magnitude"):
            function([1e300, 1.0])
    with pytest.raises(RewardInputError, match=r"step_rewards\[1\]\[0\] must be at most 1e\+150"):
        reward_to_go_advantages([[1.0], [-1e308]])
    # At the bound the statistics stay finite and right. By hand: deviations 1/3, 1/3, -2/3 of
    # 1e150, sample std 3**-0.5 of it (eps is nothing at this scale).
    assert grpo_advantages([1e150, 1e150, 0.0]) == pytest.approx([3**-0.5, 3**-0.5, -2 * 3**-0.5])
    assert rloo([1e150, -1e150]) == [2e150, -2e150]


@pytest.mark.parametrize("rewards", [None, 3.0, "0.5", b"\x01"])
def test_rewards_that_are_not_a_sequence_are_a_reward_input_error(rewards):
    # None was "'NoneType' object is not iterable"; a string was read character by character.
    with pytest.raises(RewardInputError, match="rewards must be a sequence of numbers, got"):
        grpo_advantages(rewards)


@pytest.mark.parametrize(
    "call",
    [
        lambda: grpo_advantages([10**400]),
        lambda: rloo([1, -(10**400)]),
        lambda: reward_to_go_advantages([[1], [10**400]]),
    ],
)
def test_ints_past_float_range_are_refused_by_magnitude_not_an_overflow_error(call):
    # math.isfinite ran before the magnitude check and raised a raw OverflowError.
    with pytest.raises(RewardInputError, match=r"must be at most 1e\+150 in magnitude.*got a huge int"):
        call()


def test_numpy_inputs_are_read_or_refused_by_name():
    import numpy as np

    # A 0-d array raised "iteration over a 0-d array"; a 1-D array still works.
    with pytest.raises(RewardInputError, match="rewards must be a sequence of numbers, got ndarray"):
        grpo_advantages(np.array(1.0))
    assert grpo_advantages(np.array([3.0, 1.0]), scale_by_std=False) == [1.0, -1.0]
    # A 2-D array raised numpy's ambiguous truth value error. By hand (prior 0.5, 0.5):
    # R = [0.5, 0.5] and [1.0, 0.5]; A_0 = R_0 - 0.75 = -0.25, 0.25; V1_1 = rbar_0 * 0.5 = 0, 0.5;
    # B_1 = (V1_1 + 0.5) / 2 = 0.25, 0.5; A_1 = 0.25, 0.0.
    assert brpo_advantages(np.array([[0, 1.0], [1, 1]]), [0.5, 0.5]) == [[-0.25, 0.25], [0.25, 0.0]]
    # A dict's keys were read as rewards.
    with pytest.raises(RewardInputError, match="step_rewards must be a sequence"):
        reward_to_go_advantages({0: [1.0]})
