"""Input checks shared by the reward and advantage functions.

Every public function in :mod:`reasoning_economics.rewards` validates its inputs with these
helpers so that bad input fails with one clear :class:`RewardInputError` instead of a numpy
broadcast error or a silent NaN.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from numbers import Real

from reasoning_economics.errors import RewardInputError


def as_flag(value: object, name: str = "correct") -> bool:
    """A correctness flag as a bool; accepts bools and the numbers 0 and 1 only."""
    if isinstance(value, bool):
        return value
    if getattr(getattr(value, "dtype", None), "kind", None) == "b":  # numpy.bool_ is no Real
        return bool(value)
    if isinstance(value, Real) and value in (0, 1):
        return bool(value)
    raise RewardInputError(f"{name} must be a bool or 0/1, got {value!r}")


def as_correctness(correct: Sequence[object], name: str = "correct") -> list[bool]:
    """Correctness flags as bools; accepts bools and the numbers 0 and 1 only."""
    return [as_flag(value, f"{name}[{i}]") for i, value in enumerate(correct)]


def as_lengths(
    lengths: Sequence[object], name: str = "lengths", *, error: type[ValueError] = RewardInputError
) -> list[float]:
    """Token lengths as floats; each must be a finite real number >= 0 (else ``error``)."""
    out = as_numbers(lengths, name, error=error)
    for i, value in enumerate(out):
        if value < 0:
            raise error(f"{name}[{i}] must be >= 0 tokens, got {value!r}")
    return out


MAX_MAGNITUDE = 1e150
"""The largest magnitude of an input number. The statistics square deviations: squares of
larger numbers overflow floats, and 1e300-scale rewards gave NaN or infinite advantages, or an
infinite standard deviation that turned every advantage into 0."""


def as_numbers(
    values: Sequence[object], name: str = "rewards", *, error: type[ValueError] = RewardInputError
) -> list[float]:
    """Finite real numbers of magnitude at most ``MAX_MAGNITUDE`` as floats (rewards, scores;
    else ``error``, for callers outside the rewards, such as the evaluation metrics, that
    raise their own)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise error(f"{name} must be a sequence of numbers, got {type(values).__name__}")
    out = []
    for i, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
            raise error(f"{name}[{i}] must be a finite number, got {value!r}")
        if abs(value) > MAX_MAGNITUDE:
            raise error(
                f"{name}[{i}] must be at most {MAX_MAGNITUDE:g} in magnitude (its square must be a float), got {value!r}"
            )
        out.append(float(value))
    return out


def as_unit_scores(values: Sequence[object], name: str) -> list[float]:
    """Finite numbers in [0, 1] (accuracies, mean summary scores)."""
    out = as_numbers(values, name)
    for i, value in enumerate(out):
        if not 0.0 <= value <= 1.0:
            raise RewardInputError(f"{name}[{i}] must lie in [0, 1], got {value!r}")
    return out


def same_length(**sequences: Sequence[object]) -> int:
    """The common length of the named sequences; raises naming them when they differ."""
    sizes = {name: len(seq) for name, seq in sequences.items()}
    if len(set(sizes.values())) > 1:
        listed = ", ".join(f"{name}={size}" for name, size in sizes.items())
        raise RewardInputError(f"inputs must have the same length, got {listed}")
    return next(iter(sizes.values()), 0)


def require_non_negative(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) or value < 0:
        raise RewardInputError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)
