"""The shared-budget environment: config, OpenEnv models and the state machine.

Importing this package loads ``openenv`` (whose type module pulls in its server stack),
so the top-level ``reasoning_economics`` package only imports it on first use.
"""

from reasoning_economics.env.config import EnvConfig
from reasoning_economics.env.environment import ReasonBudgetEnvironment
from reasoning_economics.env.models import ReasonBudgetAction, ReasonBudgetObservation, ReasonBudgetState
from reasoning_economics.env.prompt import SYSTEM_PROMPT, render_messages, render_prompt

__all__ = [
    "EnvConfig",
    "ReasonBudgetEnvironment",
    "ReasonBudgetAction",
    "ReasonBudgetObservation",
    "ReasonBudgetState",
    "SYSTEM_PROMPT",
    "render_prompt",
    "render_messages",
]
