"""The Problem record: one question with its gold answer and how to grade it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

GraderKind = Literal["math_verify", "reasoning_gym"]


@dataclass(frozen=True)
class Problem:
    """One math problem.

    Attributes:
        id: stable identifier, unique within its source (for example ``builtin/gcd/1234``).
        question: the text shown to the policy.
        answer: the gold final answer as a string (LaTeX allowed).
        source: the registry name of the source that produced it.
        problem_type: the bucket used for even mixing (for example ``GSM_SV`` or ``gcd``).
        difficulty: a float in [0, 1]; 0 is the easiest.
        grader: ``"math_verify"`` (symbolic equivalence) or ``"reasoning_gym"`` (the
            generator's own scorer; only a score of 1.0 counts as correct).
        grader_data: what the grader needs beyond ``answer`` (the reasoning-gym entry).
    """

    id: str
    question: str
    answer: str
    source: str
    problem_type: str
    difficulty: float
    grader: GraderKind = "math_verify"
    grader_data: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.question, str) or not self.question.strip():
            raise ValueError(f"problem {self.id!r}: question must be a non-empty string")
        if not isinstance(self.answer, str):
            raise ValueError(f"problem {self.id!r}: answer must be a string")
        if not 0.0 <= float(self.difficulty) <= 1.0:
            raise ValueError(f"problem {self.id!r}: difficulty {self.difficulty} is outside [0, 1]")
        if self.grader not in ("math_verify", "reasoning_gym"):
            raise ValueError(f"problem {self.id!r}: unknown grader {self.grader!r}")

    @property
    def difficulty_tier(self) -> str:
        """``easy`` below 1/3, ``medium`` below 2/3, ``hard`` otherwise."""
        if self.difficulty < 1 / 3:
            return "easy"
        if self.difficulty < 2 / 3:
            return "medium"
        return "hard"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "answer": self.answer,
            "source": self.source,
            "problem_type": self.problem_type,
            "difficulty": self.difficulty,
            "grader": self.grader,
            "grader_data": self.grader_data,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Problem":
        return cls(**{k: data[k] for k in data if k in cls.__dataclass_fields__})
