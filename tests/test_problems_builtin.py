"""The builtin source: reasoning-gym types, levels, difficulties and gold answers."""

from __future__ import annotations

import json
import math
import random

import pytest
from reasoning_gym.factory import get_score_answer_fn

from reasoning_economics.errors import ConfigError, UnknownNameError
from reasoning_economics.problems import BOXED_INSTRUCTION, create_source, sample_episode
from reasoning_economics.problems.builtin import BuiltinConfig, BuiltinSource, display_answer
from reasoning_economics.problems.builtin_packaged import json_safe
from reasoning_economics.problems.builtin_catalog import BUILTIN_TYPES, BUILTIN_TYPES_BY_NAME

EXPECTED_TYPES = {
    "chain_sum", "basic_arithmetic", "products", "gcd", "lcm", "fraction_simplification",
    "complex_arithmetic", "simple_equations", "gsm_symbolic", "polynomial_equations",
}  # fmt: skip


@pytest.fixture(scope="module")
def builtin() -> BuiltinSource:
    return create_source("builtin")


def test_catalog_has_at_least_eight_types_and_every_difficulty_tier(builtin):
    assert set(builtin.problem_types) == EXPECTED_TYPES
    tiers = set()
    for name in builtin.problem_types:
        for level in range(len(BUILTIN_TYPES_BY_NAME[name].levels)):
            tiers.add(builtin.problem(name, level, 0).difficulty_tier)
    assert tiers == {"easy", "medium", "hard"}


# Worked by hand from the builtin_catalog docstring formula:
# lo + (hi - lo) * mean_k (f(v_k) - f(first_k)) / (f(last_k) - f(first_k)), f = log10 on value ranges.
HAND_DIFFICULTIES = {
    "chain_sum": (0.0, 0.2 * ((5 - 3) / (8 - 3) + (2 - 1) / (4 - 1)) / 2, 0.2),
    "basic_arithmetic": (0.05, 0.05 + 0.25 * ((4 - 2) / (5 - 2) + (2 - 1) / (3 - 1)) / 2, 0.30),
    "gcd": (0.10, 0.10 + 0.20 * (0 + (3 - 2) / (4 - 2)) / 2, 0.30),  # max_numbers 2,2,3; log10 100,1000,10000
    "lcm": (0.15, 0.25, 0.35),  # numbers 2,2,3 -> 0, 0, 1; value 20,100,100 -> 0, 1, 1
    "fraction_simplification": (
        0.15,
        0.15 + 0.25 * ((2 - math.log10(20)) / (3 - math.log10(20)) + (math.log10(20) - 1) / (2 - 1)) / 2,
        0.40,
    ),
    "complex_arithmetic": (
        0.25,
        0.25 + 0.25 * ((1 - math.log10(5)) / (math.log10(20) - math.log10(5)) + 0.5) / 2,
        0.50,
    ),
    "simple_equations": (0.30, 0.30 + 0.25 * (0.5 + (math.log10(50) - 1) / (2 - 1)) / 2, 0.55),
    "gsm_symbolic": (0.50,),
    "polynomial_equations": (0.65, 0.65 + 0.30 * (0.5 + 0.0) / 2, 0.95),
}


@pytest.mark.parametrize("name", sorted(HAND_DIFFICULTIES))
def test_level_difficulties_follow_the_documented_formula(name):
    assert BUILTIN_TYPES_BY_NAME[name].difficulties == pytest.approx(HAND_DIFFICULTIES[name], abs=1e-12)


def test_complex_arithmetic_middle_level_value():
    # log10(10) = 1 sits at (1 - 0.699) / (1.301 - 0.699) = 0.5 of the range; operations 2,3,4 -> 0.5
    assert BUILTIN_TYPES_BY_NAME["complex_arithmetic"].difficulties[1] == pytest.approx(0.375)


def test_docstring_table_matches_the_catalog():
    from reasoning_economics.problems import builtin_catalog

    rows = {
        line.split("|")[1].strip(): line.split("|")[-2].strip()
        for line in builtin_catalog.__doc__.splitlines()
        if line.startswith("| ") and not line.startswith("| type")
    }
    for spec in BUILTIN_TYPES:
        assert rows[spec.name] == " / ".join(f"{d:.3f}" for d in spec.difficulties), spec.name


def test_difficulties_increase_with_level_and_stay_in_unit_interval():
    for spec in BUILTIN_TYPES:
        assert all(0.0 <= d <= 1.0 for d in spec.difficulties)
        assert list(spec.difficulties) == sorted(spec.difficulties), spec.name


def _sampled_indices(name: str) -> range:
    return range(12) if name == "polynomial_equations" else range(150)  # polynomial: ~10 ms each


@pytest.mark.parametrize("name", sorted(EXPECTED_TYPES))
def test_reasoning_gym_scorer_accepts_every_gold_answer(builtin, name):
    """What the grading worker does: the default-config scorer of the type, on the entry."""
    score = get_score_answer_fn(name)
    for level in range(len(BUILTIN_TYPES_BY_NAME[name].levels)):
        for index in _sampled_indices(name):
            problem = builtin.problem(name, level, index)
            entry = problem.grader_data["entry"]
            assert problem.grader == "reasoning_gym"
            assert problem.grader_data["dataset"] == name
            assert score(entry["answer"], entry) == 1.0, (problem.id, entry["answer"])
            # the answer a model would box, against the entry after a JSON round trip
            wire_entry = json.loads(json.dumps(entry))
            assert score(problem.answer, wire_entry) == 1.0, (problem.id, problem.answer)


@pytest.mark.parametrize("name", sorted(EXPECTED_TYPES))
def test_questions_ask_for_a_boxed_answer_and_keep_the_entry_question(builtin, name):
    problem = builtin.problem(name, 0, 3)
    entry_question = problem.grader_data["entry"]["question"]
    assert problem.question == f"{entry_question.strip()}\n\n{BOXED_INSTRUCTION}"
    assert problem.answer and "$" not in problem.answer


def test_scorer_rejects_a_wrong_answer(builtin):
    # guards the gold-answer test against a scorer that accepts anything
    for name in ("chain_sum", "gcd", "fraction_simplification", "gsm_symbolic", "polynomial_equations"):
        entry = builtin.problem(name, 0, 5).grader_data["entry"]
        assert get_score_answer_fn(name)("123456789", entry) < 1.0


def test_fraction_answers_drop_inline_math_dollars():
    assert display_answer("$\\frac{3}{4}$") == "\\frac{3}{4}"
    assert display_answer(" 3/4 ") == "3/4"
    assert display_answer("$") == "$"


def test_json_safe_gives_what_json_gives_back():
    from fractions import Fraction

    value = {"a": (1, Fraction(1, 2)), 2: [None, (True,), 1.5]}
    assert json_safe(value) == {"a": [1, "1/2"], "2": [None, [True], 1.5]}
    assert json.loads(json.dumps(json_safe(value))) == json_safe(value)


def test_gsm_symbolic_entries_are_json_encodable(builtin):
    for index in range(50):
        json.dumps(builtin.problem("gsm_symbolic", 0, index).to_dict())


def test_problem_is_a_function_of_type_level_index_across_instances(builtin):
    fresh = BuiltinSource(BuiltinConfig(types=("gcd", "polynomial_equations")))
    for name, level, index in (("gcd", 2, 77), ("polynomial_equations", 1, 200)):
        assert fresh.problem(name, level, index) == builtin.problem(name, level, index)
    # the id names the item
    assert builtin.problem("gcd", 2, 77).id == "builtin/gcd/2/77"


def test_pool_seed_gives_a_different_pool(builtin):
    other = BuiltinSource(BuiltinConfig(types=("chain_sum",), pool_seed=1))
    questions = {builtin.problem("chain_sum", 2, i).question for i in range(20)}
    other_questions = {other.problem("chain_sum", 2, i).question for i in range(20)}
    assert len(questions & other_questions) < 3


def test_draw_uses_only_the_given_rng(builtin):
    first = [builtin.draw("lcm", random.Random(9)) for _ in range(3)]
    assert first[0] == first[1] == first[2]
    rng = random.Random(9)
    assert len({builtin.draw("lcm", rng).id for _ in range(10)}) > 5


def test_levels_are_drawn_uniformly(builtin):
    rng = random.Random(4)
    levels = [int(builtin.draw("products", rng).id.split("/")[2]) for _ in range(3000)]
    for level in range(3):
        assert abs(levels.count(level) / 3000 - 1 / 3) < 0.04


def test_episode_covers_types_evenly_with_three_tiers(builtin):
    problems = sample_episode(builtin, 20, seed=7)
    types = [p.problem_type for p in problems]
    assert sorted(types) == sorted(list(EXPECTED_TYPES) * 2)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"types": ["gcd", "nope"]}, "unknown type"),
        ({"types": []}, "must not be empty"),
        ({"types": "gcd"}, "list of type names"),
        ({"types": ["gcd", "gcd"]}, "twice"),
        ({"types": [["gcd"]]}, "type names"),
        ({"types": [{"name": "gcd"}]}, "type names"),
        ({"pool_seed": -1}, "pool_seed"),
        ({"pool_seed": True}, "pool_seed"),
        ({"warm_up": "yes"}, "warm_up must be true or false"),
    ],
)
def test_config_errors(options, message):
    with pytest.raises(ConfigError, match=message):
        BuiltinConfig(**options)


def test_unknown_type_and_out_of_range_lookups(builtin):
    with pytest.raises(UnknownNameError, match="no problem type 'algebra'"):
        builtin.draw("algebra", random.Random(0))
    with pytest.raises(ConfigError, match="levels 0..0"):
        builtin.problem("gsm_symbolic", 1, 0)
    with pytest.raises(ConfigError, match="index 256"):
        builtin.problem("polynomial_equations", 0, 256)


def test_subset_of_types_via_create_source():
    source = create_source("builtin", types=["gcd", "lcm"])
    assert source.problem_types == ("gcd", "lcm")
    assert {p.problem_type for p in sample_episode(source, 6, seed=1)} == {"gcd", "lcm"}
