"""Evaluation metrics as pure functions: numbers in, numbers out, no I/O.

Each function says what it measures and how; the tests check values worked out by hand.
The anytime score and overthinking count come from :mod:`reasoning_economics.rewards.anytime`
(they are re-exported here so an evaluator finds every metric in one place).
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reasoning_economics.errors import ConfigError
from reasoning_economics.rewards._validation import as_lengths, as_numbers
from reasoning_economics.rewards.anytime import accuracy_by_budget, anytime_score, overthinking_count

__all__ = [
    "Proportion",
    "accuracy_by_budget",
    "accuracy_per_1k_tokens",
    "anytime_score",
    "compare_to_baseline",
    "group_values",
    "mean_pass_at_k",
    "overthinking_count",
    "pass_at_k",
    "rate",
    "ranks",
    "spearman_rho",
    "token_stats",
    "wilson_interval",
]

Z_95 = 1.959963984540054
"""The two-sided 95% quantile of the standard normal distribution."""


@dataclass(frozen=True)
class Proportion:
    """A share ``successes / total`` with its 95% Wilson score interval."""

    successes: int
    total: int
    value: float
    low: float
    high: float

    def to_dict(self) -> dict[str, Any]:
        return {"successes": self.successes, "total": self.total, "value": self.value, "low": self.low, "high": self.high}


def wilson_interval(successes: int, total: int, z: float = Z_95) -> Proportion:
    """Accuracy with a Wilson score interval (95% by default).

    With ``p = k/n``: centre ``(p + z²/2n) / (1 + z²/n)``, half-width
    ``z·sqrt(p(1-p)/n + z²/4n²) / (1 + z²/n)``. Unlike the normal approximation it stays
    inside [0, 1] and is sensible at 0/n and n/n. Zero trials give value 0 and the interval [0, 1].
    """
    for name, value in (("successes", successes), ("total", total)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{name} must be a non-negative int, got {value!r}")
    if successes > total:
        raise ConfigError(f"successes ({successes}) cannot exceed total ({total})")
    if total == 0:
        return Proportion(0, 0, 0.0, 0.0, 1.0)
    p = successes / total
    z2 = z * z
    denominator = 1 + z2 / total
    centre = (p + z2 / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total)) / denominator
    # At 0/n and n/n the bound is exactly 0 or 1; the float formula leaves 1e-17 crumbs.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == total else min(1.0, centre + half)
    return Proportion(successes, total, p, low, high)


def rate(flags: Sequence[bool]) -> Proportion:
    """The share of true flags, with its Wilson interval."""
    return wilson_interval(sum(1 for f in flags if f), len(flags))


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k of one problem from ``n`` samples of which ``c`` are correct (Chen et al.
    2021): ``1 - C(n-c, k) / C(n, k)``, computed as a product so large n does not overflow.

    It is the probability that at least one of k samples drawn without replacement is correct.
    """
    for name, value in (("n", n), ("c", c), ("k", k)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{name} must be a non-negative int, got {value!r}")
    if c > n:
        raise ConfigError(f"c ({c}) cannot exceed n ({n})")
    if not 1 <= k <= n:
        raise ConfigError(f"k must be between 1 and n ({n}), got {k}")
    if n - c < k:
        return 1.0
    # C(n-c, k) / C(n, k) = prod_{i=n-c+1}^{n} (1 - k/i)
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def mean_pass_at_k(samples: Sequence[tuple[int, int]], k: int) -> float:
    """Mean pass@k over problems given as ``(n, c)`` pairs; problems with fewer than k samples
    are an error (pass@k is undefined for them)."""
    if not samples:
        raise ConfigError("mean_pass_at_k needs at least one problem")
    return math.fsum(pass_at_k(n, c, k) for n, c in samples) / len(samples)


def token_stats(values: Sequence[float]) -> dict[str, float | int | None]:
    """``count``, ``mean``, ``median``, ``p90``, ``min`` and ``max`` of token counts.

    p90 is the nearest-rank 90th percentile (the smallest value with at least 90% of the
    values at or below it). With no values every statistic but ``count`` is None: a 0 would
    read as answers that cost nothing, and a baseline compared against it would be made up."""
    # A NaN sorts anywhere and ranks as anything: it came back as a made-up statistic.
    data = sorted(as_lengths(values, "values", error=ConfigError))
    if not data:
        return {"count": 0, "mean": None, "median": None, "p90": None, "min": None, "max": None}
    rank = max(1, math.ceil(0.9 * len(data)))
    return {
        "count": len(data),
        "mean": math.fsum(data) / len(data),
        "median": statistics.median(data),
        "p90": data[rank - 1],
        "min": data[0],
        "max": data[-1],
    }


def group_values(keys: Sequence[str], values: Sequence[Any]) -> dict[str, list[Any]]:
    """Values bucketed by key, buckets in sorted key order."""
    if len(keys) != len(values):
        raise ConfigError(f"got {len(keys)} keys for {len(values)} values")
    buckets: dict[str, list[Any]] = {}
    for key, value in zip(keys, values):
        buckets.setdefault(key, []).append(value)
    return {key: buckets[key] for key in sorted(buckets)}


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties sharing the mean of the ranks they span (``[10, 20, 20, 30]`` ->
    ``[1, 2.5, 2.5, 4]``)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    result = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        shared = (start + end) / 2 + 1
        for position in range(start, end + 1):
            result[order[position]] = shared
        start = end + 1
    return result


def spearman_rho(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rank correlation: the Pearson correlation of the tie-averaged ranks.

    Used as "does the model spend more tokens on harder problems?" (tokens against
    difficulty). None when it is undefined: fewer than two pairs or a constant side.
    """
    if len(x) != len(y):
        raise ConfigError(f"spearman_rho needs equal lengths, got {len(x)} and {len(y)}")
    x, y = as_numbers(x, "x", error=ConfigError), as_numbers(y, "y", error=ConfigError)
    if len(x) < 2:
        return None
    rx, ry = ranks(x), ranks(y)
    mx, my = math.fsum(rx) / len(rx), math.fsum(ry) / len(ry)
    sxy = math.fsum((a - mx) * (b - my) for a, b in zip(rx, ry))
    sxx = math.fsum((a - mx) ** 2 for a in rx)
    syy = math.fsum((b - my) ** 2 for b in ry)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def accuracy_per_1k_tokens(correct: int, tokens: float) -> float | None:
    """Correct answers per 1000 tokens spent; None when no token was spent."""
    if not (0 <= tokens < math.inf and 0 <= correct < math.inf):
        raise ConfigError(f"correct and tokens must be finite and non-negative, got {correct!r} and {tokens!r}")
    if tokens == 0:
        return None
    return correct / (tokens / 1000.0)


def compare_to_baseline(
    accuracy: float | None,
    tokens_per_question: float | None,
    baseline_accuracy: float | None,
    baseline_tokens_per_question: float | None,
) -> dict[str, float | None]:
    """How a run compares to a baseline run, the way the efficient-reasoning papers report it.

    - ``token_reduction_pct``: ``100 * (base - run) / base`` of mean tokens per question
      (positive when the run is shorter; None when the baseline spent nothing);
    - ``accuracy_change_points``: ``100 * (accuracy - baseline_accuracy)``.

    A None input (a run without answers has no accuracy or tokens) makes its measure None.
    """
    reduction = None
    if tokens_per_question is not None and baseline_tokens_per_question:
        reduction = 100.0 * (baseline_tokens_per_question - tokens_per_question) / baseline_tokens_per_question
    change = None
    if accuracy is not None and baseline_accuracy is not None:
        change = 100.0 * (accuracy - baseline_accuracy)
    return {"token_reduction_pct": reduction, "accuracy_change_points": change}


def accuracy_by_length_bins(
    lengths: Sequence[float], correct: Sequence[bool], num_bins: int = 5
) -> list[dict[str, float | int]]:
    """Accuracy against response length: the samples sorted by length and cut into at most
    ``num_bins`` bins of equal size, the first ``len % num_bins`` one sample larger (6 samples
    in 5 bins: 2, 1, 1, 1, 1); each bin reports its length range, mean length, sample count and
    accuracy. Samples of equal length always share a bin: a tie carried past a bin's end leaves
    the next bins that much smaller, and fewer bins when it covers a whole one."""
    if len(lengths) != len(correct):
        raise ConfigError(f"got {len(lengths)} lengths for {len(correct)} correctness flags")
    if num_bins < 1:
        raise ConfigError(f"num_bins must be >= 1, got {num_bins}")
    pairs = sorted(zip(as_lengths(lengths, error=ConfigError), (bool(c) for c in correct)), key=lambda p: p[0])
    base, larger = divmod(len(pairs), num_bins)
    # Where each bin ends in the sorted samples, were there no ties.
    ends = list(itertools.accumulate(base + (j < larger) for j in range(num_bins)))
    bins: list[list[tuple[float, bool]]] = []
    end = 0
    for position, (length, ok) in enumerate(pairs):
        if bins and (position < end or bins[-1][-1][0] == length):
            bins[-1].append((length, ok))
        else:
            bins.append([(length, ok)])
            end = next(e for e in ends if e > position)
    return [
        {
            "low": b[0][0],
            "high": b[-1][0],
            "mean_tokens": math.fsum(p[0] for p in b) / len(b),
            "count": len(b),
            "accuracy": sum(p[1] for p in b) / len(b),
        }
        for b in bins
    ]


def mean_or_none(values: Sequence[float]) -> float | None:
    """Arithmetic mean, or None for no values.

    Finite values whose sum is not (rewards near 1e308 in an edited results file, or from a
    server's reward weights) are divided before they are added: fsum raised OverflowError."""
    if not values:
        return None
    try:
        return math.fsum(values) / len(values)
    except OverflowError:
        return math.fsum(value / len(values) for value in values)


def per_1k(count: float, tokens: float) -> float | None:
    """``count`` per 1000 tokens; None when no tokens."""
    return None if tokens <= 0 else 1000.0 * count / tokens


def pareto_frontier(points: Mapping[str, tuple[float, float]]) -> list[str]:
    """Names of the runs on the accuracy-vs-tokens Pareto frontier, by increasing tokens.

    ``points[name] = (tokens, accuracy)``. A run is on the frontier when no other run has
    at most its tokens and at least its accuracy with one of them strictly better.
    """
    frontier = []
    for name, (tokens, acc) in points.items():
        dominated = any(
            (t <= tokens and a >= acc) and (t < tokens or a > acc)
            for other, (t, a) in points.items()
            if other != name
        )
        if not dominated:
            frontier.append(name)
    return sorted(frontier, key=lambda n: (points[n][0], points[n][1]))
