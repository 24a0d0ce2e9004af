"""Input checks shared by the reward and advantage functions.

Every public function in :mod:`reasoning_economics.rewards` validates its inputs with these
helpers so that bad input fails with one clear :class:`RewardInputError` instead of a numpy
broadcast error, an ``OverflowError`` or a silent NaN.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence, Set
from numbers import Integral, Real

from reasoning_economics.errors import RewardInputError, describe


def as_flag(value: object, name: str = "correct") -> bool:
    """A correctness flag as a bool; accepts bools, numpy bools and the numbers 0 and 1 only
    (a string is refused: ``"False"`` is truthy)."""
    if isinstance(value, bool):
        return value
    if getattr(getattr(value, "dtype", None), "kind", None) == "b" and getattr(value, "ndim", 0) == 0:
        return bool(value)  # numpy.bool_ is no Real; an array of bools is no flag
    if isinstance(value, Real) and value in (0, 1):
        return bool(value)
    raise RewardInputError(f"{name} must be a bool or 0/1, got {describe(value)}")


def as_text(value: object, name: str) -> str:
    """``value`` when it is a str (a response, its thinking, a tag), else RewardInputError:
    ``None`` or a number raised a bare AttributeError or TypeError deep in the caller."""
    if not isinstance(value, str):
        raise RewardInputError(f"{name} must be a str, got {describe(value)}")
    return value


def as_items(values: object, name: str, what: str, *, error: type[ValueError] = RewardInputError) -> list[object]:
    """The items of a sequence given as ``values`` (``what`` names what it should hold).

    Refused: a str or bytes (its characters would be read one by one), a mapping or set (a
    dict gives its keys, a set no order), a 0-d numpy array and anything not iterable.
    """
    if (
        isinstance(values, (str, bytes, Mapping, Set))
        or not isinstance(values, Iterable)
        or getattr(values, "ndim", None) == 0
    ):
        raise error(f"{name} must be a sequence of {what}, got {type(values).__name__}")
    return list(values)


def as_correctness(correct: Sequence[object], name: str = "correct") -> list[bool]:
    """Correctness flags as bools; accepts bools and the numbers 0 and 1 only."""
    return [as_flag(value, f"{name}[{i}]") for i, value in enumerate(as_items(correct, name, "flags"))]


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
"""The largest magnitude of an input number (a reward, a length, a weight, a token count).
The statistics square deviations: squares of larger numbers overflow floats, and 1e300-scale
rewards gave NaN or infinite advantages, or an infinite standard deviation that turned every
advantage into 0. A weight times a length stays below 1e300, a float."""


def as_number(value: object, name: str, *, error: type[ValueError] = RewardInputError) -> float:
    """One real number, finite and of magnitude at most ``MAX_MAGNITUDE``, as a float (else
    ``error``). Bools, strings and arrays are refused, not read as numbers."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise error(f"{name} must be a finite number, got {describe(value)}")
    # A comparison, not math.isfinite: isfinite converts to float first, and an int past
    # float range raised a raw OverflowError there. NaN fails every comparison.
    if not -MAX_MAGNITUDE <= value <= MAX_MAGNITUDE:
        if value != value or value in (math.inf, -math.inf):
            raise error(f"{name} must be a finite number, got {describe(value)}")
        raise error(
            f"{name} must be at most {MAX_MAGNITUDE:g} in magnitude (its square must be a float), got {describe(value)}"
        )
    return float(value)


def as_numbers(
    values: Sequence[object], name: str = "rewards", *, error: type[ValueError] = RewardInputError
) -> list[float]:
    """Finite real numbers of magnitude at most ``MAX_MAGNITUDE`` as floats (rewards, scores;
    else ``error``, for callers outside the rewards, such as the evaluation metrics, that
    raise their own)."""
    items = as_items(values, name, "numbers", error=error)
    return [as_number(value, f"{name}[{i}]", error=error) for i, value in enumerate(items)]


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


def require_non_negative(value: object, name: str) -> float:
    """A weight or count in ``[0, MAX_MAGNITUDE]`` as a float. The cap keeps a weight times a
    length finite: ``alpha=1e300`` turned the L1 reward into ``-inf``."""
    number = as_number(value, name)
    if number < 0:
        raise RewardInputError(f"{name} must be >= 0, got {describe(value)}")
    return number


def require_positive_int(value: object, name: str) -> int:
    """A count that must be a whole number >= 1 (a bool is refused: True is no count)."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise RewardInputError(f"{name} must be an int >= 1, got {describe(value)}")
    return int(value)
