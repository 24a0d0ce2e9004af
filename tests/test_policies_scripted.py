"""Scripted baselines: exact lengths in the real token counter, hand-worked budget plans,
reproducible accuracy draws, and a real environment episode charging what the policy reports."""

from __future__ import annotations

import re

import pytest

from reasoning_economics.errors import ConfigError
from reasoning_economics.policies import GenerationRequest, Policy, create_policy
from reasoning_economics.policies.scripted import fit_to_length, wrong_answer
from reasoning_economics.problems import Problem
from reasoning_economics.tokens import get_counter

TAIL_4 = "The answer is \\boxed{4}."


def problem(answer: str = "4", difficulty: float = 0.5, pid: str = "t/1") -> Problem:
    return Problem(id=pid, question="What is 2 + 2?", answer=answer, source="t", problem_type="add", difficulty=difficulty)


def request(max_tokens: int = 1000, observation=None, seed=None, prefix=None, **context) -> GenerationRequest:
    ctx = {"problem": context.pop("the_problem", problem())}
    if observation is not None:
        ctx["observation"] = observation
    return GenerationRequest(max_tokens=max_tokens, prompt="q", seed=seed, prefix=prefix, context=ctx)


def boxed(text: str) -> str | None:
    found = re.findall(r"\\boxed\{([^{}]*)\}", text)
    return found[-1] if found else None


@pytest.mark.parametrize("tokenizer", ["qwen3", "llama3", "cl100k_base"])
def test_oracle_writes_exactly_the_planned_tokens_in_the_claimed_tokenizer(tokenizer):
    counter = get_counter(tokenizer)
    assert counter.count(TAIL_4) == 8  # The / answer / is / \ / boxed / { / 4 / }.
    policy = create_policy(f"oracle:tokens=20,tokenizer={tokenizer}")
    [result] = policy.generate([request()])
    assert result.text == "step " * 12 + TAIL_4
    assert result.completion_tokens == 20 == counter.count(result.text)
    assert result.finish_reason == "stop"
    assert policy.tokenizer_name == tokenizer


def test_oracle_length_grows_with_difficulty_and_is_cut_at_the_limit():
    policy = create_policy("oracle", tokens=50, tokens_per_difficulty=100)
    easy, hard = policy.generate([request(the_problem=problem(difficulty=0.0)), request(the_problem=problem(difficulty=0.75))])
    assert (easy.completion_tokens, hard.completion_tokens) == (50, 125)
    [cut] = policy.generate([request(max_tokens=30, the_problem=problem(difficulty=0.75))])
    assert cut.finish_reason == "length"
    assert cut.text == " ".join(["step"] * 30) and cut.completion_tokens == 30
    assert boxed(cut.text) is None
    [empty] = policy.generate([request(max_tokens=0)])
    assert (empty.text, empty.completion_tokens, empty.finish_reason) == ("", 0, "length")


def test_oracle_accuracy_is_reproducible_per_problem_and_seed():
    problems = [problem(answer=str(i), pid=f"t/{i}") for i in range(1000)]
    policy = create_policy("oracle:accuracy=0.8,tokens=10,seed=7")
    results = policy.generate([request(the_problem=p) for p in problems])
    correct = [boxed(r.text) == p.answer for r, p in zip(results, problems)]
    # Wrong answers are the gold integer plus one, never the gold itself.
    assert all(boxed(r.text) in (p.answer, str(int(p.answer) + 1)) for r, p in zip(results, problems))
    assert correct == [policy.draws_correct(p, None) for p in problems]
    # Binomial(1000, 0.8): sd 12.6, so 800 +- 50 is a 4-sigma band.
    assert 750 <= sum(correct) <= 850
    # Order and batching do not matter: the reversed batch gives the same verdicts.
    reversed_results = policy.generate([request(the_problem=p) for p in reversed(problems)])
    assert [boxed(r.text) for r in reversed(reversed_results)] == [boxed(r.text) for r in results]
    # Another seed (policy or request) draws other problems.
    other = create_policy("oracle:accuracy=0.8,tokens=10,seed=8")
    assert [other.draws_correct(p, None) for p in problems] != correct
    assert [policy.draws_correct(p, 3) for p in problems] != correct
    assert all(policy.draws_correct(p, None) for p in problems) is False
    assert all(create_policy("oracle").draws_correct(p, None) for p in problems)
    assert not any(create_policy("oracle:accuracy=0").draws_correct(p, None) for p in problems)


def test_prefix_continuation_writes_only_the_final_answer():
    policy = create_policy("oracle:tokens=500")
    [result] = policy.generate([request(prefix="<think>\n2 and 2 make")])
    assert result.text == " " + TAIL_4 and result.finish_reason == "stop"
    assert result.completion_tokens == get_counter("qwen3").count(" " + TAIL_4)
    [after_space] = policy.generate([request(prefix="Final answer: ")])
    assert after_space.text == TAIL_4



OBSERVATION = {"remaining_budget": 1000, "questions_remaining": 4, "budget_per_remaining": 250.0}


@pytest.mark.parametrize(
    ("spec", "difficulty", "max_tokens", "expected_tokens"),
    [
        ("uniform", 0.9, 1000, 250),  # floor(1000 / 4)
        ("uniform", 0.9, 100, 100),  # clamped to the step limit
        ("greedy_max", 0.1, 400, 400),  # min(limit 400, remaining 1000)
        ("greedy_max", 0.1, 2000, 1000),  # min(limit 2000, remaining 1000)
        ("difficulty_oracle", 0.9, 1000, 350),  # floor(250 * (0.5 + 0.9))
        ("difficulty_oracle", 0.1, 1000, 150),  # floor(250 * (0.5 + 0.1))
    ],
)
def test_budget_baselines_spend_their_hand_computed_share(spec, difficulty, max_tokens, expected_tokens):
    policy = create_policy(spec)
    [result] = policy.generate([request(max_tokens, OBSERVATION, the_problem=problem(difficulty=difficulty))])
    assert result.completion_tokens == expected_tokens == get_counter("qwen3").count(result.text)
    assert result.finish_reason == "stop" and boxed(result.text) == "4"


def test_greedy_max_with_the_budget_spent_writes_only_the_answer():
    policy = create_policy("greedy_max")
    spent = {"remaining_budget": -20, "questions_remaining": 2, "budget_per_remaining": -10.0}
    [result] = policy.generate([request(500, spent)])
    assert result.text == TAIL_4 and result.completion_tokens == 8
    [too_small] = policy.generate([request(5, OBSERVATION)])  # the bare answer needs 8 tokens
    assert too_small.finish_reason == "length" and too_small.completion_tokens == 5


def test_effort_model_rewards_spending_on_hard_problems():
    # Difficulty 0.9 with solve_tokens=300 needs ceil(270) tokens: uniform spends 250 and
    # misses, difficulty_oracle spends 350 and answers; an easy one needs only 30.
    hard, easy = problem(difficulty=0.9), problem(difficulty=0.1)
    uniform = create_policy("uniform:solve_tokens=300")
    oracle = create_policy("difficulty_oracle:solve_tokens=300")
    assert boxed(uniform.generate([request(1000, OBSERVATION, the_problem=hard)])[0].text) == "5"
    assert boxed(oracle.generate([request(1000, OBSERVATION, the_problem=hard)])[0].text) == "4"
    assert boxed(uniform.generate([request(1000, OBSERVATION, the_problem=easy)])[0].text) == "4"


def test_context_is_read_from_dicts_and_missing_context_is_a_clear_error():
    policy = create_policy("uniform")
    result = policy.generate([request(1000, OBSERVATION, the_problem=problem().to_dict())])[0]
    assert result.completion_tokens == 250
    with pytest.raises(ConfigError, match="context\\['observation'\\]"):
        policy.generate([request(1000)])
    with pytest.raises(ConfigError, match="context\\['problem'\\]"):
        create_policy("oracle").generate([GenerationRequest(max_tokens=10, prompt="q")])
    with pytest.raises(ConfigError, match="logprobs"):
        create_policy("oracle").generate([GenerationRequest(max_tokens=10, prompt="q", logprobs=True, context={"problem": problem()})])


def test_wrong_answers_and_filler_fitting():
    assert [wrong_answer(g) for g in ("41", " -3 ", "2.5", "\\frac{3}{4}", "-98765")] == ["42", "-2", "3.5", "-98765", "-98764"]
    counter = get_counter("qwen3")
    for target in (0, 1, 9, 64):
        assert counter.count(fit_to_length(counter, target)) == target
    assert fit_to_length(counter, 3, TAIL_4) == TAIL_4  # the tail alone is longer than asked


def test_scripted_policies_satisfy_the_protocol():
    for spec in ("uniform", "greedy_max", "difficulty_oracle", "oracle"):
        policy = create_policy(spec)
        assert isinstance(policy, Policy) and policy.name == spec
        assert policy.supports_prefix and not policy.supports_logprobs
        policy.close()
        policy.close()
