"""``difficulty_oracle``: knows each problem's difficulty and spends
``floor(budget_per_remaining * (0.5 + difficulty))`` tokens on it.

Difficulty 0.5 gets the fair share; the easiest half of that, the hardest one and a half
times it. With difficulties averaging 0.5 the budget lasts the episode, while harder problems
get more: the allocation a meta-reasoning policy should learn.
"""

from __future__ import annotations

import math

from reasoning_economics.policies.base import GenerationRequest
from reasoning_economics.policies.budget_baseline import BudgetBaselineConfig, BudgetBaselinePolicy
from reasoning_economics.policies.scripted import observation_value
from reasoning_economics.problems.record import Problem

__all__ = ["BudgetBaselineConfig", "DifficultyOraclePolicy"]


class DifficultyOraclePolicy(BudgetBaselinePolicy):
    name = "difficulty_oracle"

    def target_tokens(self, request: GenerationRequest, problem: Problem) -> int:
        share = float(observation_value(request, "budget_per_remaining"))
        return math.floor(share * (0.5 + problem.difficulty))
