"""``problem`` mode: ``samples`` answers per question, no shared budget (pass@k, accuracy vs length).

Unit ``i`` takes the questions episode ``i`` would ask (seed ``seed + i``), so problem-mode and
episode-mode numbers describe the same questions. Every answer may use up to
``max_tokens_per_step`` tokens; ``concurrency`` units are sampled in one batched policy call.

Record of one unit::

    index, seed, mode="problem",
    problems: [{question_id, problem_type, difficulty, question, gold,
                samples: [{request_seed, response, grading_response, finish_reason,
                           completion_tokens, tokens, thinking_tokens, correct, extracted}]}]

``tokens`` is the response length in the run's tokenizer (the one the environment would count with).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from reasoning_economics.evaluation.config import EvalConfig
from reasoning_economics.evaluation.modes.base import (
    RunContext,
    chunks,
    derive_seed,
    parallel_map,
    problem_record,
    split_response,
)
from reasoning_economics.policies.base import GenerationRequest, GenerationResult
from reasoning_economics.problems import Problem, ask_for_boxed

PROBLEM_SYSTEM_PROMPT = (
    "You are solving a math problem. Reason briefly, then give the final answer as \\boxed{...}."
)
"""The system prompt without a shared budget (the environment's prompt talks about one)."""


def problem_messages(problem: Problem, system_prompt: str = PROBLEM_SYSTEM_PROMPT) -> tuple[dict[str, str], ...]:
    """Chat messages that ask one question on its own."""
    return (
        {"role": "system", "content": system_prompt},
        {"role": "user", "content": ask_for_boxed(problem.question)},
    )


class ProblemMode:
    name = "problem"

    def check_policy(self, policy: Any) -> None:
        """Any policy answers problems one by one."""

    def answers_per_unit(self, config: EvalConfig) -> int:
        return config.questions * config.samples

    def run(self, context: RunContext, indices: Iterable[int]) -> None:
        config = context.config
        for group in chunks(indices, config.concurrency):
            units = [(index, context.problems_of(index)) for index in group]
            jobs: list[tuple[int, int, int, Problem]] = []
            requests: list[GenerationRequest] = []
            for index, problems in units:
                seed = config.seed_of(index)
                for q, problem in enumerate(problems):
                    for j in range(config.samples):
                        jobs.append((index, q, j, problem))
                        requests.append(
                            GenerationRequest(
                                max_tokens=config.max_tokens_per_step,
                                messages=problem_messages(problem),
                                seed=derive_seed(seed, q, j),
                                context={"problem": problem},
                            )
                        )
            results = context.generate(requests)
            samples = parallel_map(lambda pair: self._sample(context, *pair), list(zip(requests, results, [p for *_, p in jobs])))
            by_unit: dict[int, list[dict[str, Any]]] = {}
            for (index, q, j, problem), sample in zip(jobs, samples):
                problems_out = by_unit.setdefault(index, [])
                if j == 0:
                    problems_out.append({**problem_record(problem), "samples": []})
                problems_out[q]["samples"].append(sample)
            for index, _ in units:
                context.emit(
                    {"index": index, "seed": config.seed_of(index), "mode": "problem", "problems": by_unit.get(index, [])}
                )
                context.advance(self.answers_per_unit(config))

    def _sample(
        self, context: RunContext, request: GenerationRequest, result: GenerationResult, problem: Problem
    ) -> dict[str, Any]:
        split = split_response(result.text)
        graded = split.grading_response if split.grading_response is not None else result.text
        verdict = context.grade(graded, problem)
        total = context.counter.count(result.text)
        return {
            "request_seed": request.seed,
            "response": result.text,
            "grading_response": split.grading_response,
            "finish_reason": result.finish_reason,
            "completion_tokens": result.completion_tokens,
            "tokens": total,
            "thinking_tokens": context.thinking_tokens(split, total),
            "correct": bool(verdict.correct),
            "extracted": verdict.extracted,
        }
