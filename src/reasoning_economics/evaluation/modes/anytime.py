"""``anytime`` mode: accuracy when the thinking is cut at each budget (AnytimeReasoner, methods.md §5).

For each question the policy first thinks once, with up to ``b_max`` tokens. Then, for every
budget ``b_j`` of the support ``b_j = j * b_max / S`` (:func:`rewards.anytime.budget_support`),
the thinking is cut at ``b_j`` tokens when it is longer or never finished, closed with
``"…</think>\\n\\n**Final Answer**\\n"`` (:func:`rewards.anytime.forced_summary_prompt`), and
the policy continues that prefix with ``summaries_per_budget`` short answers of at most
``summary_tokens`` tokens. A question's score at ``b_j`` is the share of its summaries whose
answer is right; the curve, the anytime score and the overthinking count are in
:func:`reasoning_economics.evaluation.summary.anytime_summary`.

The thinking is the text before ``</think>`` when the model writes one (a thinking model);
otherwise the whole response plays that part, and it counts as finished when the model stopped
on its own. Cutting counts tokens in the run's tokenizer. The policy must support prefix
continuation (``supports_prefix``).

Record of one unit::

    index, seed, mode="anytime", budgets,
    problems: [{question_id, problem_type, difficulty, question, gold, request_seed, response,
                finish_reason, thinking, thinking_tokens, finished,
                by_budget: [{budget, thinking_tokens, truncated, score,
                             summaries: [{request_seed, text, tokens, correct, extracted}]}]}]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from reasoning_economics.errors import ConfigError
from reasoning_economics.evaluation.config import EvalConfig
from reasoning_economics.evaluation.modes.base import (
    THINK_END,
    RunContext,
    chunks,
    derive_seed,
    parallel_map,
    problem_record,
)
from reasoning_economics.evaluation.modes.problem import problem_messages
from reasoning_economics.policies.base import GenerationRequest
from reasoning_economics.problems import Problem
from reasoning_economics.rewards.anytime import budget_support, forced_summary_prompt, make_truncator

ANYTIME_SYSTEM_PROMPT = (
    "You are solving a math problem. Think it through step by step, then give the final answer as \\boxed{...}."
)


class AnytimeMode:
    name = "anytime"

    def answers_per_unit(self, config: EvalConfig) -> int:
        return config.questions

    def support(self, config: EvalConfig) -> list[int]:
        return budget_support(config.anytime_max_budget, config.anytime_num_budgets)

    def check_policy(self, policy: Any) -> None:
        if not getattr(policy, "supports_prefix", False):
            raise ConfigError(
                f"anytime mode forces a final answer by continuing a prefix; policy "
                f"{getattr(policy, 'name', '?')!r} does not support prefixes (use --mode episode or --mode problem)"
            )

    def run(self, context: RunContext, indices: Iterable[int]) -> None:
        config = context.config
        self.check_policy(context.policy)
        budgets = self.support(config)
        truncate = make_truncator(context.counter.encode, context.counter.decode)
        for group in chunks(indices, config.concurrency):
            units = [(index, context.problems_of(index)) for index in group]
            flat = [(index, q, problem) for index, problems in units for q, problem in enumerate(problems)]
            thinking_requests = [
                GenerationRequest(
                    max_tokens=config.anytime_max_budget,
                    messages=problem_messages(problem, ANYTIME_SYSTEM_PROMPT),
                    seed=derive_seed(config.seed_of(index), q),
                    context={"problem": problem},
                )
                for index, q, problem in flat
            ]
            thoughts = context.generate(thinking_requests)
            entries = []
            summary_requests: list[GenerationRequest] = []
            for (index, q, problem), request, thought in zip(flat, thinking_requests, thoughts):
                entry = self._entry(context, problem, request, thought, budgets)
                entries.append(entry)
                for cell in entry["by_budget"]:
                    prefix = forced_summary_prompt(
                        entry["thinking"], cell["budget"], truncate, finished=entry["finished"]
                    )
                    for m in range(config.summaries_per_budget):
                        summary_requests.append(
                            GenerationRequest(
                                max_tokens=config.summary_tokens,
                                messages=request.messages,
                                prefix=prefix,
                                seed=derive_seed(config.seed_of(index), q, cell["budget"], m),
                                context={"problem": problem},
                            )
                        )
            summaries = context.generate(summary_requests)
            problems_by_request = [
                problem for (_, _, problem), entry in zip(flat, entries) for _ in range(len(budgets) * config.summaries_per_budget)
            ]
            graded = parallel_map(
                lambda triple: self._summary(context, *triple),
                list(zip(summary_requests, summaries, problems_by_request)),
            )
            position = 0
            for entry in entries:
                for cell in entry["by_budget"]:
                    cell["summaries"] = graded[position : position + config.summaries_per_budget]
                    position += config.summaries_per_budget
                    cell["score"] = sum(s["correct"] for s in cell["summaries"]) / len(cell["summaries"])
            by_unit: dict[int, list[dict[str, Any]]] = {}
            for (index, _, _), entry in zip(flat, entries):
                by_unit.setdefault(index, []).append(entry)
            for index, _ in units:
                context.emit(
                    {
                        "index": index,
                        "seed": config.seed_of(index),
                        "mode": "anytime",
                        "budgets": budgets,
                        "problems": by_unit.get(index, []),
                    }
                )
                context.advance(self.answers_per_unit(config))

    def _entry(
        self, context: RunContext, problem: Problem, request: GenerationRequest, thought: Any, budgets: list[int]
    ) -> dict[str, Any]:
        text = thought.text
        if THINK_END in text:
            # Keep the text as generated (an opening <think> included): the prefix continues it.
            thinking, finished = text[: text.rfind(THINK_END)], True
        else:
            thinking, finished = text, thought.finish_reason == "stop"
        length = context.counter.count(thinking)
        return {
            **problem_record(problem),
            "request_seed": request.seed,
            "response": text,
            "finish_reason": thought.finish_reason,
            "thinking": thinking,
            "thinking_tokens": length,
            "finished": finished,
            "by_budget": [
                {"budget": b, "thinking_tokens": min(length, b), "truncated": length > b or not finished}
                for b in budgets
            ],
        }

    def _summary(self, context: RunContext, request: GenerationRequest, result: Any, problem: Problem) -> dict[str, Any]:
        verdict = context.grade(result.text, problem)
        return {
            "request_seed": request.seed,
            "text": result.text,
            "tokens": result.completion_tokens,
            "correct": bool(verdict.correct),
            "extracted": verdict.extracted,
        }
