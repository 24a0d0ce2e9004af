"""Grading: what follows a number after an answer phrase ("The answer is 8 ...").

A number followed by a word or an aside is the answer only when the aside neither names another
number nor hedges or changes the value. Before, "The answer is 8 (or 15)" and "The answer is 8
thousand" were both extracted as 8 and graded right for gold 8; a hedge must be graded wrong
whichever of its numbers the gold is, or a policy learns to offer two answers.
"""

from __future__ import annotations

import random
import re

import pytest

from reasoning_economics.grading import extract_final_answer, grade

HEDGED = [
    "The answer is 8 (or 15)",
    "The answer is 8, maybe 15",
    "The answer is 8, possibly 15.",
    "The answer is 8 unless it is 15.",
    "The answer is 8 to 15",
    "The answer is 8 through 15",
    "The answer is 8 vs 15",
    "The answer is 8 alternatively 15",
    "The answer is 8 nor 15",
    "The answer is 8, perhaps 15.",
    "The answer is 8 (or15)",
    "The answer is 8, if not 15.",
    "The answer is 8 to 15 apples.",
    "Final Answer: 8 through 15",
    "**Answer:** 8 (or 15)",
    # A sentence: its last number was the answer, so these graded right for gold 15.
    "The answer is 8 (but 15 if counting the ends).",
    "The answer is probably 8, or maybe 15 apples.",
    "The answer is 8 or possibly 15 apples in total.",
    "The answer is 8 less than 15.",
    # Without a phrase, a short reply is the answer as a whole.
    "8, possibly 15.",
    "8 unless it is 15.",
    # Each was graded as its last (or first) number.
    "So 15 or 8.",  # a short reply opening with a word was its last number, hedge unread
    "So 15, 8.",  # a reply this short naming two numbers commits to neither
    "## Answer\nSo 15 (8)",
    "It is 15 or 8",
    "**Answer:** between 15 and 8",
    "The answer is anything from 15 to 8.",
    "The answer is anything but 8.",
    "The answer is 8; maybe 15.",
    "The answer is 8; otherwise 15.",
    "The answer is 8; I would also say maybe 15.",
    "The answer is 15 (possibly 0).",  # a word before 0: a product of letters and 0, right for gold 0
    "Answer: 15 (unless 0)",
    "The answer is not 0.",
    "The answer is maybe 0.",
]

VALUE_CHANGED = [
    "The answer is 8 thousand.",
    "The answer is 8 million.",
    "The answer is 2 million dollars.",
    "The answer is 3 dozen.",
    "The answer is 3 dozen eggs.",
    "The answer is 8 squared.",
    "The answer is 8 cubed.",
    "The answer is 5 factorial.",
    "The answer is 8 divided by 5.",
    "The answer is 8 point 5.",
    "The answer is 8 and a half.",
    "The answer is 8 thirds.",
    "The answer is 8 in base 2.",
    "The answer is 8 mod 5.",
    "The answer is 8 with remainder 2.",
    "The answer is 8 more than that.",
    "The answer is 8 at least.",
    "The answer is 8 dollars and 50 cents.",
    "The answer is 8 (fifteen).",
    "The answer is 8 to fifteen.",
    "The answer is 3 (minus three).",
]


# The same after a formula: the formula that opens the sentence was taken, and what followed it
# never read (right for gold 3 on every CHAMP and builtin problem).
HEDGED_AFTER_A_FORMULA = [
    "Answer: $3$ or $4$",
    "The answer is $3$ (or $4$).",
    "The final answer is $3$, maybe $4$.",
    "The answer is \\(3\\) or \\(4\\).",
    "Answer: $3$, $4$",
    "The answer is $$3$$ or $$4$$",
    "The answer is $8$ thousand.",
    "The answer is $8$ squared.",
    "The answer is $8$ and a half.",
    "The answer is $8$ at least.",
]


def _numbers_in(response: str) -> list[str]:
    return re.findall(r"\d+", response)


@pytest.mark.parametrize("response", HEDGED + VALUE_CHANGED + HEDGED_AFTER_A_FORMULA)
def test_a_hedged_or_changed_number_is_graded_wrong_for_every_number_it_names(response):
    candidates = _numbers_in(response)
    assert candidates
    for gold in candidates:
        result = grade(response, gold)
        assert not result.correct, (response, gold, result.extracted)
    # The refused answer is the whole statement, not a number that could still match a gold.
    assert extract_final_answer(response).answer not in candidates


@pytest.mark.parametrize(
    ("response", "gold"),
    [
        ("The answer is 8 (or 15)", "8"),
        ("The answer is 8 (or 15)", "15"),
        ("The answer is 8 thousand.", "8"),
        ("The answer is 8 squared.", "8"),
        ("The answer is 5 factorial.", "5"),
    ],
)
def test_the_examples_of_the_report_are_graded_wrong(response, gold):
    assert grade(response, gold).correct is False


@pytest.mark.parametrize(
    ("response", "gold", "extracted"),
    [
        ("The answer is 8 dollars.", "8", "8"),
        ("The answer is 8 (eight).", "8", "8"),
        ("The answer is 21 (twenty-one).", "21", "21"),
        ("The answer is -3, i.e. minus three.", "-3", "-3"),
        ("The answer is -3 (minus three).", "-3", "-3"),
        ("The answer is 8, i.e. the number of apples", "8", "8"),
        ("Final answer: 12 cm", "12", "12"),
        ("The answer is 12 cm^2", "12", "12"),
        ("The answer is 12 moles of H2O.", "12", "12"),
        ("The answer is 40 percent.", "40", "40"),
        ("The answer is 8 degrees.", "8", "8"),
        ("The answer is 1,250 dollars.", "1250", "1,250"),
        ("The answer is 8, the only one that works.", "8", "8"),
        ("The answer is 8 either way.", "8", "8"),
        ("The answer is 8, according to the formula.", "8", "8"),
        # Digits after a word that opens a reason or a rejected value are arithmetic.
        ("The answer is 5 apples (after giving 3 away)", "5", "5"),
        ("The answer is 5, since 5*5 = 25.", "5", "5"),
        ("The answer is 12 (not 13).", "12", "12"),
        ("The answer is 2820 (= 2819 + 1).", "2820", "2820"),
        ("The answer is 12, not 13.", "12", "12"),
        ("The answer is 12 dollars because we add 5 and 7", "12", "12"),
        ("The answer is 8 hours, which is 480 minutes.", "8", "8"),
        ("The answer is 42 because geometry proves it", "42", "42"),
        # A formula, and what follows it neither hedges nor changes it.
        ("The answer is $3$ apples.", "3", "3"),
        ("The answer is $3$, since $3^2 = 9$.", "3", "3"),
        ("The answer is $\\frac{1}{2}$.", "1/2", "\\frac{1}{2}"),
        ("Answer: $$3$$\nsince 3 is odd", "3", "3"),
        # An approximation or a restatement follows the value it restates.
        ("The answer is $\\sqrt{2}$, approximately 1.414.", "\\sqrt2", "\\sqrt{2}"),
        ("The answer is $\\sqrt{2}$ (approximately $1.414$).", "\\sqrt2", "\\sqrt{2}"),
        ("The answer is $2\\sqrt{3}$, about 3.46.", "2\\sqrt3", "2\\sqrt{3}"),
        ("The answer is $0.5$, i.e., one half.", "0.5", "0.5"),
        ("The answer is 8, roughly 8.0 apples.", "8", "8"),
        # Words between the phrase and the value change nothing: "thus 5" was a product of letters.
        ("The answer is thus 5.", "5", "5"),
        ("The answer is therefore $5$.", "5", "5"),
        ("The answer is, therefore, 5.", "5", "5"),
        ("So we get $\\boxed{5}$.\n\nThe answer is thus 5.", "5", "5"),
        ("The final answer is simply $\\frac{3}{4}$.", "3/4", "\\frac{3}{4}"),
        ("The answer is equal to 12.", "12", "12"),
        ("The answer is exactly 0.", "0", "0"),
        # The next sentence is not read: a closing remark often opens with "Alternatively" or
        # "Or" and names numbers (a rule refusing those refused thousands of honest answers).
        ("Final answer: 5\n\nOr, in words, five.", "5", "5"),
        ("**Answer:** 5. Check: 2 + 3 = 5.", "5", "5"),
        ("The answer is 12.\n\nAlternatively, 3 × 4 = 12 directly.", "12", "12"),
        ("Final answer: 3/4\n(or 0.75 in decimal form)", "3/4", "3/4"),
        # A number, then a sentence about it after a semicolon (its last number was taken); a
        # value after a semicolon is the answer.
        ("The answer is 22; I double-checked by adding 20 and 22.", "22", "22"),
        ("The answer is 85; this is the number we computed in step 2.", "85", "85"),
        ("The final answer is: the minimum occurs at x = 2; the minimum value is 5.", "5", "5"),
        ("The answer is x = 1; that gives a value of 0.", "0", "0"),
        # A sentence still gives its last number when nothing hedges it.
        ("The answer is that the largest $n$ is 34.", "34", "34"),
        ("The answer is the largest n that is odd or prime, namely 34.", "34", "34"),
        ("The answer is: the number of integers between 1 and 100 divisible by 7 is 14.", "14", "14"),
    ],
)
def test_a_number_with_an_honest_aside_is_still_the_answer(response, gold, extracted):
    found = extract_final_answer(response)
    assert (found.answer, found.method) == (extracted, "answer_phrase")
    assert grade(response, gold).correct


@pytest.mark.parametrize(
    ("response", "wrong_gold"),
    [
        # The number of a reason is not the answer: before, the sentence's last number (3) was.
        ("The answer is 5 apples (after giving 3 away)", "3"),
        ("The answer is 5, since 5*5 = 25.", "25"),
        ("The answer is 12 (not 13).", "13"),
        # After a word, a letter or a formula the reason's last number was the answer: a policy
        # saying "not 6" was credited with the 7 of its reason.
        ("The answer is not 6, since 7 is prime.", "7"),
        ("Final Answer: No, because 7 is prime.", "7"),
        ("The answer is yes, since 2>1.", "1"),
        ("The answer is \\dfrac{1}{2}, because 17 fails.", "17"),
    ],
)
def test_the_number_of_a_reason_is_not_graded_as_the_answer(response, wrong_gold):
    assert not grade(response, wrong_gold).correct


@pytest.mark.parametrize(
    ("response", "gold", "extracted"),
    [
        ("Final Answer: No, because 7 is prime.", "No", "No"),
        ("The answer is yes, since it is even.", "Yes", "yes"),
        ("The answer is B, because 3 + 4 = 7.", "B", "B"),
        ("The answer is True, since 3 is odd.", "True", "True"),
        ("The answer is \\dfrac{449}{668}, since every other choice fails the check.", "\\dfrac{449}{668}", "\\dfrac{449}{668}"),
        ("The answer is (2,3), since 2 + 2 = 4 and the rest follows.", "(2,3)", "(2,3)"),
        ("The answer is 5.0 + 2.0i because of the symmetry.", "5+2i", "5.0 + 2.0i"),
    ],
)
def test_an_answer_before_its_reason_is_read_whatever_it_is(response, gold, extracted):
    # A word, a letter or a formula before "since" or "because" was graded as the reason's
    # last number: wrong for its own gold (extracted "7", "3", "4", "2.0").
    assert extract_final_answer(response).answer == extracted
    assert grade(response, gold).correct


@pytest.mark.parametrize("response", ["The answer is about 2, not 3.", "The answer is roughly 2 rather than 3.",
                                      "Probably the answer is 2 instead of 3."])
def test_a_sentence_ending_in_a_rejected_number_does_not_give_that_number(response):
    # "about" made the line prose, whose last number (the rejected 3) was the answer.
    assert not grade(response, "3").correct


@pytest.mark.parametrize("template", ["Answer: ${gold}$ or ${other}$", "The answer is ${gold}$ (or ${other}$).",
                                      "The answer is ${other}$ or ${gold}$.", "The answer is ${gold}$ thousand."])
def test_a_hedge_after_a_formula_is_wrong_for_a_builtin_problem_too(template):
    from reasoning_economics.grading import grade_problem
    from reasoning_economics.problems import create_source

    problem = create_source("builtin").draw("gsm_symbolic", random.Random(0))
    assert grade_problem(f"The answer is ${problem.answer}$.", problem).correct
    assert not grade_problem(template.format(gold=problem.answer, other=int(problem.answer) + 7), problem).correct


@pytest.mark.parametrize(("response", "gold"), [("## Answer\n5", "5"), ("**Final Answer**\n\n$\\frac{3}{4}$", "3/4"),
                                                ("Answer\n\n12", "12")])
def test_a_bare_answer_under_a_heading_is_the_value_below_it(response, gold):
    # The heading and the value were read together as one answer ("## Answer\n5"), wrong for 5.
    assert grade(response, gold).correct
    assert not grade(response, "6").correct


def test_a_hedged_answer_tag_sentence_is_wrong_for_both_values():
    for gold in ("9", "5"):
        assert not grade("<answer>It is 9 or maybe 5</answer>", gold).correct


@pytest.mark.parametrize(("response", "gold"), [("\\boxed{18 dollars}", "18"), ("\\boxed{5 people}", "5"),
                                                ("\\boxed{1,250 euros}", "1250"), ("\\boxed{-3 dollars}", "-3.0")])
def test_a_boxed_number_with_a_plain_unit_is_that_number(response, gold):
    # math-verify drops some unit words ("cm", "apples") and multiplies others in as letters:
    # "18 dollars" was 18*d*o*l*l*a*r*s, wrong for gold 18, though "The answer is 18 dollars" was right.
    result = grade(response, gold)
    assert result.correct and result.extracted == response[7:-1]
    assert not grade(response, "17").correct


@pytest.mark.parametrize(("response", "gold"), [
    ("\\boxed{8 thousand}", "8"), ("\\boxed{8 thousand}", "8000"), ("\\boxed{3 or 4}", "3"), ("\\boxed{3 or 4}", "4"),
    ("\\boxed{3 dollars maybe 4}", "4"), ("\\boxed{3 dollars maybe 4}", "3"), ("\\boxed{5 factorial}", "120"),
    ("\\boxed{2 hours and 30 minutes}", "2"), ("\\boxed{12 dollars (not 13)}", "13"),
])
def test_a_boxed_number_whose_words_hedge_or_change_it_stays_wrong(response, gold):
    assert not grade(response, gold).correct


def test_a_boxed_percent_in_words_and_a_gold_with_words_keep_their_meaning():
    assert grade("\\boxed{40 percent}", "0.4").correct  # math-verify reads it as 40%
    assert grade("\\boxed{40 percent}", "40").correct
    assert grade("\\boxed{5 people}", "5 people").correct  # not cut to 5 against a gold of words
