"""``EnvGRPOTrainer``: TRL's ``GRPOTrainer`` with the advantage estimators episodes need.

TRL 1.16 computes one advantage per sample (group-normalised reward) inside
``_generate_and_score_completions``, and its loss accepts advantages of shape ``(B, T)`` from
subclasses ("To support subclasses that provide advantages with shape (B, T)"). This subclass
uses exactly that extension point: it lets TRL generate (through the episode ``rollout_func``),
score and build the batch, then replaces ``advantages`` when another estimator is chosen:

- ``"grpo"``: TRL's own (``scale_rewards`` decides on the std division; "none" is Dr. GRPO).
- ``"rloo"``: RLOO's leave-one-out baseline on the weighted total reward, one per sample.
- ``"reward_to_go"``: per-question reward-to-go with a group baseline (methods.md §6): every
  token of response k of episode i gets ``G_{i,k} - mean_j G_{j,k}``, so credit reaches the
  question that earned it. Needs the rollout's ``step_rewards`` and ``response_spans``.
- ``"brpo"``: BRPO (methods.md §5): every token of thinking segment s gets ``A_s``. Needs the
  anytime rollout's ``budget_scores`` and ``segment_spans``.

It also logs the episode metrics (accuracy, tokens per question, budget utilisation, episode
length and return) with TRL's own metrics, so they reach every logger and the JSONL log.
Nothing of TRL is copied or patched: two methods are extended and call ``super()``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from trl import GRPOTrainer

from reasoning_economics.errors import ConfigError
from reasoning_economics.training import credit
from reasoning_economics.training.config import ADVANTAGE_ESTIMATORS

logger = logging.getLogger(__name__)

EPISODE_METRICS = {
    "episode/return": "episode_return",
    "episode/accuracy": "accuracy",
    "episode/tokens_per_question": "tokens_per_question",
    "episode/budget_utilization": "budget_utilization",
    "episode/length": "episode_length",
}
"""Logged metric name -> rollout field, averaged over the batch's episodes."""

MetricsFn = Callable[[list[dict[str, Any]]], dict[str, float]]


class EnvGRPOTrainer(GRPOTrainer):
    """A ``GRPOTrainer`` for environment episodes; see the module docstring.

    Args:
        advantage: one of :data:`ADVANTAGE_ESTIMATORS`.
        brpo_prior: the budget prior ``p_j`` (required for ``"brpo"``).
        extra_metrics: a recipe's own metrics, computed from the batch's rollout fields.
        *args, **kwargs: as for ``trl.GRPOTrainer``.
    """

    def __init__(
        self,
        *args: Any,
        advantage: str = "grpo",
        brpo_prior: Sequence[float] | None = None,
        extra_metrics: MetricsFn | None = None,
        **kwargs: Any,
    ) -> None:
        if advantage not in ADVANTAGE_ESTIMATORS:
            raise ConfigError(f"unknown advantage {advantage!r}; known: {', '.join(ADVANTAGE_ESTIMATORS)}")
        if advantage == "brpo" and not brpo_prior:
            raise ConfigError("the brpo advantage needs brpo_prior")
        super().__init__(*args, **kwargs)
        self.advantage = advantage
        self.brpo_prior = list(brpo_prior) if brpo_prior else None
        self.extra_metrics = extra_metrics
        self._rewards_per_func: torch.Tensor | None = None

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        # Keep the gathered per-function rewards: the RLOO estimator needs all of them.
        self._rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        return self._rewards_per_func

    def _generate_and_score_completions(self, inputs):
        output = super()._generate_and_score_completions(inputs)
        from accelerate.utils import gather_object

        mode = "train" if self.model.training else "eval"
        group_size = self.num_generations if mode == "train" else self.num_generations_eval
        rows = gather_object([dict(x) for x in inputs])  # rollout fields were merged into inputs
        self._log_episode_metrics(rows, mode)
        self._warn_if_groups_tie(group_size)
        if self.advantage == "grpo":
            return output
        local = slice(self.accelerator.process_index * len(inputs), (self.accelerator.process_index + 1) * len(inputs))
        device = output["advantages"].device
        if self.advantage == "rloo":
            weights = self.reward_weights.to(self._rewards_per_func.device)
            rewards = (self._rewards_per_func * weights.unsqueeze(0)).nansum(dim=1)
            unscorable = torch.isnan(self._rewards_per_func).all(dim=1)
            rewards[unscorable] = math.nan
            values = credit.rloo_by_group(rewards.tolist(), group_size)[local]
            output["advantages"] = torch.tensor(values, dtype=torch.float32, device=device)
            return output
        output["advantages"] = self._token_advantages(rows, group_size, local, output["completion_ids"].size(1), device)
        return output

    def _token_advantages(self, rows, group_size, local, length, device) -> torch.Tensor:
        if self.advantage == "reward_to_go":
            _require_fields(rows, ("step_rewards", "response_spans"), "reward_to_go")
            values = credit.reward_to_go_by_group([r["step_rewards"] for r in rows], group_size)
            spans = [r["response_spans"] for r in rows]
            # A response the environment never scored (none today) would have no reward: drop its span.
            spans = [s[: len(v)] for s, v in zip(spans, values)]
        else:
            _require_fields(rows, ("budget_scores", "segment_spans"), "brpo")
            values = credit.brpo_by_group([r["budget_scores"] for r in rows], self.brpo_prior, group_size)
            spans = [r["segment_spans"] for r in rows]
        table = [credit.token_advantages(v, s, length) for v, s in zip(values[local], spans[local])]
        return torch.tensor(table, dtype=torch.float32, device=device)

    def _warn_if_groups_tie(self, group_size: int) -> None:
        rewards = (self._rewards_per_func * self.reward_weights.to(self._rewards_per_func.device)).nansum(dim=1)
        spread = rewards.view(-1, group_size).amax(dim=1) - rewards.view(-1, group_size).amin(dim=1)
        if self.accelerator.is_main_process and bool((spread == 0).all()):
            logger.warning(
                "every group's samples got the same reward (%.4g): no learning signal this step "
                "(see 'Flat rewards' in docs/training.md)",
                float(rewards[0]),
            )

    def _log_episode_metrics(self, rows: list[dict[str, Any]], mode: str) -> None:
        metrics = self._metrics[mode]
        for name, field in EPISODE_METRICS.items():
            values = [float(r[field]) for r in rows if r.get(field) is not None]
            if values:
                metrics[name].append(sum(values) / len(values))
        truncated = [t for r in rows for t in (r.get("truncated") or [])]
        if truncated:
            metrics["episode/truncated_responses"].append(sum(truncated) / len(truncated))
        if self.extra_metrics is not None:
            for name, value in self.extra_metrics(rows).items():
                metrics[name].append(float(value))


def _require_fields(rows: list[dict[str, Any]], fields: Sequence[str], estimator: str) -> None:
    missing = [f for f in fields if any(f not in r for r in rows)]
    if missing:
        raise ConfigError(
            f"the {estimator!r} advantage needs the rollout fields {', '.join(missing)}; "
            "use the episode rollout of reasoning_economics.training (see docs/training.md)"
        )
