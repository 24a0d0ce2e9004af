"""The grading API: extract the final answer, then decide it against the gold answer.

Order of work for one response: extraction (linear, in-process) -> verdict cache ->
fast path (exact numbers, letters, words; in-process) -> math-verify in a supervised
worker with a hard timeout. Builtin reasoning-gym problems are scored by reasoning-gym.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import lru_cache

from reasoning_economics.errors import GradingInputError, describe
from reasoning_economics.grading import fast_path, reasoning_gym_check
from reasoning_economics.grading.cache import VerdictCache
from reasoning_economics.grading.extraction import (
    extract_final_answer,
    last_boxed_content,
    number_before_words,
    strip_delimiters,
)
from reasoning_economics.grading.hedges import has_unbalanced_braces, why_not_one_value
from reasoning_economics.grading.normalize import clean, exact_number, latex_friendly
from reasoning_economics.grading.workers import DEADLINE_PASSED, TIMED_OUT, get_pool
from reasoning_economics.problems.record import Problem

DEFAULT_TIMEOUT_S = 5.0
MIN_TIMEOUT_S = 0.1
"""A worker that has not taken an answer within the timeout is replaced as stopped: below this,
healthy workers were (1e-9 s retired two)."""
MAX_TIMEOUT_S = 600.0
"""The longest grading timeout a configuration may set."""
# No real final answer is this long; longer ones are wrong without being parsed.
MAX_ANSWER_CHARS = 2_000

REASON_EQUIVALENT, REASON_NOT_EQUIVALENT, REASON_TIMEOUT = "equivalent", "not_equivalent", "timeout"
WORKER_REASONS = (REASON_EQUIVALENT, REASON_NOT_EQUIVALENT, REASON_TIMEOUT)
"""The reasons only a math-verify worker gives (the in-process rules give others)."""


@dataclass(frozen=True)
class GradeResult:
    """A verdict: ``correct``, the ``extracted`` final answer (None if there was none) and why."""

    correct: bool
    extracted: str | None
    reason: str


_cache: VerdictCache[tuple[bool, str]] = VerdictCache()


def clear_cache() -> None:
    """Forget every cached verdict (benchmarks measure cold grading with it)."""
    _cache.clear()


def _require_str(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise GradingInputError(f"{name} must be a str, got {type(value).__name__}")
    return value


def _timeout_s(timeout: object) -> float:
    """``timeout`` in seconds (None: the default), a number from ``MIN_TIMEOUT_S`` to ``MAX_TIMEOUT_S``.
    A negative one had workers killed as stuck, and 0 stood for the default. A huge one (1e7, or
    an integer past float range) raised OverflowError in the pool's wait, leaving the worker
    neither idle nor retired: two such calls left no worker for any later grade."""
    if timeout is None:
        return DEFAULT_TIMEOUT_S
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not MIN_TIMEOUT_S <= timeout <= MAX_TIMEOUT_S:
        raise GradingInputError(
            f"timeout must be a number of seconds from {MIN_TIMEOUT_S:g} to {MAX_TIMEOUT_S:g}, got {describe(timeout)}"
        )
    return float(timeout)


def gold_answer(gold: str) -> str:
    """A reference answer as math-verify wants it: the box content, without delimiters."""
    boxed = last_boxed_content(gold)
    return strip_delimiters(boxed if boxed is not None else gold)


def _extract(response: str) -> tuple[str | None, GradeResult | None]:
    found = extract_final_answer(response)
    if found is None:
        return None, GradeResult(False, None, "no_answer")
    if not found.answer.strip():
        return None, GradeResult(False, "", "empty_answer")
    if len(found.answer) > MAX_ANSWER_CHARS:
        return None, GradeResult(False, found.answer[:200], "answer_too_long")
    return found.answer, None


def _decide_symbolic(answer: str, gold: str, timeout: float) -> tuple[bool, str]:
    key = ("math_verify", answer, gold)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    verdict = fast_path.decide(answer, gold)
    if verdict is None:
        outcome = get_pool().check(latex_friendly(answer), latex_friendly(gold), timeout)
        if outcome in (DEADLINE_PASSED, TIMED_OUT):
            # Not cached: running out of time is a fact about the worker as much as the answer.
            # A worker starved of CPU passes the deadline on easy answers too, and CPU seconds
            # depend on what the worker computed before (a fresh one's first polynomial cost
            # 0.4 s more) and on the machine, so a cached "timeout" turned a one-off into a
            # lasting wrong grade for a correct answer. Caching it saves nothing against a
            # hostile client, which need only change one character to miss the cache.
            return False, REASON_TIMEOUT
        verdict = (bool(outcome), REASON_EQUIVALENT if outcome else REASON_NOT_EQUIVALENT)
    _cache.put(key, verdict)
    return verdict


def grade(response: str, gold: str, *, timeout: float | None = None) -> GradeResult:
    """Grade a full response against a gold answer with math-verify equivalence.

    Never raises for a hostile response: it is graded as text, at most ``timeout`` seconds
    (default 5). Raises GradingInputError for non-string input or a timeout that is not a
    number of seconds from ``MIN_TIMEOUT_S`` (0.1) to ``MAX_TIMEOUT_S`` (600), and GradingError only if grading workers
    crash twice on the same answer.
    """
    _require_str("response", response)
    timeout_s = _timeout_s(timeout)
    raw_gold = _require_str("gold", gold).strip()
    gold = gold_answer(raw_gold)
    if gold and response.strip() in (gold, raw_gold):
        return GradeResult(True, gold, "identical")
    answer, early = _extract(response)
    if early is not None:
        return early
    assert answer is not None
    if not gold:
        return GradeResult(False, answer, "no_gold")
    # math-verify reads one value out of these (the number before a text, the last disjunct, the
    # digits before a base). A gold of several values may be written with "or" ("x = 3
    # \text{ or } x = -2" for "-2, 3"), and a gold may itself be in another base: math-verify decides.
    if has_unbalanced_braces(answer):
        # math-verify reads the answer inside a \boxed{} of ours, which a stray "}" would close.
        return GradeResult(False, answer, "unbalanced_braces")
    graded = answer
    one_number = _gold_is_one_number(gold)
    if one_number:
        # "\\boxed{18 dollars}" is 18, as "The answer is 18 dollars" is: math-verify drops some
        # units ("cm", "apples") but multiplies others in as letters ("dollars", "people", "euros"),
        # so the right number was graded wrong in a box only.
        graded = number_before_words(answer) or answer
    not_one_value = None
    if not _gold_of_several_values(gold):
        not_one_value = why_not_one_value(graded, against_a_number=one_number)
    if not_one_value is not None:
        return GradeResult(False, answer, not_one_value)
    correct, reason = _decide_symbolic(graded, gold, timeout_s)
    return GradeResult(correct, answer, reason)


# Golds repeat (each problem is asked many times): read once, not on every grade.
@lru_cache(maxsize=16_384)
def _gold_of_several_values(gold: str) -> bool:
    return "," in clean(gold) or why_not_one_value(gold) is not None  # not "1,000"


@lru_cache(maxsize=16_384)
def _gold_is_one_number(gold: str) -> bool:
    return exact_number(clean(gold)) is not None


def is_correct(response: str, gold: str) -> bool:
    """Whether ``response``'s final answer is equivalent to ``gold``."""
    return grade(response, gold).correct


def grade_problem(response: str, problem: Problem, *, timeout: float | None = None) -> GradeResult:
    """Grade a response to ``problem`` with the problem's own grader."""
    _require_str("response", response)
    if not isinstance(problem, Problem):
        raise GradingInputError(f"problem must be a Problem, got {type(problem).__name__}")
    if problem.grader != "reasoning_gym":
        return grade(response, problem.answer, timeout=timeout)
    _timeout_s(timeout)  # checked as grade checks it, though a scorer has no time limit
    if not {"dataset", "entry"} <= problem.grader_data.keys():
        raise GradingInputError(
            f"problem {problem.id!r} is graded by reasoning_gym but its grader_data lacks 'dataset' or 'entry'"
        )
    answer, early = _extract(response)
    if early is not None:
        return early
    assert answer is not None
    dataset = problem.grader_data["dataset"]
    key = ("reasoning_gym", dataset, problem.id, problem.answer, answer)
    verdict = _cache.get(key)
    if verdict is None:
        try:
            points = reasoning_gym_check.score(answer, dataset, problem.grader_data["entry"])
        except Exception as error:  # reasoning-gym's scorers raise on odd input; that is a wrong answer
            verdict = (False, f"scorer_error: {type(error).__name__}")
        else:
            verdict = (points == 1.0, f"reasoning_gym_score={points:.3g}")
        if not verdict[0] and answer.strip() == problem.answer.strip():
            # The gold answer itself: some scorers refuse their own (gsm_symbolic's pattern reads
            # "-1" as 1, so a problem whose answer is -1 could never be answered right).
            verdict = (True, "identical_to_gold")
        _cache.put(key, verdict)
    return GradeResult(verdict[0], answer, verdict[1])


async def grade_async(response: str, gold: str, *, timeout: float | None = None) -> GradeResult:
    """:func:`grade` in a thread, so the caller's event loop never waits on it."""
    return await asyncio.to_thread(grade, response, gold, timeout=timeout)


async def grade_problem_async(response: str, problem: Problem, *, timeout: float | None = None) -> GradeResult:
    """:func:`grade_problem` in a thread, so the caller's event loop never waits on it."""
    return await asyncio.to_thread(grade_problem, response, problem, timeout=timeout)
