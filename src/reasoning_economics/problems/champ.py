"""The ``champ`` source: CHAMP competition problems with a plain numeric answer (hard tier).

CHAMP (``champ-dataset``, MIT; Mao et al. 2024) holds 270 competition problems in five
categories. Most answers are expressions, sets or sentences ("2^(n-1)", "No such
values"); this source keeps the problems whose answer is a plain number (an optional
minus sign, digits, an optional decimal part): 79 of the 270. One type per category
that has such problems; every problem has difficulty 0.90. Graded with math-verify.

Needs the ``data`` extra. The package's data file is 73 MB of JSON (it also holds model
conversations); it is parsed once per process, in about a second.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reasoning_economics.errors import require
from reasoning_economics.problems.base import ask_for_boxed
from reasoning_economics.problems.record import Problem
from reasoning_economics.problems.tables import TableSource, bucket_rows

DIFFICULTY = 0.90
DATASET_VERSION = "v0"
PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


@dataclass(frozen=True)
class ChampConfig:
    """The ``champ`` source has no options."""


def load_champ_problems() -> list[Problem]:
    """CHAMP's problems whose answer is a plain number, in the package's order."""
    champ_dataset = require("champ_dataset", "data")
    dataset = champ_dataset.load(DATASET_VERSION)
    problems = []
    for identifier, item in dataset.problems.items():
        answer = item.answer.strip()
        if not PLAIN_NUMBER.fullmatch(answer):
            continue
        problems.append(
            Problem(
                id=f"champ/{identifier}",
                question=ask_for_boxed(item.text),
                answer=answer,
                source="champ",
                problem_type=item.category,
                difficulty=DIFFICULTY,
                grader="math_verify",
            )
        )
    return problems


class ChampSource(TableSource):
    """CHAMP's numeric-answer problems, one type per category."""

    def __init__(self, config: ChampConfig | None = None) -> None:
        problems = load_champ_problems()
        buckets = bucket_rows([p.problem_type for p in problems])
        super().__init__("champ", problems, buckets, lambda _row, problem: problem)
