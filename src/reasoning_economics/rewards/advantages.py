"""Group advantages (methods.md §6). Each function takes one group's rewards (the G samples
of one prompt, or the G episodes of one seed) and returns one advantage per sample.

- GRPO (Shao et al. 2024, DeepSeekMath, arXiv 2402.03300): ``(r - mean) / (std + eps)``.
- Dr. GRPO (Liu et al. 2025, arXiv 2503.20783): the same without the std division.
- RLOO (Ahmadian et al. 2024, arXiv 2402.14740): ``r_i - mean_{j != i} r_j``.
- BRPO (Qi et al. 2025, arXiv 2505.13438): :func:`~reasoning_economics.rewards.anytime.brpo_advantages`.
- Per-question reward-to-go with a group baseline for multi-question episodes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from reasoning_economics.rewards._validation import as_flag, as_items, as_numbers, require_non_negative
from reasoning_economics.rewards.anytime import brpo_advantages

__all__ = ["brpo_advantages", "grpo_advantages", "reward_to_go_advantages", "rloo"]

GRPO_EPS = 1e-4


def grpo_advantages(rewards: Sequence[float], scale_by_std: bool = True, eps: float = GRPO_EPS) -> list[float]:
    """GRPO's group-relative advantage ``(r_i - mean) / (std + eps)``.

    ``std`` is the sample standard deviation (``ddof=1``), as TRL's ``GRPOTrainer`` computes
    it, so the numbers match a TRL run; a group of one has std 0. ``scale_by_std=False`` gives
    Dr. GRPO's unbiased variant ``r_i - mean``. An empty group returns ``[]``.
    """
    values = np.asarray(as_numbers(rewards), dtype=float)
    eps = require_non_negative(eps, "eps")
    # Checked as a flag: scale_by_std="False" is truthy, and divided by the std.
    scale_by_std = as_flag(scale_by_std, "scale_by_std")
    if values.size == 0:
        return []
    centered = values - values.mean()
    if not scale_by_std:
        return centered.tolist()
    std = values.std(ddof=1) if values.size > 1 else 0.0
    return (centered / (std + eps)).tolist()


def rloo(rewards: Sequence[float]) -> list[float]:
    """REINFORCE leave-one-out: ``A_i = r_i - mean_{j != i} r_j``. The advantages sum to zero.
    A group of one has no other sample to compare with and gets ``[0.0]``; an empty group ``[]``."""
    values = as_numbers(rewards)
    n = len(values)
    if n <= 1:
        return [0.0] * n
    total = math.fsum(values)
    return [r - (total - r) / (n - 1) for r in values]


def reward_to_go_advantages(step_rewards: Sequence[Sequence[float]]) -> list[list[float]]:
    """Per-question reward-to-go with a group baseline, for G multi-question episodes that share
    a seed: ``A_{i,k} = G_{i,k} - mean_j G_{j,k}`` with ``G_{i,k} = sum_{t >= k} r_{i,t}``.

    Episodes may have different lengths (a hard-mode episode ends early when its budget runs
    out). An episode earns nothing after it ends, so its ``G_{j,k}`` beyond its end is 0 and
    it still counts in the mean at step k: the baseline is the expected return from question
    k on, over the whole group. The result has the same ragged shape as ``step_rewards``.
    """
    rows = [
        as_numbers(row, f"step_rewards[{i}]")
        for i, row in enumerate(as_items(step_rewards, "step_rewards", "rows of rewards"))
    ]
    if not rows:
        return []
    horizon = max(len(row) for row in rows)
    returns = np.zeros((len(rows), horizon))
    for i, row in enumerate(rows):
        if row:
            returns[i, : len(row)] = np.cumsum(row[::-1])[::-1]
    baseline = returns.mean(axis=0)
    return [(returns[i, : len(row)] - baseline[: len(row)]).tolist() for i, row in enumerate(rows)]
