"""The ProblemSource interface every source implements, and the question wording they share.

A source is a fixed pool of problems split into named buckets (``problem_types``). The
sampler decides how many problems of each type an episode gets; the source only answers
"give me one problem of this type" from a random generator the sampler owns::

    class ProblemSource(Protocol):
        name: str                                   # registry name, also Problem.source
        problem_types: tuple[str, ...]              # the buckets the sampler mixes evenly
        def draw(self, problem_type: str, rng: random.Random) -> Problem: ...

Contract of ``draw``:
- deterministic: the same ``rng`` state gives the same problem in any process
  (use only ``rng``; never ``hash()``, the clock or a module-level generator);
- it may return a problem already returned before; the sampler removes duplicates;
- an unknown ``problem_type`` raises :class:`~reasoning_economics.errors.UnknownNameError`.

A source may also offer ``warm_up() -> int``: do slow one-time work now (build caches)
so that later draws are fast, returning how many problems it built. It must not change
what any draw returns. Mixtures forward it to their parts.

Weighted mixtures are the one kind of source with more structure; see
:mod:`reasoning_economics.problems.mixture`.
"""

from __future__ import annotations

import random
from typing import Protocol, runtime_checkable

from reasoning_economics.errors import UnknownNameError
from reasoning_economics.problems.record import Problem

BOXED_INSTRUCTION = "Put your final answer in \\boxed{}."


@runtime_checkable
class ProblemSource(Protocol):
    """A pool of problems split into types; see the module docstring for the contract."""

    name: str
    problem_types: tuple[str, ...]

    def draw(self, problem_type: str, rng: random.Random) -> Problem: ...


def ask_for_boxed(question: str) -> str:
    """The question as shown to the policy: unchanged if it already mentions ``\\boxed``,
    else followed by :data:`BOXED_INSTRUCTION` on its own paragraph."""
    text = question.strip()
    if "\\boxed" in text:
        return text
    return f"{text}\n\n{BOXED_INSTRUCTION}"


def unknown_type_error(source_name: str, problem_type: str, known: tuple[str, ...]) -> UnknownNameError:
    """The error every source raises when asked for a type it does not hold."""
    return UnknownNameError(f"source {source_name!r} has no problem type {problem_type!r}; it has: {', '.join(known)}")
