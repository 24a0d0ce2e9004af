"""TRL reward functions over what the episode rollout already measured.

The environment grades and charges every response while the episode is played, and the rollout
hands TRL those results as extra fields (TRL forwards them to reward functions as keyword
lists). So these rewards never grade again:

- :class:`FieldReward` returns one field as the reward (the episode return, the anytime score,
  the reflection reward);
- :class:`GroupVerdictReward` applies a group reward of :mod:`reasoning_economics.rewards`
  (Arora & Zanette's efficiency reward, REA-RL's length reward, plain correctness) to the
  environment's verdicts and the responses' policy-token lengths, group by group (the samples
  sharing a seed).

Taking correctness from the environment, rather than grading the completion text again, keeps
the reward and the environment in agreement whatever grader a problem uses (reasoning-gym's
scorer for the builtin problems, math-verify for the others). TRL logs each reward as
``rewards/<name>/mean``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reasoning_economics.errors import ConfigError, RewardInputError, describe
from reasoning_economics.rewards._validation import as_correctness, as_items, as_lengths, as_numbers
from reasoning_economics.training.trl_rewards import completion_items


@dataclass(frozen=True)
class FieldReward:
    """Reward = the rollout field ``field`` of each completion."""

    field: str
    name: str

    @property
    def __name__(self) -> str:  # TRL names the reward's metrics after this
        return self.name

    def __call__(
        self, prompts: Sequence[Any] | None = None, completions: Sequence[Any] | None = None, **kwargs: Any
    ) -> list[float]:
        n = len(completion_items(completions, self.name))  # no prompts needed: the fields say it all
        values = kwargs.get(self.field)
        if values is None:
            raise RewardInputError(
                f"reward {self.name!r} needs the rollout field {self.field!r}; "
                "train with reasoning_economics.training's episode rollout"
            )
        # The rewards' own number checks: float() read "nan" and "1e999" as NaN and inf, and
        # the characters of a str as one value per completion.
        rewards = as_numbers(values, self.field)
        if len(rewards) != n:
            raise RewardInputError(f"field {self.field!r} has {len(rewards)} values for {n} completions")
        return rewards


episode_return_reward = FieldReward("episode_return", "episode_return")
"""The episode return: the sum of step rewards (episode bonus included; plus the reflection
component when the rollout's shaping adds it)."""

anytime_score_reward = FieldReward("anytime_score", "anytime_score")
"""AnytimeReasoner's objective ``Σ_j p_j r̄_j`` of each sample."""


GROUP_METHODS = ("correctness", "efficiency", "rea_length")


@dataclass(frozen=True)
class GroupVerdictReward:
    """A group reward over single-question episodes, from the environment's verdict.

    ``correctness``: 1 or 0. ``efficiency``: Arora & Zanette's
    ``c·(1 − α·σ((L − mean_L)/(std_L + 1e-7)))`` (a response cut at the token limit gets 0).
    ``rea_length``: REA-RL's length reward. ``L`` is the response's length in policy tokens;
    a group is the samples sharing a ``seed``.
    """

    method: str
    alpha: float = 0.1

    def __post_init__(self) -> None:
        if self.method not in GROUP_METHODS:
            raise ConfigError(f"unknown group reward {self.method!r}; known: {', '.join(GROUP_METHODS)}")

    @property
    def __name__(self) -> str:
        return self.method

    def __call__(
        self, prompts: Sequence[Any] | None = None, completions: Sequence[Any] | None = None, **kwargs: Any
    ) -> list[float]:
        from reasoning_economics.rewards.length import efficiency_reward
        from reasoning_economics.rewards.reflection import rea_length_reward

        n = len(completion_items(completions, self.method))
        fields = {}
        for name in ("seed", "correct", "response_tokens", "truncated"):
            values = kwargs.get(name)
            if values is None:
                raise RewardInputError(
                    f"reward {self.method!r} needs the rollout field {name!r} with {n} values; "
                    "train with reasoning_economics.training's episode rollout"
                )
            fields[name] = as_items(values, name, "values, one per completion")
            if len(fields[name]) != n:
                raise RewardInputError(f"field {name!r} has {len(fields[name])} values for {n} completions")
        # Each completion's fields hold one entry per response of its episode. The flags are
        # checked as flags: bool("False") is True, and a numpy row has no truth value.
        correct_rows = [as_correctness(row, f"correct[{i}]") for i, row in enumerate(fields["correct"])]
        correct = [bool(row) and all(row) for row in correct_rows]  # an episode with no answer is not correct
        lengths = [sum(as_lengths(row, f"response_tokens[{i}]")) for i, row in enumerate(fields["response_tokens"])]
        cut = [any(as_correctness(row, f"truncated[{i}]")) for i, row in enumerate(fields["truncated"])]
        groups: dict[Any, list[int]] = {}
        for i, seed in enumerate(fields["seed"]):
            try:
                groups.setdefault(seed, []).append(i)
            except TypeError:  # unhashable: a list or dict cannot name a group
                raise RewardInputError(f"seed[{i}] must be a hashable group key, got {describe(seed)}") from None
        rewards = [0.0] * n
        for idx in groups.values():
            c = [correct[i] for i in idx]
            if self.method == "correctness":
                values = [float(x) for x in c]
            elif self.method == "efficiency":
                values = efficiency_reward(c, [lengths[i] for i in idx], [cut[i] for i in idx], alpha=self.alpha)
            else:
                values = rea_length_reward(c, [lengths[i] for i in idx])
            for i, value in zip(idx, values):
                rewards[i] = float(value)
        return rewards


reflection_reward = FieldReward("reflection_reward", "reflection")
"""REA-RL's reflection reward of each sample (mean over its responses)."""
