"""The ``file`` source: your own problems from a JSONL, JSON or Parquet file.

Columns (rows count from 1 in error messages, so a JSONL row number is its line number):

============== ========= ===============================================================
column         required  meaning
============== ========= ===============================================================
``question``   yes [1]_  the question text (``problem`` is accepted instead)
``answer``     yes [2]_  the gold final answer, a string or a finite number (turned into a string; not a boolean)
``solution``   no        a worked solution; used only without ``answer``: its last
                         ``\\boxed{...}`` is the gold answer
``type``       no        bucket for even mixing (default: option ``type``, else the file stem)
``difficulty`` no        a number in [0, 1] (default: option ``difficulty``, 0.5)
============== ========= ===============================================================

.. [1] A file with both ``question`` and ``problem`` is rejected as ambiguous.
.. [2] Or ``solution`` with a boxed answer in every row. A number of 2^53 or more must be
   written as a string: JSON readers read it as a double, which rounds its last digits.

A problem's id is ``file/<type>/<row>`` (``file/quiz/3`` for row 3 of an untyped
``quiz.jsonl``). Parts of a union or mixture never share a type, so ids stay unique
when two files have the same name (``file:a/x.jsonl+file:b/x.jsonl``).

Every row is checked when the source is built; the first bad row raises
:class:`~reasoning_economics.errors.DatasetFormatError` naming the row and column.
Problems are graded with math-verify. Reading needs the ``data`` extra (``datasets``).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reasoning_economics.errors import ConfigError, DatasetFormatError
from reasoning_economics.problems.base import ask_for_boxed
from reasoning_economics.problems.record import Problem
from reasoning_economics.problems.tables import TableSource, bucket_rows, load_table

DEFAULT_DIFFICULTY = 0.5


@dataclass(frozen=True)
class FileSourceConfig:
    """Options of the ``file`` source.

    Attributes:
        path: the ``.jsonl`` / ``.json`` / ``.parquet`` file (required).
        type: problem type of rows without a ``type`` value (default: the file name without suffix).
        difficulty: difficulty of rows without a ``difficulty`` value.
        cache_dir: where ``datasets`` keeps its Arrow cache (default: its own).
    """

    path: str | None = None
    type: str | None = None
    difficulty: float = DEFAULT_DIFFICULTY
    cache_dir: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.path, str) or not self.path.strip():
            raise ConfigError("file: path is required, e.g. create_source('file:/data/problems.jsonl')")
        if self.type is not None and (not isinstance(self.type, str) or not self.type.strip()):
            raise ConfigError(f"file: type must be a non-empty string, got {self.type!r}")
        if not _is_difficulty(self.difficulty):
            raise ConfigError(f"file: difficulty must be a number in [0, 1], got {self.difficulty!r}")


def _is_difficulty(value: Any) -> bool:
    return (
        not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value) and 0.0 <= value <= 1.0
    )


def _question_column(columns: list[str], where: str) -> str:
    if "question" in columns and "problem" in columns:
        raise DatasetFormatError(f"{where}: has both 'question' and 'problem' columns; keep one")
    for column in ("question", "problem"):
        if column in columns:
            return column
    raise DatasetFormatError(f"{where}: needs a 'question' (or 'problem') column; it has {columns}")


EXACT_FLOAT_LIMIT = 2.0**53
"""From here on a double no longer holds every integer: a float answer this large lost digits."""


def _gold(record: dict[str, Any], columns: list[str], where: str) -> str:
    if "answer" in columns:
        value = record["answer"]
        # str() of anything else (bytes from a Parquet binary column, a list) is a repr no answer
        # can match; so is a boolean's "True", and a non-finite float's "nan" no answer should match.
        usable = isinstance(value, str) or (
            isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
        )
        text = str(value).strip() if usable else ""
        if not text:
            raise DatasetFormatError(f"{where}: 'answer' must be a non-empty string or finite number, got {value!r}")
        if isinstance(value, float) and abs(value) >= EXACT_FLOAT_LIMIT:
            # pyarrow reads a JSON integer past int64 (or any number in a column that also holds
            # decimals) as a double: 12345678901234567891 became "1.2345678901234567e+19", and
            # the right answer was graded wrong.
            raise DatasetFormatError(
                f"{where}: 'answer' {value!r} is a number of 2^53 or more, whose digits were rounded when "
                "it was read as a double; write the answer as a string"
            )
        return text
    from reasoning_economics.grading.extraction import last_boxed_content

    solution = record["solution"]
    if solution is not None and not isinstance(solution, str):
        raise DatasetFormatError(f"{where}: 'solution' must be a string, got {solution!r}")
    boxed = last_boxed_content(solution or "")
    if boxed is None or not boxed.strip():
        raise DatasetFormatError(f"{where}: no 'answer' column and no \\boxed{{...}} in 'solution'")
    return boxed.strip()


def read_problem_file(config: FileSourceConfig) -> list[Problem]:
    """Every row of the file as a Problem, checked; see the module docstring for the columns."""
    path = Path(config.path).expanduser()
    table = load_table(hub_id=None, path=str(path), cache_dir=config.cache_dir)
    columns = list(table.column_names)
    question_column = _question_column(columns, str(path))
    if "answer" not in columns and "solution" not in columns:
        raise DatasetFormatError(f"{path}: needs an 'answer' (or 'solution') column; it has {columns}")
    default_type = config.type or path.stem
    problems = []
    for index, record in enumerate(table):
        where = f"{path} row {index + 1}"
        question = record[question_column]
        if not isinstance(question, str) or not question.strip():
            raise DatasetFormatError(f"{where}: '{question_column}' must be a non-empty string, got {question!r}")
        difficulty = record.get("difficulty")
        if difficulty is None:
            difficulty = config.difficulty
        elif not _is_difficulty(difficulty):
            raise DatasetFormatError(f"{where}: 'difficulty' must be a number in [0, 1], got {difficulty!r}")
        problem_type = record.get("type")
        if problem_type is None or not str(problem_type).strip():
            problem_type = default_type
        problem_type = str(problem_type).strip()
        problems.append(
            Problem(
                # the type, not the file name: parts of a union have distinct types, so
                # ids stay unique across a/x.jsonl + b/x.jsonl (an untyped row's type is the stem)
                id=f"file/{problem_type}/{index + 1}",
                question=ask_for_boxed(question),
                answer=_gold(record, columns, where),
                source="file",
                problem_type=problem_type,
                difficulty=float(difficulty),
                grader="math_verify",
            )
        )
    if not problems:
        raise DatasetFormatError(f"{path}: the file holds no rows")
    return problems


class FileSource(TableSource):
    """Problems from a user's file, bucketed by their ``type``."""

    def __init__(self, config: FileSourceConfig) -> None:
        problems = read_problem_file(config)
        buckets = bucket_rows([p.problem_type for p in problems])
        super().__init__("file", problems, buckets, lambda _row, problem: problem)
