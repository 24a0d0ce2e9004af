"""``uniform``: spends the fair share, ``floor(budget_per_remaining)`` tokens, on every question."""

from __future__ import annotations

import math

from reasoning_economics.policies.base import GenerationRequest
from reasoning_economics.policies.budget_baseline import BudgetBaselineConfig, BudgetBaselinePolicy
from reasoning_economics.policies.scripted import observation_value
from reasoning_economics.problems.record import Problem

__all__ = ["BudgetBaselineConfig", "UniformPolicy"]


class UniformPolicy(BudgetBaselinePolicy):
    name = "uniform"

    def target_tokens(self, request: GenerationRequest, problem: Problem) -> int:
        return math.floor(float(observation_value(request, "budget_per_remaining")))
