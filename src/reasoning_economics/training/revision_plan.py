"""REA-RL's online revision inside the rollout (methods.md §4; the ``reflection`` recipe).

Each GRPO group of G slots holds ``G - R`` original samples and ``R`` revisions. Revision r
takes original r's thinking, cuts it at the first second-half paragraph the classifier labels
Result (:func:`reasoning_economics.rewards.revision.plan_revision`), appends
``"\\n</think>\\n\\n**Final Answer:**\\n\\n"`` and lets the policy write at most
``max_answer_tokens`` answer tokens. The environment scores the revision like any response
(its own session, reset with the group's seed). A wrong revision, or an original with no cut
point, is replaced by a copy of its original, as REA-RL does.

The revision's completion is the cut thinking (re-tokenized from text: it is the policy's own
text, shortened) followed by the sampled answer; all of it is trained, as in REA-RL.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from reasoning_economics.errors import ConfigError
from reasoning_economics.rewards.reflection import THINK_START, thinking_part
from reasoning_economics.rewards.revision import (
    MAX_REVISION_ANSWER_TOKENS,
    KeywordParagraphClassifier,
    ParagraphClassifier,
    plan_revision,
)
from reasoning_economics.training.episodes import EpisodeRecord, play_episodes, step_metadata
from reasoning_economics.training.rollout import RolloutContext

REVISION_STATUS = ("original", "accepted", "rejected", "no_cut")
"""``extras["revision_status"]`` of each sample: an original; a correct revision (kept); a wrong
revision (replaced by its original); an original with no cut point (copied)."""


@dataclass
class OnlineRevision:
    """The reflection recipe's rollout plan; see the module docstring."""

    revisions_per_group: int
    classifier: ParagraphClassifier = field(default_factory=KeywordParagraphClassifier)
    max_answer_tokens: int = MAX_REVISION_ANSWER_TOKENS

    def __post_init__(self) -> None:
        if self.revisions_per_group < 1:
            raise ConfigError(f"revisions_per_group must be >= 1, got {self.revisions_per_group}")
        if self.max_answer_tokens < 1:
            raise ConfigError(f"max_answer_tokens must be >= 1, got {self.max_answer_tokens}")

    def run(self, seeds: list[int], group_size: int, ctx: RolloutContext) -> list[EpisodeRecord]:
        n_rev = self.revisions_per_group
        n_orig = group_size - n_rev
        if n_orig < n_rev:
            raise ConfigError(
                f"{n_rev} revisions per group of {group_size} leaves {n_orig} originals; "
                "each revision needs its own original (revisions_per_group <= num_generations / 2)"
            )
        group_seeds = seeds[::group_size]
        sessions = ctx.sessions.take(len(seeds))
        originals = play_episodes(
            [s for s in group_seeds for _ in range(n_orig)],
            sessions[: len(group_seeds) * n_orig],
            ctx.generator,
            ctx.chat,
            ctx.options,
        )
        for record in originals:
            record.extras["revision_status"] = "original"
        sources = [originals[g * n_orig + r] for g in range(len(group_seeds)) for r in range(n_rev)]
        revisions = self._revise(sources, sessions[len(originals) :], ctx)
        records = []
        for g in range(len(group_seeds)):
            records.extend(originals[g * n_orig : (g + 1) * n_orig])
            records.extend(revisions[g * n_rev : (g + 1) * n_rev])
        return records

    def _revise(self, sources: list[EpisodeRecord], sessions: list[Any], ctx: RolloutContext) -> list[EpisodeRecord]:
        tokenizer = ctx.chat.tokenizer

        def count(text: str) -> int:
            return len(tokenizer(text, add_special_tokens=False)["input_ids"])

        prefixes: list[str | None] = []
        for source in sources:
            response = source.responses[0] if source.responses else ""
            question = source.questions[0] if source.questions else ""
            plan = None
            if response.strip():
                plan = plan_revision(question, thinking_part(response), count, self.classifier)
            if plan is None:
                prefixes.append(None)
                continue
            opener = response[: response.rfind(THINK_START) + len(THINK_START)] if THINK_START in response else ""
            prefixes.append(opener + plan.prompt)

        planned = [i for i, p in enumerate(prefixes) if p is not None]
        prefix_ids = {i: tokenizer(prefixes[i], add_special_tokens=False)["input_ids"] for i in planned}
        answers = ctx.generator.generate(
            [sources[i].prompt_ids + list(prefix_ids[i]) for i in planned], [self.max_answer_tokens] * len(planned)
        )
        revisions: list[EpisodeRecord] = []
        by_index = dict(zip(planned, answers))
        for i, source in enumerate(sources):
            if i not in by_index:
                revisions.append(_copy_of(source, "no_cut"))
                continue
            answer = by_index[i]
            text = prefixes[i] + tokenizer.decode(list(answer.token_ids), skip_special_tokens=True)
            session = sessions[i]
            options = ctx.options
            session.reset(seed=source.seed, tokenizer_name=options.tokenizer_name, total_budget=options.total_budget)
            turn = session.step(text, step_metadata(text, ctx.options))
            if not (turn.last_step and turn.last_step.get("was_correct")):
                revisions.append(_copy_of(source, "rejected"))
                continue
            record = EpisodeRecord(seed=source.seed, prompt_ids=list(source.prompt_ids))
            span_start = record.append(prefix_ids[i], 1, None)[0]
            span_end = record.append(answer.token_ids, 1, answer.logprobs)[1]
            record.response_spans.append((span_start, span_end))
            record.responses.append(text)
            record.truncated.append(not answer.closed)
            record.steps.append(turn.last_step)
            record.step_rewards.append(float(turn.reward or 0.0))
            record.question_ids = list(source.question_ids)
            record.questions = list(source.questions)
            record.num_questions = source.num_questions
            record.total_budget = turn.total_budget
            record.spent_budget = turn.spent_budget
            record.termination_reason = turn.metadata.get("termination_reason")
            record.extras["revision_status"] = "accepted"
            revisions.append(record)
        return revisions


def _copy_of(source: EpisodeRecord, status: str) -> EpisodeRecord:
    record = copy.deepcopy(source)
    record.extras["revision_status"] = status
    return record


def revision_metrics(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Share of revision slots whose revision was kept, rejected (wrong), or never cut."""
    statuses = [r.get("revision_status") for r in rows if r.get("revision_status") not in (None, "original")]
    if not statuses:
        return {}
    return {f"revision/{name}": statuses.count(name) / len(statuses) for name in ("accepted", "rejected", "no_cut")}
