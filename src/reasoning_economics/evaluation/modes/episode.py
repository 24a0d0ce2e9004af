"""``episode`` mode: whole episodes under the shared budget, the environment's main setting.

Up to ``concurrency`` episodes run at once. Each round asks the policy once, with one request
per live episode (the environment's rendered prompt, at most its ``step_token_limit`` tokens),
then steps every episode with its answer. A finished episode is saved at once and a new one
takes its place, so the batch stays full.

Record of one episode (one line of ``results.jsonl``)::

    index, seed, mode="episode", episode_id, total_budget, budget_source, tokenizer_name,
    env_config_digest, num_questions, spent_budget, termination_reason, total_reward, correct,
    steps: [{step_idx, question_id, problem_type, difficulty, question, gold, request_seed,
             remaining_before, step_token_limit, response, grading_response, finish_reason,
             completion_tokens, tokens_counted, tokens_used, overspend_tokens, thinking_tokens,
             correct, extracted, grade_reason, reward, reward_parts}],
    unanswered: [{question_id, problem_type, difficulty}] (the questions the budget never reached;
                null when a server's questions could not be rebuilt here)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from reasoning_economics.evaluation.config import EvalConfig
from reasoning_economics.evaluation.modes.base import (
    RunContext,
    derive_seed,
    parallel_map,
    retry_grading,
    split_response,
)
from reasoning_economics.errors import ConfigError, ServerError
from reasoning_economics.evaluation.results import (
    RunMismatchError,
    changed_during_run,
    environment_at,
    other_environment_settings,
)
from reasoning_economics.evaluation.sessions import EpisodeSession, LocalSession, RemoteSession
from reasoning_economics.policies.base import GenerationRequest, GenerationResult


STEP_RECORD_KEYS = (
    "step_idx", "question_id", "problem_type", "difficulty", "tokens_counted", "tokens_used", "was_correct",
)
"""The fields of a step's history record that every episode record copies."""


def open_session(config: EvalConfig, tokenizer_name: str | None) -> EpisodeSession:
    """A session of one episode at a time: on ``config.server``, or in-process with the run's settings."""
    if config.server:
        return RemoteSession(
            config.server,
            token=config.token,
            tokenizer_name=tokenizer_name,
            total_budget=config.budget,
            dataset=config.dataset,
        )
    from reasoning_economics.env import EnvConfig

    env_config = EnvConfig(
        num_questions=config.questions,
        dataset=config.dataset,
        max_tokens_per_step=config.max_tokens_per_step,
        hard_cap_mode=config.hard_cap_mode,
        grading_timeout=config.grading_timeout,
    )
    return LocalSession(env_config, tokenizer_name=tokenizer_name, total_budget=config.budget)


@dataclass
class _LiveEpisode:
    index: int
    seed: int
    session: EpisodeSession
    observation: Any
    steps: list[dict[str, Any]] = field(default_factory=list)


class EpisodeMode:
    name = "episode"

    def check_policy(self, policy: Any) -> None:
        """Any policy runs in episode mode."""

    def answers_per_unit(self, config: EvalConfig) -> int:
        return config.questions

    def new_session(self, context: RunContext) -> EpisodeSession:
        return open_session(context.config, context.tokenizer_name)

    def run(self, context: RunContext, indices: Iterable[int]) -> None:
        # Taken one at a time as episodes finish: the indices may be a generator over many units.
        pending = iter(indices)
        exhausted = False
        live: list[_LiveEpisode] = []
        try:
            while not exhausted or live:
                while not exhausted and len(live) < context.config.concurrency:
                    index = next(pending, None)
                    if index is None:
                        exhausted = True
                        break
                    seed = context.config.seed_of(index)
                    session = self.new_session(context)
                    try:
                        first = session.reset(seed)
                    except BaseException:
                        session.close()
                        raise
                    episode = _LiveEpisode(index, seed, session, first)
                    live.append(episode)
                    _check_settings(context, episode)
                    # A server decides the number of questions; keep the progress total honest.
                    context.add_total(self._num_questions(episode) - context.config.questions)
                finished = [episode for episode in live if episode.observation.done]
                running = [episode for episode in live if not episode.observation.done]
                failures: list[Exception] = []
                if running:
                    requests = [self._request(context, episode) for episode in running]
                    try:
                        results = context.generate(requests)
                    except ConfigError as exc:
                        _explain_other_questions(context, running, requests, exc)
                        raise
                    outcomes = parallel_map(
                        lambda pair: _failure_of(self._step, context, *pair), list(zip(running, requests, results))
                    )
                    failures = [failure for failure in outcomes if failure is not None]
                    context.advance(len(running))
                    finished += [episode for episode in running if episode.observation.done]
                # Episodes that finished this round are saved even when another one's step
                # failed: the error below ends the run, and --resume should not redo them.
                for episode in finished:
                    context.emit(self._record(episode))
                    # Questions the budget never reached still count towards the progress bar.
                    context.advance(max(0, self._num_questions(episode) - len(episode.steps)))
                    episode.session.close()
                    live.remove(episode)
                if failures:
                    raise failures[0]
        finally:
            for episode in live:
                episode.session.close()

    def _request(self, context: RunContext, episode: _LiveEpisode) -> GenerationRequest:
        from reasoning_economics.env.prompt import render_messages

        observation = episode.observation
        return GenerationRequest(
            max_tokens=int(observation.step_token_limit),
            messages=tuple(render_messages(observation.prompt)),
            seed=derive_seed(episode.seed, observation.step_idx),
            context={"problem": episode.session.problem(observation), "observation": observation},
        )

    def _step(
        self, context: RunContext, episode: _LiveEpisode, request: GenerationRequest, result: GenerationResult
    ) -> None:
        before = episode.observation
        split = split_response(result.text)
        metadata: dict[str, Any] = {"tokenizer_name": context.tokenizer_name}
        if split.grading_response is not None:
            metadata["grading_response"] = split.grading_response
        after = retry_grading(
            lambda: episode.session.step(result.text, metadata),
            f"episode {episode.index}'s answer to question {before.step_idx + 1}",
        )
        entry = after.history[-1] if after.history else {}
        missing = [key for key in STEP_RECORD_KEYS if key not in entry]
        if missing:
            raise ServerError(
                f"{environment_at(context.config.server)} answered episode {episode.index}'s step without the history "
                f"record ree eval records (missing: {', '.join(missing)}); is it a reasoning-economics server?",
                code="INVALID_REPLY",
            )
        episode.steps.append(
            {
                "step_idx": entry["step_idx"],
                "question_id": entry["question_id"],
                "problem_type": entry["problem_type"],
                "difficulty": entry["difficulty"],
                "question": before.question,
                "gold": entry.get("gold_answer"),
                "request_seed": request.seed,
                "remaining_before": before.remaining_budget,
                "step_token_limit": before.step_token_limit,
                "response": result.text,
                "grading_response": split.grading_response,
                "finish_reason": result.finish_reason,
                "completion_tokens": result.completion_tokens,
                "tokens_counted": entry["tokens_counted"],
                "tokens_used": entry["tokens_used"],
                "overspend_tokens": entry.get("overspend_tokens", 0),
                "thinking_tokens": context.thinking_tokens(split, entry["tokens_counted"]),
                "correct": bool(entry["was_correct"]),
                "extracted": entry.get("extracted_answer"),
                "grade_reason": entry.get("grade_reason"),
                "reward": after.reward if after.reward is not None else entry.get("reward"),
                "reward_parts": entry.get("reward_parts"),
            }
        )
        episode.observation = after

    @staticmethod
    def _num_questions(episode: _LiveEpisode) -> int:
        observation = episode.observation
        return int(observation.metadata.get("num_questions") or observation.questions_remaining + len(episode.steps))

    def _record(self, episode: _LiveEpisode) -> dict[str, Any]:
        final = episode.observation
        meta = final.metadata
        return {
            "index": episode.index,
            "seed": episode.seed,
            "mode": "episode",
            "episode_id": final.episode_id,
            "total_budget": meta["total_budget"],
            "budget_source": meta.get("budget_source"),
            "tokenizer_name": meta.get("tokenizer_name"),
            "env_config_digest": meta.get("env_config_digest"),
            "num_questions": self._num_questions(episode),
            "spent_budget": meta["spent_budget"],
            "termination_reason": meta.get("termination_reason"),
            "total_reward": meta["total_reward"],
            "correct": sum(1 for step in episode.steps if step["correct"]),
            "steps": episode.steps,
            "unanswered": _unanswered_record(episode.session.unanswered(final)),
        }


def _unanswered_record(problems: list[Any] | None) -> list[dict[str, Any]] | None:
    """The questions the budget never reached, as the summary counts them (wrong, in their
    tier and type); None when the session cannot tell them."""
    if problems is None:
        return None
    return [
        {"question_id": p.id, "problem_type": p.problem_type, "difficulty": p.difficulty} for p in problems
    ]


def _check_settings(context: RunContext, episode: _LiveEpisode) -> None:
    """Refuse an episode reset under other environment settings than unit 0's (a server
    restarted, or replaced behind a proxy, with another configuration) before any answer is
    generated for it: its units would mix two environments in one file."""
    expected = context.env_config_digest
    if expected is None:
        return  # a server from before the digest: the unit checks on saving still apply
    served = episode.observation.metadata.get("env_config_digest")
    if served != expected:
        raise changed_during_run(episode.index, other_environment_settings(served, expected), context.config.server)


def _explain_other_questions(
    context: RunContext, running: list[_LiveEpisode], requests: list[GenerationRequest], exc: ConfigError
) -> None:
    """A policy that needs the question's Problem (scripted policies answer from its gold) got
    none because the server asked a question this run's dataset does not hold there: say that,
    not that the caller forgot the problem."""
    for episode, request in zip(running, requests):
        served_other = getattr(episode.session, "served_other_question", None)
        if request.context.get("problem") is None and served_other is not None and served_other(episode.observation):
            raise RunMismatchError(
                f"unit {episode.index}: {environment_at(context.config.server)} serves other questions than this run expects (question "
                f"{episode.observation.step_idx + 1} of seed {episode.seed} is not the one --dataset "
                f"{context.config.dataset!r} gives there): its settings changed (restarted with another dataset?), "
                "or --dataset does not name the server's. The units finished before it are saved; restore the "
                "settings and continue with --resume, or start again in another --out"
            ) from exc


def _failure_of(function: Any, *args: Any) -> Exception | None:
    """Run ``function(*args)``; the exception it raised, or None."""
    try:
        function(*args)
    except Exception as exc:  # noqa: BLE001 - handed back to the caller, which raises it after saving
        return exc
    return None
