"""``greedy_max``: spends all it may on every question, ``min(max_tokens, remaining_budget)``.

It drains the budget on the first questions, which exercises early termination (hard mode)
and overspend penalties (soft mode).
"""

from __future__ import annotations

from reasoning_economics.policies.base import GenerationRequest
from reasoning_economics.policies.budget_baseline import BudgetBaselineConfig, BudgetBaselinePolicy
from reasoning_economics.policies.scripted import observation_value
from reasoning_economics.problems.record import Problem

__all__ = ["BudgetBaselineConfig", "GreedyMaxPolicy"]


class GreedyMaxPolicy(BudgetBaselinePolicy):
    name = "greedy_max"

    def target_tokens(self, request: GenerationRequest, problem: Problem) -> int:
        return min(request.max_tokens, int(observation_value(request, "remaining_budget")))
