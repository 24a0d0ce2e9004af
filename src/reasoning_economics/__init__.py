"""reasoning-economics: teach LLMs to spend one shared token budget across many problems.

The top-level package is deliberately light: heavy parts (the OpenEnv models, torch,
transformers) load only when the name that needs them is first used.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from reasoning_economics.openenv_startup import defer_openenv_web_interface

__version__ = "0.1.0"

defer_openenv_web_interface()

_LAZY = {
    "EnvConfig": "reasoning_economics.env.config",
    "ReasonBudgetEnvironment": "reasoning_economics.env.environment",
    "ReasonBudgetAction": "reasoning_economics.env.models",
    "ReasonBudgetObservation": "reasoning_economics.env.models",
    "ReasonBudgetState": "reasoning_economics.env.models",
    "ReasonBudgetClient": "reasoning_economics.client",
    "Problem": "reasoning_economics.problems.record",
    "is_correct": "reasoning_economics.grading",
    "grade": "reasoning_economics.grading",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'reasoning_economics' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
