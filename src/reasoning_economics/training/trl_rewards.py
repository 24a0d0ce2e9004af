"""The rewards of :mod:`reasoning_economics.rewards` as TRL ``GRPOTrainer`` reward functions.

TRL calls each reward function as ``f(prompts, completions, completion_ids=None, **kwargs)``
with one entry per completion; dataset columns (such as ``answer``) arrive as keyword lists
aligned with the completions. The functions here:

- accept plain-text completions and conversational ones (lists of ``{"role", "content"}``
  messages);
- grade each completion's answer part (the text after the last ``</think>``, or all of it)
  against the gold column with :func:`reasoning_economics.grading.grade`;
- measure lengths as ``len(completion_ids[i])`` when TRL passes token ids (so lengths are
  in the policy's own tokenizer) and otherwise with ``reasoning_economics.tokens``;
- group completions for the group statistics the length rewards need. By default a group is
  the completions sharing a prompt (and gold answer), so one call may hold several groups in
  any order. TRL itself groups by position: ``num_generations`` consecutive completions per
  prompt, even when two dataset rows have the same prompt text, whose completions the default
  grouping merges into one group. Pass ``num_generations=G`` to :func:`make_reward_func` to
  group as TRL does.

Truncation: a completion cut at the length limit (no end-of-sequence id) is only recognised
when ``eos_token_ids`` is given (the tokenizer's EOS ids, as TRL reads them). Without it every
completion counts as finished, so the ``efficiency`` reward gives a cut-off right answer its
full length-aware reward instead of 0 (methods.md §2).

Ready-made functions use each method's defaults; :func:`make_reward_func` configures one::

    from reasoning_economics.training.trl_rewards import correctness_reward, make_reward_func

    trainer = GRPOTrainer(
        model=..., train_dataset=dataset,  # with an "answer" column
        reward_funcs=[
            correctness_reward,
            make_reward_func("efficiency", alpha=0.2, eos_token_ids=[tokenizer.eos_token_id], num_generations=G),
        ],
    )

Nothing here imports TRL or torch: the adapters are plain callables.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from numbers import Integral
from typing import Any

from reasoning_economics.errors import ConfigError, RewardInputError, describe
from reasoning_economics.rewards import length as length_rewards
from reasoning_economics.rewards import reflection as reflection_rewards
from reasoning_economics.rewards._validation import as_items

Completion = str | Sequence[Mapping[str, Any]]

DEFAULT_ANSWER_COLUMN = "answer"
DEFAULT_TARGET_COLUMN = "n_target"


REASONING_FIELDS = ("reasoning_content", "thinking")
"""Message fields in which a parsed assistant turn carries its thinking. TRL parses completions
with the tokenizer's response template when it has one (a Qwen3 template moves the text between
``<think>`` and ``</think>`` to ``reasoning_content``; LFM2.5's names it ``thinking``)."""


def _part_text(part: Any) -> str:
    """The text of one content part ``{"type": "text", "text": ...}``; "" for a part without
    text (an image). A plain string is no part of the OpenAI/TRL content format: refused, not
    read as "" (a boxed answer in it scored 0)."""
    if not isinstance(part, Mapping):
        raise RewardInputError(
            f'a content part must be a dict such as {{"type": "text", "text": ...}}, got {type(part).__name__}'
        )
    text = part.get("text", "")
    if not isinstance(text, str):
        raise RewardInputError(f"a content part's text must be a string, got {type(text).__name__}")
    return text


def message_text(content: Any) -> str:
    """Text of one chat message's content: a string, or a list of parts whose text parts are joined."""
    if content is None:  # OpenAI-style assistant turns that only call tools carry content None
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence) and not isinstance(content, (bytes, bytearray)):
        return "".join(_part_text(part) for part in content)
    raise RewardInputError(f"message content must be a string or a list of parts, got {type(content).__name__}")


def _messages(conversation: Sequence[Any], what: str) -> Sequence[Mapping[str, Any]]:
    """The messages of a conversational prompt or completion; anything but a dict in it is
    refused (a list of strings was skipped: an empty completion, or every prompt one group)."""
    for message in conversation:
        if not isinstance(message, Mapping):
            raise RewardInputError(
                f'a conversational {what} must be a list of {{"role", "content"}} messages, '
                f"got a {type(message).__name__} in it"
            )
    return conversation


def _assistant_text(message: Mapping[str, Any], end_marker: str) -> str:
    text = message_text(message.get("content"))
    for name in REASONING_FIELDS:
        thinking = message.get(name)
        if isinstance(thinking, str) and thinking:
            # Put the thinking back between its tags: the reflection reward counts in it, and
            # grading must still see only what follows the end marker.
            return reflection_rewards.THINK_START + thinking + end_marker + text
    return text


def completion_text(completion: Completion, end_marker: str = reflection_rewards.THINK_END) -> str:
    """The generated text of a TRL completion: the string itself, or the policy's turns of a
    conversational completion joined, each with its parsed thinking (``reasoning_content`` or
    ``thinking``) restored between ``<think>`` and ``end_marker`` before its content. Tool
    results (TRL appends them as ``"tool"`` messages in multi-turn rollouts) are not the
    policy's text and are left out."""
    if isinstance(completion, str):
        return completion
    # bytes are a Sequence too (of ints, no messages): they were read as an empty completion.
    if isinstance(completion, Sequence) and not isinstance(completion, (bytes, bytearray)):
        return "".join(
            _assistant_text(m, end_marker)
            for m in _messages(completion, "completion")
            if m.get("role", "assistant") == "assistant"
        )
    raise RewardInputError(f"a completion must be a string or a list of messages, got {type(completion).__name__}")


def answer_part(text: str, end_marker: str = reflection_rewards.THINK_END) -> str:
    """What is graded: the text after the last end-of-thinking marker, or all of it."""
    return text.rsplit(end_marker, 1)[-1]


def completion_items(completions: Any, reward: str) -> list[Any]:
    """The completions TRL passed to ``reward``, as a list. A str was read as one completion per
    character, and None raised a bare TypeError at ``len``."""
    if completions is None:
        raise RewardInputError(f"reward {reward!r} needs the completions")
    return as_items(completions, "completions", "completions (strings or message lists)")


def _role(message: Mapping[str, Any]) -> str | None:
    role = message.get("role")
    if role is not None and not isinstance(role, str):  # a list role raised "unhashable type" as the group key
        raise RewardInputError(f"a message's role must be a string, got {type(role).__name__}")
    return role


def _prompt_key(prompt: Any) -> Any:
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, Sequence) and not isinstance(prompt, (bytes, bytearray)):
        return tuple((_role(m), message_text(m.get("content"))) for m in _messages(prompt, "prompt"))
    return repr(prompt)


def group_indices(prompts: Sequence[Any], golds: Sequence[Any] | None = None) -> list[list[int]]:
    """Indices of the completions that share a prompt (and gold answer), in first-seen order."""
    groups: dict[Any, list[int]] = {}
    for i, prompt in enumerate(prompts):
        key = (_prompt_key(prompt), None if golds is None else str(golds[i]))
        groups.setdefault(key, []).append(i)
    return list(groups.values())


@lru_cache(maxsize=1024)
def _is_correct(answer: str, gold: str) -> bool:
    # Several reward functions grade the same completions in one step; grade each pair once.
    # Keyed by whole answers: a step's completions fit in 1024, and 8192 long completions
    # without think tags (tens of KB each) held hundreds of MB.
    from reasoning_economics.grading import grade

    return bool(grade(answer, gold).correct)


@dataclass
class _Batch:
    """One reward call's data, with each derived column computed at most once."""

    texts: list[str]
    completion_ids: Sequence[Sequence[int]] | None
    columns: Mapping[str, Any]
    spec: TRLReward

    def column(self, name: str) -> list[Any]:
        if name not in self.columns:
            available = ", ".join(sorted(k for k in self.columns if not k.startswith(("trainer_", "log_"))))
            raise RewardInputError(
                f"{self.spec.__name__} needs the dataset column {name!r}; columns passed: {available or 'none'}"
            )
        if isinstance(self.columns[name], (str, bytes)):
            # A text's characters were read as the column's values when their number matched.
            raise RewardInputError(
                f"column {name!r} must hold one value per completion, got a {type(self.columns[name]).__name__}"
            )
        # None or a number raised a bare TypeError ("not iterable"); a dict gave its keys.
        values = as_items(self.columns[name], f"column {name!r}", "values, one per completion")
        if len(values) != len(self.texts):
            raise RewardInputError(f"column {name!r} has {len(values)} values for {len(self.texts)} completions")
        return values

    @cached_property
    def golds(self) -> list[str]:
        golds = self.column(self.spec.answer_column)
        for i, gold in enumerate(golds):
            if gold is None:
                raise RewardInputError(f"gold answer {self.spec.answer_column!r} of completion {i} is None")
        return [str(g) for g in golds]

    @cached_property
    def correct(self) -> list[bool]:
        return [_is_correct(answer_part(t, self.spec.end_marker), g) for t, g in zip(self.texts, self.golds)]

    @cached_property
    def lengths(self) -> list[int]:
        if self.completion_ids is not None:
            return [len(ids) for ids in self.completion_ids]
        return self.spec.counter.count_batch(self.texts)

    @cached_property
    def truncated(self) -> list[bool] | None:
        if self.completion_ids is None or self.spec.eos_token_ids is None:
            return None
        eos = set(self.spec.eos_token_ids)
        # len(), not truth: "not ids" raised on a tensor row of more than one id.
        return [len(ids) == 0 or _token_id(ids[-1], i) not in eos for i, ids in enumerate(self.completion_ids)]

    @cached_property
    def targets(self) -> list[int]:
        return self.column(self.spec.target_column)


def _token_id(value: Any, row: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise RewardInputError(f"completion_ids[{row}] must hold token ids (ints), got {describe(value)}") from None


def _token_id_rows(completion_ids: Any, n: int) -> list[Any]:
    """The rows of ``completion_ids``, one sized row of ids per completion (lists or tensors).
    A row that is None or a number raised a bare TypeError at ``len``; a str was read as ids,
    one per character."""
    rows = as_items(completion_ids, "completion_ids", "rows of token ids, one per completion")
    if len(rows) != n:
        raise RewardInputError(f"got {len(rows)} completion_ids for {n} completions")
    for i, ids in enumerate(rows):
        if isinstance(ids, (str, bytes, Mapping)) or not hasattr(ids, "__len__") or getattr(ids, "ndim", 1) != 1:
            raise RewardInputError(f"completion_ids[{i}] must be a sequence of token ids, got {type(ids).__name__}")
    return rows


def _take(values: Sequence[Any] | None, idx: list[int]) -> list[Any] | None:
    return None if values is None else [values[i] for i in idx]


def _correctness(batch: _Batch, idx: list[int], **_: Any) -> list[float]:
    return [float(batch.correct[i]) for i in idx]


def _efficiency(batch: _Batch, idx: list[int], **options: Any) -> list[float]:
    return length_rewards.efficiency_reward(
        _take(batch.correct, idx), _take(batch.lengths, idx), _take(batch.truncated, idx), **options
    )


def _lcpo_exact(batch: _Batch, idx: list[int], **options: Any) -> list[float]:
    return length_rewards.lcpo_exact_reward(
        _take(batch.correct, idx), _take(batch.lengths, idx), _take(batch.targets, idx), **options
    )


def _lcpo_max(batch: _Batch, idx: list[int], **options: Any) -> list[float]:
    return length_rewards.lcpo_max_reward(
        _take(batch.correct, idx), _take(batch.lengths, idx), _take(batch.targets, idx), **options
    )


def _kimi(batch: _Batch, idx: list[int], **_: Any) -> list[float]:
    return length_rewards.kimi_length_reward(_take(batch.correct, idx), _take(batch.lengths, idx))


def _shorter_better(batch: _Batch, idx: list[int], **options: Any) -> list[float]:
    return length_rewards.shorter_better_reward(_take(batch.correct, idx), _take(batch.lengths, idx), **options)


def _rea_length(batch: _Batch, idx: list[int], **_: Any) -> list[float]:
    return reflection_rewards.rea_length_reward(_take(batch.correct, idx), _take(batch.lengths, idx))


def _reflection(batch: _Batch, idx: list[int], **options: Any) -> list[float]:
    tau = options.get("tau", reflection_rewards.REFLECTION_TAU)
    keywords = options.get("keywords")
    end = batch.spec.end_marker  # the same split grading uses, so no answer text counts as thinking
    rewards = []
    for i in idx:
        thinking = reflection_rewards.thinking_part(batch.texts[i], end=end)
        n = reflection_rewards.count_reflections(batch.texts[i], keywords, end=end)
        rewards.append(reflection_rewards.reflection_reward(n, batch.spec.counter.count(thinking), tau))
    return rewards


@dataclass(frozen=True)
class _Method:
    compute: Callable[..., list[float]]
    options: tuple[str, ...] = ()
    description: str = ""
    grouped: bool = False
    """Whether a sample's reward depends on its group (so the completions must be grouped)."""


METHODS: dict[str, _Method] = {
    "correctness": _Method(_correctness, (), "1 if the answer is right, else 0"),
    "efficiency": _Method(_efficiency, ("alpha",), "Arora & Zanette length-aware reward", grouped=True),
    "lcpo_exact": _Method(_lcpo_exact, ("alpha",), "L1 LCPO-Exact; needs a target column"),
    "lcpo_max": _Method(_lcpo_max, ("alpha", "delta"), "L1 LCPO-Max; needs a target column"),
    "kimi_length": _Method(_kimi, (), "Kimi k1.5 length reward", grouped=True),
    "shorter_better": _Method(_shorter_better, ("alpha", "beta"), "ShorterBetter", grouped=True),
    "rea_length": _Method(_rea_length, (), "REA-RL length reward", grouped=True),
    "reflection": _Method(_reflection, ("tau", "keywords"), "REA-RL reflection reward"),
}
"""The reward methods :func:`make_reward_func` can build, with the options each accepts."""


@dataclass(frozen=True)
class TRLReward:
    """A reward method bound to its configuration; call it the way TRL calls reward functions.

    Build it with :func:`make_reward_func`. Instances are picklable (the tokenizer is looked up
    by name), and TRL logs them as ``rewards/<__name__>/mean``.
    """

    method: str
    tokenizer: str | None = None
    answer_column: str = DEFAULT_ANSWER_COLUMN
    target_column: str = DEFAULT_TARGET_COLUMN
    eos_token_ids: tuple[int, ...] | None = None
    end_marker: str = reflection_rewards.THINK_END
    options: tuple[tuple[str, Any], ...] = field(default=())
    num_generations: int | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"unknown reward method {self.method!r}; known: {', '.join(METHODS)}")
        allowed = METHODS[self.method].options
        for key, _ in self.options:
            if key not in allowed:
                raise ConfigError(
                    f"reward {self.method!r} takes no option {key!r}; it takes: {', '.join(allowed) or 'none'}"
                )
        for name in ("answer_column", "target_column", "end_marker"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:  # end_marker=5 failed only when called
                raise ConfigError(f"{name} must be a non-empty string, got {describe(value)}")
        if self.num_generations is not None and (
            isinstance(self.num_generations, bool) or not isinstance(self.num_generations, int) or self.num_generations < 1
        ):
            raise ConfigError(f"num_generations must be an integer >= 1 or None, got {self.num_generations!r}")

    @property
    def __name__(self) -> str:  # TRL names the reward's metrics after this
        return f"{self.method}_reward"

    @property
    def counter(self):
        from reasoning_economics.tokens import get_counter

        return get_counter(self.tokenizer)

    def __call__(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Completion] | None = None,
        completion_ids: Sequence[Sequence[int]] | None = None,
        **kwargs: Any,
    ) -> list[float]:
        """One reward per completion, computed group by group: ``num_generations`` consecutive
        completions when set (TRL's groups), else the completions sharing a prompt.

        TRL passes ``prompts``; without them a group reward needs ``num_generations``."""
        completions = completion_items(completions, self.__name__)
        if prompts is not None:
            prompts = as_items(prompts, "prompts", "prompts, one per completion")
            if len(prompts) != len(completions):
                raise RewardInputError(f"got {len(prompts)} prompts for {len(completions)} completions")
        elif self.num_generations is None and METHODS[self.method].grouped:
            raise RewardInputError(
                f"{self.__name__} compares the completions of a group: pass prompts (TRL does) or build it "
                "with make_reward_func(..., num_generations=G)"
            )
        if completion_ids is not None:
            completion_ids = _token_id_rows(completion_ids, len(completions))
        batch = _Batch([completion_text(c, self.end_marker) for c in completions], completion_ids, kwargs, self)
        golds = batch.golds if self.method != "reflection" else None
        rewards = [0.0] * len(completions)
        compute = METHODS[self.method].compute
        if self.num_generations is not None:
            if len(completions) % self.num_generations:
                raise RewardInputError(
                    f"{len(completions)} completions do not split into groups of num_generations={self.num_generations}"
                )
            groups = [list(range(i, i + self.num_generations)) for i in range(0, len(completions), self.num_generations)]
        elif prompts is None:  # a per-sample method: any grouping gives the same rewards
            groups = [list(range(len(completions)))]
        else:
            groups = group_indices(prompts, golds)
        for idx in groups:
            for i, reward in zip(idx, compute(batch, idx, **dict(self.options))):
                rewards[i] = float(reward)
        return rewards


def _token_ids(ids: Collection[int]) -> tuple[int, ...]:
    """Token ids as a tuple of ints; a str is refused (int() read "12" as the ids 1 and 2)."""
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Collection):
        raise ConfigError(f"eos_token_ids must be a list of token ids, got {type(ids).__name__}")
    for token_id in ids:
        if isinstance(token_id, bool) or not isinstance(token_id, Integral) or token_id < 0:
            raise ConfigError(f"eos_token_ids must hold ints >= 0, got {describe(token_id)}")
    return tuple(int(i) for i in ids)


def make_reward_func(
    method: str,
    *,
    tokenizer: str | None = None,
    answer_column: str = DEFAULT_ANSWER_COLUMN,
    target_column: str = DEFAULT_TARGET_COLUMN,
    eos_token_ids: Collection[int] | None = None,
    end_marker: str = reflection_rewards.THINK_END,
    num_generations: int | None = None,
    **options: Any,
) -> TRLReward:
    """Build a TRL reward function for one of :data:`METHODS`.

    Args:
        method: ``"correctness"``, ``"efficiency"``, ``"lcpo_exact"``, ``"lcpo_max"``, ``"kimi_length"``,
            ``"shorter_better"``, ``"rea_length"`` or ``"reflection"``.
        tokenizer: counts tokens when TRL passes no ``completion_ids`` and, for the reflection
            reward, the thinking tokens; a ``reasoning_economics.tokens`` name (default qwen3).
        answer_column: the dataset column holding the gold answer.
        target_column: the dataset column holding L1's ``n_target`` (LCPO rewards only).
        eos_token_ids: when given, a completion whose last id is not one of them counts as cut
            off (the efficiency reward then gives it 0), read the way TRL itself reads it.
            Without it no completion counts as cut off.
        end_marker: the end-of-thinking marker; grading reads only the text after it.
        num_generations: when given, each run of this many consecutive completions is one group
            (TRL's ``num_generations``, TRL's own grouping); otherwise completions are grouped
            by prompt text and gold answer.
        **options: the method's own parameters, e.g. ``alpha=0.2`` (see :data:`METHODS`).
    """
    keywords = options.get("keywords")
    if keywords is not None:
        if isinstance(keywords, str):  # tuple("but") counted the letters b, u and t
            raise RewardInputError(f"keywords must be a sequence of words, not one string: use ({keywords!r},)")
        options["keywords"] = tuple(keywords)
        reflection_rewards.reflection_pattern(options["keywords"])  # refuses an empty or non-str keyword now
    return TRLReward(
        method=method,
        tokenizer=tokenizer,
        answer_column=answer_column,
        target_column=target_column,
        eos_token_ids=None if eos_token_ids is None else _token_ids(eos_token_ids),
        end_marker=end_marker,
        options=tuple(sorted(options.items())),
        num_generations=num_generations,
    )


correctness_reward = make_reward_func("correctness")
efficiency_reward = make_reward_func("efficiency")
lcpo_exact_reward = make_reward_func("lcpo_exact")
lcpo_max_reward = make_reward_func("lcpo_max")
kimi_length_reward = make_reward_func("kimi_length")
shorter_better_reward = make_reward_func("shorter_better")
rea_length_reward = make_reward_func("rea_length")
reflection_reward = make_reward_func("reflection")

__all__ = [
    "METHODS",
    "TRLReward",
    "answer_part",
    "completion_text",
    "correctness_reward",
    "efficiency_reward",
    "group_indices",
    "kimi_length_reward",
    "lcpo_exact_reward",
    "lcpo_max_reward",
    "make_reward_func",
    "rea_length_reward",
    "reflection_reward",
    "shorter_better_reward",
]
