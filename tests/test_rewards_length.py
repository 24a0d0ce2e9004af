"""Length rewards (methods.md §2-3): values worked out by hand, edge cases, properties, bad input."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reasoning_economics.errors import RewardInputError
from reasoning_economics.rewards import (
    efficiency_reward,
    kimi_length_reward,
    lcpo_exact_reward,
    lcpo_max_reward,
    lcpo_prompt_suffix,
    sample_lcpo_target,
    shorter_better_reward,
)

approx = pytest.approx


# --- efficiency reward (Arora & Zanette) -------------------------------------------------


def test_efficiency_reward_by_hand():
    # correct lengths 100, 200, 300: mean 200, population std sqrt(20000/3) = 81.6497
    # z = -1.224745, 0, +1.224745; sigmoid(-1.224745) = 1/(1 + e^1.224745) = 1/4.403280 = 0.2271038
    # R = 1 - 0.1*0.2271038 = 0.9772896; 1 - 0.1*0.5 = 0.95; 1 - 0.1*0.7728962 = 0.9227104; wrong -> 0
    rewards = efficiency_reward([True, True, False, True], [100, 200, 50, 300], alpha=0.1)
    assert rewards == approx([0.9772896, 0.95, 0.0, 0.9227104], abs=1e-6)


def test_efficiency_reward_truncated_sample_gets_zero_and_leaves_the_statistics():
    # valid correct lengths 100, 300 (the truncated 50 is excluded): mean 200, std 100, z = -1, +1
    # sigmoid(-1) = 0.2689414, sigmoid(1) = 0.7310586 -> 0.9731059, 0.9268941
    rewards = efficiency_reward([1, 1, 1], [100, 300, 50], truncated=[False, False, True])
    assert rewards == approx([0.9731059, 0.9268941, 0.0], abs=1e-6)


def test_efficiency_reward_alpha_two_tenths():
    # same group as above with alpha 0.2: 1 - 0.2*0.2689414 = 0.9462117, 1 - 0.2*0.7310586 = 0.8537883
    assert efficiency_reward([1, 1], [100, 300], alpha=0.2) == approx([0.9462117, 0.8537883], abs=1e-6)


def test_numpy_correctness_flags_are_read_as_bools():
    import numpy as np

    flags = np.array([True, False, True])
    assert efficiency_reward(flags, [100, 50, 300]) == efficiency_reward([True, False, True], [100, 50, 300])
    with pytest.raises(RewardInputError):
        efficiency_reward(np.array([0.5, 1.0]), [1, 2])


def test_efficiency_reward_lone_correct_gets_one_minus_half_alpha():
    # one correct sample: std 0, z = 0, sigmoid 0.5 -> 1 - 0.2/2 = 0.9
    assert efficiency_reward([True, False, False], [500, 10, 20], alpha=0.2) == approx([0.9, 0.0, 0.0])


def test_efficiency_reward_edge_groups():
    assert efficiency_reward([False, False], [10, 20]) == [0.0, 0.0]  # all wrong
    assert efficiency_reward([True, True], [70, 70]) == approx([0.95, 0.95])  # same length: z = 0
    assert efficiency_reward([], []) == []
    assert efficiency_reward([True], [0]) == approx([0.95])  # zero-length response is allowed


@given(
    st.lists(st.tuples(st.booleans(), st.integers(0, 20_000)), min_size=1, max_size=12),
    st.floats(0.0, 1.0),
)
def test_efficiency_reward_is_non_increasing_in_length_among_correct(samples, alpha):
    correct = [c for c, _ in samples]
    lengths = [n for _, n in samples]
    rewards = efficiency_reward(correct, lengths, alpha=alpha)
    right = sorted((n, r) for (c, n), r in zip(samples, rewards) if c)
    for (_, shorter), (_, longer) in zip(right, right[1:]):
        assert shorter >= longer - 1e-12
    for (c, _), r in zip(samples, rewards):
        assert (1 - alpha - 1e-12 <= r <= 1 + 1e-12) if c else r == 0.0


# --- L1 / LCPO ---------------------------------------------------------------------------


def test_lcpo_exact_by_hand():
    # target 1500: correct at 1000 -> 1 - 0.0003*500 = 0.85; wrong at 500 -> 0 - 0.0003*1000 = -0.3
    assert lcpo_exact_reward([True, False], [1000, 500], 1500) == approx([0.85, -0.3])
    # per-sample targets: |2000-2000| = 0 -> 1.0; |100-4100| = 4000 -> 1 - 1.2 = -0.2
    assert lcpo_exact_reward([1, 1], [2000, 4100], [2000, 100]) == approx([1.0, -0.2])


def test_lcpo_max_by_hand():
    # target 1000: L=0 -> clip(0.3+0.5)=0.8; L=1000 -> 0.5; L=2000 -> clip(-0.3+0.5)=0.2; wrong -> 0
    # L=3000 correct -> clip(-0.6+0.5) = 0
    rewards = lcpo_max_reward([1, 1, 1, 0, 1], [0, 1000, 2000, 3000, 3000], 1000)
    assert rewards == approx([0.8, 0.5, 0.2, 0.0, 0.0])
    # target 4000, L=0: 0.0003*4000 + 0.5 = 1.7 -> clipped to 1
    assert lcpo_max_reward([True], [0], 4000) == approx([1.0])


def test_lcpo_prompt_suffix_and_target_sampling():
    assert lcpo_prompt_suffix(1500) == "Think for 1500 tokens."
    assert lcpo_prompt_suffix(1500, maximum=True) == "Think for maximum 1500 tokens."
    rng = random.Random(7)
    draws = [sample_lcpo_target(rng) for _ in range(3000)]
    assert all(100 <= n <= 4000 and suffix == f"Think for {n} tokens." for n, suffix in draws)
    # uniform over [100, 4000]: 3000 draws reach both ends of the range and centre near 2050
    targets = [n for n, _ in draws]
    assert min(targets) < 200 and max(targets) > 3900
    assert 1900 < sum(targets) / len(targets) < 2200
    # the caller's rng makes it reproducible
    assert sample_lcpo_target(random.Random(3)) == sample_lcpo_target(random.Random(3))
    assert sample_lcpo_target(random.Random(3), 50, 50, maximum=True) == (50, "Think for maximum 50 tokens.")


# --- Kimi k1.5 ---------------------------------------------------------------------------


def test_kimi_by_hand():
    # min 100, max 300 over ALL samples: lambda = 0.5, 0.0, -0.5, 0.25
    # correct gets lambda, wrong gets min(0, lambda): 0.5, min(0,0)=0, -0.5, min(0,0.25)=0
    assert kimi_length_reward([1, 0, 1, 0], [100, 200, 300, 150]) == approx([0.5, 0.0, -0.5, 0.0])
    # a wrong sample that is longest: lambda = -0.5 -> min(0, -0.5) = -0.5
    assert kimi_length_reward([1, 0], [10, 30]) == approx([0.5, -0.5])


def test_kimi_edge_groups():
    assert kimi_length_reward([1, 0, 1], [80, 80, 80]) == [0.0, 0.0, 0.0]  # L_max == L_min
    assert kimi_length_reward([], []) == []


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 10_000)), min_size=1, max_size=10))
def test_kimi_is_bounded(samples):
    rewards = kimi_length_reward([c for c, _ in samples], [n for _, n in samples])
    assert all(-0.5 - 1e-12 <= r <= 0.5 + 1e-12 for r in rewards)
    assert all(r <= 0 for (c, _), r in zip(samples, rewards) if not c)


# --- ShorterBetter -----------------------------------------------------------------------


def test_shorter_better_by_hand():
    # SOL = shortest correct = 400: 2 - 0 = 2; 2 - 0.001*200 = 1.8; 0 - 0.001*300 = -0.3
    assert shorter_better_reward([1, 1, 0], [400, 600, 100]) == approx([2.0, 1.8, -0.3])
    # no correct sample: SOL = mean length 200 -> -0.001*100 each
    assert shorter_better_reward([0, 0], [100, 300]) == approx([-0.1, -0.1])
    assert shorter_better_reward([], []) == []


# --- ties and one-sided groups ---------------------------------------------------------


def test_tied_lengths_share_a_reward_and_one_sided_groups():
    # efficiency, correct lengths 100, 100, 300 (the wrong 100 is left out): mean 500/3 = 166.667,
    # population std sqrt((2*66.667^2 + 133.333^2)/3) = sqrt(8888.9) = 94.281, z = -1/sqrt2, +sqrt2;
    # sigmoid(-0.70711) = 0.330238, sigmoid(1.41421) = 0.804429 -> 0.9669762, 0.9195570
    rewards = efficiency_reward([1, 1, 0, 1], [100, 100, 100, 300])
    assert rewards == approx([0.9669762, 0.9669762, 0.0, 0.9195570], abs=1e-6)
    # Kimi with ties at L_min: both get 0.5, the longest (wrong) min(0, -0.5)
    assert kimi_length_reward([1, 1, 0], [100, 100, 300]) == approx([0.5, 0.5, -0.5])
    # Kimi all wrong: lambda = 0.5, 0, -0.5 -> only the negative part survives
    assert kimi_length_reward([0, 0, 0], [100, 200, 300]) == approx([0.0, 0.0, -0.5])
    # ShorterBetter all right with a tie at SOL = 300: 2, 2, 2 - 0.001*200 = 1.8
    assert shorter_better_reward([1, 1, 1], [300, 300, 500]) == approx([2.0, 2.0, 1.8])


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: efficiency_reward([True], [1, 2]),
        lambda: efficiency_reward([True, True], [1, 2], truncated=[False]),
        lambda: efficiency_reward([True], [-1]),
        lambda: efficiency_reward([0.5], [1]),
        lambda: efficiency_reward([True], [float("nan")]),
        lambda: efficiency_reward([True], [1], alpha=1.5),
        lambda: efficiency_reward([True], [1], alpha=-0.1),
        lambda: lcpo_exact_reward([True], [1], [10, 20]),
        lambda: lcpo_exact_reward([True], [1], -5),
        lambda: lcpo_max_reward([True, True], [1], 10),
        lambda: lcpo_prompt_suffix(0),
        lambda: sample_lcpo_target(random.Random(0), 10, 5),
        lambda: sample_lcpo_target(random.Random(0), 1.5, 5),  # random's own ValueError, naming no argument
        lambda: sample_lcpo_target(random.Random(0), True, 5),
        lambda: kimi_length_reward([True], []),
        lambda: kimi_length_reward([True], ["12"]),
        lambda: shorter_better_reward([True, False], [1, -2]),
    ],
)
def test_bad_input_raises_value_error(call):
    with pytest.raises(RewardInputError) as info:
        call()
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda: efficiency_reward([1, 1], [10**400, 1]), r"lengths\[0\] must be at most 1e\+150"),
        (lambda: lcpo_exact_reward([1], [0], [1], alpha=10**400), "alpha must be at most 1e"),
        (lambda: lcpo_max_reward([1], [0], [1], delta="0.5"), "delta must be a finite number"),
        # A dict's keys were read as flags: [0.0, 0.95]; a set has no order.
        (lambda: efficiency_reward({0: True, 1: False}, [1, 2]), "correct must be a sequence of flags, got dict"),
        (lambda: kimi_length_reward([True], {5}), "lengths must be a sequence of numbers, got set"),
    ],
)
def test_out_of_range_or_unordered_inputs_are_a_reward_input_error(call, named):
    with pytest.raises(RewardInputError, match=named):
        call()


def test_weights_are_capped_at_1e150_so_the_rewards_stay_finite():
    # alpha=1e300 gave [-inf]; beta=1e300 gave [2.0, -inf].
    with pytest.raises(RewardInputError, match=r"alpha must be at most 1e\+150 in magnitude"):
        lcpo_exact_reward([1], [0], [1e10], alpha=1e300)
    with pytest.raises(RewardInputError, match=r"beta must be at most 1e\+150 in magnitude"):
        shorter_better_reward([1, 0], [0, 1e150], beta=1e300)
    # At the cap a weight times a length stays a float: 1 - 1e150 * |1e150 - 0| = 1 - 1e300;
    # 2*1 - 1e150 * 0 = 2 and 0 - 1e150 * 1e150 = -1e300.
    assert lcpo_exact_reward([1], [0], [1e150], alpha=1e150) == [pytest.approx(-1e300)]
    assert shorter_better_reward([1, 0], [0, 1e150], beta=1e150) == [2.0, pytest.approx(-1e300)]
