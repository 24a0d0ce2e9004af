"""ReasonBudgetEnvironment: N questions, one shared token budget (methods.md §1).

The state machine is small on purpose::

    reset() ──> [question k] ──step()──> [question k+1] ... ──step()──> done
                                  │                                      │
                                  └── invalid action: typed error,       └── step(): EpisodeFinishedError
                                      state untouched

Contract:
- ``reset(seed, episode_id, tokenizer_name, total_budget)`` samples the questions
  (the same seed gives the same questions in any process), resolves the budget
  (client > tokenizer-native > config) and returns the first observation.
- ``step(action)`` charges the response's tokens, grades the answer, returns the
  reward of that step (plus the episode bonus on the final step) and the next question.
  ``action.metadata["tokenizer_name"]`` may only name the episode's tokenizer: the one reset
  named, else the one the first step named, else the default its first step was counted in.
- Every rejected call raises a :class:`~reasoning_economics.errors.ReasoningEconomicsError`
  subclass before anything changes, so the episode can go on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from openenv.core.env_server.interfaces import Environment
from openenv.core.env_server.types import EnvironmentMetadata

from reasoning_economics import grading, tokens
from reasoning_economics.env.config import EnvConfig
from reasoning_economics.env.history import ReadOnlyDict, step_record
from reasoning_economics.env.models import (
    ReasonBudgetAction,
    ReasonBudgetObservation,
    ReasonBudgetState,
    plain_action_fields,
)
from reasoning_economics.env.prompt import render_prompt
from reasoning_economics.errors import (
    ConfigError,
    describe,
    has_lone_surrogate,
    EpisodeFinishedError,
    EpisodeNotStartedError,
    InvalidActionError,
    ResponseTooLargeError,
)
from reasoning_economics.problems import Problem, create_source, sample_episode
from reasoning_economics.rewards.budget import episode_bonus, step_reward

logger = logging.getLogger(__name__)
_ANNOUNCED_CONFIG_BUDGETS: set[int] = set()

RESET_KWARGS = ("seed", "episode_id", "tokenizer_name", "total_budget")
ACTION_METADATA_KEYS = ("tokenizer_name", "grading_response")


def config_digest(config: EnvConfig) -> str:
    """A short stable fingerprint of every setting of ``config`` (the first 16 hex digits of the
    SHA-256 of its canonical JSON): equal configs give equal digests in any process, and a change
    of any field (reward weights, budget mode, dataset, ...) gives another."""
    canonical = json.dumps(config.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


@dataclass
class _Episode:
    """Mutable bookkeeping of one episode; replaced wholesale by reset()."""

    episode_id: str
    seed: int
    problems: list[Problem]
    total_budget: int
    budget_source: str
    counter: tokens.TokenCounter
    tokenizer_request: str | None = None
    env_config_digest: str = ""
    spent: int = 0
    step_idx: int = 0
    correct: int = 0
    total_reward: float = 0.0
    done: bool = False
    termination_reason: str | None = None
    history: list[ReadOnlyDict] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)
    num_questions: int = field(init=False)
    metadata_template: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.num_questions = len(self.problems)
        # Every key an observation's metadata holds, in its order, so that each observation's
        # is a copy with values replaced: a copy that then grew past its table's size was
        # resized on every step.
        self.metadata_template = {
            "total_budget": self.total_budget,
            "budget_source": self.budget_source,
            "tokenizer_name": self.counter.name,
            "num_questions": self.num_questions,
            "seed": self.seed,
            "env_config_digest": self.env_config_digest,
            "spent_budget": 0,
            "total_reward": 0.0,
            "termination_reason": None,
            "problem_type": "",
            "question_id": "",
        }

    @property
    def remaining(self) -> int:
        return self.total_budget - self.spent

    def pin_tokenizer(self, name: str, counter: tokens.TokenCounter) -> None:
        """Count every later step of the episode with ``counter`` (a step named ``name``)."""
        self.tokenizer_request, self.counter = name, counter
        self.metadata_template["tokenizer_name"] = counter.name


class ReasonBudgetEnvironment(Environment[ReasonBudgetAction, ReasonBudgetObservation, ReasonBudgetState]):
    """The shared-budget math environment, usable in-process or behind ``ree serve``."""

    SUPPORTS_CONCURRENT_SESSIONS = True

    def __init__(self, config: EnvConfig | None = None, **overrides: Any) -> None:
        super().__init__()
        if config is None:
            config = EnvConfig(**overrides)
        elif overrides:
            # Not model_copy(update=...): it validates nothing, and a misspelled override vanished.
            config = EnvConfig.model_validate({**config.model_dump(), **overrides})
        self.config = config
        # Once per instance (the config is frozen): every observation carries it, so a client
        # can tell two environments' settings apart even when it cannot see them.
        self.config_digest = config_digest(config)
        self._source = create_source(config.dataset, **config.dataset_config)
        self._episode: _Episode | None = None

    # ------------------------------------------------------------------ reset
    def reset(
        self,
        seed: int | None = None,
        episode_id: str | None = None,
        tokenizer_name: str | None = None,
        total_budget: int | float | None = None,
        **kwargs: Any,
    ) -> ReasonBudgetObservation:
        """Start a new episode; see the module docstring for the budget rules."""
        if kwargs:
            raise ConfigError(
                f"unknown reset argument(s) {sorted(kwargs)}; accepted: {', '.join(RESET_KWARGS)}"
            )
        seed = self._resolve_seed(seed)
        if episode_id is not None and (
            not isinstance(episode_id, str) or len(episode_id) > 255 or has_lone_surrogate(episode_id)
        ):
            raise ConfigError("episode_id must be a valid string of at most 255 characters")
        tokenizer = tokenizer_name if tokenizer_name is not None else self.config.tokenizer_name
        counter = self._counter(tokenizer)
        problems = sample_episode(self._source, self.config.num_questions, seed)
        budget, source = self._resolve_budget(total_budget, tokenizer, counter, problems)
        self._episode = _Episode(
            episode_id=episode_id or uuid.uuid4().hex,
            seed=seed,
            problems=problems,
            total_budget=budget,
            budget_source=source,
            counter=counter,
            tokenizer_request=tokenizer,
            env_config_digest=self.config_digest,
        )
        return self._observation(self._episode, reward=None)

    def _resolve_seed(self, seed: Any) -> int:
        if seed is None:
            return self.config.seed if self.config.seed is not None else secrets.randbits(63)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {describe(seed)}")
        return seed

    def _resolve_budget(
        self,
        total_budget: Any,
        tokenizer: str | None,
        counter: tokens.TokenCounter,
        problems: list[Problem],
    ) -> tuple[int, str]:
        if total_budget is not None:
            if isinstance(total_budget, bool) or not isinstance(total_budget, (int, float)):
                raise ConfigError(f"total_budget must be a number, got {type(total_budget).__name__}")
            # Plain comparisons refuse NaN and inf too; math.isfinite raised OverflowError on an
            # integer of over 308 digits, which JSON carries (a 500 on the server's /reset).
            if not 1 <= total_budget <= self.config.max_total_budget:
                huge = isinstance(total_budget, int) and abs(total_budget) >= 10**30
                shown = "an integer of over 30 digits" if huge else total_budget
                raise ConfigError(f"total_budget must be between 1 and {self.config.max_total_budget}, got {shown}")
            return int(round(total_budget)), "client"
        if tokenizer is not None:
            question_tokens = sum(counter.count_batch([p.question for p in problems]))
            return max(1, int(round(self.config.budget_ratio * question_tokens))), "tokenizer_native"
        if self.config.config_budget not in _ANNOUNCED_CONFIG_BUDGETS:
            # Once per process and budget: clients of a server that reset without either (each
            # HTTP /reset builds a fresh environment) would otherwise write a log line each.
            _ANNOUNCED_CONFIG_BUDGETS.add(self.config.config_budget)
            logger.warning(
                "no total_budget or tokenizer_name given: using the config budget %d "
                "(budget_ratio x N x (min_tokens + max_tokens) / 2)",
                self.config.config_budget,
            )
        return max(1, self.config.config_budget), "config"

    def _counter(self, name: str | None) -> tokens.TokenCounter:
        return tokens.get_counter(
            name,
            allowed_external=self.config.allowed_tokenizers,
            trust_remote_code=self.config.trust_remote_code,
        )

    # ------------------------------------------------------------------- step
    def step(
        self, action: ReasonBudgetAction | dict[str, Any], timeout_s: float | None = None, **kwargs: Any
    ) -> ReasonBudgetObservation:
        """Answer the current question; see the module docstring for the contract."""
        episode = self._require_episode()
        if episode.done:
            raise EpisodeFinishedError(
                f"episode {episode.episode_id} is finished ({episode.termination_reason}); call reset()"
            )
        response, metadata = self._action_fields(action)
        problem = episode.problems[episode.step_idx]
        step_tokenizer = metadata.get("tokenizer_name")
        counter = self._step_counter(episode, step_tokenizer)
        started = time.perf_counter()
        tokens_counted = counter.count(response)
        counted = time.perf_counter()
        # A null grading_response means none, as a null tokenizer_name does: grade the response.
        grading_response = metadata.get("grading_response")
        graded_text = response if grading_response is None else grading_response
        timeout = self.config.grading_timeout if timeout_s is None else timeout_s
        verdict = grading.grade_problem(graded_text, problem, timeout=timeout)
        finished = time.perf_counter()
        # Nothing above mutated the episode; everything below cannot fail.
        if step_tokenizer is not None and episode.tokenizer_request is None:
            episode.pin_tokenizer(step_tokenizer, counter)
        return self._apply(episode, problem, tokens_counted, verdict, counted - started, finished - counted)

    def _step_counter(self, episode: _Episode, step_tokenizer: str | None) -> tokens.TokenCounter:
        """The counter of a step naming ``step_tokenizer`` (None: the episode's own).

        Reference trainers name the tokenizer on every step: the same name reuses the episode's
        counter without resolving it again. A step may not count with another tokenizer than the
        one reset named or, when reset named none, the one the first step named (``step`` pins
        it), or the default once a first step named none: switching to a coarser one (about a
        third of the tokens on digit-heavy text) spent less of the budget, and a client free to
        switch on every step, or after its first steps, would count responses with whichever
        vocabulary is cheapest for them.
        """
        if step_tokenizer is None or step_tokenizer == episode.tokenizer_request:
            return episode.counter
        counter = self._counter(step_tokenizer)
        # The same counter, not the same name: Qwen2.5 and Qwen3 share the vocabulary "qwen3"
        # but not the special tokens (<think> is one token in Qwen3 only); counters are shared
        # per tokenizer, so one tokenizer gives one object.
        if counter is episode.counter:
            return episode.counter
        if episode.tokenizer_request is not None:
            raise InvalidActionError(
                f"metadata.tokenizer_name {step_tokenizer!r} is not this episode's tokenizer "
                f"{episode.tokenizer_request!r}: its budget is counted in that one; reset to change it"
            )
        if episode.step_idx > 0:
            raise InvalidActionError(
                f"metadata.tokenizer_name {step_tokenizer!r} is not this episode's tokenizer "
                f"{episode.counter.name!r}: its first steps named none and were counted in that one; "
                "name the tokenizer at reset or on the first step"
            )
        return counter

    def _apply(
        self,
        episode: _Episode,
        problem: Problem,
        tokens_counted: int,
        verdict: grading.GradeResult,
        count_seconds: float,
        grade_seconds: float,
    ) -> ReasonBudgetObservation:
        config = self.config
        remaining_before = episode.remaining
        if config.hard_cap_mode:
            tokens_used = min(tokens_counted, max(remaining_before, 0))
            overspend = 0
        else:
            tokens_used = tokens_counted
            overspend = max(0, tokens_counted - max(remaining_before, 0))
        parts = step_reward(
            correct=verdict.correct,
            tokens_used=tokens_used,
            total_budget=episode.total_budget,
            num_questions=episode.num_questions,
            beta=config.beta,
            gamma=config.gamma,
            overspend_tokens=overspend,
            soft_overspend_penalty=config.soft_overspend_penalty,
            soft_mode=not config.hard_cap_mode,
        )
        episode.spent += tokens_used
        if not config.hard_cap_mode and not config.soft_allow_negative_budget:
            episode.spent = min(episode.spent, episode.total_budget)
        episode.correct += int(verdict.correct)
        episode.step_idx += 1
        reward = parts.total
        if episode.step_idx >= episode.num_questions:
            episode.done, episode.termination_reason = True, "all_answered"
        elif config.hard_cap_mode and episode.remaining < config.min_tokens:
            episode.done, episode.termination_reason = True, "budget_exhausted"
        bonus = 0.0
        if episode.done:
            # Unanswered questions count as wrong, so stopping early never raises accuracy.
            bonus = episode_bonus(
                accuracy=episode.correct / episode.num_questions,
                spent=episode.spent,
                total_budget=episode.total_budget,
                lambda_ep=config.lambda_ep,
                target_utilization=config.target_utilization,
            )
            reward += bonus
        episode.total_reward += reward
        record = step_record(
            step_idx=episode.step_idx - 1,
            problem=problem,
            tokens_used=tokens_used,
            tokens_counted=tokens_counted,
            overspend=overspend,
            verdict=verdict,
            reward=reward,
            reward_parts=parts,
            episode_bonus=bonus,
            count_seconds=count_seconds,
            grade_seconds=grade_seconds,
        )
        episode.history.append(record)
        return self._observation(episode, reward=reward)

    def _action_fields(self, action: Any) -> tuple[str, dict[str, Any]]:
        """The response and metadata of a valid action; a typed error for any other."""
        fields = plain_action_fields(action) if type(action) is dict else None
        if fields is None:
            if isinstance(action, dict):
                try:
                    action = ReasonBudgetAction.model_validate(action)
                except ValueError as exc:
                    raise InvalidActionError(f"invalid action: {exc}") from exc
            if not isinstance(action, ReasonBudgetAction):
                raise InvalidActionError(f"action must be a ReasonBudgetAction, got {type(action).__name__}")
            fields = action.response, action.metadata
        response, metadata = fields
        limit = self.config.max_response_chars
        if len(response) > limit:
            raise ResponseTooLargeError(f"response has {len(response)} characters; the limit is {limit}")
        if has_lone_surrogate(response):
            raise InvalidActionError("response holds a lone UTF-16 surrogate: it is not valid text")
        for key in ACTION_METADATA_KEYS:
            value = metadata.get(key)
            if value is not None and not isinstance(value, str):
                raise InvalidActionError(f"metadata.{key} must be a string, got {type(value).__name__}")
            if value is not None and has_lone_surrogate(value):
                raise InvalidActionError(f"metadata.{key} holds a lone UTF-16 surrogate: it is not valid text")
        grading_response = metadata.get("grading_response")
        if grading_response is not None:
            if len(grading_response) > limit:
                raise ResponseTooLargeError(f"metadata.grading_response is longer than {limit} characters")
            # Only it is graded and only the response is charged: a graded text outside the
            # charged one scored answers for free (an empty response, the answer in grading_response).
            if grading_response.strip() not in response:
                raise InvalidActionError(
                    "metadata.grading_response must be part of response (the visible answer of the output "
                    "charged to the budget, e.g. the text after </think>)"
                )
        return fields

    def _require_episode(self) -> _Episode:
        if self._episode is None:
            raise EpisodeNotStartedError("call reset() before step() or state")
        return self._episode

    # ------------------------------------------------------------ observation
    def _observation(self, episode: _Episode, reward: float | None) -> ReasonBudgetObservation:
        config = self.config
        remaining = episode.remaining
        answered = episode.step_idx
        metadata = episode.metadata_template.copy()
        metadata["spent_budget"] = episode.spent
        metadata["total_reward"] = episode.total_reward
        metadata["termination_reason"] = episode.termination_reason
        if episode.done:
            question, prompt, questions_remaining, step_limit = "", "", 0, 0
            # There is no current question.
            del metadata["problem_type"], metadata["question_id"]
        else:
            current = episode.problems[answered]
            question = current.question
            questions_remaining = episode.num_questions - answered
            step_limit = config.max_tokens_per_step
            if config.hard_cap_mode:
                step_limit = max(0, min(step_limit, remaining))
            prompt = render_prompt(
                question,
                remaining_budget=remaining,
                questions_remaining=questions_remaining,
                step_token_limit=step_limit,
                step_idx=answered,
                num_questions=episode.num_questions,
            )
            metadata["problem_type"] = current.problem_type
            metadata["question_id"] = current.id
        # Every value below is computed here with its declared type, so validation would only
        # re-check our own arithmetic.
        return ReasonBudgetObservation.from_trusted(
            question=question,
            remaining_budget=remaining,
            questions_remaining=questions_remaining,
            step_idx=answered,
            budget_per_remaining=remaining / questions_remaining if questions_remaining else 0.0,
            accuracy_so_far=episode.correct / answered if answered else 0.0,
            history=episode.history.copy(),
            prompt=prompt,
            step_token_limit=step_limit,
            episode_id=episode.episode_id,
            done=episode.done,
            reward=reward,
            metadata=metadata,
        )

    # ------------------------------------------------------------------ state
    @property
    def state(self) -> ReasonBudgetState:
        episode = self._require_episode()
        answered = episode.step_idx
        return ReasonBudgetState(
            episode_id=episode.episode_id,
            step_count=answered,
            total_budget=episode.total_budget,
            spent_budget=episode.spent,
            questions_answered=answered,
            total_correct=episode.correct,
            current_accuracy=episode.correct / answered if answered else 0.0,
            budget_remaining_ratio=episode.remaining / episode.total_budget,
            num_questions=episode.num_questions,
            remaining_budget=episode.remaining,
            budget_source=episode.budget_source,
            tokenizer_name=episode.counter.name,
            seed=episode.seed,
            done=episode.done,
            termination_reason=episode.termination_reason,
            total_reward=episode.total_reward,
        )

    @property
    def problems(self) -> list[Problem]:
        """The current episode's questions (for evaluators and tests; not sent to clients)."""
        return list(self._require_episode().problems)

    @property
    def history(self) -> list[ReadOnlyDict]:
        """The current episode's step records, as observations carry them: read-only dicts
        (see :mod:`reasoning_economics.env.history`) in a new list."""
        return list(self._require_episode().history)

    def get_metadata(self) -> EnvironmentMetadata:
        from reasoning_economics import __version__

        return EnvironmentMetadata(
            name="reasoning_economics",
            description=(
                "Math problems of mixed difficulty under one shared token budget: "
                "learn to spend reasoning where it pays."
            ),
            version=__version__,
            author="reasoning-economics developers",
        )
