"""Evaluation modes by name: ``create_mode("episode" | "problem" | "anytime")``.

==========  ===================================================================
``episode`` whole episodes under the shared budget (the main mode)
``problem`` n answers per question, no shared budget: pass@k, accuracy vs length
``anytime`` thinking cut at each budget of a support, answer forced: the anytime curve
==========  ===================================================================
"""

from __future__ import annotations

from collections.abc import Callable

from reasoning_economics.errors import UnknownNameError
from reasoning_economics.evaluation.modes.anytime import AnytimeMode
from reasoning_economics.evaluation.modes.base import EvalMode, RunContext, derive_seed, split_response
from reasoning_economics.evaluation.modes.episode import EpisodeMode
from reasoning_economics.evaluation.modes.problem import ProblemMode

_MODES: dict[str, Callable[[], EvalMode]] = {
    "episode": EpisodeMode,
    "problem": ProblemMode,
    "anytime": AnytimeMode,
}


def list_modes() -> list[str]:
    return list(_MODES)


def create_mode(name: str) -> EvalMode:
    """The mode called ``name``; an unknown name lists the known ones."""
    factory = _MODES.get(name)
    if factory is None:
        raise UnknownNameError(f"unknown evaluation mode {name!r}; known: {', '.join(_MODES)}")
    return factory()


__all__ = ["EvalMode", "RunContext", "create_mode", "derive_seed", "list_modes", "split_response"]
