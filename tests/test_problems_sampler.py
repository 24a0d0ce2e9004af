"""Episode sampling: even mix, weights, determinism across processes, no duplicates."""

from __future__ import annotations

import collections
import json
import os
import random
import subprocess
import sys

import pytest

from reasoning_economics.errors import ConfigError
from reasoning_economics.problems import (
    Problem,
    ProblemSource,
    UnionSource,
    WeightedMixture,
    apportion,
    create_source,
    sample_episode,
)


class CountingSource:
    """A real ProblemSource over ``size`` numbered problems per type."""

    def __init__(self, name: str, types: tuple[str, ...], size: int = 1000, difficulty: float = 0.5) -> None:
        self.name = name
        self.problem_types = types
        self.size = size
        self.difficulty = difficulty

    def draw(self, problem_type: str, rng: random.Random) -> Problem:
        k = rng.randrange(self.size)
        return Problem(
            id=f"{self.name}/{problem_type}/{k}",
            question=f"{problem_type}: what is {k} + 1?",
            answer=str(k + 1),
            source=self.name,
            problem_type=problem_type,
            difficulty=self.difficulty,
        )


def test_counting_source_satisfies_the_protocol():
    assert isinstance(CountingSource("a", ("x",)), ProblemSource)


# ---------------------------------------------------------------- apportion
def test_apportion_equal_weights_give_floor_or_ceil():
    for total in range(0, 30):
        counts = apportion([1.0] * 7, total, random.Random(total))
        assert sum(counts) == total
        assert set(counts) <= {total // 7, -(-total // 7)}


def test_apportion_weighted_counts_are_floor_or_ceil_of_share():
    # shares of 10 for 0.7/0.2/0.1 are exactly 7, 2, 1
    assert apportion([0.7, 0.2, 0.1], 10, random.Random(3)) == [7, 2, 1]
    # shares of 4 for 1:1:2 are 1, 1, 2
    assert apportion([1, 1, 2], 4, random.Random(0)) == [1, 1, 2]
    for seed in range(50):
        a, b = apportion([0.7, 0.3], 5, random.Random(seed))  # shares 3.5 and 1.5
        assert (a, b) in {(3, 2), (4, 1)}


def test_apportion_expected_count_is_the_share():
    total = [0, 0]
    for seed in range(4000):
        a, b = apportion([0.7, 0.3], 1, random.Random(seed))
        total[0] += a
        total[1] += b
    assert total[0] + total[1] == 4000
    assert abs(total[0] / 4000 - 0.7) < 0.03  # 4 standard deviations


def test_apportion_rejects_bad_weights():
    for weights in ([], [1, 0], [1, -1], [1, float("inf")], [float("nan")]):
        with pytest.raises(ConfigError):
            apportion(weights, 3, random.Random(0))


def test_apportion_weights_summing_past_float_range_and_a_fractional_total():
    # Two weights of 1e308 summed to inf: the scale was 0 and every count 0, then the last took all.
    assert sorted(apportion([1e308, 1e308], 10, random.Random(0))) == [5, 5]
    assert sorted(apportion([1e308, 1e308, 1e308 / 2], 10, random.Random(0))) == [2, 4, 4]
    for total in (2.5, True, "3"):  # 2.5 gave the counts [2, 0.5]
        with pytest.raises(ConfigError, match="slots to apportion must be an integer >= 0"):
            apportion([1, 1], total, random.Random(0))  # type: ignore[arg-type]


def test_weighted_mixture_weights_summing_past_float_range_keep_their_ratio():
    # Normalised by their sum (inf), both became 0: the mixture's name read "file:0,file:0".
    mixture = WeightedMixture([(CountingSource("a", ("x",)), 1.5e308), (CountingSource("b", ("y",)), 1e308)])
    assert mixture.weights == pytest.approx((0.6, 0.4))
    counts = collections.Counter(p.problem_type for p in sample_episode(mixture, 10, seed=1))
    assert counts == {"x": 6, "y": 4}


# ---------------------------------------------------------------- even mix
@pytest.mark.parametrize("num_questions", [1, 5, 7, 10, 23])
def test_every_type_appears_floor_or_ceil_times(num_questions):
    source = CountingSource("c", tuple(f"t{i}" for i in range(7)))
    for seed in range(20):
        counts = collections.Counter(p.problem_type for p in sample_episode(source, num_questions, seed))
        per_type = [counts.get(t, 0) for t in source.problem_types]
        assert sum(per_type) == num_questions
        assert set(per_type) <= {num_questions // 7, -(-num_questions // 7)}


def test_extra_slots_go_to_every_type_over_many_episodes():
    source = CountingSource("c", ("a", "b", "c", "d"))
    counts = collections.Counter(p.problem_type for seed in range(400) for p in sample_episode(source, 5, seed))
    # 400 episodes x 5 = 2000 problems; each type gets 1 + (extra slot with probability 1/4) = 500 expected
    for t in "abcd":
        assert abs(counts[t] - 500) < 40


def test_order_is_shuffled():
    source = CountingSource("c", tuple("abcdefghij"))
    orders = {tuple(p.problem_type for p in sample_episode(source, 10, seed)) for seed in range(30)}
    assert len(orders) == 30


# ---------------------------------------------------------------- determinism
def test_same_seed_same_list_different_seed_different_list():
    source = create_source("builtin")
    first = sample_episode(source, 10, seed=123)
    assert sample_episode(source, 10, seed=123) == first
    assert sample_episode(source, 10, seed=124) != first
    assert [p.id for p in sample_episode(source, 10, seed=124)] != [p.id for p in first]


SUBPROCESS_SCRIPT = """
import json, sys
from reasoning_economics.problems import create_source, sample_episode
spec = sys.argv[1]
for seed in (0, 123, 2**40):
    print(json.dumps([p.to_dict() for p in sample_episode(create_source(spec), 10, seed)], sort_keys=True))
"""


def test_same_seed_same_list_in_another_process():
    spec = "builtin"
    result = subprocess.run(
        [sys.executable, "-c", SUBPROCESS_SCRIPT, spec],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "4321"},  # a different hash() salt than ours
    )
    lines = result.stdout.strip().splitlines()
    source = create_source(spec)
    for line, seed in zip(lines, (0, 123, 2**40), strict=True):
        here = json.dumps([p.to_dict() for p in sample_episode(source, 10, seed)], sort_keys=True)
        assert line == here


# ---------------------------------------------------------------- duplicates
def test_no_duplicate_problems_in_an_episode():
    source = CountingSource("small", ("x",), size=12)
    for seed in range(50):
        problems = sample_episode(source, 12, seed)  # every problem of the pool, once
        assert len({p.id for p in problems}) == 12
        assert len({p.question for p in problems}) == 12


def test_duplicate_question_text_under_another_id_is_redrawn():
    class SameTextTwice(CountingSource):
        def draw(self, problem_type, rng):
            problem = super().draw(problem_type, rng)
            k = int(problem.answer) - 1
            # ids 0 and 1 share one question text; so do 2 and 3; ...
            return Problem(problem.id, f"question {k // 2}", problem.answer, self.name, problem_type, 0.5)

    problems = sample_episode(SameTextTwice("s", ("x",), size=8), 4, seed=5)
    assert len({p.question for p in problems}) == 4


def test_too_small_a_source_is_a_clear_error():
    with pytest.raises(ConfigError, match="too few distinct problems"):
        sample_episode(CountingSource("tiny", ("x",), size=3), 4, seed=0)


@pytest.mark.parametrize("num_questions", [0, -1, 2.5, True, "10"])
def test_bad_num_questions(num_questions):
    with pytest.raises(ConfigError, match="num_questions"):
        sample_episode(CountingSource("c", ("x",)), num_questions, seed=0)


@pytest.mark.parametrize("seed", [-1, 1.0, None, False, "7"])
def test_bad_seed(seed):
    with pytest.raises(ConfigError, match="seed"):
        sample_episode(CountingSource("c", ("x",)), 3, seed=seed)


# ---------------------------------------------------------------- mixtures
def test_union_mixes_evenly_across_all_types_of_all_parts():
    union = UnionSource([CountingSource("a", tuple(f"a{i}" for i in range(8))), CountingSource("b", ("b0",))])
    assert union.problem_types == tuple(f"a{i}" for i in range(8)) + ("b0",)
    counts = collections.Counter(p.problem_type for seed in range(300) for p in sample_episode(union, 9, seed))
    assert set(counts.values()) == {300}


def test_weighted_mixture_splits_each_episode_by_weight():
    mixture = WeightedMixture([(CountingSource("a", ("a0", "a1")), 0.7), (CountingSource("b", ("b0",)), 0.3)])
    assert mixture.weights == pytest.approx((0.7, 0.3))
    for seed in range(50):
        sources = collections.Counter(p.source for p in sample_episode(mixture, 10, seed))
        assert sources == {"a": 7, "b": 3}
        a_types = collections.Counter(p.problem_type for p in sample_episode(mixture, 10, seed) if p.source == "a")
        assert sorted(a_types.values()) == [3, 4]  # even inside the component


def test_weighted_mixture_weights_hold_over_many_small_episodes():
    mixture = WeightedMixture([(CountingSource("a", ("a0",)), 7), (CountingSource("b", ("b0",)), 3)])
    counts = collections.Counter(p.source for seed in range(4000) for p in sample_episode(mixture, 1, seed))
    assert abs(counts["a"] / 4000 - 0.7) < 0.03
    counts = collections.Counter(p.source for seed in range(2000) for p in sample_episode(mixture, 3, seed))
    assert abs(counts["a"] / 6000 - 0.7) < 0.02


def test_mixtures_reject_clashing_types_and_bad_weights():
    with pytest.raises(ConfigError, match="provided by both"):
        UnionSource([CountingSource("a", ("x",)), CountingSource("b", ("x",))])
    with pytest.raises(ConfigError, match="positive"):
        WeightedMixture([(CountingSource("a", ("x",)), 1.0), (CountingSource("b", ("y",)), 0.0)])
    with pytest.raises(ConfigError, match="at least two"):
        WeightedMixture([(CountingSource("a", ("x",)), 1.0)])


def test_mixtures_forward_warm_up_to_parts_that_have_it():
    class Warmable(CountingSource):
        def warm_up(self) -> int:
            return self.size

    union = UnionSource([Warmable("a", ("x",), size=5), CountingSource("b", ("y",))])
    assert union.warm_up() == 5
    mixture = WeightedMixture([(union, 1.0), (Warmable("c", ("z",), size=7), 1.0)])
    assert mixture.warm_up() == 12
