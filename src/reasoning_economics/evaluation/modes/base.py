"""What every evaluation mode shares: the run context, seeds, thinking splits and batched calls.

A mode turns unit indices into result records (one per unit, see
:mod:`reasoning_economics.evaluation.results`). It batches generation across the units it runs
at once: one ``policy.generate`` call per round, one request per live question.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from reasoning_economics.errors import GradingError, PolicyError, has_lone_surrogate
from reasoning_economics.evaluation.config import EvalConfig
from reasoning_economics.grading.extraction import THINK_END, THINK_START, split_thinking
from reasoning_economics.policies.base import GenerationRequest, GenerationResult, Policy
from reasoning_economics.problems import Problem, ProblemSource
from reasoning_economics.rewards.reflection import thinking_part

T = TypeVar("T")
R = TypeVar("R")

logger = logging.getLogger(__name__)

GRADING_RETRY_DELAYS: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)
"""Seconds to wait before each new try of an answer whose grading failed: five tries over about
7.5 s. GRADING_ERROR is transient (workers died, or are being restarted after failed starts)
and the step was not applied, so the same answer is sent again rather than ending the run."""


def retry_grading(attempt: Callable[[], R], what: str) -> R:
    """``attempt()``, tried again with the same input after each :class:`GradingError`, waiting
    :data:`GRADING_RETRY_DELAYS` in between; the last failure is raised as a GradingError that
    says how many tries failed. ``what`` names the answer in the log lines and the error."""
    delays = GRADING_RETRY_DELAYS
    tries = len(delays) + 1
    for number in range(1, tries + 1):
        try:
            return attempt()
        except GradingError as exc:
            if number == tries:
                raise GradingError(f"grading {what} failed {tries} times; the last error: {exc}") from exc
            delay = delays[number - 1]
            logger.warning(
                "grading %s failed (%s); sending the same answer again in %g s (try %d of %d)",
                what, exc, delay, number + 1, tries,
            )  # fmt: skip
            time.sleep(delay)
    raise AssertionError("unreachable: the last try returns or raises")


def problem_record(problem: Problem) -> dict[str, Any]:
    """The question's fields that open each per-question result record (problem and anytime modes)."""
    return {
        "question_id": problem.id,
        "problem_type": problem.problem_type,
        "difficulty": problem.difficulty,
        "question": problem.question,
        "gold": problem.answer,
    }


def derive_seed(*parts: object) -> int:
    """A generation seed in [0, 2^31) that depends only on ``parts`` (a stable hash).

    Episode mode seeds step ``k`` of unit seed ``s`` with ``derive_seed(s, k)``; problem mode
    sample ``j`` of question ``q`` with ``derive_seed(s, q, j)``; anytime mode the thinking with
    ``derive_seed(s, q)`` and summary ``m`` at budget ``b`` with ``derive_seed(s, q, b, m)``.
    """
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % 2**31


@dataclass(frozen=True)
class ThinkingSplit:
    """A response cut into its thinking and its visible answer.

    ``grading_response`` is the visible answer when the response used ``<think>`` tags (the
    environment grades only it) and None otherwise (the whole response is graded).
    ``thinking`` is the thinking text (the whole response when there are no tags), bounded as
    the reflection counts bound it (:func:`rewards.reflection.thinking_part`), so that counts
    per thinking token divide counts and tokens of the same text.
    """

    thinking: str
    grading_response: str | None

    @property
    def has_tags(self) -> bool:
        return self.grading_response is not None


def split_response(text: str) -> ThinkingSplit:
    """Split a thinking model's output: the visible answer after the last ``</think>``
    (:func:`grading.extraction.split_thinking`), the thinking as the reflection counts read it."""
    if THINK_END not in text and THINK_START not in text:
        return ThinkingSplit(thinking=text, grading_response=None)
    _, answer = split_thinking(text)
    return ThinkingSplit(thinking=thinking_part(text), grading_response=answer)


@dataclass
class RunContext:
    """What a mode needs: the config, the policy, the token counter, the problems and callbacks.

    ``emit(record)`` saves one finished unit; ``advance(n)`` moves the progress bar by ``n``
    answers; ``add_total(n)`` grows its total (a server may ask more questions than configured).
    ``env_config_digest`` is the environment settings' fingerprint unit 0's episode carried
    (None when unknown): an episode reset under another is refused at once.
    """

    config: EvalConfig
    policy: Policy
    tokenizer_name: str
    counter: Any
    emit: Callable[[dict[str, Any]], None]
    advance: Callable[[int], None] = lambda n: None
    add_total: Callable[[int], None] = lambda n: None
    _source: ProblemSource | None = field(default=None, repr=False)
    env_config_digest: str | None = None

    @property
    def source(self) -> ProblemSource:
        if self._source is None:
            from reasoning_economics.problems import create_source

            self._source = create_source(self.config.dataset)
        return self._source

    def problems_of(self, index: int) -> list[Problem]:
        """The questions of unit ``index``: those episode ``index`` would ask."""
        from reasoning_economics.problems import sample_episode

        return sample_episode(self.source, self.config.questions, self.config.seed_of(index))

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        """One batched policy call; a policy that returns the wrong number of results is an error."""
        if not requests:
            return []
        results = list(self.policy.generate(list(requests)))
        if len(results) != len(requests):
            raise PolicyError(
                f"policy {getattr(self.policy, 'name', '?')!r} returned {len(results)} results for {len(requests)} requests"
            )
        results = [_valid_text(result) for result in results]
        cut = [self._within_max_tokens(request, result) for request, result in zip(requests, results)]
        longer = sum(1 for before, after in zip(results, cut) if after is not before)
        if longer:
            logger.warning(
                "%d of %d answers of policy %r were longer than the max_tokens asked, counted in this run's "
                "tokenizer %r: each was cut there, as an endpoint honouring the limit would have stopped, so "
                "that no answer is graded on tokens it was not given. The endpoint ignores max_tokens, or its "
                "model counts with another tokenizer than the run's (--tokenizer)",
                longer, len(results), getattr(self.policy, "name", "?"), self.tokenizer_name,
            )  # fmt: skip
        return cut

    def _within_max_tokens(self, request: GenerationRequest, result: GenerationResult) -> GenerationResult:
        """``result`` cut to ``request.max_tokens`` tokens of the run's tokenizer, marked as stopped
        by the length limit, when it is longer; else ``result`` itself."""
        text = result.text
        if not isinstance(text, str) or self.counter.count(text) <= request.max_tokens:
            return result
        ids = list(self.counter.encode(text))[: request.max_tokens]
        return dataclasses.replace(result, text=self.counter.decode(ids), finish_reason="length")

    def grade(self, text: str, problem: Problem) -> Any:
        from reasoning_economics import grading

        return retry_grading(
            lambda: grading.grade_problem(text, problem, timeout=self.config.grading_timeout),
            f"an answer to question {problem.id!r}",
        )

    def thinking_tokens(self, split: ThinkingSplit, total: int) -> int:
        """Tokens of the thinking part: ``total`` when the whole response is thinking."""
        return self.counter.count(split.thinking) if split.has_tags else total


def _valid_text(result: GenerationResult) -> GenerationResult:
    """``result`` with each lone UTF-16 surrogate of its text replaced by U+FFFD.

    An endpoint's JSON may hold an escape like "\\ud800" alone, which decodes to a lone
    surrogate: no valid text, so the environment refuses the step, the tokenizer the call and
    UTF-8 the results line, and one such answer ended the whole run. Model output is data to
    record and grade; the replacement character keeps the answer and marks where it was broken.
    """
    text = result.text
    if not isinstance(text, str) or not has_lone_surrogate(text):
        return result
    # A pair split into two code points is valid UTF-16, so it comes back whole.
    repaired = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return dataclasses.replace(result, text=repaired)


def parallel_map(function: Callable[[T], R], items: Sequence[T], workers: int = 8) -> list[R]:
    """``[function(x) for x in items]`` on a few threads (environment steps and grades wait on
    worker processes or the network, so threads overlap them). Order is kept; the first error
    is raised."""
    if len(items) <= 1:
        return [function(x) for x in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(function, items))


class EvalMode(Protocol):
    """An evaluation mode: runs the given units and emits one record per finished unit."""

    name: str

    def check_policy(self, policy: Any) -> None:
        """Raise ConfigError when this mode cannot run ``policy`` (the runner asks before it makes
        the run directory)."""
        ...

    def run(self, context: RunContext, indices: Iterable[int]) -> None: ...

    def answers_per_unit(self, config: EvalConfig) -> int:
        """Answers one unit produces (the progress bar's unit)."""
        ...


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in consecutive lists of at most ``size``, taken from ``items`` only as each list
    is asked for (the run's unit indices come lazily, so that memory does not grow with units
    not yet run)."""
    iterator = iter(items)
    while group := list(itertools.islice(iterator, size)):
        yield group
