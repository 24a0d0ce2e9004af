"""The ``file`` source: your own problems from a JSONL, JSON or Parquet file, or a folder of them.

A folder is read whole, every data file whatever its name, in sorted order (hidden files and
folders left out): file names give no splits here (``gsm8k_test.jsonl`` is read too). The files
of a folder must all be of one type (JSON or Parquet).

Columns (rows count from 1 in error messages, so a JSONL row number is its line number):

============== ========= ===============================================================
column         required  meaning
============== ========= ===============================================================
``question``   yes [1]_  the question text (``problem`` is accepted instead)
``answer``     yes [2]_  the gold final answer, a string or a finite number (turned into a string; not a boolean);
                         a GSM8K-style worked answer ending in a ``#### 72`` line gives the text after ``####``
``solution``   no        a worked solution; used only without ``answer``: its last
                         ``\\boxed{...}`` is the gold answer
``type``       no        bucket for even mixing (default: option ``type``, else the file stem)
``difficulty`` no        a number in [0, 1] (default: from ``level``, else option ``difficulty``, 0.5)
``level``      no        MATH's level, ``"Level 3"`` or ``3``, from 1 to 5: difficulty ``(level - 1) / 4``
                         when the row has no ``difficulty`` (MATH's unknown ``"Level ?"``: the default)
============== ========= ===============================================================

.. [1] A file with both ``question`` and ``problem`` is rejected as ambiguous.
.. [2] Or ``solution`` with a boxed answer in every row. A number of 2^53 or more must be
   written as a string: JSON readers read it as a double, which rounds its last digits. A
   Parquet ``float32`` number is read as the shortest decimal that is that float32 (``123456.7``,
   not ``123456.703125``), so one of 2^24 or more must be a string; a ``decimal`` column keeps
   its digits (``2.50``).

A problem's id is ``file/<type>/<row>`` (``file/quiz/3`` for row 3 of an untyped
``quiz.jsonl``). Parts of a union or mixture never share a type, so ids stay unique. Two
untyped files of one name (``file:a/x.jsonl+file:b/x.jsonl``) would share the type ``x``, which
is refused: give their rows a ``type`` column, or rename one (the ``type`` option, given per
source name, cannot tell them apart).

Every row is checked when the source is built; the first bad row raises
:class:`~reasoning_economics.errors.DatasetFormatError` naming the row and column.
Problems are graded with math-verify. Reading needs the ``data`` extra (``datasets``).
"""

from __future__ import annotations

import decimal
import math
import numbers
import re
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
        path: the ``.jsonl`` / ``.json`` / ``.parquet`` file, or a folder of them (required).
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
NARROW_FLOATS = {"float32": ("2^24", 2.0**24), "float16": ("2^11", 2.0**11)}
"""Parquet's narrower float columns: their integer limit, written and as a number."""

# GSM8K's answer column (and datasets built like it) is a worked solution whose last line is
# "#### <final answer>". Taken whole as the gold, it had every right answer graded wrong.
_HASH_FINAL_LINE = re.compile(r"(?:\A|\n)[ \t]*####[ \t]*(?P<final>[^\n]*)\s*\Z")


def _as_written(value: Any, dtype: str) -> Any:
    """A number of a ``dtype`` column as the file holds it. Python reads a float32 as the double
    nearest it, whose text has digits nobody wrote (123456.7 became "123456.703125", and the
    right answer was graded wrong): it is the shortest decimal that is the same float32."""
    if isinstance(value, float) and dtype in NARROW_FLOATS and math.isfinite(value):
        import numpy  # a dependency of datasets, which read the file

        return float(str(getattr(numpy, dtype)(value)))  # numpy prints the shortest that round-trips
    return value


def _gold(record: dict[str, Any], columns: list[str], where: str, dtype: str = "") -> str:
    if "answer" in columns:
        value = _as_written(record["answer"], dtype)
        if isinstance(value, decimal.Decimal) and value.is_finite():
            value = format(value, "f")  # a Parquet decimal column: its digits, and no numbers.Real
        if isinstance(value, str):
            final_line = _HASH_FINAL_LINE.search(value)
            if final_line is not None:
                value = final_line["final"]
        # str() of anything else (bytes from a Parquet binary column, a list) is a repr no answer
        # can match; so is a boolean's "True", and a non-finite float's "nan" no answer should match.
        usable = isinstance(value, str) or (
            isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
        )
        text = str(value).strip() if usable else ""
        if not text:
            raise DatasetFormatError(f"{where}: 'answer' must be a non-empty string or finite number, got {value!r}")
        written_limit, limit = NARROW_FLOATS.get(dtype, ("2^53", EXACT_FLOAT_LIMIT))
        if isinstance(value, float) and abs(value) >= limit:
            # pyarrow reads a JSON integer past int64 (or any number in a column that also holds
            # decimals) as a double: 12345678901234567891 became "1.2345678901234567e+19", and
            # the right answer was graded wrong.
            raise DatasetFormatError(
                f"{where}: 'answer' {value!r} is a number of {written_limit} or more, whose digits were rounded "
                f"when it was read as a {dtype if dtype in NARROW_FLOATS else 'double'}; write the answer as a string"
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


MATH_LEVELS = 5
_LEVEL = re.compile(r"(?:level\s*)?(?P<level>\d+|\?)", re.IGNORECASE)


def _difficulty_of_level(level: Any, where: str, default: float) -> float:
    """The difficulty of a MATH-style ``level`` (1 easiest, 5 hardest) as ``(level - 1) / 4``;
    ``default`` for none or MATH's ``"Level ?"``. Every row of such a file got 0.5 before, so
    accuracy by difficulty showed one bucket."""
    if level is None or (isinstance(level, str) and not level.strip()):
        return default
    if isinstance(level, bool):
        match = None
    elif isinstance(level, numbers.Real) and math.isfinite(level) and float(level).is_integer():
        match = _LEVEL.fullmatch(str(int(level)))  # 3.0 too: an integer column with gaps may read as floats
    elif isinstance(level, str):
        match = _LEVEL.fullmatch(level.strip())
    else:
        match = None
    if match is not None and match["level"] == "?":
        return default
    if match is None or not 1 <= int(match["level"]) <= MATH_LEVELS:
        raise DatasetFormatError(
            f"{where}: 'level' must be MATH's 1 to {MATH_LEVELS} (\"Level 3\" or 3), got {level!r}; "
            "for another scale give a 'difficulty' column in [0, 1]"
        )
    return (int(match["level"]) - 1) / (MATH_LEVELS - 1)


def read_problem_file(config: FileSourceConfig) -> list[Problem]:
    """Every row of the file as a Problem, checked; see the module docstring for the columns."""
    path = Path(config.path).expanduser()
    table = load_table(hub_id=None, path=str(path), split=None, cache_dir=config.cache_dir)
    columns = list(table.column_names)
    question_column = _question_column(columns, str(path))
    if "answer" not in columns and "solution" not in columns:
        raise DatasetFormatError(f"{path}: needs an 'answer' (or 'solution') column; it has {columns}")
    default_type = config.type or path.stem
    dtypes = {name: str(getattr(feature, "dtype", "")) for name, feature in table.features.items()}
    problems = []
    for index, record in enumerate(table):
        where = f"{path} row {index + 1}"
        question = record[question_column]
        if not isinstance(question, str) or not question.strip():
            raise DatasetFormatError(f"{where}: '{question_column}' must be a non-empty string, got {question!r}")
        difficulty = _as_written(record.get("difficulty"), dtypes.get("difficulty", ""))
        if isinstance(difficulty, decimal.Decimal) and difficulty.is_finite():
            difficulty = float(difficulty)  # a Parquet decimal column
        if difficulty is None:
            difficulty = _difficulty_of_level(record.get("level"), where, config.difficulty)
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
                answer=_gold(record, columns, where, dtypes.get("answer", "")),
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
