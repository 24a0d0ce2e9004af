"""Play whole episodes in lockstep: every slot of every group answers its current question in one
batched generation call, then the environment scores all of them.

The G slots of a group are reset with the same seed, so they answer the same questions under
the same budget; only the policy's samples differ. Each response may use at most the
environment's ``step_token_limit`` (in hard mode: capped by the remaining budget) and the
configured ``max_step_tokens``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from reasoning_economics.errors import ConfigError
from reasoning_economics.training.conversation import ChatFormat, render_observation
from reasoning_economics.training.generation import Generator
from reasoning_economics.training.sessions import Session, Turn


@dataclass
class EpisodeRecord:
    """One played episode as one GRPO sample.

    ``completion_ids`` interleaves responses (``env_mask`` 1) and observations (``env_mask`` 0);
    ``response_spans[k]`` is the ``[start, end)`` range of response k in ``completion_ids``.
    ``logprobs`` (vLLM only) has one entry per completion id, ``None`` where unknown.
    ``steps`` holds the environment's history entry of each answered question.
    """

    seed: int
    prompt_ids: list[int]
    completion_ids: list[int] = field(default_factory=list)
    env_mask: list[int] = field(default_factory=list)
    logprobs: list[float | None] | None = None
    response_spans: list[tuple[int, int]] = field(default_factory=list)
    responses: list[str] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    step_rewards: list[float] = field(default_factory=list)
    question_ids: list[str] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    truncated: list[bool] = field(default_factory=list)
    total_budget: int = 0
    spent_budget: int = 0
    num_questions: int = 0
    termination_reason: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def append(self, ids: Sequence[int], mask: int, logprobs: Sequence[float | None] | None) -> tuple[int, int]:
        start = len(self.completion_ids)
        self.completion_ids.extend(int(i) for i in ids)
        self.env_mask.extend([mask] * len(ids))
        if logprobs is not None and self.logprobs is None:
            self.logprobs = [None] * start
        if self.logprobs is not None:
            self.logprobs.extend(logprobs if logprobs is not None else [None] * len(ids))
        return start, len(self.completion_ids)

    @property
    def correct(self) -> list[bool]:
        return [bool(step.get("was_correct")) for step in self.steps]

    @property
    def episode_return(self) -> float:
        return float(sum(self.step_rewards))

    @property
    def accuracy(self) -> float:
        """Correct answers over the episode's questions (unanswered ones count as wrong)."""
        return sum(self.correct) / self.num_questions if self.num_questions else 0.0

    @property
    def tokens_per_question(self) -> float:
        """Mean tokens charged per answered question."""
        return sum(int(s.get("tokens_used", 0)) for s in self.steps) / len(self.steps) if self.steps else 0.0

    @property
    def budget_utilization(self) -> float:
        return self.spent_budget / self.total_budget if self.total_budget else 0.0


@dataclass(frozen=True)
class EpisodeOptions:
    """How episodes are played.

    Args:
        max_step_tokens: cap on one response, on top of the environment's step limit.
        tokenizer_name: sent on reset and with each step, so the environment counts tokens in
            the policy's tokenizer (a built-in vocabulary, a hub id, or a local directory).
        total_budget: a fixed budget for every episode; None lets the environment resolve it.
        feedback: prefix each new question with a line on the previous answer.
        end_of_thinking: the marker after which the visible answer starts; the text after it
            is sent as ``grading_response`` so only the answer is graded.
    """

    max_step_tokens: int = 256
    tokenizer_name: str | None = None
    total_budget: int | None = None
    feedback: bool = True
    end_of_thinking: str = "</think>"

    def __post_init__(self) -> None:
        if self.max_step_tokens < 1:
            raise ConfigError(f"max_step_tokens must be >= 1, got {self.max_step_tokens}")
        if self.total_budget is not None and self.total_budget < 1:
            raise ConfigError(f"total_budget must be >= 1, got {self.total_budget}")


def step_metadata(response: str, options: EpisodeOptions) -> dict[str, str]:
    """Action metadata: the counting tokenizer and, for a thinking response, its visible answer."""
    metadata: dict[str, str] = {}
    if options.tokenizer_name is not None:
        metadata["tokenizer_name"] = options.tokenizer_name
    if options.end_of_thinking and options.end_of_thinking in response:
        metadata["grading_response"] = response.rsplit(options.end_of_thinking, 1)[1]
    return metadata


def play_episodes(
    seeds: Sequence[int],
    sessions: Sequence[Session],
    generator: Generator,
    chat: ChatFormat,
    options: EpisodeOptions,
) -> list[EpisodeRecord]:
    """Play one episode per session, session i with ``seeds[i]``, all in lockstep.

    Raises:
        ConfigError: slots sharing a seed were served different first questions (a server
            that ignores the seed would silently break GRPO's like-for-like comparison).
    """
    if len(seeds) != len(sessions):
        raise ConfigError(f"got {len(seeds)} seeds for {len(sessions)} sessions")
    tokenizer = chat.tokenizer
    turns: list[Turn] = [
        s.reset(seed=int(seed), tokenizer_name=options.tokenizer_name, total_budget=options.total_budget)
        for s, seed in zip(sessions, seeds)
    ]
    _check_same_questions(seeds, turns)
    records = []
    for seed, turn in zip(seeds, turns):
        record = EpisodeRecord(seed=int(seed), prompt_ids=chat.prompt_ids(turn.prompt))
        record.num_questions = int(turn.metadata.get("num_questions", 0))
        record.total_budget = turn.total_budget
        if turn.question_id is not None:
            record.question_ids.append(str(turn.question_id))
            record.questions.append(turn.question)
        records.append(record)

    active = [i for i, turn in enumerate(turns) if not turn.done]
    while active:
        contexts = [records[i].prompt_ids + records[i].completion_ids for i in active]
        limits = [min(turns[i].step_token_limit, options.max_step_tokens) for i in active]
        outputs = generator.generate(contexts, limits)
        still_active = []
        for i, out in zip(active, outputs):
            record = records[i]
            response = tokenizer.decode(list(out.token_ids), skip_special_tokens=True)
            record.response_spans.append(record.append(out.token_ids, 1, out.logprobs))
            record.responses.append(response)
            record.truncated.append(not out.closed)
            turn = sessions[i].step(response, step_metadata(response, options))
            turns[i] = turn
            if turn.last_step is not None:
                record.steps.append(turn.last_step)
            record.step_rewards.append(float(turn.reward or 0.0))
            record.spent_budget = turn.spent_budget
            if turn.done:
                record.termination_reason = turn.metadata.get("termination_reason")
                continue
            record.question_ids.append(str(turn.question_id))
            record.questions.append(turn.question)
            observation = render_observation(turn.prompt, turn.last_step, options.feedback)
            # Closed by another end-of-sequence id than the template's end of turn (Qwen's
            # <|endoftext|> beside <|im_end|>), the turn still needs its end-of-turn id: without
            # it the next user turn followed an unclosed assistant turn.
            turn_ended = out.closed and bool(out.token_ids) and out.token_ids[-1] == chat.end_of_turn_id
            record.append(chat.observation_ids(observation, response_closed=turn_ended), 0, None)
            still_active.append(i)
        active = still_active
    return records


def _check_same_questions(seeds: Sequence[int], turns: Sequence[Turn]) -> None:
    first: dict[int, Any] = {}
    for seed, turn in zip(seeds, turns):
        key = (turn.question_id, turn.total_budget)
        if first.setdefault(int(seed), key) != key:
            raise ConfigError(
                f"two episodes reset with seed {seed} got different questions or budgets "
                f"({first[int(seed)]} vs {key}); the environment must honour the seed"
            )
