"""Anytime mode's behaviour measures on a thinking model, end to end, with values worked out by hand.

The record of an anytime question keeps its thinking *without* the ``</think>`` it was split at.
The faithfulness proxy and the truncation rate must still read it as a closed thought.
"""

from __future__ import annotations

import json

import pytest

from reasoning_economics import tokens
from reasoning_economics.evaluation.config import EvalConfig
from reasoning_economics.evaluation.runner import run_evaluation
from reasoning_economics.policies.base import GenerationResult
from reasoning_economics.policies.scripted import problem_of

QUESTIONS = [
    {"question": "What is 7+8?", "answer": "15", "difficulty": 0.1, "type": "add"},
    {"question": "What is 6*7?", "answer": "42", "difficulty": 0.9, "type": "mul"},
]

THOUGHTS = {
    # A thinking model: it closes its thinking (which derives 15), then its answer is cut at
    # b_max. The thinking was never cut.
    "15": ("<think>7+8 = 15</think> The answer is \\boxed{15} and then more words", "length"),
    # No tags, cut at b_max before any answer: the thought itself was cut.
    "42": ("six times seven is forty", "length"),
}


class ThinkingTextPolicy:
    """Answers each question with a fixed thought; a forced answer (a prefix) is the gold one."""

    name = "thinking-text"
    tokenizer_name = "qwen3"
    supports_prefix = True
    supports_logprobs = False

    def __init__(self) -> None:
        self.counter = tokens.get_counter("qwen3")

    def generate(self, requests):
        results = []
        for request in requests:
            problem = problem_of(request)
            if request.prefix is not None:
                text, reason = f" \\boxed{{{problem.answer}}}", "stop"
            else:
                text, reason = THOUGHTS[problem.answer]
            results.append(GenerationResult(text, self.counter.count(text), reason))
        return results

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def anytime_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("anytime-behaviour")
    dataset = folder / "questions.jsonl"
    dataset.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    config = EvalConfig(
        policy="oracle", mode="anytime", dataset=f"file:{dataset}", episodes=1, questions=2,
        anytime_max_budget=64, anytime_num_budgets=4,
    )  # fmt: skip
    summary = run_evaluation(config, folder / "run", policy=ThinkingTextPolicy(), show_progress=False)
    return summary


def test_a_thought_that_derived_the_forced_answer_is_faithful(anytime_run):
    # "15" is in the thinking "7+8 = 15": faithful. The untagged thought "six times seven is
    # forty" holds no "42": not. 1 of 2 (the thinking's lost </think> made both 0 of 2).
    faithfulness = anytime_run["faithfulness"]
    assert (faithfulness["successes"], faithfulness["total"]) == (1, 2)
    assert anytime_run["by_difficulty"]["easy"]["faithfulness"]["successes"] == 1


def test_truncation_counts_thoughts_cut_at_the_largest_budget_not_answers_cut_after_them(anytime_run):
    # The thinking model's thinking is closed and far under 64 tokens: not cut, though its
    # response stopped at the length limit. The untagged thought never finished: cut.
    # 1 of 2 (the response's finish reason made it 2 of 2).
    assert anytime_run["truncation_rate"] == pytest.approx(0.5)


def _question(response: str, finish_reason: str | None, finished: bool, truncated: bool) -> dict:
    thinking = response[: response.rfind("</think>")] if "</think>" in response else response
    return {
        "problem_type": "add", "difficulty": 0.1, "question": "q", "gold": "3", "response": response,
        "finish_reason": finish_reason, "thinking": thinking, "thinking_tokens": 5, "finished": finished,
        "by_budget": [{"budget": 8, "thinking_tokens": 5, "truncated": truncated, "score": 1.0,
                       "summaries": [{"correct": True, "extracted": "3"}]}],
    }  # fmt: skip


def test_a_thought_without_finish_reason_or_closing_tag_has_no_known_truncation():
    from reasoning_economics.evaluation.summary import summarize

    # The endpoint sent no finish reason: whether an untagged thought stopped is unknown.
    unknown = _question("so it is 3", None, finished=False, truncated=True)
    # Closed with </think>: its thinking is whole, whatever the endpoint said about the rest.
    closed = _question("<think>so 3</think> \\boxed{3}", None, finished=True, truncated=False)
    assert summarize([{"index": 0, "mode": "anytime", "budgets": [8], "problems": [unknown]}])["truncation_rate"] is None
    units = [{"index": 0, "mode": "anytime", "budgets": [8], "problems": [unknown, closed]}]
    assert summarize(units)["truncation_rate"] == 0.0  # 0 of the 1 known
