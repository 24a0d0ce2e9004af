"""Reward and advantage methods of the efficient-reasoning literature, as pure functions.

Numbers and strings in, numbers out: no I/O, no framework imports. See ``docs/rewards.md``
for the table of methods, formulas, defaults and papers.
"""

from __future__ import annotations

from reasoning_economics.errors import RewardInputError
from reasoning_economics.rewards.advantages import grpo_advantages, reward_to_go_advantages, rloo
from reasoning_economics.rewards.anytime import (
    BUDGET_PRIORS,
    accuracy_by_budget,
    anytime_score,
    brpo_advantages,
    budget_prior,
    budget_support,
    dense_returns,
    forced_summary_prompt,
    make_truncator,
    overthinking_count,
    summary_advantages,
)
from reasoning_economics.rewards.budget import StepReward, episode_bonus, fair_share, step_reward
from reasoning_economics.rewards.length import (
    efficiency_reward,
    kimi_length_reward,
    lcpo_exact_reward,
    lcpo_max_reward,
    lcpo_prompt_suffix,
    sample_lcpo_target,
    shorter_better_reward,
)
from reasoning_economics.rewards.reflection import (
    REA_RL_REFLECTION_KEYWORDS,
    SELF_REFLECTION_KEYWORDS,
    count_reflections,
    rea_length_reward,
    rea_rl_reward,
    reflection_pattern,
    reflection_reward,
    thinking_part,
)
from reasoning_economics.rewards.revision import (
    MAX_REVISION_ANSWER_TOKENS,
    REVISION_SUFFIX,
    KeywordParagraphClassifier,
    LogprobParagraphClassifier,
    ParagraphClassifier,
    RevisionPlan,
    build_labeling_prompt,
    build_revision_prompt,
    find_revision_cut,
    plan_revision,
    result_probability,
    select_revision,
    split_paragraphs,
)

__all__ = [
    "RewardInputError",
    # shared-budget episode reward (§1)
    "StepReward",
    "episode_bonus",
    "fair_share",
    "step_reward",
    # length rewards (§2, §3)
    "efficiency_reward",
    "kimi_length_reward",
    "lcpo_exact_reward",
    "lcpo_max_reward",
    "lcpo_prompt_suffix",
    "sample_lcpo_target",
    "shorter_better_reward",
    # REA-RL reflection and revision (§4, §7)
    "REA_RL_REFLECTION_KEYWORDS",
    "SELF_REFLECTION_KEYWORDS",
    "count_reflections",
    "rea_length_reward",
    "rea_rl_reward",
    "reflection_pattern",
    "reflection_reward",
    "thinking_part",
    "MAX_REVISION_ANSWER_TOKENS",
    "REVISION_SUFFIX",
    "KeywordParagraphClassifier",
    "LogprobParagraphClassifier",
    "ParagraphClassifier",
    "RevisionPlan",
    "build_labeling_prompt",
    "build_revision_prompt",
    "find_revision_cut",
    "plan_revision",
    "result_probability",
    "select_revision",
    "split_paragraphs",
    # AnytimeReasoner / BRPO (§5)
    "BUDGET_PRIORS",
    "accuracy_by_budget",
    "anytime_score",
    "brpo_advantages",
    "budget_prior",
    "budget_support",
    "dense_returns",
    "forced_summary_prompt",
    "make_truncator",
    "overthinking_count",
    "summary_advantages",
    # group advantages (§6)
    "grpo_advantages",
    "reward_to_go_advantages",
    "rloo",
]
