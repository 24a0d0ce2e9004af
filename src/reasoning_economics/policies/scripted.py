"""What the scripted baselines share: reading the request's context, choosing right or wrong
answers reproducibly, and writing a response of an exact token length.

A scripted policy does not think; it *plans* a response length and whether the answer is
right, then writes filler words followed by ``The answer is \\boxed{...}.``. Its
``completion_tokens`` is the length of that text in the tokenizer it claims (``tokenizer``
option, counted with :func:`reasoning_economics.tokens.get_counter`), so the environment,
counting the same text with the same tokenizer, charges exactly that number.

The runner must put the current :class:`~reasoning_economics.problems.Problem` (or its dict)
in ``GenerationRequest.context["problem"]`` and, for the budget baselines, the current
observation (a ``ReasonBudgetObservation`` or its dict) in ``context["observation"]``.

Right-or-wrong draws depend only on (``seed`` option, request seed, problem id), never on the
order or batching of requests, so concurrent runs reproduce exactly.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reasoning_economics import tokens
from reasoning_economics.errors import ConfigError
from reasoning_economics.limits import MAX_TOKENS_PER_STEP
from reasoning_economics.policies.base import GenerationRequest, GenerationResult
from reasoning_economics.problems.record import Problem

FILLER_WORD = "step"
"""One filler word; a single token in every built-in vocabulary, and free of the reflection
keywords (wait, check, verify, ...) the behaviour metrics count."""

WRONG_SENTINEL = "-98765"
"""The wrong answer given when the gold answer is not a plain number."""


@dataclass(frozen=True)
class ScriptedConfig:
    """Options every scripted policy takes.

    Attributes:
        tokenizer: the tokenizer whose token counts the policy reports (and which the runner
            should name to the environment); any name :func:`tokens.get_counter` resolves.
        accuracy: probability of giving the gold answer, drawn per (seed, request seed, problem).
        seed: seed of those draws.
    """

    tokenizer: str = tokens.DEFAULT_TOKENIZER
    accuracy: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.tokenizer, str) or not self.tokenizer.strip():
            raise ConfigError(f"tokenizer must be a non-empty string, got {self.tokenizer!r}")
        if isinstance(self.accuracy, bool) or not isinstance(self.accuracy, (int, float)) or not 0 <= self.accuracy <= 1:
            raise ConfigError(f"accuracy must be a number in [0, 1], got {self.accuracy!r}")
        _require_int("seed", self.seed)


MAX_PLANNED_TOKENS = MAX_TOKENS_PER_STEP
"""Largest token count a scripted policy's length options take: the highest per-step limit an
environment allows, so a longer plan could only ever be cut there."""


def _require_int(name: str, value: Any, minimum: int | None = None, maximum: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be at most {maximum:,}, got {value}")


def unit_draw(*parts: object) -> float:
    """A number in [0, 1) that depends only on ``parts`` (a stable hash; no global state)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def wrong_answer(gold: str) -> str:
    """An answer that is certainly not ``gold``: a plain integer plus one, else a sentinel.

    >>> wrong_answer("41"), wrong_answer("2.5"), wrong_answer("\\\\frac{3}{4}")
    ('42', '3.5', '-98765')
    """
    text = gold.strip()
    try:
        return str(int(text) + 1)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return WRONG_SENTINEL if text != WRONG_SENTINEL else WRONG_SENTINEL + "1"
    return str(value + 1) if math.isfinite(value) else WRONG_SENTINEL


def final_statement(answer: str) -> str:
    """The line every scripted response ends with."""
    return f"The answer is \\boxed{{{answer}}}."


def fit_to_length(counter: tokens.TokenCounter, target: int, tail: str = "") -> str:
    """Filler words followed by ``tail``, as close to ``target`` tokens as the tokenizer allows.

    Never longer than ``target`` unless ``tail`` alone is (then ``tail`` is returned). The
    filler word is one token in the built-in vocabularies, so the length is normally exact.
    """

    def text(words: int) -> str:
        return " ".join([FILLER_WORD] * words + ([tail] if tail else []))

    base = counter.count(tail) if tail else 0
    if target <= base:
        return tail
    words = target - base
    best = tail
    seen: set[int] = set()
    while words >= 0 and words not in seen:
        seen.add(words)
        candidate = text(words)
        count = counter.count(candidate)
        if count == target:
            return candidate
        if count < target and (best == tail or count > counter.count(best)):
            best = candidate
        words += target - count
    return best


@dataclass(frozen=True)
class Plan:
    """A scripted policy's decision for one request: how many tokens to write, and whether the
    final answer is the gold one."""

    tokens: int
    correct: bool


def problem_of(request: GenerationRequest) -> Problem:
    """The request's problem, from ``context["problem"]`` (a Problem or its dict)."""
    problem = request.context.get("problem")
    if isinstance(problem, Problem):
        return problem
    if isinstance(problem, Mapping):
        try:
            return Problem.from_dict(dict(problem))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"context['problem'] is not a valid problem: {exc}") from exc
    raise ConfigError(
        "scripted policies answer from the gold answer: put the current Problem in "
        f"GenerationRequest.context['problem'] (got {type(problem).__name__})"
    )


def observation_value(request: GenerationRequest, key: str) -> Any:
    """``context["observation"][key]``, from a ReasonBudgetObservation or its dict."""
    observation = request.context.get("observation")
    if observation is None:
        raise ConfigError(
            "budget baselines read the budget state: put the current observation in "
            "GenerationRequest.context['observation']"
        )
    value = observation.get(key) if isinstance(observation, Mapping) else getattr(observation, key, None)
    if value is None:
        raise ConfigError(f"context['observation'] has no {key!r}")
    return value


class ScriptedPolicy:
    """Base of the scripted baselines: subclasses implement :meth:`plan`.

    With a ``prefix`` (anytime evaluation forcing the answer after cut thinking) the policy
    writes only the final statement, as a model told to answer now would.
    """

    name = "scripted"
    supports_prefix = True
    supports_logprobs = False

    def __init__(self, config: ScriptedConfig) -> None:
        self.config = config
        self.tokenizer_name = config.tokenizer
        self.counter = tokens.get_counter(config.tokenizer)

    def plan(self, request: GenerationRequest, problem: Problem) -> Plan:
        raise NotImplementedError

    def draws_correct(self, problem: Problem, request_seed: int | None) -> bool:
        """Whether the accuracy draw for this (problem, request seed) gives the gold answer."""
        return unit_draw("correct", self.config.seed, request_seed, problem.id) < self.config.accuracy

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        return [self._one(request) for request in requests]

    def _one(self, request: GenerationRequest) -> GenerationResult:
        if request.logprobs:
            raise ConfigError(f"policy {self.name!r} does not produce logprobs")
        problem = problem_of(request)
        plan = self.plan(request, problem)
        tail = final_statement(problem.answer if plan.correct else wrong_answer(problem.answer))
        if request.prefix is not None:
            text = (" " if request.prefix and not request.prefix[-1].isspace() else "") + tail
        elif plan.tokens <= request.max_tokens:
            text = fit_to_length(self.counter, plan.tokens, tail)
        else:
            # Never written past the limit: the whole planned text (a billion tokens for a large
            # option) took gigabytes only to be cut to a few hundred tokens.
            return self._cut_at_limit(request)
        count = self.counter.count(text)
        if count <= request.max_tokens:
            return GenerationResult(text=text, completion_tokens=count, finish_reason="stop")
        return self._cut_at_limit(request)

    def _cut_at_limit(self, request: GenerationRequest) -> GenerationResult:
        """A response stopped at ``request.max_tokens``, as a real model's would be: the filler
        goes on to the limit and the answer never comes."""
        cut = fit_to_length(self.counter, request.max_tokens)
        return GenerationResult(text=cut, completion_tokens=self.counter.count(cut), finish_reason="length")

    def close(self) -> None:
        """Nothing to release."""
