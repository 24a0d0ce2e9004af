"""AnytimeReasoner's rollout (methods.md §5; the ``anytime`` recipe).

Each slot answers one question with at most ``b_max`` tokens of thinking. Then, for every
budget ``b_j`` of the support, the thinking is cut at ``b_j`` tokens (or kept whole when it
finished earlier) and kept after the response's opening ``<think>``, if it wrote one;
``"…</think>\\n\\n**Final Answer**\\n"`` is appended, and the policy writes
``summaries_per_budget`` short summaries of at most ``summary_tokens`` tokens. A summary scores
1 when its answer is right; ``r̄_j`` is the mean. The rollout returns, per sample:

- ``budget_scores``: ``[r̄_0, ..., r̄_{S-1}]``, which BRPO turns into segment advantages;
- ``segment_spans``: the completion positions of each thinking segment (thinking tokens
  b_{s-1}..b_s after the response's opening ``<think>``, which goes with segment 0);
- ``anytime_score``: ``R_0 = Σ_j p_j r̄_j``, the area under the sample's accuracy-vs-budget curve.

What TRL cannot express: the summaries themselves are not trained. TRL's batch has exactly one
completion per prompt slot, so the S×k summaries of a sample cannot join the batch as extra
samples (the reference trains them with ``A = r - mean of sibling summaries``). They are
sampled with the current policy and scored only.

Summaries are graded by the environment itself (the slot's session is reset with the same seed
and stepped with the summary), so they are judged exactly as answers are, in-process or remote.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reasoning_economics.errors import ConfigError
from reasoning_economics.rewards.anytime import (
    MAX_SUMMARY_TOKENS,
    SUMMARIES_PER_BUDGET,
    dense_returns,
    forced_summary_prompt,
    make_truncator,
)
from reasoning_economics.rewards.reflection import THINK_END, THINK_START
from reasoning_economics.training.credit import segment_spans
from reasoning_economics.training.episodes import EpisodeRecord, play_episodes, step_metadata
from reasoning_economics.training.rollout import RolloutContext


def split_thinking_text(response: str, start: str = THINK_START, end: str = THINK_END) -> tuple[str, bool]:
    """``(thinking, finished)``: the text before the end marker (after an opening tag, if any)
    and whether the marker was written. A response with no marker is all unfinished thinking.

    >>> split_thinking_text("<think>a b</think> 4")
    ('a b', True)
    >>> split_thinking_text("a b c")
    ('a b c', False)
    """
    body = response.split(start, 1)[1] if start in response else response
    if end in body:
        return body.split(end, 1)[0], True
    return body, False


@dataclass
class AnytimeSummaries:
    """The anytime recipe's rollout plan; see the module docstring."""

    budgets: Sequence[int]
    prior: Sequence[float]
    summaries_per_budget: int = SUMMARIES_PER_BUDGET
    summary_tokens: int = MAX_SUMMARY_TOKENS

    def __post_init__(self) -> None:
        self.budgets = [int(b) for b in self.budgets]
        if len(self.budgets) != len(self.prior) or not self.budgets:
            raise ConfigError(f"got {len(self.budgets)} budgets for a prior of {len(self.prior)}")
        if self.summaries_per_budget < 1 or self.summary_tokens < 1:
            raise ConfigError("summaries_per_budget and summary_tokens must be >= 1")

    def run(self, seeds: list[int], group_size: int, ctx: RolloutContext) -> list[EpisodeRecord]:
        if ctx.options.max_step_tokens < self.budgets[-1]:
            raise ConfigError(
                f"max_step_tokens ({ctx.options.max_step_tokens}) is below the largest budget ({self.budgets[-1]})"
            )
        sessions = ctx.sessions.take(len(seeds))
        records = play_episodes(seeds, sessions, ctx.generator, ctx.chat, ctx.options)
        tokenizer = ctx.chat.tokenizer
        truncate = make_truncator(
            lambda text: tokenizer(text, add_special_tokens=False)["input_ids"],
            lambda ids: tokenizer.decode(list(ids), skip_special_tokens=False),
        )
        prompts: list[list[int]] = []
        opener_tokens: list[int] = []
        for record in records:
            response = record.responses[0] if record.responses else ""
            thinking, finished = split_thinking_text(response)
            # The policy's own opening tag stays, as in the reflection recipe's revisions: without
            # it the summary prompt closed a </think> that was never opened.
            opener = response[: response.index(THINK_START) + len(THINK_START)] if THINK_START in response else ""
            opener_tokens.append(len(tokenizer(opener, add_special_tokens=False)["input_ids"]) if opener else 0)
            for budget in self.budgets:
                text = opener + forced_summary_prompt(thinking, budget, truncate, finished=finished)
                ids = record.prompt_ids + tokenizer(text, add_special_tokens=False)["input_ids"]
                prompts.extend([ids] * self.summaries_per_budget)
        summaries = ctx.generator.generate(prompts, [self.summary_tokens] * len(prompts))
        texts = iter(tokenizer.decode(list(s.token_ids), skip_special_tokens=True) for s in summaries)
        for record, session, opened in zip(records, sessions, opener_tokens):
            scores = []
            for _ in self.budgets:
                right = [_is_correct(session, record.seed, next(texts), ctx) for _ in range(self.summaries_per_budget)]
                scores.append(sum(right) / len(right))
            start, end = record.response_spans[0] if record.response_spans else (0, 0)
            # The budgets count thinking tokens after the opening <think>, so the segments do too
            # (counted from the response's start, each segment held the next one's first tokens);
            # the opener itself is trained with the first segment.
            segments = segment_spans((min(start + opened, end), end), self.budgets)
            segments[0][0] = start
            record.extras["budget_scores"] = scores
            record.extras["segment_spans"] = segments
            record.extras["anytime_score"] = dense_returns(scores, self.prior)[0]
        return records


def _is_correct(session: Any, seed: int, summary: str, ctx: RolloutContext) -> bool:
    options = ctx.options
    session.reset(seed=seed, tokenizer_name=options.tokenizer_name, total_budget=options.total_budget)
    turn = session.step(summary, step_metadata(summary, options))
    return bool(turn.last_step and turn.last_step.get("was_correct"))


def anytime_metrics(rows: list[dict[str, Any]]) -> dict[str, float]:
    """The batch's anytime score and its accuracy at each budget."""
    scores = [r["budget_scores"] for r in rows if r.get("budget_scores")]
    if not scores:
        return {}
    metrics = {"anytime/score": sum(r["anytime_score"] for r in rows if r.get("budget_scores")) / len(scores)}
    for j in range(len(scores[0])):
        metrics[f"anytime/accuracy_at_budget_{j}"] = sum(s[j] for s in scores) / len(scores)
    return metrics
