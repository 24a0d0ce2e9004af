"""Latency summaries and bounded measurement loops.

Every loop in the benchmark suite is bounded twice: by a count and by a wall-clock
deadline, whichever comes first, so a slow machine shortens a run instead of hanging it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between closest ranks.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50)
    2.5
    >>> percentile([5.0], 99)
    5.0
    """
    if not values:
        return math.nan
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within [0, 100], got {q}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class LatencySummary:
    """Milliseconds over ``count`` samples."""

    count: int
    mean_ms: float
    p50_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of_seconds(cls, samples: Sequence[float]) -> "LatencySummary":
        if not samples:
            return cls(0, math.nan, math.nan, math.nan, math.nan)
        return cls(
            count=len(samples),
            mean_ms=1000 * sum(samples) / len(samples),
            p50_ms=1000 * percentile(samples, 50),
            p99_ms=1000 * percentile(samples, 99),
            max_ms=1000 * max(samples),
        )

    def as_dict(self) -> dict[str, float | int]:
        return {
            "count": self.count,
            "mean_ms": round(self.mean_ms, 4),
            "p50_ms": round(self.p50_ms, 4),
            "p99_ms": round(self.p99_ms, 4),
            "max_ms": round(self.max_ms, 4),
        }


def bounded(count: int, seconds: float) -> Iterator[int]:
    """Yield 0, 1, ... up to ``count`` values, stopping early once ``seconds`` have passed."""
    deadline = time.perf_counter() + seconds
    for index in range(count):
        if index and time.perf_counter() >= deadline:
            return
        yield index


def rate(amount: float, seconds: float) -> float:
    """``amount / seconds``, or NaN when no time was measured."""
    return amount / seconds if seconds > 0 else math.nan
