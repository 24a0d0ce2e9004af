"""The ``metamathqa`` source: MetaMathQA (``meta-math/MetaMathQA``), bucketed by its 8 types.

Schema: ``query`` (the question), ``response`` (a worked solution ending in
``The answer is: X``), ``type``, ``original_question``. The gold answer is the text
after the last ``The answer is:``; rows without it are skipped. Graded with math-verify.

Difficulty per type. GSM_* questions come from GSM8K (grade-school word problems),
MATH_* from MATH (competition mathematics). AnsAug is the original question and
Rephrased a rewording of it; SV (self-verification) and FOBAR (backward reasoning) give
the answer and mask a number of the question, which adds an inverse step:

============== ==========  ============== ==========
type           difficulty  type           difficulty
============== ==========  ============== ==========
GSM_AnsAug     0.30        MATH_AnsAug    0.60
GSM_Rephrased  0.30        MATH_Rephrased 0.60
GSM_SV         0.35        MATH_SV        0.65
GSM_FOBAR      0.40        MATH_FOBAR     0.70
============== ==========  ============== ==========

Options: :class:`~reasoning_economics.problems.tables.HubSourceConfig` (``path=`` a local
copy in the same schema; without it the hub, or DatasetUnavailableError).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reasoning_economics.errors import DatasetFormatError
from reasoning_economics.problems.base import ask_for_boxed
from reasoning_economics.problems.record import Problem
from reasoning_economics.problems.tables import HubSourceConfig, TableSource, bucket_rows, load_source_table

HUB_ID = "meta-math/MetaMathQA"
ANSWER_MARKER = "The answer is:"
TYPE_DIFFICULTY: Mapping[str, float] = {
    "GSM_AnsAug": 0.30,
    "GSM_Rephrased": 0.30,
    "GSM_SV": 0.35,
    "GSM_FOBAR": 0.40,
    "MATH_AnsAug": 0.60,
    "MATH_Rephrased": 0.60,
    "MATH_SV": 0.65,
    "MATH_FOBAR": 0.70,
}


def answer_after_marker(response: str) -> str | None:
    """The text after the last ``The answer is:`` of a MetaMathQA response, or None.

    >>> answer_after_marker("... so 3 + 4 = 7.\\nThe answer is: 7")
    '7'
    >>> answer_after_marker("The answer is: 2\\n#### The answer is: \\\\frac{1}{2}")
    '\\\\frac{1}{2}'
    """
    position = response.rfind(ANSWER_MARKER)
    if position < 0:
        return None
    answer = response[position + len(ANSWER_MARKER) :].strip()
    return answer or None


class MetaMathQASource(TableSource):
    """MetaMathQA's questions, one bucket per ``type`` present in the data."""

    def __init__(self, config: HubSourceConfig | None = None) -> None:
        config = config or HubSourceConfig()
        table = load_source_table(config, name="metamathqa", hub_id=HUB_ID, columns=("query", "response", "type"))
        buckets = bucket_rows(table["type"])
        unknown = sorted(set(buckets) - set(TYPE_DIFFICULTY))
        if unknown:
            raise DatasetFormatError(f"metamathqa: unknown type(s) {unknown}; known: {', '.join(TYPE_DIFFICULTY)}")
        ordered = {t: buckets[t] for t in TYPE_DIFFICULTY if t in buckets}
        super().__init__("metamathqa", table, ordered, self._to_problem)

    @staticmethod
    def _to_problem(row: int, record: Mapping[str, Any]) -> Problem | None:
        answer = answer_after_marker(record["response"] or "")
        query = record["query"] or ""
        if answer is None or not query.strip():
            return None
        problem_type = record["type"]
        return Problem(
            id=f"metamathqa/{problem_type}/{row}",
            question=ask_for_boxed(query),
            answer=answer,
            source="metamathqa",
            problem_type=problem_type,
            difficulty=TYPE_DIFFICULTY[problem_type],
            grader="math_verify",
        )
