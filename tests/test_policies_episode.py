"""The scripted oracle in a real environment episode: the environment charges exactly the
tokens the policy reports, and grades right exactly the problems the policy drew right."""

from __future__ import annotations

from reasoning_economics.env import ReasonBudgetEnvironment
from reasoning_economics.env.models import ReasonBudgetAction
from reasoning_economics.policies import GenerationRequest, create_policy


def test_oracle_in_a_real_episode_is_charged_and_graded_as_planned():
    env = ReasonBudgetEnvironment(num_questions=5, seed=3)
    policy = create_policy("oracle:accuracy=0.6,tokens=40,tokens_per_difficulty=60,seed=1")
    observation = env.reset(seed=3, tokenizer_name="qwen3", total_budget=100_000)
    problems = env.problems
    for step in range(5):
        current = problems[step]
        [result] = policy.generate(
            [GenerationRequest(max_tokens=observation.step_token_limit, messages=[{"role": "user", "content": observation.prompt}],
                               context={"problem": current, "observation": observation})]
        )
        observation = env.step(ReasonBudgetAction(response=result.text, metadata={"tokenizer_name": "qwen3"}))
        entry = observation.history[-1]
        assert entry["tokens_counted"] == result.completion_tokens == 40 + round(60 * current.difficulty)
        assert entry["was_correct"] == policy.draws_correct(current, None)
    assert observation.done
