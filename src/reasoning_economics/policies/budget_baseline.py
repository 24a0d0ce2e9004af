"""What the reference's budget-mechanics baselines share: a length chosen from the budget
state, clamped to the request's limit, and an optional effort model for correctness.

They exist to exercise budget accounting (pacing, overspend, early termination), so their
answers come from the gold answer. With ``solve_tokens=S`` a response is right only when it
spends at least ``ceil(S * difficulty)`` tokens (and the ``accuracy`` draw succeeds): then
spending in proportion to difficulty pays off, as it should for a real model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from reasoning_economics.policies.base import GenerationRequest
from reasoning_economics.policies.scripted import (
    MAX_PLANNED_TOKENS,
    Plan,
    ScriptedConfig,
    ScriptedPolicy,
    _require_int,
    final_statement,
    fit_to_length,
)
from reasoning_economics.problems.record import Problem


@dataclass(frozen=True)
class BudgetBaselineConfig(ScriptedConfig):
    """``solve_tokens``: tokens a difficulty-1 problem needs to be answered right (0: any length;
    at most :data:`MAX_PLANNED_TOKENS`, the highest per-step limit, beyond which no answer could be)."""

    solve_tokens: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_int("solve_tokens", self.solve_tokens, minimum=0, maximum=MAX_PLANNED_TOKENS)


class BudgetBaselinePolicy(ScriptedPolicy):
    """Subclasses choose :meth:`target_tokens`; this class clamps it and applies the effort model."""

    eval_modes = ("episode",)
    """The ``ree eval`` modes these policies run in: they read the episode's shared budget from
    the observation, which only episode mode has (problem and anytime modes sample questions
    alone)."""

    def __init__(self, config: BudgetBaselineConfig | None = None) -> None:
        super().__init__(config or BudgetBaselineConfig())
        self.config: BudgetBaselineConfig

    def target_tokens(self, request: GenerationRequest, problem: Problem) -> int:
        raise NotImplementedError

    def needed_tokens(self, problem: Problem) -> int:
        """Tokens the effort model asks for before the answer can be right."""
        return math.ceil(self.config.solve_tokens * problem.difficulty)

    def plan(self, request: GenerationRequest, problem: Problem) -> Plan:
        # A baseline plans inside its limit, so it is never cut unless even the bare answer
        # does not fit.
        target = max(0, min(self.target_tokens(request, problem), request.max_tokens))
        lucky = self.draws_correct(problem, request.seed)
        # The effort test needs the length actually written, which the filler fitting decides.
        spent = self.counter.count(fit_to_length(self.counter, target, final_statement(problem.answer)))
        return Plan(tokens=target, correct=lucky and spent >= self.needed_tokens(problem))
