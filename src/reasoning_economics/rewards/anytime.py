"""AnytimeReasoner and BRPO (Qi et al. 2025, "Optimizing Anytime Reasoning via Budget Relative
Policy Optimization", arXiv 2505.13438; methods.md §5).

**Indexing: everything is 0-based.** With S budgets, budget ``j`` (0..S-1) is
``b_j = (j + 1) * b_max / S`` (methods.md's ``b_{j+1}``), and thinking segment ``s`` (0..S-1)
is the tokens between ``b_{s-1}`` and ``b_s`` (``b_{-1} = 0``). This is the reference code's
convention, and with it:

- the dense return of segment s is ``R_s = sum_{j >= s} p_j * rbar_j``;
- the BRPO baseline mixes ``V1_s`` (this thought's own earlier scores, weights ``2^j`` for
  ``j < s``) and ``V2_s`` (the group mean of ``R_s``) as ``B_s = (s*V1_s + (S-s)*V2_s) / S``,
  so segment 0 uses the plain group-mean baseline.

``rbar_j`` is the mean score of the summaries sampled after truncating the thinking at
``b_j`` (1 when a summary's boxed answer is right, else 0).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from reasoning_economics.errors import RewardInputError
from reasoning_economics.rewards._validation import (
    as_correctness,
    as_flag,
    as_items,
    as_text,
    as_unit_scores,
    require_positive_int,
)

DEFAULT_MAX_BUDGET = 8000
DEFAULT_NUM_BUDGETS = 4
MAX_SUMMARY_TOKENS = 118
"""Summaries are short: at most this many tokens each."""
SUMMARIES_PER_BUDGET = 4
FINAL_ANSWER_HEADER = "\n\n**Final Answer**\n"
TRUNCATION_MARK = "…"
"""Put before the end-of-thinking marker when the thinking is cut, so the model sees it was
interrupted ("…</think>"). The reference code inserts "...\\n\\n...\\n\\n" here instead."""
BRPO_DISCOUNT = 2.0
"""V1_s weighs earlier budget scores by ``2^j``: later (longer) budgets count more."""

_PRIOR_SUM_TOLERANCE = 1e-6

Truncate = Callable[[str, int], str]
"""``truncate(text, n)``: the first ``n`` tokens of ``text``; ``text`` itself when it has at most ``n``."""


def budget_support(max_budget: int = DEFAULT_MAX_BUDGET, num_budgets: int = DEFAULT_NUM_BUDGETS) -> list[int]:
    """The budgets ``b_j = (j + 1) * max_budget / S`` for ``j = 0..S-1``, floored to whole
    tokens (the last is exactly ``max_budget``). Default S = 4, b_max = 8000: 2000..8000."""
    for name, value in (("max_budget", max_budget), ("num_budgets", num_budgets)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise RewardInputError(f"{name} must be an int >= 1, got {value!r}")
    if max_budget < num_budgets:
        raise RewardInputError(f"max_budget ({max_budget}) must be >= num_budgets ({num_budgets})")
    return [(j + 1) * max_budget // num_budgets for j in range(num_budgets)]


def _uniform_prior(budgets: Sequence[int]) -> list[float]:
    return [1.0 / len(budgets)] * len(budgets)


def _linear_prior(budgets: Sequence[int]) -> list[float]:
    total = math.fsum(budgets)
    return [b / total for b in budgets]


def _base_prior(budgets: Sequence[int]) -> list[float]:
    return [0.0] * (len(budgets) - 1) + [1.0]


BUDGET_PRIORS: dict[str, Callable[[Sequence[int]], list[float]]] = {
    "uniform": _uniform_prior,
    "linear": _linear_prior,
    "base": _base_prior,
}
"""``p_j``: uniform ``1/S``; linear ``b_j / sum(b)``; base puts all mass on the largest budget."""


def budget_prior(name: str, budgets: Sequence[int]) -> list[float]:
    """The prior ``p_j`` over ``budgets`` named ``"uniform"``, ``"linear"`` or ``"base"``."""
    if not isinstance(name, str) or name not in BUDGET_PRIORS:  # a list name raised "unhashable type"
        raise RewardInputError(f"unknown budget prior {name!r}; known: {', '.join(BUDGET_PRIORS)}")
    # As a list of ints: "if not budgets" on a numpy array raised numpy's ambiguous-truth error.
    sizes = [require_positive_int(b, f"budgets[{j}]") for j, b in enumerate(as_items(budgets, "budgets", "ints"))]
    if not sizes:
        raise RewardInputError("budgets must not be empty")
    if any(b >= c for b, c in zip(sizes, sizes[1:])):
        raise RewardInputError(f"budgets must be strictly increasing, got {sizes!r}")
    return BUDGET_PRIORS[name](sizes)


def _check_prior(prior: Sequence[float]) -> list[float]:
    probs = as_unit_scores(prior, "prior")
    if not probs:
        raise RewardInputError("prior must not be empty")
    if abs(math.fsum(probs) - 1.0) > _PRIOR_SUM_TOLERANCE:
        raise RewardInputError(f"prior must sum to 1, got {math.fsum(probs)}")
    return probs


def forced_summary_prompt(
    thinking: str,
    budget: int,
    truncate: Truncate,
    *,
    finished: bool,
    end_marker: str = "</think>",
) -> str:
    """The text after which the model writes a short summary for one budget (AnytimeReasoner).

    The thinking is cut at ``budget`` tokens when it is longer, or when it never reached the
    end-of-thinking marker (``finished=False``); then ``"…" + end_marker`` closes it and the
    final-answer header follows: ``cut + "…</think>\\n\\n**Final Answer**\\n"``. Thinking that
    finished within the budget is kept whole: ``thinking + "</think>\\n\\n**Final Answer**\\n"``.

    Args:
        thinking: the thinking text, without the end marker.
        budget: ``b_j`` in tokens.
        truncate: tokenizer-aware cut, see :data:`Truncate` and :func:`make_truncator`.
        finished: whether the model emitted the end marker after ``thinking``.
        end_marker: the model's end-of-thinking marker.
    """
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 0:
        raise RewardInputError(f"budget must be an int >= 0, got {budget!r}")
    if not isinstance(end_marker, str) or not end_marker:
        raise RewardInputError(f"end_marker must be a non-empty string, got {end_marker!r}")
    # finished="no" is truthy and kept unfinished thinking without its "…"; None thinking raised a bare TypeError.
    thinking, finished = as_text(thinking, "thinking"), as_flag(finished, "finished")
    kept = truncate(thinking, budget)
    if finished and kept == thinking:
        return thinking + end_marker + FINAL_ANSWER_HEADER
    return kept + TRUNCATION_MARK + end_marker + FINAL_ANSWER_HEADER


def make_truncator(encode: Callable[[str], Sequence[int]], decode: Callable[[Sequence[int]], str]) -> Truncate:
    """A :data:`Truncate` from a tokenizer's ``encode``/``decode`` (for example a counter from
    ``reasoning_economics.tokens``). Text within the limit is returned unchanged, so the
    decode round trip never turns a short thinking into a "truncated" one."""

    def truncate(text: str, n_tokens: int) -> str:
        ids = list(encode(text))
        return text if len(ids) <= n_tokens else decode(ids[:n_tokens])

    return truncate


def dense_returns(budget_scores: Sequence[float], prior: Sequence[float]) -> list[float]:
    """``R_s = sum_{j >= s} p_j * rbar_j`` for each segment ``s = 0..S-1`` of one thought.

    ``R_0 = sum_j p_j * rbar_j`` is the thought's anytime objective: the area under its
    accuracy-vs-budget curve.
    """
    probs = _check_prior(prior)
    scores = as_unit_scores(budget_scores, "budget_scores")
    if len(scores) != len(probs):
        raise RewardInputError(f"budget_scores has {len(scores)} entries but the prior has {len(probs)}")
    returns = [0.0] * len(scores)
    tail = 0.0
    for s in range(len(scores) - 1, -1, -1):
        tail += probs[s] * scores[s]
        returns[s] = tail
    return returns


def brpo_advantages(budget_scores: Sequence[Sequence[float]], prior: Sequence[float]) -> list[list[float]]:
    """BRPO advantages ``A[g][s]`` for a group of G thoughts over S thinking segments.

    With ``R_s`` from :func:`dense_returns` and 0-based ``j`` and ``s``:

    - ``V2_s = mean_g R_s`` (the group mean; a lone thought is its own mean);
    - ``V1_s = [sum_{j<s} 2^j * rbar_j / sum_{j<s} 2^j] * sum_{j>=s} p_j`` (0 for s = 0);
    - ``B_s = (s * V1_s + (S - s) * V2_s) / S``;
    - ``A_s = R_s - B_s``, with no division by a standard deviation.

    Every token of segment s gets ``A[g][s]``. At s = 0 the baseline is the group mean of
    ``R_0``; under the base prior that is GRPO's group-mean baseline of the final score.

    Args:
        budget_scores: ``budget_scores[g][j]`` = rbar_j of thought g, in [0, 1].
        prior: ``p_j``, summing to 1 (see :func:`budget_prior`).
    """
    probs = _check_prior(prior)
    n_budgets = len(probs)
    # As a list of rows: "if not budget_scores" on a 2-D numpy array raised numpy's ambiguous-truth error.
    rows = as_items(budget_scores, "budget_scores", "rows of scores")
    if not rows:
        return []
    scores = [as_unit_scores(row, f"budget_scores[{g}]") for g, row in enumerate(rows)]
    returns = [dense_returns(row, probs) for row in scores]
    group_mean = [math.fsum(r[s] for r in returns) / len(returns) for s in range(n_budgets)]
    tail_mass = [math.fsum(probs[s:]) for s in range(n_budgets)]
    advantages = []
    for row, row_returns in zip(scores, returns):
        row_adv = []
        for s in range(n_budgets):
            if s == 0:
                v1 = 0.0
            else:
                weights = [BRPO_DISCOUNT**j for j in range(s)]
                v1 = math.fsum(w * r for w, r in zip(weights, row)) / math.fsum(weights) * tail_mass[s]
            baseline = (s * v1 + (n_budgets - s) * group_mean[s]) / n_budgets
            row_adv.append(row_returns[s] - baseline)
        advantages.append(row_adv)
    return advantages


def summary_advantages(summary_scores: Sequence[float]) -> list[float]:
    """Advantages of the summaries sampled from one truncated prefix: ``r_k - mean(r)``, the
    mean over all sibling summaries of that prefix (the summary itself included, as in the
    reference). A lone summary gets 0; to train summaries with one per prefix, compare across
    the group instead (``grpo_advantages(..., scale_by_std=False)``)."""
    scores = as_unit_scores(summary_scores, "summary_scores")
    if not scores:
        return []
    mean = math.fsum(scores) / len(scores)
    return [r - mean for r in scores]


def _budget_rows(correct_by_budget: Sequence[Sequence[bool]]) -> list[list[bool]]:
    """The rows as bools, each with the same, non-zero number of budgets."""
    rows = [
        as_correctness(row, f"correct_by_budget[{i}]")
        for i, row in enumerate(as_items(correct_by_budget, "correct_by_budget", "rows of flags"))
    ]
    if rows and (not rows[0] or any(len(row) != len(rows[0]) for row in rows)):
        raise RewardInputError("every sample needs the same, non-zero number of budgets")
    return rows


def accuracy_by_budget(correct_by_budget: Sequence[Sequence[bool]]) -> list[float]:
    """Accuracy at each budget: ``correct_by_budget[i][j]`` says whether sample i was right
    when cut at budget j. All rows must have the same number of budgets."""
    rows = _budget_rows(correct_by_budget)
    if not rows:
        raise RewardInputError("correct_by_budget must hold at least one sample")
    return [sum(row[j] for row in rows) / len(rows) for j in range(len(rows[0]))]


def anytime_score(accuracies: Sequence[float], prior: Sequence[float] | None = None) -> float:
    """``sum_j p_j * accuracy_j``: the area under the accuracy-vs-budget curve. The default
    prior is uniform, so the score is the mean accuracy over the budgets."""
    accs = as_unit_scores(accuracies, "accuracies")
    if not accs:
        raise RewardInputError("accuracies must not be empty")
    probs = [1.0 / len(accs)] * len(accs) if prior is None else _check_prior(prior)
    if len(probs) != len(accs):
        raise RewardInputError(f"accuracies has {len(accs)} entries but the prior has {len(probs)}")
    return math.fsum(p * a for p, a in zip(probs, accs))


def overthinking_count(correct_by_budget: Sequence[Sequence[bool]]) -> int:
    """Samples that were right at some budget and wrong at a larger one: thinking longer
    turned a right answer wrong. Each sample counts at most once. All rows must have the same
    number of budgets."""
    count = 0
    for flags in _budget_rows(correct_by_budget):
        seen_right = False
        for ok in flags:
            if ok:
                seen_right = True
            elif seen_right:
                count += 1
                break
    return count
