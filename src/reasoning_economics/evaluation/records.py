"""The units of ``results.jsonl`` as pydantic models, to check a file before it is summarised.

Each mode writes its own unit record (see :mod:`reasoning_economics.evaluation.modes`); these
models hold the fields the summary, the figures and the report read, with their types, so that
a damaged or hand-edited line is refused where it is read, naming the line and the field,
instead of failing deep in the summary (or, for a NaN, ending up in it). The modes write more
fields than these; the others are not checked.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Count = Annotated[int, Field(ge=0)]
Number = float  # finite: the models refuse inf and NaN


class _Record(BaseModel):
    # strict: "40" is no count and "false" no boolean; a record is read back, never coerced.
    model_config = ConfigDict(strict=True, allow_inf_nan=False)


class _Question(_Record):
    problem_type: str
    difficulty: Number
    question: str
    gold: str | None = None


class _Answer(_Record):
    response: str
    extracted: str | None = None
    finish_reason: str | None = None
    thinking_tokens: Count
    correct: bool


class EpisodeStep(_Question, _Answer):
    tokens_counted: Count
    tokens_used: Number
    remaining_before: Number
    reward: Number


class UnansweredQuestion(_Record):
    problem_type: str
    difficulty: Number


class EpisodeUnit(_Record):
    index: Count
    mode: Literal["episode"] = "episode"
    num_questions: Annotated[int, Field(ge=1)]
    total_budget: Number
    spent_budget: Number
    total_reward: Number
    steps: list[EpisodeStep]
    # None: not known (a server whose questions could not be rebuilt here, or an older run)
    unanswered: list[UnansweredQuestion] | None = None

    @model_validator(mode="after")
    def _at_most_one_step_per_question(self) -> EpisodeUnit:
        if len(self.steps) > self.num_questions:
            raise ValueError(f"{len(self.steps)} steps for {self.num_questions} questions")
        if self.unanswered is not None and len(self.steps) + len(self.unanswered) != self.num_questions:
            raise ValueError(
                f"{len(self.steps)} steps and {len(self.unanswered)} unanswered questions for {self.num_questions} questions"
            )
        return self


class ProblemSample(_Answer):
    tokens: Count


class ProblemQuestion(_Question):
    samples: list[ProblemSample]


class ProblemUnit(_Record):
    index: Count
    mode: Literal["problem"]
    problems: list[ProblemQuestion]


class AnytimeSummary(_Record):
    correct: bool
    extracted: str | None = None


class AnytimeCell(_Record):
    thinking_tokens: Count
    truncated: bool | None = None
    score: Number
    summaries: list[AnytimeSummary]


class AnytimeQuestion(_Question):
    response: str
    thinking: str
    thinking_tokens: Count
    finished: bool | None = None
    finish_reason: str | None = None
    by_budget: list[AnytimeCell]


class AnytimeUnit(_Record):
    index: Count
    mode: Literal["anytime"]
    budgets: list[Number]
    problems: list[AnytimeQuestion]

    @model_validator(mode="after")
    def _a_cell_per_budget(self) -> AnytimeUnit:
        for i, question in enumerate(self.problems):
            if len(question.by_budget) != len(self.budgets):
                raise ValueError(f"problems[{i}] has {len(question.by_budget)} budgets, the unit {len(self.budgets)}")
        return self


UNIT_MODELS: dict[str, type[_Record]] = {"episode": EpisodeUnit, "problem": ProblemUnit, "anytime": AnytimeUnit}


def unit_problem(record: Any) -> str | None:
    """Why ``record`` is not a unit a mode writes, in one line (None when it is one)."""
    if not isinstance(record, dict):
        return "not an object"
    mode = record.get("mode", "episode")
    model = UNIT_MODELS.get(mode) if isinstance(mode, str) else None
    if model is None:
        return f"unknown mode {short(mode)}"
    try:
        model.model_validate(record)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = field_path(error["loc"])
        if error["type"] == "missing":
            return f"{where or 'the unit'} is missing"
        message = error["msg"].removeprefix("Value error, ")
        shown = "" if error["type"] == "value_error" else f", got {short(error['input'])}"
        return f"{where}: {message}{shown}" if where else f"{message}{shown}"
    return None


def field_path(loc: tuple[Any, ...]) -> str:
    """``("steps", 0, "tokens_counted")`` as ``steps[0].tokens_counted``."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path


def short(value: Any) -> str:
    """``repr(value)``, cut to 80 characters."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
