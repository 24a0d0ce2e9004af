"""The budget-aware prompt the environment renders for each question.

Policies and trainers use this one text so that every run states the budget the same way.
"""

from __future__ import annotations

from reasoning_economics.problems.base import BOXED_INSTRUCTION

SYSTEM_PROMPT = (
    "You are solving a sequence of math problems that share one token budget. "
    "Every token you write is charged to that budget, so spend more on hard problems and "
    "less on easy ones. Reason briefly, then give the final answer as \\boxed{...}."
)


def render_prompt(
    question: str,
    *,
    remaining_budget: int,
    questions_remaining: int,
    step_token_limit: int,
    step_idx: int,
    num_questions: int,
) -> str:
    """User-turn text for one question, stating the budget left and the questions left.

    >>> print(render_prompt("1+1?", remaining_budget=900, questions_remaining=3,
    ...                     step_token_limit=512, step_idx=7, num_questions=10))
    Question 8 of 10. Budget left: 900 tokens for 3 questions (about 300 per question; at most 512 for this answer).
    <BLANKLINE>
    1+1?
    <BLANKLINE>
    Put your final answer in \\boxed{}.
    """
    per_question = remaining_budget // questions_remaining if questions_remaining > 0 else 0
    noun = "question" if questions_remaining == 1 else "questions"
    # Problem sources already end most questions with the instruction; state it once.
    body = question if question.rstrip().endswith(BOXED_INSTRUCTION) else f"{question}\n\n{BOXED_INSTRUCTION}"
    return (
        f"Question {step_idx + 1} of {num_questions}. "
        f"Budget left: {remaining_budget} tokens for {questions_remaining} {noun} "
        f"(about {per_question} per question; at most {step_token_limit} for this answer).\n\n"
        f"{body}"
    )


def render_messages(prompt: str, system_prompt: str = SYSTEM_PROMPT) -> list[dict[str, str]]:
    """Chat messages for one question: the system prompt and the rendered user turn."""
    return [{"role": "system", "content": system_prompt}, {"role": "user", "content": prompt}]
