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


def _warm_up(parts: Sequence[ProblemSource]) -> int:
    return sum(part.warm_up() for part in parts if hasattr(part, "warm_up"))


def _owners(parts: Sequence[ProblemSource]) -> dict[str, ProblemSource]:
    owners: dict[str, ProblemSource] = {}
    for part in parts:
        for problem_type in part.problem_types:
            if problem_type in owners:
                raise ConfigError(
                    f"problem type {problem_type!r} is provided by both {owners[problem_type].name!r} "
                    f"and {part.name!r}; a mixture needs distinct type names"
                )
            owners[problem_type] = part
    return owners


class UnionSource:
    """All types of all parts in one flat list (even mix across every type)."""

    def __init__(self, parts: Sequence[ProblemSource]) -> None:
        if len(parts) < 2:
            raise ConfigError("a union needs at least two sources")
        self.parts = tuple(parts)
        self._owners = _owners(self.parts)
        self.name = "+".join(part.name for part in self.parts)
        self.problem_types = tuple(self._owners)

    def draw(self, problem_type: str, rng: random.Random) -> Problem:
        owner = self._owners.get(problem_type)
        if owner is None:
            raise unknown_type_error(self.name, problem_type, self.problem_types)
        return owner.draw(problem_type, rng)

    def warm_up(self) -> int:
        """Warm every part that can be warmed; the number of problems built."""
        return _warm_up(self.parts)


class WeightedMixture:
    """Components with positive weights; weights need not sum to 1 (they are normalised)."""

    def __init__(self, components: Sequence[tuple[ProblemSource, float]]) -> None:
        if len(components) < 2:
            raise ConfigError("a weighted mixture needs at least two components")
        for source, weight in components:
            if isinstance(weight, bool) or not isinstance(weight, (int, float)):
                raise ConfigError(f"weight of {source.name!r} must be a number, got {weight!r}")
            if not (math.isfinite(weight) and weight > 0):
                raise ConfigError(f"weight of {source.name!r} must be positive and finite, got {weight}")
        self.components = tuple(source for source, _ in components)
        total = sum(weight for _, weight in components)
        self.weights = tuple(float(weight) / total for _, weight in components)
        self._owners = _owners(self.components)
        self.name = ",".join(f"{s.name}:{w:g}" for s, w in zip(self.components, self.weights, strict=True))
        self.problem_types = tuple(self._owners)

    def draw(self, problem_type: str, rng: random.Random) -> Problem:
        owner = self._owners.get(problem_type)
        if owner is None:
            raise unknown_type_error(self.name, problem_type, self.problem_types)
        return owner.draw(problem_type, rng)

    def warm_up(self) -> int:
        """Warm every component that can be warmed; the number of problems built."""
        return _warm_up(self.components)
