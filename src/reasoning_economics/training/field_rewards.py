"""TRL reward functions that read a reward the episode rollout already computed.

The environment scores every response while the episode is played, so the episode's reward
arrives as a rollout field (TRL forwards extra ``rollout_func`` fields to reward functions as
keyword lists). These callables just hand that field to TRL, which logs it as
``rewards/<name>/mean``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reasoning_economics.errors import RewardInputError


@dataclass(frozen=True)
class FieldReward:
    """Reward = the rollout field ``field`` of each completion."""

    field: str
    name: str

    @property
    def __name__(self) -> str:  # TRL names the reward's metrics after this
        return self.name

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list[float]:
        values = kwargs.get(self.field)
        if values is None:
            raise RewardInputError(
                f"reward {self.name!r} needs the rollout field {self.field!r}; "
                "train with reasoning_economics.training's episode rollout"
            )
        if len(values) != len(completions):
            raise RewardInputError(f"field {self.field!r} has {len(values)} values for {len(completions)} completions")
        return [float(v) for v in values]


episode_return_reward = FieldReward("episode_return", "episode_return")
"""The episode return: the sum of step rewards (episode bonus included; plus the reflection
component when the rollout's shaping adds it)."""

anytime_score_reward = FieldReward("anytime_score", "anytime_score")
"""AnytimeReasoner's objective ``Σ_j p_j r̄_j`` of each sample."""
