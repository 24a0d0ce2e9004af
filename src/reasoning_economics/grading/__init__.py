"""Grading: final-answer extraction (``extraction``), cheap exact rules (``normalize``,
``fast_path``), math-verify equivalence in supervised workers (``symbolic``, ``workers``,
handed out fairly by ``fair_share``) and reasoning-gym scoring (``reasoning_gym_check``).
The API is in ``grader``."""

from reasoning_economics.grading.extraction import Extraction, extract_final_answer, last_boxed_content, split_thinking
from reasoning_economics.grading.grader import (
    DEFAULT_TIMEOUT_S,
    GradeResult,
    clear_cache,
    grade,
    grade_async,
    grade_problem,
    grade_problem_async,
    is_correct,
)

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "Extraction",
    "GradeResult",
    "clear_cache",
    "extract_final_answer",
    "grade",
    "grade_async",
    "grade_problem",
    "grade_problem_async",
    "is_correct",
    "last_boxed_content",
    "split_thinking",
]
