"""The records of an episode's history: one read-only dict per answered question.

Every observation carries the whole history. Records are shared between the episode and all
its observations instead of copied into each one: copies cost O(questions answered) dicts on
every step, and a trainer that keeps an episode's observations would hold O(N²) of them.
Sharing is safe because nothing can change a record; ``dict(record)`` or ``record.copy()``
gives an editable copy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from reasoning_economics.grading import GradeResult
    from reasoning_economics.problems import Problem
    from reasoning_economics.rewards.budget import StepReward


class ReadOnlyDict(dict):
    """A ``dict`` whose items cannot be set, deleted or updated.

    It stays a real ``dict`` so that pydantic, ``json`` and code written for the reference
    environment's plain-dict history read it unchanged. Copies (``copy.copy``,
    ``copy.deepcopy``, pickling) are read-only too; ``.copy()`` and ``dict(...)`` are plain dicts.

    >>> record = ReadOnlyDict(tokens_used=12)
    >>> record["tokens_used"] = 0
    Traceback (most recent call last):
    ...
    TypeError: history records are read-only; edit a copy: dict(record)
    >>> editable = dict(record); editable["tokens_used"] = 0; editable
    {'tokens_used': 0}
    """

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("history records are read-only; edit a copy: dict(record)")

    __setitem__ = __delitem__ = __ior__ = _refuse  # type: ignore[assignment]
    clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]

    def __reduce__(self) -> tuple[type, tuple[dict[str, Any]]]:
        # dict's default reduction refills the copy item by item, which _refuse would stop.
        return (type(self), (dict(self),))


def step_record(
    *,
    step_idx: int,
    problem: Problem,
    tokens_used: int,
    tokens_counted: int,
    overspend: int,
    verdict: GradeResult,
    reward: float,
    reward_parts: StepReward,
    episode_bonus: float,
    count_seconds: float,
    grade_seconds: float,
) -> ReadOnlyDict:
    """The history record of one answered question (the fields ``ReasonBudgetObservation.history`` lists)."""
    return ReadOnlyDict(
        step_idx=step_idx,
        question_id=problem.id,
        problem_type=problem.problem_type,
        difficulty=problem.difficulty,
        tokens_used=tokens_used,
        tokens_counted=tokens_counted,
        overspend_tokens=overspend,
        was_correct=verdict.correct,
        extracted_answer=verdict.extracted,
        gold_answer=problem.answer,
        grade_reason=verdict.reason,
        reward=reward,
        reward_parts=ReadOnlyDict(
            correctness=reward_parts.correctness,
            efficiency_bonus=reward_parts.efficiency_bonus,
            cost_penalty=reward_parts.cost_penalty,
            overspend_penalty=reward_parts.overspend_penalty,
            episode_bonus=episode_bonus,
        ),
        # Whole microseconds: round(x, 3) costs three times as much, on every step.
        count_ms=round(count_seconds * 1e6) / 1000,
        grade_ms=round(grade_seconds * 1e6) / 1000,
    )
