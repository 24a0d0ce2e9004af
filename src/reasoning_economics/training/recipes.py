"""Training recipes: what one ``--recipe`` name sets up (rewards, advantage, rollout plan).

=============  ================================================================================
``episode``    The seed's shared-budget GRPO: N questions, one budget; reward = the episode
               return (step rewards + episode bonus, plus ``reflection_weight`` x REA-RL's
               reflection reward per response); per-question reward-to-go advantages.
``length``     Single-problem GRPO with Arora & Zanette's efficiency reward (methods.md §2)
               and RLOO advantages.
``reflection`` Single-problem REA-RL (methods.md §4): accuracy + length + reflection rewards
               with equal weights, and online revision in the rollout.
``anytime``    Single-problem AnytimeReasoner (methods.md §5): thinking cut at S budgets,
               summaries scored, dense returns with the budget prior, BRPO advantages.
=============  ================================================================================

Each recipe is a function ``config -> RecipeSetup``, registered by name in
:data:`RECIPES`, like reasoning-gym's ``create_dataset(name)``. :data:`RECIPE_SETTINGS` names
the recipe knobs each one reads, so that a knob the chosen recipe ignores is reported
(:func:`ignored_settings`) instead of silently doing nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reasoning_economics.errors import ConfigError, RewardInputError
from reasoning_economics.training.config import TrainConfig
from reasoning_economics.training.field_rewards import (
    GroupVerdictReward,
    anytime_score_reward,
    episode_return_reward,
    reflection_reward,
)
from reasoning_economics.training.rollout import PlayEpisodes, RolloutPlan, StepShaping


@dataclass(frozen=True)
class RecipeSetup:
    """Everything a recipe decides. ``single_question`` episodes hold one question each;
    ``max_step_tokens`` is the per-response cap the rollout uses."""

    reward_funcs: list[Callable[..., list[float]]]
    advantage: str
    plan: RolloutPlan
    shaping: StepShaping
    single_question: bool
    max_step_tokens: int
    reward_weights: list[float] | None = None
    brpo_prior: list[float] | None = None
    extra_metrics: Callable[[list[dict[str, Any]]], dict[str, float]] | None = None


def _episode(config: TrainConfig) -> RecipeSetup:
    return RecipeSetup(
        reward_funcs=[episode_return_reward],
        advantage=config.advantage or "reward_to_go",
        plan=PlayEpisodes(),
        shaping=StepShaping(reflection_weight=config.reflection_weight),
        single_question=False,
        max_step_tokens=config.max_step_tokens,
    )


def _length(config: TrainConfig) -> RecipeSetup:
    return RecipeSetup(
        reward_funcs=[GroupVerdictReward("efficiency", alpha=config.length_alpha)],
        advantage=config.advantage or "rloo",
        plan=PlayEpisodes(),
        shaping=StepShaping(),
        single_question=True,
        max_step_tokens=config.max_step_tokens,
    )


def _reflection(config: TrainConfig) -> RecipeSetup:
    from reasoning_economics.training.revision_plan import OnlineRevision, revision_metrics

    revisions = config.revisions_per_group or config.num_generations // 2
    return RecipeSetup(
        reward_funcs=[GroupVerdictReward("correctness"), GroupVerdictReward("rea_length"), reflection_reward],
        reward_weights=[1.0, 1.0, 1.0],
        advantage=config.advantage or "grpo",
        plan=OnlineRevision(revisions_per_group=revisions, max_answer_tokens=config.revision_answer_tokens),
        shaping=StepShaping(),
        single_question=True,
        max_step_tokens=config.max_step_tokens,
        extra_metrics=revision_metrics,
    )


def _anytime(config: TrainConfig) -> RecipeSetup:
    from reasoning_economics.rewards.anytime import budget_prior, budget_support
    from reasoning_economics.training.anytime_plan import AnytimeSummaries, anytime_metrics

    max_budget = config.response_token_limit
    budgets = budget_support(max_budget, config.anytime_num_budgets)
    prior = budget_prior(config.anytime_prior, budgets)
    advantage = config.advantage or "brpo"
    return RecipeSetup(
        reward_funcs=[anytime_score_reward],
        advantage=advantage,
        plan=AnytimeSummaries(budgets, prior, config.summaries_per_budget, config.summary_tokens),
        shaping=StepShaping(),
        single_question=True,
        max_step_tokens=max_budget,
        brpo_prior=prior if advantage == "brpo" else None,
        extra_metrics=anytime_metrics,
    )


RECIPES: dict[str, Callable[[TrainConfig], RecipeSetup]] = {
    "episode": _episode,
    "length": _length,
    "reflection": _reflection,
    "anytime": _anytime,
}


RECIPE_SETTINGS: dict[str, tuple[str, ...]] = {
    "episode": ("num_questions", "reflection_weight"),
    "length": ("length_alpha",),
    "reflection": ("revisions_per_group", "revision_answer_tokens"),
    "anytime": (
        "anytime_num_budgets", "anytime_max_budget", "anytime_prior", "summaries_per_budget", "summary_tokens",
    ),
}  # fmt: skip
"""The ``TrainConfig`` fields only some recipes read, by the recipe that reads them."""


def ignored_settings(config: TrainConfig) -> list[str]:
    """The recipe knobs ``config`` sets away from their defaults that its recipe does not read.

    Not an error: one settings file may serve several recipes. But a knob that silently does
    nothing (``anytime_prior`` under the episode recipe) deserves a warning.
    """
    read = set(RECIPE_SETTINGS.get(config.recipe, ()))
    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    return [
        name
        for recipe, names in RECIPE_SETTINGS.items()
        if recipe != config.recipe
        for name in names
        if name not in read and getattr(config, name) != defaults[name]
    ]


def build_recipe(config: TrainConfig) -> RecipeSetup:
    """The setup of ``config.recipe``.

    Raises:
        ConfigError: the chosen advantage needs fields this recipe's rollout does not produce
            (brpo outside anytime) or would ignore the recipe's reward (reward_to_go outside
            episode), or a recipe knob has a value the recipe refuses (an unknown ``anytime_prior``).
    """
    try:
        setup = RECIPES[config.recipe](config)
    except RewardInputError as exc:
        raise ConfigError(f"recipe {config.recipe}: {exc}") from None
    limit = config.response_token_limit
    hard = config.env.get("hard_cap_mode", True) is not False
    if config.recipe == "anytime" and hard and config.env_url is None and config.total_budget is not None and config.total_budget < limit:
        # A one-question episode's budget caps its one response in hard mode (a cap the length
        # recipes may want): every thought was cut there, and the budgets above it scored alike.
        raise ConfigError(
            f"total_budget={config.total_budget} is below the anytime recipe's largest budget {limit}: in hard "
            "mode every thought would be cut at total_budget, and the budgets above it would score alike. "
            "Raise it, leave it unset, lower anytime_max_budget, or set env.hard_cap_mode=false"
        )
    if setup.advantage == "brpo" and config.recipe != "anytime":
        raise ConfigError("the brpo advantage needs the anytime recipe's budget scores")
    if setup.advantage == "reward_to_go" and config.recipe != "episode":
        # reward_to_go credits the environment's per-question step rewards, so under another
        # recipe it silently trained on those instead of the recipe's own reward.
        raise ConfigError(
            f"the reward_to_go advantage credits the episode recipe's per-question step rewards; "
            f"recipe {config.recipe!r} has one reward per response: use grpo or rloo"
            + (" or brpo" if config.recipe == "anytime" else "")
        )
    return setup
