"""Episode sampling: which problems, of which types, in which order.

``sample_episode(source, num_questions, seed)``:

1. **Plan the types.** A plain source gets an even mix: with T types and N questions
   every type appears floor(N/T) or ceil(N/T) times, and which types get the extra
   slot is random. A :class:`~reasoning_economics.problems.mixture.WeightedMixture`
   first splits N between its components in proportion to their weights (each gets
   floor or ceil of its share, and exactly its share on average), then plans inside
   each component the same way. Both use :func:`apportion`.
2. **Shuffle** the planned slots, so types come in random order.
3. **Draw** each slot's problem from its source, redrawing a problem whose id or
   question text is already in the episode.

Every random choice comes from one ``random.Random(seed)``, so the same seed gives the
same list in any process on any machine (Python's ``hash()`` is never used: it is
randomised per process).
"""

from __future__ import annotations

import math
import random

from reasoning_economics.errors import ConfigError
from reasoning_economics.problems.base import ProblemSource
from reasoning_economics.problems.mixture import WeightedMixture, without_overflow
from reasoning_economics.problems.record import Problem

MAX_REDRAWS = 200
"""Draws allowed per slot before the source is declared too small for the episode."""


def apportion(weights: list[float], total: int, rng: random.Random) -> list[int]:
    """Split ``total`` slots between ``weights`` by systematic sampling.

    Count i is floor or ceil of its share ``total * w_i / sum(w)``, the counts sum to
    ``total``, and the expected count is exactly the share. Equal weights give the even
    mix: floor/ceil(total / len(weights)) each, the extra slots on random entries.

    >>> apportion([1, 1, 1], 7, random.Random(0))
    [2, 3, 2]
    """
    if not weights or any(w <= 0 or not math.isfinite(w) for w in weights):
        raise ConfigError(f"weights must be positive and finite, got {weights}")
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise ConfigError(f"slots to apportion must be an integer >= 0, got {total!r}")
    order = list(range(len(weights)))
    rng.shuffle(order)  # who sits next to whom decides who shares a rounding; make it random
    offset = rng.random()
    weights = without_overflow(weights)
    scale = total / sum(weights)
    counts = [0] * len(weights)
    cumulative = 0.0
    previous = 0
    for position, i in enumerate(order):
        cumulative += weights[i] * scale
        # the last boundary is exactly ``total``; float error must not lose a slot
        boundary = total if position == len(order) - 1 else math.floor(cumulative + offset)
        counts[i] = boundary - previous
        previous = boundary
    return counts


def plan_types(source: ProblemSource, num_questions: int, rng: random.Random) -> list[tuple[ProblemSource, str]]:
    """The (leaf source, problem type) of each slot, grouped by type (not yet shuffled)."""
    if isinstance(source, WeightedMixture):
        counts = apportion(list(source.weights), num_questions, rng)
        slots: list[tuple[ProblemSource, str]] = []
        for component, count in zip(source.components, counts, strict=True):
            if count:
                slots.extend(plan_types(component, count, rng))
        return slots
    types = list(source.problem_types)
    if not types:
        raise ConfigError(f"source {source.name!r} has no problem types")
    counts = apportion([1.0] * len(types), num_questions, rng)
    return [(source, problem_type) for problem_type, count in zip(types, counts, strict=True) for _ in range(count)]


def sample_episode(source: ProblemSource, num_questions: int, seed: int) -> list[Problem]:
    """``num_questions`` distinct problems from ``source``, the same for the same seed.

    Raises:
        ConfigError: ``num_questions`` < 1 or ``seed`` not an int >= 0, or the source
            cannot supply that many distinct problems of a planned type.
    """
    if isinstance(num_questions, bool) or not isinstance(num_questions, int) or num_questions < 1:
        raise ConfigError(f"num_questions must be an integer >= 1, got {num_questions!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        # Random(-s) equals Random(s), so negative seeds would silently alias
        raise ConfigError(f"seed must be an integer >= 0, got {seed!r}")
    rng = random.Random(seed)
    slots = plan_types(source, num_questions, rng)
    rng.shuffle(slots)
    problems: list[Problem] = []
    seen_ids: set[str] = set()
    seen_questions: set[str] = set()
    for leaf, problem_type in slots:
        for _ in range(MAX_REDRAWS):
            problem = leaf.draw(problem_type, rng)
            if problem.id not in seen_ids and problem.question not in seen_questions:
                break
        else:
            raise ConfigError(
                f"source {leaf.name!r} gave no new problem of type {problem_type!r} in {MAX_REDRAWS} "
                f"draws; it has too few distinct problems for {num_questions} questions"
            )
        seen_ids.add(problem.id)
        seen_questions.add(problem.question)
        problems.append(problem)
    return problems
