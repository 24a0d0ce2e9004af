"""Combining sources: a flat union (``a+b``) and a weighted mixture (``a:0.7,b:0.3``).

- :class:`UnionSource` pools the types of its parts into one flat list, so the sampler
  mixes evenly across *all* of them. ``metamathqa+numina_tir`` is the reference mix:
  MetaMathQA's 8 types plus Numina as a 9th bucket, one ninth each.
- :class:`WeightedMixture` keeps its components apart: the sampler first splits an
  episode's questions between components by weight, then mixes evenly inside each.

Both are themselves sources (``draw`` forwards to the part that owns the type), so the
type names of the parts must not clash.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from reasoning_economics.errors import ConfigError
from reasoning_economics.problems.base import ProblemSource, unknown_type_error
from reasoning_economics.problems.record import Problem


def without_overflow(weights: list[float]) -> list[float]:
    """``weights`` unchanged when their sum is finite, else relative to the largest: positive
    finite weights summing past float range (two of 1e308) made every share 0."""
    if sum(weights) < math.inf:
        return weights
    peak = max(weights)
    return [weight / peak for weight in weights]


class _CombinedSource:
    """What a union and a mixture share: each type belongs to one of ``parts``, which draws it."""

    name: str

    def __init__(self, parts: Sequence[ProblemSource]) -> None:
        self.parts = tuple(parts)
        self._owners: dict[str, ProblemSource] = {}
        for part in self.parts:
            for problem_type in part.problem_types:
                if problem_type in self._owners:
                    owner = self._owners[problem_type]
                    # Options are given per source name, so two files cannot be told apart by one.
                    hint = (
                        " (an untyped row's type is its file's name: rename one of the files, or give "
                        "their rows a 'type' column)"
                        if owner.name == part.name == "file" else ""
                    )
                    raise ConfigError(
                        f"problem type {problem_type!r} is provided by both {owner.name!r} "
                        f"and {part.name!r}; a mixture needs distinct type names{hint}"
                    )
                self._owners[problem_type] = part
        self.problem_types = tuple(self._owners)

    def draw(self, problem_type: str, rng: random.Random) -> Problem:
        owner = self._owners.get(problem_type)
        if owner is None:
            raise unknown_type_error(self.name, problem_type, self.problem_types)
        return owner.draw(problem_type, rng)

    def warm_up(self) -> int:
        """Warm every part that can be warmed; the number of problems built."""
        return sum(part.warm_up() for part in self.parts if hasattr(part, "warm_up"))


class UnionSource(_CombinedSource):
    """All types of all parts in one flat list (even mix across every type)."""

    def __init__(self, parts: Sequence[ProblemSource]) -> None:
        if len(parts) < 2:
            raise ConfigError("a union needs at least two sources")
        super().__init__(parts)
        self.name = "+".join(part.name for part in self.parts)


class WeightedMixture(_CombinedSource):
    """Components with positive weights; weights need not sum to 1 (they are normalised)."""

    def __init__(self, components: Sequence[tuple[ProblemSource, float]]) -> None:
        if len(components) < 2:
            raise ConfigError("a weighted mixture needs at least two components")
        for source, weight in components:
            if isinstance(weight, bool) or not isinstance(weight, (int, float)):
                raise ConfigError(f"weight of {source.name!r} must be a number, got {weight!r}")
            if not (math.isfinite(weight) and weight > 0):
                raise ConfigError(f"weight of {source.name!r} must be positive and finite, got {weight}")
        super().__init__([source for source, _ in components])
        weights = without_overflow([float(weight) for _, weight in components])
        total = sum(weights)
        self.weights = tuple(weight / total for weight in weights)
        self.name = ",".join(f"{s.name}:{w:g}" for s, w in zip(self.components, self.weights, strict=True))

    @property
    def components(self) -> tuple[ProblemSource, ...]:
        """The component sources, in the order of :attr:`weights`."""
        return self.parts
