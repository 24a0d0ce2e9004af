"""Shared-budget episode reward (ReasoningEconomicsEnv; methods.md §1).

An episode holds N questions and one token budget B. With ``fair = B / N`` and
``ratio = tokens_used / fair``, each step earns::

    r_step = correctness + efficiency_bonus - cost_penalty - overspend_penalty
    correctness       = +1 if correct else -0.1
    efficiency_bonus  = gamma * (1 - ratio)                  (only when correct)
    cost_penalty      = beta * max(0, ratio - 1)
    overspend_penalty = rho * overspend_tokens / fair        (soft mode only)

and the final step adds ``lambda_ep * accuracy * max(0, 1 - |spent / B - target_util|)``.

These are the only copies of the formulas: the environment calls them.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from reasoning_economics.errors import RewardInputError, describe
from reasoning_economics.rewards._validation import (
    MAX_MAGNITUDE,
    as_flag,
    as_number,
    require_non_negative,
    require_positive_int,
)

CORRECT_REWARD = 1.0
WRONG_REWARD = -0.1


class StepReward(NamedTuple):
    """The parts of one step's reward; ``total`` is what the environment returns.

    A named tuple, not a frozen dataclass: it is built on every step of every episode,
    and a frozen dataclass costs several times more to build.
    """

    correctness: float
    efficiency_bonus: float
    cost_penalty: float
    overspend_penalty: float

    @property
    def total(self) -> float:
        return self.correctness + self.efficiency_bonus - self.cost_penalty - self.overspend_penalty


_new_tuple = tuple.__new__
_INF = math.inf


def fair_share(total_budget: float, num_questions: int) -> float:
    """B / N, the tokens each question would get under an even split."""
    questions = require_positive_int(num_questions, "num_questions")
    budget = require_non_negative(total_budget, "total_budget")
    # A budget of 0 (or one so small that B / N underflows to 0) leaves no fair share to divide by.
    if not budget / questions > 0:
        raise RewardInputError(f"total_budget must be > 0 (and its share per question too), got {describe(total_budget)}")
    return budget / questions


def _step_reward_by_name(
    correct: object,
    tokens_used: object,
    total_budget: object,
    num_questions: object,
    beta: object,
    gamma: object,
    overspend_tokens: object,
    soft_overspend_penalty: object,
    soft_mode: object,
) -> StepReward:
    """:func:`step_reward` after checking its arguments one by one, each error naming its
    argument, and converting them to bool, float and int; run only when its fast check fails.
    The converted arguments pass that check, so this does not recurse again."""
    fair_share(total_budget, num_questions)
    return step_reward(
        correct=as_flag(correct),
        tokens_used=require_non_negative(tokens_used, "tokens_used"),
        total_budget=float(total_budget),
        num_questions=int(num_questions),
        beta=require_non_negative(beta, "beta"),
        gamma=require_non_negative(gamma, "gamma"),
        overspend_tokens=require_non_negative(overspend_tokens, "overspend_tokens"),
        soft_overspend_penalty=require_non_negative(soft_overspend_penalty, "soft_overspend_penalty"),
        soft_mode=as_flag(soft_mode, "soft_mode"),
    )


def step_reward(
    *,
    correct: bool,
    tokens_used: float,
    total_budget: float,
    num_questions: int,
    beta: float = 0.05,
    gamma: float = 0.1,
    overspend_tokens: float = 0.0,
    soft_overspend_penalty: float = 0.25,
    soft_mode: bool = False,
) -> StepReward:
    """Per-step reward of methods.md §1.

    Args:
        correct: whether the graded answer was right.
        tokens_used: tokens charged for this step (already clipped in hard mode).
        total_budget: the episode budget B.
        num_questions: N, an int >= 1.
        beta: cost-penalty weight on the excess ratio above 1.
        gamma: efficiency-bonus weight, applied only when correct.
        overspend_tokens: tokens spent beyond the remaining budget (soft mode).
        soft_overspend_penalty: rho, the weight of ``overspend_tokens / fair``.
        soft_mode: whether the overspend penalty applies.

    Every number must be a real number (not a bool or a str) of magnitude at most
    ``MAX_MAGNITUDE``; token counts and weights >= 0, ``total_budget`` > 0. Inputs whose
    reward is still not finite (a huge count over a tiny budget) raise too.

    >>> round(step_reward(correct=True, tokens_used=50, total_budget=1000, num_questions=10).total, 6)
    1.05
    """
    # This runs on every environment step, so the common case costs one chained comparison
    # per argument (an identity test for the flags, an exact type test for the count N); the
    # named checks run only when one of them fails. The comparisons refuse NaN (every
    # comparison with NaN is false), infinities and magnitudes past MAX_MAGNITUDE.
    cap = MAX_MAGNITUDE  # a local: six global lookups were a tenth of this function's time
    try:
        fast_checks_pass = (
            (correct is True or correct is False)
            and (soft_mode is True or soft_mode is False)
            and type(num_questions) is int
            and num_questions >= 1
            and 0 < total_budget <= cap
            and 0 <= tokens_used <= cap
            and 0 <= overspend_tokens <= cap
            and 0 <= beta <= cap
            and 0 <= gamma <= cap
            and 0 <= soft_overspend_penalty <= cap
            # A bool passes each comparison above as 0 or 1, so those two objects are ruled out by identity.
            and tokens_used is not True is not total_budget is not False is not tokens_used
            and overspend_tokens is not True is not beta is not False is not overspend_tokens
            and gamma is not True is not soft_overspend_penalty is not False is not gamma
        )
    except (TypeError, ValueError):  # a str does not compare with a number; an array's comparison is no bool
        fast_checks_pass = False
    if not fast_checks_pass:
        return _step_reward_by_name(
            correct, tokens_used, total_budget, num_questions, beta, gamma, overspend_tokens, soft_overspend_penalty, soft_mode
        )
    fair = total_budget / num_questions
    try:
        ratio = tokens_used / fair
    except ZeroDivisionError:  # B / N underflowed to 0 (a budget of 1e-320 tokens)
        fair_share(total_budget, num_questions)  # raises, naming total_budget
        raise
    correctness = CORRECT_REWARD if correct else WRONG_REWARD
    efficiency_bonus = gamma * (1.0 - ratio) if correct else 0.0
    cost_penalty = beta * max(0.0, ratio - 1.0)
    overspend_penalty = soft_overspend_penalty * overspend_tokens / fair if soft_mode else 0.0
    total = correctness + efficiency_bonus - cost_penalty - overspend_penalty
    # One test of the sum covers every part: a part that is inf or NaN makes the sum inf or NaN.
    # Its type is float for int and float inputs; a numpy number, or a 1-element array, passed
    # the comparisons above and takes the named checks (which convert it, or refuse an array).
    if type(total) is float and -_INF < total < _INF:
        # In StepReward's field order: its generated __new__, called with keywords, cost three
        # times this on every step of every episode.
        return _new_tuple(StepReward, (correctness, efficiency_bonus, cost_penalty, overspend_penalty))
    if type(total) is not float:
        return _step_reward_by_name(
            correct, tokens_used, total_budget, num_questions, beta, gamma, overspend_tokens, soft_overspend_penalty, soft_mode
        )
    # Each input is bounded, yet a huge count over a tiny budget still overflows.
    raise RewardInputError(
        f"the step reward is not finite for tokens_used={describe(tokens_used)}, "
        f"overspend_tokens={describe(overspend_tokens)}, total_budget={describe(total_budget)}, "
        f"num_questions={num_questions}, beta={describe(beta)}, gamma={describe(gamma)}, "
        f"soft_overspend_penalty={describe(soft_overspend_penalty)}: tokens per fair share overflow a float"
    )


def episode_bonus(
    *,
    accuracy: float,
    spent: float,
    total_budget: float,
    lambda_ep: float = 0.5,
    target_utilization: float = 0.9,
) -> float:
    """Final-step bonus: ``lambda_ep * accuracy * max(0, 1 - |spent/B - target_util|)`` (§1).

    >>> episode_bonus(accuracy=0.5, spent=800, total_budget=1000)
    0.225
    """
    budget = require_non_negative(total_budget, "total_budget")
    if budget == 0:
        raise RewardInputError(f"total_budget must be > 0, got {describe(total_budget)}")
    # NaN spent fell through max(0, 1 - |NaN - 0.9|) as a silent bonus of 0.
    spent = require_non_negative(spent, "spent")
    accuracy = as_number(accuracy, "accuracy")
    if not 0.0 <= accuracy <= 1.0:
        raise RewardInputError(f"accuracy must be in [0, 1], got {accuracy!r}")
    lambda_ep = require_non_negative(lambda_ep, "lambda_ep")
    target_utilization = require_non_negative(target_utilization, "target_utilization")
    # spent / B may overflow to inf (1e150 tokens of a 1e-200 budget): its bonus is then 0.
    utilization = spent / budget
    return lambda_ep * accuracy * max(0.0, 1.0 - abs(utilization - target_utilization))
