"""``oracle``: answers with a known accuracy and a known length, to check metrics end to end.

``oracle:accuracy=0.8,tokens=120`` gives the gold answer with probability 0.8 (drawn per
problem, reproducibly for the ``seed``) in a response of exactly 120 tokens of the claimed
``tokenizer``; ``tokens_per_difficulty=200`` adds ``round(200 * difficulty)`` tokens so that
spending rises with difficulty (each option at most 1,000,000, the highest per-step limit). The
length is *not* clamped to the request's limit: a plan longer than ``max_tokens`` is cut there
(``finish_reason="length"``, no answer), as a real model would be.

Which problems it gets right is public (:meth:`OraclePolicy.draws_correct`), so a test can
compute the exact accuracy a run must report.
"""

from __future__ import annotations

from dataclasses import dataclass

from reasoning_economics.policies.base import GenerationRequest
from reasoning_economics.policies.scripted import (
    MAX_PLANNED_TOKENS,
    Plan,
    ScriptedConfig,
    ScriptedPolicy,
    _require_int,
)
from reasoning_economics.problems.record import Problem


@dataclass(frozen=True)
class OracleConfig(ScriptedConfig):
    """``tokens``: response length for a difficulty-0 problem; ``tokens_per_difficulty``: extra
    tokens per unit of difficulty (rounded). Each is at most :data:`MAX_PLANNED_TOKENS`
    (1,000,000, the highest per-step limit)."""

    tokens: int = 100
    tokens_per_difficulty: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_int("tokens", self.tokens, minimum=0, maximum=MAX_PLANNED_TOKENS)
        _require_int("tokens_per_difficulty", self.tokens_per_difficulty, minimum=0, maximum=MAX_PLANNED_TOKENS)


class OraclePolicy(ScriptedPolicy):
    name = "oracle"

    def __init__(self, config: OracleConfig | None = None) -> None:
        super().__init__(config or OracleConfig())
        self.config: OracleConfig

    def planned_tokens(self, problem: Problem) -> int:
        """The response length planned for ``problem`` (before any cut at the limit)."""
        return self.config.tokens + round(self.config.tokens_per_difficulty * problem.difficulty)

    def plan(self, request: GenerationRequest, problem: Problem) -> Plan:
        return Plan(tokens=self.planned_tokens(problem), correct=self.draws_correct(problem, request.seed))
