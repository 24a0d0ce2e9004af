"""AnytimeReasoner and BRPO (methods.md §5): budgets, priors, truncation, returns, advantages."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reasoning_economics.errors import RewardInputError
from reasoning_economics.rewards import (
    accuracy_by_budget,
    anytime_score,
    brpo_advantages,
    budget_prior,
    budget_support,
    dense_returns,
    forced_summary_prompt,
    make_truncator,
    overthinking_count,
    summary_advantages,
)
from reasoning_economics.tokens import get_counter

approx = pytest.approx


def test_budget_support_by_hand():
    assert budget_support() == [2000, 4000, 6000, 8000]  # j*8000/4, the published setting
    assert budget_support(10, 4) == [2, 5, 7, 10]  # 2.5, 5, 7.5, 10 floored; the last is b_max
    assert budget_support(500, 1) == [500]


def test_priors_by_hand():
    budgets = [2000, 4000, 6000, 8000]
    assert budget_prior("uniform", budgets) == approx([0.25] * 4)
    # linear: b_j / 20000
    assert budget_prior("linear", budgets) == approx([0.1, 0.2, 0.3, 0.4])
    assert budget_prior("base", budgets) == [0.0, 0.0, 0.0, 1.0]


def word_truncate(text: str, n: int) -> str:
    """Cut at n whitespace-separated words: a tokenizer simple enough to work out by hand."""
    pieces = text.split(" ")
    return text if len(pieces) <= n else " ".join(pieces[:n])


def test_forced_summary_prompt_by_hand():
    thinking = "one two three four"
    # finished within the budget: kept whole, closed normally
    assert forced_summary_prompt(thinking, 4, word_truncate, finished=True) == (
        "one two three four</think>\n\n**Final Answer**\n"
    )
    # longer than the budget: cut at 2 words, marked as interrupted
    assert forced_summary_prompt(thinking, 2, word_truncate, finished=True) == (
        "one two…</think>\n\n**Final Answer**\n"
    )
    # never finished (hit the generation limit): treated as cut even within the budget
    assert forced_summary_prompt(thinking, 10, word_truncate, finished=False) == (
        "one two three four…</think>\n\n**Final Answer**\n"
    )
    # another model's end-of-thinking marker
    assert forced_summary_prompt(thinking, 1, word_truncate, finished=True, end_marker="<|end_think|>") == (
        "one…<|end_think|>\n\n**Final Answer**\n"
    )


def test_forced_summary_prompt_with_a_real_tokenizer():
    qwen = get_counter("qwen3")
    truncate = make_truncator(qwen.encode, qwen.decode)
    # qwen3 splits "one two three four" into 4 tokens: "one", " two", " three", " four"
    assert qwen.count("one two three four") == 4
    assert forced_summary_prompt("one two three four", 2, truncate, finished=True) == (
        "one two…</think>\n\n**Final Answer**\n"
    )
    assert forced_summary_prompt("one two three four", 4, truncate, finished=True) == (
        "one two three four</think>\n\n**Final Answer**\n"
    )
    assert forced_summary_prompt("", 0, truncate, finished=False) == "…</think>\n\n**Final Answer**\n"


def test_dense_returns_by_hand():
    # uniform p = 1/4, rbar = [0, 1, 1, 1]: R_3 = .25, R_2 = .5, R_1 = .75, R_0 = .75
    assert dense_returns([0, 1, 1, 1], [0.25] * 4) == approx([0.75, 0.75, 0.5, 0.25])
    # linear p = [.1, .2, .3, .4], rbar = [1, 0, 1, .5]: R_3 = .2, R_2 = .2+.3 = .5, R_1 = .5, R_0 = .6
    assert dense_returns([1, 0, 1, 0.5], [0.1, 0.2, 0.3, 0.4]) == approx([0.6, 0.5, 0.5, 0.2])


def test_brpo_by_hand_two_thoughts():
    # uniform p = [.5, .5]; thought A: rbar = [1, 0], thought B: rbar = [0, 1]
    # R(A) = [.5, 0], R(B) = [.5, .5]; V2 = [.5, .25]
    # s=0: B = V2_0 = .5 -> A_0 = 0 for both
    # s=1: V1(A) = (2^0*1 / 2^0) * p_1 = .5 -> B = (1*.5 + 1*.25)/2 = .375 -> A = 0 - .375
    #      V1(B) = 0 -> B = (0 + .25)/2 = .125 -> A = .5 - .125 = .375
    assert brpo_advantages([[1, 0], [0, 1]], [0.5, 0.5]) == [approx([0.0, -0.375]), approx([0.0, 0.375])]


def test_brpo_by_hand_discounted_history():
    # one thought, S = 3, p = 1/3 each, rbar = [1, 0, 1]: R = [2/3, 1/3, 1/3]; V2 = R (lone thought)
    # s=0: A = 2/3 - 2/3 = 0
    # s=1: V1 = (1*1)/1 * (2/3) = 2/3; B = (1*2/3 + 2*1/3)/3 = 4/9; A = 1/3 - 4/9 = -1/9
    # s=2: V1 = (1*1 + 2*0)/(1+2) * (1/3) = 1/9; B = (2*1/9 + 1*1/3)/3 = 5/27; A = 1/3 - 5/27 = 4/27
    third = 1 / 3
    assert brpo_advantages([[1, 0, 1]], [third, third, third]) == [approx([0.0, -1 / 9, 4 / 27])]


def test_brpo_edge_cases():
    assert brpo_advantages([], [0.5, 0.5]) == []
    # everyone equally right everywhere: every advantage at s=0 is 0
    assert [row[0] for row in brpo_advantages([[1, 1], [1, 1]], [0.5, 0.5])] == approx([0.0, 0.0])


_scores = st.floats(0, 1).map(lambda x: round(x * 4) / 4)  # means of 4 summaries


@given(st.integers(1, 5).flatmap(lambda s: st.lists(st.lists(_scores, min_size=s, max_size=s), min_size=1, max_size=8)))
def test_brpo_base_prior_at_s0_is_the_group_mean_baseline(group):
    n_budgets = len(group[0])
    prior = budget_prior("base", budget_support(8000, n_budgets))
    final = [row[-1] for row in group]
    mean_final = sum(final) / len(final)
    advantages = brpo_advantages(group, prior)
    assert [row[0] for row in advantages] == approx([f - mean_final for f in final], abs=1e-12)


@given(st.integers(1, 5).flatmap(lambda s: st.lists(_scores, min_size=s, max_size=s)))
def test_dense_returns_are_non_increasing_and_start_at_the_anytime_score(scores):
    prior = budget_prior("linear", budget_support(8000, len(scores)))
    returns = dense_returns(scores, prior)
    assert all(a >= b - 1e-12 for a, b in zip(returns, returns[1:]))
    assert returns[0] == approx(anytime_score(scores, prior))


def test_summary_advantages_by_hand():
    # siblings [1, 0, 0, 1]: mean .5
    assert summary_advantages([1, 0, 0, 1]) == approx([0.5, -0.5, -0.5, 0.5])
    assert summary_advantages([1]) == [0.0]
    assert summary_advantages([]) == []


def test_anytime_evaluation_by_hand():
    correct = [[0, 1, 1], [1, 1, 0]]
    # accuracy per budget: [.5, 1, .5]; uniform score 2/3
    assert accuracy_by_budget(correct) == approx([0.5, 1.0, 0.5])
    assert anytime_score([0.5, 1.0, 0.5]) == approx(2 / 3)
    # linear prior over budgets [1, 2, 3] = [1/6, 2/6, 3/6]: 0 + .5*2/6 + 1*3/6 = 4/6
    assert anytime_score([0.0, 0.5, 1.0], budget_prior("linear", [1, 2, 3])) == approx(4 / 6)
    assert anytime_score([0.0, 0.5, 1.0], budget_prior("base", [1, 2, 3])) == 1.0


def test_overthinking_count_by_hand():
    rows = [
        [1, 0, 0],  # right then wrong: overthinks
        [0, 1, 1],  # learns with more budget: no
        [1, 1, 0],  # right, right, wrong: overthinks
        [0, 0, 0],  # never right: no
        [1, 0, 1],  # right, wrong, right again: still counted once
    ]
    assert overthinking_count(rows) == 3
    assert overthinking_count([]) == 0


@given(st.lists(st.lists(st.booleans(), min_size=4, max_size=4), min_size=1, max_size=10))
def test_anytime_score_is_mean_accuracy_under_uniform_prior(correct):
    accuracies = accuracy_by_budget(correct)
    uniform = budget_prior("uniform", budget_support(8000, 4))
    assert anytime_score(accuracies, uniform) == approx(sum(accuracies) / 4)
    assert anytime_score(accuracies) == approx(sum(accuracies) / 4)


@pytest.mark.parametrize(
    "call",
    [
        lambda: budget_prior("cosine", [1, 2]),
        lambda: budget_prior("uniform", []),
        lambda: budget_prior("linear", [2, 1]),
        lambda: budget_support(3, 4),
        lambda: budget_support(8000, 0),
        lambda: dense_returns([1, 0], [0.5, 0.4]),  # prior does not sum to 1
        lambda: dense_returns([1, 0, 1], [0.5, 0.5]),  # one score per budget
        lambda: dense_returns([1.5, 0], [0.5, 0.5]),  # scores are means of 0/1 rewards
        lambda: brpo_advantages([[1, 0], [1]], [0.5, 0.5]),
        lambda: anytime_score([]),
        lambda: anytime_score([0.5, 0.5], [1.0]),
        lambda: accuracy_by_budget([]),
        lambda: accuracy_by_budget([[1, 0], [1]]),
        lambda: overthinking_count([[1, 2]]),
        lambda: overthinking_count([[1, 0], [1]]),  # counted 1, where accuracy_by_budget refused the rows
        lambda: overthinking_count([[], []]),
        lambda: forced_summary_prompt("x", -1, word_truncate, finished=True),
        lambda: forced_summary_prompt("x", 1, word_truncate, finished=True, end_marker=""),
    ],
)
def test_bad_input_raises_value_error(call):
    with pytest.raises(RewardInputError) as info:
        call()
    assert isinstance(info.value, ValueError)


def test_numpy_budgets_and_rows_are_read_not_a_numpy_truth_value_error():
    import numpy as np

    # "if not budgets" on an array raised numpy's ambiguous truth value error.
    assert budget_prior("uniform", np.array([1, 2])) == [0.5, 0.5]
    assert budget_prior("linear", np.array([1, 3])) == [0.25, 0.75]  # 1/4 and 3/4
    assert accuracy_by_budget(np.array([[True, False], [True, True]])) == [1.0, 0.5]
    with pytest.raises(RewardInputError, match=r"budgets\[1\] must be an int >= 1"):
        budget_prior("uniform", [1, 2.5])
    with pytest.raises(RewardInputError, match="budgets must be a sequence of ints, got dict"):
        budget_prior("uniform", {1: "a", 2: "b"})
    with pytest.raises(RewardInputError, match="end_marker must be a non-empty string"):
        forced_summary_prompt("abc", 1, lambda text, n: text[:n], finished=True, end_marker=5)
