"""Length-aware rewards for one group of samples (methods.md §2 and §3).

A *group* is the G samples drawn for the same prompt. Every function here takes the group's
correctness flags and token lengths and returns one reward per sample, in order. An empty
group returns ``[]``. Bad input (mismatched sizes, negative lengths, correctness other than
bool/0/1) raises :class:`~reasoning_economics.errors.RewardInputError`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from numbers import Real

import numpy as np

from reasoning_economics.errors import RewardInputError
from reasoning_economics.rewards._validation import (
    as_correctness,
    as_lengths,
    as_number,
    require_non_negative,
    require_positive_int,
    same_length,
)

EFFICIENCY_STD_EPS = 1e-7
"""Added to std_L in the efficiency reward so a group of equal lengths does not divide by 0."""

LCPO_ALPHA = 0.0003
LCPO_MAX_DELTA = 0.5
LCPO_TARGET_RANGE = (100, 4000)
SHORTER_BETTER_ALPHA = 2.0
SHORTER_BETTER_BETA = 0.001


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # Split by sign so neither branch overflows exp() for large |x|.
    out = np.empty_like(x)
    positive = x >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-x[positive]))
    exp_x = np.exp(x[~positive])
    out[~positive] = exp_x / (1.0 + exp_x)
    return out


def efficiency_reward(
    correct: Sequence[bool],
    lengths: Sequence[float],
    truncated: Sequence[bool] | None = None,
    alpha: float = 0.1,
) -> list[float]:
    """Length-aware reward of Arora & Zanette 2025, "Training Language Models to Reason
    Efficiently" (arXiv 2502.04463), for one group.

    ``R_i = c_i * (1 - alpha * sigmoid((L_i - mean_L) / (std_L + 1e-7)))``

    - ``mean_L`` and ``std_L`` are taken over the lengths of the samples that are correct and
      not truncated; ``std_L`` is the population standard deviation (``ddof=0``).
    - A wrong sample, or one cut off without an end-of-sequence (``truncated[i]`` true), gets 0.
    - A lone valid correct sample (and any group whose valid correct lengths are all equal)
      gets ``1 - alpha/2``, since its z-score is 0.

    Args:
        correct: whether each sample's final answer is right.
        lengths: token length of each sample.
        truncated: whether each sample hit the generation limit; ``None`` means none did.
        alpha: strength of the length penalty, in [0, 1]; the paper used 0.1 and 0.2.

    Returns:
        One reward per sample, each 0 or in ``[1 - alpha, 1]``.
    """
    flags = as_correctness(correct)
    lens = as_lengths(lengths)
    cut = [False] * len(flags) if truncated is None else as_correctness(truncated, "truncated")
    same_length(correct=flags, lengths=lens, truncated=cut)
    alpha = require_non_negative(alpha, "alpha")
    if alpha > 1:
        raise RewardInputError(f"alpha must be in [0, 1], got {alpha}")

    valid = np.array([c and not t for c, t in zip(flags, cut)], dtype=bool)
    rewards = np.zeros(len(flags))
    if valid.any():
        valid_lengths = np.asarray(lens)[valid]
        z = (valid_lengths - valid_lengths.mean()) / (valid_lengths.std(ddof=0) + EFFICIENCY_STD_EPS)
        rewards[valid] = 1.0 - alpha * _sigmoid(z)
    return rewards.tolist()


def _targets(targets: float | Sequence[float], lengths: list[float]) -> list[float]:
    """Per-sample length targets; one number is shared by the whole group."""
    if isinstance(targets, Real) and not isinstance(targets, bool):
        return as_lengths([targets] * len(lengths), "targets")
    values = as_lengths(targets, "targets")
    same_length(lengths=lengths, targets=values)
    return values


def lcpo_exact_reward(
    correct: Sequence[bool],
    lengths: Sequence[float],
    targets: int | Sequence[int],
    alpha: float = LCPO_ALPHA,
) -> list[float]:
    """LCPO-Exact reward of L1 (Aggarwal & Welleck 2025, arXiv 2503.04697).

    ``r_i = c_i - alpha * |n_target_i - L_i|`` with ``alpha = 0.0003``. The prompt asked the
    model to "Think for {n_target} tokens." (see :func:`lcpo_prompt_suffix`).

    Args:
        targets: the length target of each sample's prompt, or one int shared by the group.
    """
    flags = as_correctness(correct)
    lens = as_lengths(lengths)
    same_length(correct=flags, lengths=lens)
    goal = _targets(targets, lens)
    alpha = require_non_negative(alpha, "alpha")
    return [float(c) - alpha * abs(t - n) for c, n, t in zip(flags, lens, goal)]


def lcpo_max_reward(
    correct: Sequence[bool],
    lengths: Sequence[float],
    targets: int | Sequence[int],
    alpha: float = LCPO_ALPHA,
    delta: float = LCPO_MAX_DELTA,
) -> list[float]:
    """LCPO-Max reward of L1 (Aggarwal & Welleck 2025, arXiv 2503.04697).

    ``r_i = c_i * clip(alpha * (n_target_i - L_i) + delta, 0, 1)`` with ``alpha = 0.0003`` and
    ``delta = 0.5``: a correct answer at exactly the target earns 0.5, shorter earns more.
    The paper's prompt for this variant is "Think for maximum {n_target} tokens."
    (``lcpo_prompt_suffix(n, maximum=True)``).
    """
    flags = as_correctness(correct)
    lens = as_lengths(lengths)
    same_length(correct=flags, lengths=lens)
    goal = _targets(targets, lens)
    alpha = require_non_negative(alpha, "alpha")
    delta = as_number(delta, "delta")
    return [float(c) * min(1.0, max(0.0, alpha * (t - n) + delta)) for c, n, t in zip(flags, lens, goal)]


def lcpo_prompt_suffix(n_target: int, *, maximum: bool = False) -> str:
    """The L1 instruction appended to a prompt: "Think for {n_target} tokens." (LCPO-Exact),
    or "Think for maximum {n_target} tokens." with ``maximum=True`` (LCPO-Max)."""
    if isinstance(n_target, bool) or not isinstance(n_target, int) or n_target <= 0:
        raise RewardInputError(f"n_target must be a positive int, got {n_target!r}")
    return f"Think for maximum {n_target} tokens." if maximum else f"Think for {n_target} tokens."


def sample_lcpo_target(
    rng: random.Random,
    low: int = LCPO_TARGET_RANGE[0],
    high: int = LCPO_TARGET_RANGE[1],
    *,
    maximum: bool = False,
) -> tuple[int, str]:
    """Draw an L1 length target uniformly from the integers in ``[low, high]`` (default
    [100, 4000], as in arXiv 2503.04697) and return it with its prompt suffix.

    The caller owns ``rng`` so runs are reproducible: ``sample_lcpo_target(random.Random(0))``.
    """
    if not callable(getattr(rng, "randint", None)):  # None raised a bare AttributeError
        raise RewardInputError(f"rng must be a random.Random, got {type(rng).__name__}")
    low, high = require_positive_int(low, "low"), require_positive_int(high, "high")
    if not low <= high:
        raise RewardInputError(f"need 0 < low <= high, got low={low}, high={high}")
    n_target = rng.randint(low, high)
    return n_target, lcpo_prompt_suffix(n_target, maximum=maximum)


def kimi_length_reward(correct: Sequence[bool], lengths: Sequence[float]) -> list[float]:
    """Length reward of Kimi k1.5 (Kimi Team 2025, arXiv 2501.12599), for one group.

    ``lambda_i = 0.5 - (L_i - L_min) / (L_max - L_min)`` with min and max over **all** samples
    of the group. A correct sample gets ``lambda_i``; a wrong one gets ``min(0, lambda_i)``.
    When every sample has the same length the reward is 0 for all (as in the open-r1
    implementation), since the formula divides by zero.
    """
    flags = as_correctness(correct)
    lens = as_lengths(lengths)
    same_length(correct=flags, lengths=lens)
    if not lens:
        return []
    low, high = min(lens), max(lens)
    if high == low:
        return [0.0] * len(lens)
    rewards = []
    for ok, n in zip(flags, lens):
        lam = 0.5 - (n - low) / (high - low)
        rewards.append(lam if ok else min(0.0, lam))
    return rewards


def shorter_better_reward(
    correct: Sequence[bool],
    lengths: Sequence[float],
    alpha: float = SHORTER_BETTER_ALPHA,
    beta: float = SHORTER_BETTER_BETA,
) -> list[float]:
    """ShorterBetter reward (Yi et al. 2025, arXiv 2504.21370), for one group.

    ``r_i = alpha * c_i - beta * |L_i - SOL|`` with ``alpha = 2`` and ``beta = 0.001``.
    SOL (the "sample optimal length") is the shortest correct length in the group, or the
    group's mean length when no sample is correct.
    """
    flags = as_correctness(correct)
    lens = as_lengths(lengths)
    same_length(correct=flags, lengths=lens)
    alpha = require_non_negative(alpha, "alpha")
    beta = require_non_negative(beta, "beta")
    if not lens:
        return []
    correct_lengths = [n for ok, n in zip(flags, lens) if ok]
    sol = min(correct_lengths) if correct_lengths else math.fsum(lens) / len(lens)
    return [alpha * float(ok) - beta * abs(n - sol) for ok, n in zip(flags, lens)]
