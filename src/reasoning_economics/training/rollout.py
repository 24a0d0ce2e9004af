"""The TRL ``rollout_func`` that plays whole episodes against the environment.

TRL calls ``rollout_func(prompts, trainer)`` with the prompts of one generation batch, each
repeated ``num_generations`` times in a row. Here each prompt names an episode seed
(:func:`episode_prompt`), so the G copies of a prompt are G episodes of the same questions
under the same budget: a GRPO group that compares like with like. The function returns:

- ``prompt_ids``: the chat-formatted first question of each episode;
- ``completion_ids``: the policy's responses interleaved with the environment's next
  questions (see :mod:`~reasoning_economics.training.conversation`);
- ``env_mask``: 1 on the policy's ids, 0 on the environment's, so TRL trains on the policy's
  ids only;
- ``logprobs``: the sampler's log-probabilities (vLLM) or None;
- extra per-episode fields that TRL hands to the reward functions and that
  :class:`~reasoning_economics.training.trainer.EnvGRPOTrainer` reads for its advantages and
  metrics (see :data:`EXTRA_FIELDS`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from reasoning_economics.errors import ConfigError
from reasoning_economics.training.conversation import ChatFormat
from reasoning_economics.training.episodes import EpisodeOptions, EpisodeRecord, play_episodes
from reasoning_economics.training.generation import Generator, make_generator
from reasoning_economics.training.sessions import SessionPool

EPISODE_LABEL = "reasoning-economics episode, seed="
_SEED = re.compile(re.escape(EPISODE_LABEL) + r"(\d+)\Z")

EXTRA_FIELDS = (
    "seed",
    "step_rewards",
    "episode_return",
    "response_spans",
    "responses",
    "question_ids",
    "correct",
    "answer",
    "accuracy",
    "tokens_per_question",
    "budget_utilization",
    "episode_length",
    "num_questions",
    "truncated",
    "reflection_rewards",
    "reflection_reward",
    "response_tokens",
)
"""Per-episode fields of the rollout output (besides the ids and masks), one value per episode.

``step_rewards`` are the per-question rewards the advantages use (the environment's, plus the
reflection component when configured); ``episode_return`` is their sum. ``correct`` holds the
environment's verdict on each answer; ``answer`` is the gold answer of the last question
answered. ``reflection_rewards`` is REA-RL's reflection reward of each response and
``reflection_reward`` their mean; ``response_tokens`` the policy tokens of each response."""


def episode_prompt(seed: int) -> list[dict[str, str]]:
    """The dataset prompt that stands for the episode with this seed. The rollout replaces it
    with the environment's first question; TRL only uses it to group and to log."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"an episode seed must be a non-negative int, got {seed!r}")
    return [{"role": "user", "content": f"{EPISODE_LABEL}{seed}"}]


def episode_seed(prompt: Any) -> int:
    """The seed that :func:`episode_prompt` put in ``prompt`` (conversational or plain text)."""
    text = prompt if isinstance(prompt, str) else (prompt[-1].get("content") if prompt else None)
    match = _SEED.match(text) if isinstance(text, str) else None
    if match is None:
        raise ConfigError(
            f"rollout prompt {str(prompt)[:80]!r} does not name an episode seed; "
            "build the training dataset with reasoning_economics.training.rollout.episode_dataset"
        )
    return int(match.group(1))


def episode_dataset(num_episodes: int, base_seed: int = 0):
    """A ``datasets.Dataset`` of ``num_episodes`` episode prompts with seeds ``base_seed, base_seed+1, ...``."""
    from reasoning_economics.errors import require

    datasets = require("datasets", "train")
    if num_episodes < 1:
        raise ConfigError(f"num_episodes must be >= 1, got {num_episodes}")
    seeds = list(range(base_seed, base_seed + num_episodes))
    return datasets.Dataset.from_dict({"prompt": [episode_prompt(s) for s in seeds], "seed": seeds})


def group_seeds(prompts: Sequence[Any], group_size: int) -> list[int]:
    """One seed per prompt, checking that the prompts come in runs of ``group_size`` equal seeds."""
    seeds = [episode_seed(p) for p in prompts]
    if group_size < 1 or len(seeds) % group_size:
        raise ConfigError(f"{len(seeds)} prompts do not split into groups of {group_size}")
    for start in range(0, len(seeds), group_size):
        if len(set(seeds[start : start + group_size])) != 1:
            group = seeds[start : start + group_size]
            raise ConfigError(f"prompts {start}..{start + group_size - 1} do not share one seed: {group}")
    return seeds


@dataclass
class RolloutContext:
    """What a rollout plan works with during one call."""

    sessions: SessionPool
    generator: Generator
    chat: ChatFormat
    options: EpisodeOptions
    trainer: Any


class RolloutPlan(Protocol):
    """How a recipe turns the seeds of one generation batch into episode records (one per seed)."""

    def run(self, seeds: list[int], group_size: int, ctx: RolloutContext) -> list[EpisodeRecord]: ...


class PlayEpisodes:
    """The plain plan: every slot plays its episode."""

    def run(self, seeds: list[int], group_size: int, ctx: RolloutContext) -> list[EpisodeRecord]:
        return play_episodes(seeds, ctx.sessions.take(len(seeds)), ctx.generator, ctx.chat, ctx.options)


@dataclass(frozen=True)
class StepShaping:
    """The configurable episode return: each question's reward is the environment's step reward
    (with the episode bonus on the last step) plus ``reflection_weight`` times REA-RL's
    reflection reward of that response (methods.md §4)."""

    reflection_weight: float = 0.0

    def __post_init__(self) -> None:
        from reasoning_economics.rewards._validation import as_number

        # As a finite number: NaN or inf passed "< 0" and made every episode return NaN or inf,
        # and a str or None raised a bare TypeError there.
        weight = as_number(self.reflection_weight, "reflection_weight", error=ConfigError)
        if weight < 0:
            raise ConfigError(f"reflection_weight must be >= 0, got {self.reflection_weight}")

    def shape(self, step_rewards: list[float], reflection: list[float]) -> list[float]:
        """Each step's reward plus ``reflection_weight`` times its response's reflection reward."""
        return [
            r + self.reflection_weight * (reflection[k] if k < len(reflection) else 0.0)
            for k, r in enumerate(step_rewards)
        ]


def reflection_rewards(responses: list[str], tokenizer: Any) -> list[float]:
    """REA-RL's reflection reward ``min(τ·n_reflect/L_think, 1)`` of each response, with the
    thinking length counted in the policy's tokenizer (methods.md §4)."""
    from reasoning_economics.rewards.reflection import count_reflections, reflection_reward, thinking_part

    rewards = []
    for response in responses:
        thinking_tokens = len(tokenizer(thinking_part(response), add_special_tokens=False)["input_ids"])
        rewards.append(reflection_reward(count_reflections(response), thinking_tokens))
    return rewards


class EpisodeRollout:
    """TRL ``rollout_func``: plays the episodes named by the prompts (see the module docstring)."""

    def __init__(
        self,
        sessions: SessionPool,
        options: EpisodeOptions,
        *,
        plan: RolloutPlan | None = None,
        shaping: StepShaping | None = None,
        system_prompt: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.options = options
        self.plan = plan or PlayEpisodes()
        self.shaping = shaping or StepShaping()
        self.system_prompt = system_prompt
        self._chat: ChatFormat | None = None
        self._generator: Generator | None = None
        self.last_records: list[EpisodeRecord] = []

    def context(self, trainer: Any) -> RolloutContext:
        """The rollout context for ``trainer``, built on first use (the generator needs the trainer)."""
        if self._chat is None:
            tokenizer = getattr(trainer.processing_class, "tokenizer", trainer.processing_class)
            self._chat = ChatFormat(tokenizer, trainer.eos_token_ids, self.system_prompt)
        if self._generator is None:
            self._generator = make_generator(trainer)
        return RolloutContext(self.sessions, self._generator, self._chat, self.options, trainer)

    def __call__(self, prompts: list[Any], trainer: Any) -> dict[str, Any]:
        group_size = trainer.num_generations if trainer.model.training else trainer.num_generations_eval
        seeds = group_seeds(prompts, group_size)
        ctx = self.context(trainer)
        records = self.plan.run(seeds, group_size, ctx)
        if len(records) != len(prompts):
            raise ConfigError(f"the rollout plan returned {len(records)} episodes for {len(prompts)} prompts")
        self.last_records = records
        return self.to_trl(records, ctx.chat)

    def to_trl(self, records: list[EpisodeRecord], chat: ChatFormat) -> dict[str, Any]:
        """The ``rollout_func`` output for ``records`` (see the module docstring)."""
        for record in records:
            if not record.completion_ids:
                # TRL reads the last completion id; an episode with no response still needs one.
                record.append([chat.end_of_turn_id], 0, None)
        has_logprobs = any(r.logprobs is not None for r in records)
        output: dict[str, Any] = {
            "prompt_ids": [r.prompt_ids for r in records],
            "completion_ids": [r.completion_ids for r in records],
            "env_mask": [r.env_mask for r in records],
            "logprobs": [r.logprobs or [None] * len(r.completion_ids) for r in records] if has_logprobs else None,
        }
        columns: dict[str, list[Any]] = {name: [] for name in EXTRA_FIELDS}
        for record in records:
            reflection = reflection_rewards(record.responses[: len(record.step_rewards)], chat.tokenizer)
            shaped = self.shaping.shape(record.step_rewards, reflection)
            columns["seed"].append(record.seed)
            columns["step_rewards"].append(shaped)
            columns["episode_return"].append(float(sum(shaped)))
            columns["response_spans"].append([list(span) for span in record.response_spans])
            columns["responses"].append(list(record.responses))
            columns["question_ids"].append(list(record.question_ids))
            columns["correct"].append(record.correct)
            columns["answer"].append(str(record.steps[-1].get("gold_answer", "")) if record.steps else "")
            columns["accuracy"].append(record.accuracy)
            columns["tokens_per_question"].append(record.tokens_per_question)
            columns["budget_utilization"].append(record.budget_utilization)
            columns["episode_length"].append(len(record.steps))
            columns["num_questions"].append(record.num_questions)
            columns["truncated"].append(list(record.truncated))
            columns["reflection_rewards"].append(reflection)
            columns["reflection_reward"].append(sum(reflection) / len(reflection) if reflection else 0.0)
            columns["response_tokens"].append([end - start for start, end in record.response_spans])
        output.update(columns)
        for key in sorted({key for record in records for key in record.extras}):
            output[key] = [record.extras.get(key) for record in records]
        return output

    def close(self) -> None:
        self.sessions.close()
