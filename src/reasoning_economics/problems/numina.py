"""The ``numina_tir`` source: NuminaMath-TIR (``AI-MO/NuminaMath-TIR``), one bucket.

Schema: ``problem``, ``solution`` (a worked solution, tool-integrated), ``messages``.
The gold answer is the content of the last ``\\boxed{...}`` of the solution (nested
braces kept: ``\\boxed{\\frac{1}{2}}`` gives ``\\frac{1}{2}``); rows without one are
skipped. Graded with math-verify.

Difficulty: 0.80 for every problem. The problems are competition and olympiad-style
(AMC, AIME, Chinese K-12 contests), above MetaMathQA's MATH_* types (0.60-0.70).

Options: :class:`~reasoning_economics.problems.tables.HubSourceConfig` (``path=`` a local
copy in the same schema; without it the hub, or DatasetUnavailableError).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reasoning_economics.grading.extraction import last_boxed_content
from reasoning_economics.problems.base import ask_for_boxed
from reasoning_economics.problems.record import Problem
from reasoning_economics.problems.tables import HubSourceConfig, TableSource, load_source_table

HUB_ID = "AI-MO/NuminaMath-TIR"
PROBLEM_TYPE = "numina_tir"
DIFFICULTY = 0.80


class NuminaTIRSource(TableSource):
    """NuminaMath-TIR problems with a boxed final answer, as the single type ``numina_tir``."""

    def __init__(self, config: HubSourceConfig | None = None) -> None:
        config = config or HubSourceConfig()
        table = load_source_table(config, name="numina_tir", hub_id=HUB_ID, columns=("problem", "solution"))
        super().__init__(PROBLEM_TYPE, table, {PROBLEM_TYPE: range(len(table))}, self._to_problem)

    @staticmethod
    def _to_problem(row: int, record: Mapping[str, Any]) -> Problem | None:
        answer = last_boxed_content(record["solution"] or "")
        question = record["problem"] or ""
        if not answer or not answer.strip() or not question.strip():
            return None
        return Problem(
            id=f"numina_tir/{row}",
            question=ask_for_boxed(question),
            answer=answer.strip(),
            source=PROBLEM_TYPE,
            problem_type=PROBLEM_TYPE,
            difficulty=DIFFICULTY,
            grader="math_verify",
        )
