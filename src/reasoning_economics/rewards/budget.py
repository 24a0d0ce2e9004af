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

from reasoning_economics.errors import RewardInputError
from reasoning_economics.rewards._validation import as_flag, require_non_negative

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


def fair_share(total_budget: float, num_questions: int) -> float:
    """B / N, the tokens each question would get under an even split."""
    if num_questions <= 0:
        raise RewardInputError(f"num_questions must be positive, got {num_questions}")
    if not total_budget > 0 or not math.isfinite(total_budget):
        raise RewardInputError(f"total_budget must be a positive finite number, got {total_budget}")
    return total_budget / num_questions


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
        num_questions: N.
        beta: cost-penalty weight on the excess ratio above 1.
        gamma: efficiency-bonus weight, applied only when correct.
        overspend_tokens: tokens spent beyond the remaining budget (soft mode).
        soft_overspend_penalty: rho, the weight of ``overspend_tokens / fair``.
        soft_mode: whether the overspend penalty applies.

    >>> round(step_reward(correct=True, tokens_used=50, total_budget=1000, num_questions=10).total, 6)
    1.05
    """
    if not (tokens_used >= 0 and overspend_tokens >= 0) or not math.isfinite(tokens_used + overspend_tokens):
        # "not >=" also refuses NaN, which would otherwise come back as a NaN reward.
        raise RewardInputError(
            f"token counts must be finite and non-negative, got tokens_used={tokens_used}, overspend_tokens={overspend_tokens}"
        )
    # One chained comparison per weight on every step; the named checks only when one fails.
    try:
        weights_ok = 0.0 <= beta < math.inf and 0.0 <= gamma < math.inf and 0.0 <= soft_overspend_penalty < math.inf
    except TypeError:
        weights_ok = False
    if not weights_ok:
        for name, weight in (("beta", beta), ("gamma", gamma), ("soft_overspend_penalty", soft_overspend_penalty)):
            require_non_negative(weight, name)
    if correct is not True and correct is not False:
        correct = as_flag(correct)
    fair = fair_share(total_budget, num_questions)
    ratio = tokens_used / fair
    # In StepReward's field order: its generated __new__, called with keywords, cost three
    # times this on every step of every episode.
    return _new_tuple(
        StepReward,
        (
            CORRECT_REWARD if correct else WRONG_REWARD,  # correctness
            gamma * (1.0 - ratio) if correct else 0.0,  # efficiency_bonus
            beta * max(0.0, ratio - 1.0),  # cost_penalty
            soft_overspend_penalty * overspend_tokens / fair if soft_mode else 0.0,  # overspend_penalty
        ),
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
    if not total_budget > 0 or not math.isfinite(total_budget):
        raise RewardInputError(f"total_budget must be a positive finite number, got {total_budget}")
    if not spent >= 0 or not math.isfinite(spent):
        # NaN fell through max(0, 1 - |NaN - 0.9|) as a silent bonus of 0.
        raise RewardInputError(f"spent must be a finite number of tokens >= 0, got {spent}")
    if not 0.0 <= accuracy <= 1.0:
        raise RewardInputError(f"accuracy must be in [0, 1], got {accuracy}")
    require_non_negative(lambda_ep, "lambda_ep")
    require_non_negative(target_utilization, "target_utilization")
    utilization = spent / total_budget
    return lambda_ep * accuracy * max(0.0, 1.0 - abs(utilization - target_utilization))
