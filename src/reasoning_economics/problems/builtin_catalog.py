"""The reasoning-gym problem types of the ``builtin`` source, their levels and difficulties.

Each type is a reasoning-gym generator with two or three *levels*: generator settings
from easy to hard. A problem's difficulty is a function of its level's settings::

    difficulty = lo + (hi - lo) * mean over knobs k of (f(v_k) - f(first_k)) / (f(last_k) - f(first_k))

- ``[lo, hi]`` is the type's band: where the type sits among the others, from one-step
  arithmetic near 0 to polynomial equations near 1;
- ``v_k`` is the level's value of knob k, ``first_k`` / ``last_k`` its value at the
  easiest and hardest level; knobs equal at both ends are left out of the mean;
- ``f`` is log10 for value ranges (``max_value``, ``max_factor``, ``max_real``: a range ten
  times larger is one step harder), the number of operations for ``operations``, else
  the value itself.

So the easiest level of a type gets ``lo``, the hardest ``hi``. The values, which
``tests/test_problems_builtin.py`` recomputes by hand:

| type | knobs | level 0 | level 1 | level 2 | band | difficulty 0 / 1 / 2 |
|---|---|---|---|---|---|---|
| chain_sum | terms, digits | 2-3, 1 | 3-5, 2 | 5-8, 3-4 | 0.00-0.20 | 0.000 / 0.073 / 0.200 |
| basic_arithmetic | terms, digits | 2, 1 | 3-4, 1-2 | 4-5, 2-3 | 0.05-0.30 | 0.050 / 0.196 / 0.300 |
| products | terms, digits | 2, 1-2 | 2, 2-3 | 3, 2-3 | 0.05-0.30 | 0.050 / 0.175 / 0.300 |
| gcd | numbers, max value | 2, 100 | 2, 1000 | 3, 10000 | 0.10-0.30 | 0.100 / 0.150 / 0.300 |
| lcm | numbers, max value | 2, 20 | 2, 100 | 3, 100 | 0.15-0.35 | 0.150 / 0.250 / 0.350 |
| fraction_simplification | max value, max factor | 20, 10 | 100, 20 | 1000, 100 | 0.15-0.40 | 0.150 / 0.239 / 0.400 |
| complex_arithmetic | max part, operations | 5, +- | 10, +-* | 20, +-*/ | 0.25-0.50 | 0.250 / 0.375 / 0.500 |
| simple_equations | terms, max value | 2, 10 | 3, 50 | 4, 100 | 0.30-0.55 | 0.300 / 0.450 / 0.550 |
| gsm_symbolic | (one level) | GSM8K templates | | | 0.50 | 0.500 |
| polynomial_equations | degree, terms | 1, 2-3 | 2, 2-3 | 3, 3-4 | 0.65-0.95 | 0.650 / 0.725 / 0.950 |

With :attr:`Problem.difficulty_tier <reasoning_economics.problems.record.Problem.difficulty_tier>`
(easy < 1/3 <= medium < 2/3 <= hard) the arithmetic types are easy, complex numbers,
linear equations and GSM word problems medium, polynomial equations hard.

Types left out on purpose: ``decimal_arithmetic`` sets the process-wide ``decimal``
precision as a side effect; ``prime_factorization`` wants ``2 × 3`` and its scorer rejects
the ``2 \\times 3`` a model writes in LaTeX; ``power_function`` answers in float ``e``
notation to 3 significant figures. ``basic_arithmetic`` runs without ``/``: its generator
evaluates ``/`` as floor division, so a few of its gold answers would be wrong.

Every type's scorer is independent of the generator's settings (the grading worker
builds the scorer with default settings), and accepts the gold answer with score 1.0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

LOG_KNOBS = frozenset({"max_value", "max_factor", "max_real"})


def knob_scale(knob: str, value: Any) -> float:
    """``f`` of the module docstring: log10 for value ranges, count for operations."""
    if knob in LOG_KNOBS:
        return math.log10(value)
    if knob == "operations":
        return float(len(value))
    return float(value)


@dataclass(frozen=True)
class BuiltinType:
    """One reasoning-gym generator with its levels; see the module docstring."""

    name: str
    band: tuple[float, float]
    knobs: tuple[str, ...]
    levels: tuple[Mapping[str, Any], ...]
    pool_size: int = 100_000
    """Distinct generator indices drawn from per level. Small for slow generators so that
    the per-process cache can hold the whole pool (see ``BuiltinSource.warm_up``)."""
    difficulties: tuple[float, ...] = field(init=False)

    def __post_init__(self) -> None:
        lo, hi = self.band
        if not 0.0 <= lo <= hi <= 1.0:
            raise ValueError(f"{self.name}: band {self.band} must satisfy 0 <= lo <= hi <= 1")
        if not self.levels:
            raise ValueError(f"{self.name}: at least one level is required")
        object.__setattr__(self, "levels", tuple(MappingProxyType(dict(level)) for level in self.levels))
        object.__setattr__(self, "difficulties", tuple(self._difficulty(i) for i in range(len(self.levels))))

    def _difficulty(self, level: int) -> float:
        lo, hi = self.band
        fractions = []
        for knob in self.knobs:
            first = knob_scale(knob, self.levels[0][knob])
            last = knob_scale(knob, self.levels[-1][knob])
            if last != first:
                fractions.append((knob_scale(knob, self.levels[level][knob]) - first) / (last - first))
        progress = sum(fractions) / len(fractions) if fractions else 0.0
        return lo + (hi - lo) * progress


def _ranges(**bounds: tuple[int, int]) -> dict[str, int]:
    """``terms=(2, 3)`` -> ``{"min_terms": 2, "max_terms": 3}``, reasoning-gym's naming."""
    settings: dict[str, int] = {}
    for name, (low, high) in bounds.items():
        settings[f"min_{name}"] = low
        settings[f"max_{name}"] = high
    return settings


def _complex(bound: int, operations: tuple[str, ...], weights: list[float]) -> dict[str, Any]:
    return {
        "min_real": -bound,
        "max_real": bound,
        "min_imag": -bound,
        "max_imag": bound,
        "operations": operations,
        "operations_weights": weights,
    }


NO_DIVISION = ("+", "-", "*")

BUILTIN_TYPES: tuple[BuiltinType, ...] = (
    BuiltinType(
        "chain_sum",
        (0.00, 0.20),
        ("max_terms", "max_digits"),
        (
            _ranges(terms=(2, 3), digits=(1, 1)),
            _ranges(terms=(3, 5), digits=(2, 2)),
            _ranges(terms=(5, 8), digits=(3, 4)),
        ),
    ),
    BuiltinType(
        "basic_arithmetic",
        (0.05, 0.30),
        ("max_terms", "max_digits"),
        tuple(
            {**_ranges(terms=terms, digits=digits), "operators": NO_DIVISION}
            for terms, digits in (((2, 2), (1, 1)), ((3, 4), (1, 2)), ((4, 5), (2, 3)))
        ),
    ),
    BuiltinType(
        "products",
        (0.05, 0.30),
        ("max_terms", "max_digits"),
        (
            _ranges(terms=(2, 2), digits=(1, 2)),
            _ranges(terms=(2, 2), digits=(2, 3)),
            _ranges(terms=(3, 3), digits=(2, 3)),
        ),
    ),
    BuiltinType(
        "gcd",
        (0.10, 0.30),
        ("max_numbers", "max_value"),
        (
            _ranges(numbers=(2, 2), value=(1, 100)),
            _ranges(numbers=(2, 2), value=(1, 1000)),
            _ranges(numbers=(3, 3), value=(1, 10000)),
        ),
    ),
    BuiltinType(
        "lcm",
        (0.15, 0.35),
        ("max_numbers", "max_value"),
        (
            _ranges(numbers=(2, 2), value=(1, 20)),
            _ranges(numbers=(2, 2), value=(1, 100)),
            _ranges(numbers=(3, 3), value=(1, 100)),
        ),
    ),
    BuiltinType(
        "fraction_simplification",
        (0.15, 0.40),
        ("max_value", "max_factor"),
        (
            _ranges(value=(1, 20), factor=(2, 10)),
            _ranges(value=(1, 100), factor=(2, 20)),
            _ranges(value=(1, 1000), factor=(2, 100)),
        ),
    ),
    BuiltinType(
        "complex_arithmetic",
        (0.25, 0.50),
        ("max_real", "operations"),
        (
            _complex(5, ("+", "-"), [0.5, 0.5]),
            _complex(10, ("+", "-", "*"), [0.35, 0.35, 0.3]),
            _complex(20, ("+", "-", "*", "/"), [0.2, 0.2, 0.3, 0.3]),
        ),
    ),
    BuiltinType(
        "simple_equations",
        (0.30, 0.55),
        ("max_terms", "max_value"),
        (
            _ranges(terms=(2, 2), value=(1, 10)),
            _ranges(terms=(2, 3), value=(1, 50)),
            _ranges(terms=(3, 4), value=(1, 100)),
        ),
    ),
    BuiltinType("gsm_symbolic", (0.50, 0.50), (), ({"difficulty": 1.0},)),
    BuiltinType(
        "polynomial_equations",
        (0.65, 0.95),
        ("max_degree", "max_terms"),
        tuple(
            {**_ranges(degree=degree, terms=terms, value=(1, 20))}
            for degree, terms in (((1, 1), (2, 3)), ((2, 2), (2, 3)), ((3, 3), (3, 4)))
        ),
        pool_size=256,  # ~3-16 ms per item (sympy solve): a pool the cache holds whole
    ),
)

BUILTIN_TYPES_BY_NAME: Mapping[str, BuiltinType] = MappingProxyType({t.name: t for t in BUILTIN_TYPES})
