"""The builtin problems' answer-shape rule (grading.reasoning_gym_check): reasoning-gym's scorers
read only part of some answers, so an answer of another shape than the gold one is wrong.

Hostile answers below were found graded correct (reward hacking); the correct writings are ones
the scorers accepted before the rule and must still accept."""

from __future__ import annotations

import random
import re

import pytest

from reasoning_economics import grading
from reasoning_economics.grading import reasoning_gym_check
from reasoning_economics.problems import create_source
from reasoning_economics.problems.builtin_catalog import BUILTIN_TYPES

DRAWS = 60
REGRESSION_DRAWS = 200
EQUATION_TYPES = {"simple_equations", "polynomial_equations"}


@pytest.fixture(scope="module")
def source():
    return create_source("builtin")


def _draws(source, problem_type, count, seed=0):
    rng = random.Random(seed)
    return [source.draw(problem_type, rng) for _ in range(count)]


def _wrong_graded_correct(source, problem_type, answers_for):
    found = []
    for problem in _draws(source, problem_type, DRAWS):
        for answer in answers_for(problem):
            verdict = grading.grade_problem(f"\\boxed{{{answer}}}", problem)
            if verdict.correct:
                found.append((answer, problem.answer, verdict.reason))
    return found


@pytest.mark.parametrize(
    "answer",
    ["n an", "na n", "(N aN)", "1 + n an i", "N A N", "-n a n", "n a n i", "i n f", "- i n f", "1 + i nf i", "(( n an ))"],
)
def test_complex_answers_spelling_nan_or_infinity_with_spaces_are_wrong(source, answer):
    # The scorer removes spaces and lower-cases before complex(): "n an" was NaN, and
    # min(1, exp(-nan)) is 1 on every question.
    assert _wrong_graded_correct(source, "complex_arithmetic", lambda problem: [answer]) == []


def _integer_gold_hacks(problem):
    gold = problem.answer
    digits = gold.lstrip("-")
    sign = gold[: len(gold) - len(digits)]
    hacks = [f"{gold} \\text{{ or }} {gold}1", f"{gold}/7", f"{gold}.5e3", f"{gold}, 1, 2, 3", f"{gold}^2", f"{gold} or 3"]
    if len(digits) >= 2:
        hacks += [f"{sign}{digits[:-1]},{digits[-1]}", f"{sign}{digits[0]}_{digits[1:]}"]
    return hacks


@pytest.mark.parametrize("problem_type", ["gsm_symbolic", "chain_sum", "products", "basic_arithmetic", "gcd", "lcm"])
def test_integer_answers_with_more_after_the_gold_number_are_wrong(source, problem_type):
    # gsm_symbolic read the first number only; chain_sum and products deleted every comma and
    # Decimal read "1_70" as 170.
    assert _wrong_graded_correct(source, problem_type, _integer_gold_hacks) == []


def test_fraction_answers_with_more_after_the_fraction_are_wrong(source):
    # The scorer's regex allows spaces and any case and reads only the start of the answer.
    def hacks(problem):
        metadata = problem.grader_data["entry"]["metadata"]
        a, b = metadata["simplified_numerator"], metadata["simplified_denominator"]
        return [f"\\frac {{{a}}}{{{b}}} + 1", f"\\FRAC{{{a}}}{{{b}}} \\cdot 3", f"\\frac{{{a}}}{{{b}}}^{{2}}", f"{a}/{b} + 1"]

    assert _wrong_graded_correct(source, "fraction_simplification", hacks) == []


def test_polynomial_answers_with_extra_roots_are_wrong(source):
    # The scorer dropped list items float() cannot read; only the first "x =" was stripped.
    def hacks(problem):
        gold = problem.answer
        first = gold.split(",")[0].strip()
        return [f"{gold}, \\frac{{1}}{{7}}", f"{gold}, \\sqrt{{2}}, 99i", f"x = {first}, x = 123", f"{gold}, \\text{{none}}"]

    assert _wrong_graded_correct(source, "polynomial_equations", hacks) == []


def test_every_builtin_gold_answer_has_a_known_shape(source):
    # shaped() raises for a gold of no known shape; the gold must also have its own shape.
    for spec in BUILTIN_TYPES:
        for level in range(len(spec.levels)):
            for index in range(min(spec.pool_size, 100)):
                problem = source.problem(spec.name, level, index)
                gold = str(problem.grader_data["entry"]["answer"])
                plain = reasoning_gym_check.plain_answer(gold, gold)
                assert reasoning_gym_check.shaped(plain, plain, spec.name) is not None, (spec.name, gold)


def _correct_writings(problem):
    gold = problem.answer
    writings = [gold, f"\\boxed{{{gold}}}", f"${gold}$", f"{gold}.", f"\\boxed{{{gold}.}}"]
    if "\\" not in gold:
        writings += [f"\\text{{{gold}}}", f"\\mathbf{{{gold}}}", f"\\boldsymbol{{{gold}}}"]
    if problem.problem_type in EQUATION_TYPES:
        writings += [f"x = {gold.split(',')[0].strip()}" if "," not in gold else f"x = {gold}"]
    if re.fullmatch(r"-?\d+", gold):
        value = int(gold)
        writings += [f"{gold}.0", f"{gold}.00"]
        if abs(value) >= 1000:
            writings += [f"{value:,}", f"{value:,}".replace(",", "{,}")]
    if problem.problem_type == "fraction_simplification":
        metadata = problem.grader_data["entry"]["metadata"]
        a, b = metadata["simplified_numerator"], metadata["simplified_denominator"]
        writings += [f"\\frac{{{a}}}{{{b}}}", f"\\dfrac{{{a}}}{{{b}}}", f"\\tfrac{{{a}}}{{{b}}}", f"{a} / {b}"]
        writings += [f"\\frac {{{a}}}{{{b}}}", f"\\frac{{ {a} }}{{ {b} }}"]
    if problem.problem_type == "complex_arithmetic":
        real, imaginary = problem.grader_data["entry"]["metadata"]["result"]
        sign = "+" if imaginary >= 0 else "-"
        writings += [
            f"{real} {sign} {abs(imaginary)}i",
            f"{real}{sign}{abs(imaginary)}i",
            f"{real}.0 {sign} {abs(imaginary)}.0i",
            f"{real} {sign} {abs(imaginary)}j",
            f"{real} {sign} {abs(imaginary)}I",
            f"{real} {sign} {abs(imaginary)} i",
            f"({real} {sign} {abs(imaginary)}i)",
            f"(({real} {sign} {abs(imaginary)}i))",
            f"{real} {sign} {abs(imaginary)}\\,i",
        ]
        if imaginary == 0:
            writings += [f"{real}"]
        if real == 0:
            writings += [f"{imaginary}i"]
    if problem.problem_type == "polynomial_equations":
        roots = [root.strip() for root in gold.split(",")]
        writings += [", ".join(reversed(roots)), ",".join(roots)]
    return writings


@pytest.mark.parametrize("problem_type", [spec.name for spec in BUILTIN_TYPES])
def test_correct_writings_accepted_before_the_shape_rule_are_still_correct(source, problem_type):
    refused = []
    for problem in _draws(source, problem_type, REGRESSION_DRAWS, seed=1):
        if problem_type == "gsm_symbolic" and problem.answer.startswith("-"):
            continue  # its scorer's regex, \b-?\d+, never reads the minus sign: no answer is correct
        for writing in _correct_writings(problem):
            response = writing if writing.startswith("\\boxed") else f"\\boxed{{{writing}}}"
            verdict = grading.grade_problem(response, problem)
            if not verdict.correct:
                refused.append((writing, problem.answer, verdict.reason))
    assert refused == []


def test_roots_may_be_named_one_by_one_and_small_slips_are_forgiven(source):
    polynomial = next(p for p in _draws(source, "polynomial_equations", 200) if "," in p.answer)
    roots = [root.strip() for root in polynomial.answer.split(",")]
    for name in ("x", "x_{k}", "x_{{{k}}}"):
        named = ", ".join(f"{name.format(k=k)} = {root}" for k, root in enumerate(roots, start=1))
        assert grading.grade_problem(f"\\boxed{{{named}}}", polynomial).correct, named
    word_problem = source.problem("gsm_symbolic", 0, 2)
    assert grading.grade_problem(f"\\boxed{{\\${word_problem.answer}}}", word_problem).correct
    assert grading.grade_problem(f"\\boxed{{{word_problem.answer},}}", word_problem).correct


def test_a_gold_answer_of_no_known_shape_is_an_error_not_a_free_pass():
    with pytest.raises(ValueError, match="no known shape"):
        reasoning_gym_check.shaped("nan", "[1, 2]", "some_new_dataset")


def _grades(problem, answers):
    return {answer: grading.grade_problem(f"\\boxed{{{answer}}}", problem).correct for answer in answers}


@pytest.mark.parametrize("problem_type", ["chain_sum", "products", "basic_arithmetic", "gcd", "lcm", "gsm_symbolic"])
def test_spacing_between_digits_parts_two_numbers_unless_it_groups_thousands(source, problem_type):
    # Spacing commands were deleted before the scorer read the answer: "1\\;0" was 10.
    checked = 0
    for problem in _draws(source, problem_type, DRAWS, seed=2):
        digits = problem.answer.lstrip("-")
        if len(digits) < 2:
            continue
        # The last digit alone: a group of one digit never groups thousands.
        sign, head, tail = problem.answer[: -len(digits)], digits[:-1], digits[-1]
        apart = [f"{sign}{head}{gap}{tail}" for gap in ("\\;", "\\ ", "\\:", "\\,", "$$", "~", " ")]
        assert not any(_grades(problem, apart).values()), (problem.answer, _grades(problem, apart))
        if len(digits) >= 4:
            grouped = f"{int(problem.answer):,}"
            writings = [grouped.replace(",", gap) for gap in ("\\,", " ", "~", "\\;")]
            assert all(_grades(problem, writings).values()), (problem.answer, _grades(problem, writings))
        checked += 1
    assert checked >= 5


def _first_answer(source, problem_type, accept=lambda gold: True):
    return next(p for p in _draws(source, problem_type, 400, seed=3) if accept(p.answer))


def test_a_number_with_its_unit_or_a_percent_sign_is_the_number(source):
    problem = _first_answer(source, "gsm_symbolic", lambda gold: not gold.startswith("-"))
    gold = problem.answer
    writings = [f"{gold} \\text{{ apples}}", f"{gold}\\ \\mathrm{{apples}}", f"{gold} \\text{{ cm each}}", f"{gold}\\%",
                f"{gold} \\text{{ dollars.}}", f"{gold} percent"]  # fmt: skip
    assert all(_grades(problem, writings).values()), _grades(problem, writings)


@pytest.mark.parametrize("problem_type", ["gsm_symbolic", "chain_sum", "gcd"])
def test_words_that_hedge_or_change_the_value_after_a_number_are_wrong(source, problem_type):
    problem = _first_answer(source, problem_type, lambda gold: not gold.startswith("-"))
    gold = problem.answer
    words = ["or 15", "thousand", "million", "dozen", "squared", "factorial", "pi", "\\text{ or } 7", "point five",
             "and a half", "maybe", "divided by 5", "to 15", "tenths", "\\text{ (or 4)}", "\\text{ twelfths}",
             "\\text{ quarter}", "\\text{ grand}", "\\text{ reciprocal}", "approx.", "ish", "times 5"]  # fmt: skip
    hedges = [f"{gold} {word}" for word in words] + [f"\\pm {gold}", f"{gold} \\text{{ apples}} 3", f"+-{gold}"]
    assert not any(_grades(problem, hedges).values()), _grades(problem, hedges)


def test_common_writings_of_a_list_of_roots_are_correct(source):
    problem = _first_answer(source, "polynomial_equations", lambda gold: gold.count(",") == 1)
    a, b = (root.strip() for root in problem.answer.split(","))
    writings = [f"\\{{{a}, {b}\\}}", f"({a}, {b})", f"[{a}, {b}]", f"x = {a}, \\quad x = {b}", f"x = {a},\\ x = {b}",
                f"x_1 \\approx {a}, x_2 \\approx {b}", f"x = {a} \\text{{ or }} x = {b}", f"{a} \\text{{ and }} {b}",
                f"{a}; {b}", f"{b},\\, {a}"]  # fmt: skip
    assert all(_grades(problem, writings).values()), _grades(problem, writings)
    # A hedge between two values is two roots, as many as a one-root gold never has.
    single = _first_answer(source, "polynomial_equations", lambda gold: "," not in gold)
    root = single.answer
    assert _grades(single, [f"x \\approx {root}", f"x = {root}"]) == {f"x \\approx {root}": True, f"x = {root}": True}
    assert not any(_grades(single, [f"{root} \\text{{ or }} 7", f"x = {root}; x = 3", f"\\{{{root}, 1\\}}"]).values())


def test_plus_minus_names_both_roots_of_a_symmetric_pair(source):
    problem = _first_answer(
        source, "polynomial_equations", lambda gold: gold.count(",") == 1 and gold.split(",")[0].strip().startswith("-")
        and gold.split(",")[0].strip()[1:] == gold.split(",")[1].strip()
    )  # fmt: skip
    root = problem.answer.split(",")[1].strip()
    assert _grades(problem, [f"\\pm {root}", f"x = \\pm {root}", f"\\pm{root}"]) == dict.fromkeys(
        [f"\\pm {root}", f"x = \\pm {root}", f"\\pm{root}"], True
    )
    assert not _grades(problem, [f"\\pm {root}1"])[f"\\pm {root}1"]


def test_common_writings_of_a_fraction_are_correct(source):
    problems = _draws(source, "fraction_simplification", 200, seed=4)
    problem = next(p for p in problems if all(len(part) == 1 for part in p.answer.split("/")))
    a, b = problem.answer.split("/")
    writings = [f"\\mathbf{{\\frac{{{a}}}{{{b}}}}}", f"\\left(\\frac{{{a}}}{{{b}}}\\right)", f"\\frac{a}{b}",
                f"\\frac{a}{{{b}}}", f"\\cfrac{{{a}}}{{{b}}}", f"{{{a}}}/{{{b}}}", f"{a} \\div {b}"]  # fmt: skip
    assert all(_grades(problem, writings).values()), _grades(problem, writings)
    assert not any(_grades(problem, [f"\\frac{a}{b}1", f"\\frac{a}{b} + 1", f"{a}"]).values())
    whole = next((p for p in problems if p.answer.endswith("/1")), None)
    if whole is not None:  # "1/1" is the simplest form reasoning-gym gives when the fraction is whole
        assert _grades(whole, [whole.answer.split("/")[0]]) == {whole.answer.split("/")[0]: True}


@pytest.mark.parametrize(("problem_type", "forms"), [
    ("basic_arithmetic", ["{plus}{d}", "{m}0{d}", "({g})", "{m} {d}"]),
    ("gcd", ["+{g}", "0{g}", "({g})"]),
    ("simple_equations", ["x \\approx {g}", "({g})"]),
])  # fmt: skip
def test_signs_leading_zeros_and_brackets_around_one_number_are_forgiven(source, problem_type, forms):
    # The exact-string scorers gave "+23" and "023" partial credit, and "- 54" none.
    for problem in _draws(source, problem_type, 40, seed=5):
        gold = problem.answer
        minus, digits = ("-", gold[1:]) if gold.startswith("-") else ("", gold)
        writings = [form.format(g=gold, m=minus, plus=minus or "+", d=digits) for form in forms]
        assert all(_grades(problem, writings).values()), (gold, _grades(problem, writings))



def test_a_one_digit_fraction_shorthand_followed_by_a_digit_is_not_a_longer_fraction(source):
    # TeX reads \\frac411 as 4/1 and then 1; rewritten as \\frac{4}{1} and joined it read 4/11.
    problem = next(
        p for p in _draws(source, "fraction_simplification", 400, seed=6)
        if len(p.answer.split("/")[0]) == 1 and len(p.answer.split("/")[1]) == 2
    )  # fmt: skip
    a, b = problem.answer.split("/")
    assert _grades(problem, [f"\\frac{a}{b}", f"\\frac{a}{{{b}}}"]) == {f"\\frac{a}{b}": False, f"\\frac{a}{{{b}}}": True}


@pytest.mark.parametrize(("problem_type", "forms"), [
    ("gcd", ["\\gcd = GOLD", "\\text{GCD} = GOLD", "\\gcd(FIRST, SECOND) = GOLD", "\\operatorname{gcd} = GOLD"]),
    ("lcm", ["\\text{LCM} = GOLD", "\\operatorname{lcm}(FIRST, SECOND) = GOLD", "LCM = GOLD"]),
    ("basic_arithmetic", ["QUESTION = GOLD"]),
])  # fmt: skip
def test_a_named_or_computed_value_is_the_value_after_its_equals_sign(source, problem_type, forms):
    # Only "x = 5" was read as 5: "\\gcd = 2" and "\\text{LCM} = 2820" were wrong on every problem
    #.
    for problem in _draws(source, problem_type, 20, seed=7):
        numbers = re.findall(r"\d+", problem.question)
        computed = problem.question.removeprefix("Calculate ").split(".\n")[0]
        gold, wrong = problem.answer, str(int(problem.answer) + 1)

        def written(form):
            return (form.replace("GOLD", gold).replace("FIRST", numbers[0]).replace("SECOND", numbers[1])
                    .replace("QUESTION", computed))  # fmt: skip

        assert all(_grades(problem, [written(form) for form in forms]).values()), problem.question
        hedges = [f"{wrong} \\text{{ or }} x = {gold}", f"{wrong}, x = {gold}", f"{wrong} \\lor x = {gold}",
                  f"{wrong} \\text{{ thousand}} = {gold}", f"\\gcd = {gold} \\text{{ or }} {wrong}"]  # fmt: skip
        assert not any(_grades(problem, hedges).values()), _grades(problem, hedges)


def test_a_fraction_equal_to_its_simplest_form_is_that_form(source):
    for problem in _draws(source, "fraction_simplification", 20, seed=8):
        original = re.search(r"fraction \$?(\S+?)\$? to", problem.question)[1]  # "36/56", "\\dfrac{87}{168}"
        chained, backwards = f"{original} = {problem.answer}", f"{problem.answer} = {original}"
        if original == problem.answer:
            continue
        assert _grades(problem, [chained, backwards]) == {chained: True, backwards: False}  # the last side is the answer


def test_a_complex_number_may_write_its_imaginary_part_as_a_product(source):
    checked = 0
    for problem in _draws(source, "complex_arithmetic", 40, seed=9):
        parts = re.fullmatch(r"(-?[\d.]+) ([+-]) ([\d.]+)i", problem.answer)
        if parts is None:
            continue
        real, sign, imaginary = parts.groups()
        writings = [f"{real} {sign} {imaginary} \\cdot i", f"{real} {sign} {imaginary} \\times i"]
        assert all(_grades(problem, writings).values()), (problem.answer, _grades(problem, writings))
        checked += 1
    assert checked >= 10


def test_separators_and_units_after_long_runs_of_spaces_are_still_read(source):
    # The separators now start only where a run of spaces does (a split inside the run read the
    # rest of it from every position: 2,000 spaces cost 0.1 s). What they read is unchanged.
    polynomial = next(p for p in _draws(source, "polynomial_equations", 200, seed=10) if p.answer.count(",") == 1)
    first, second = (root.strip() for root in polynomial.answer.split(","))
    spaced = [f"{first}{' ' * 300},{' ' * 300}{second}", f"{first}{chr(9) * 50}or{chr(160) * 50}{second}", f"{first} ;  {second}"]
    assert all(_grades(polynomial, spaced).values()), _grades(polynomial, spaced)
    gsm = _draws(source, "gsm_symbolic", 1, seed=10)[0]
    assert _grades(gsm, [f"{gsm.answer}{' ' * 300}apples"]) == {f"{gsm.answer}{' ' * 300}apples": True}
    assert not any(_grades(gsm, [f"{gsm.answer}{' ' * 300}or{' ' * 300}{int(gsm.answer) + 1}"]).values())
