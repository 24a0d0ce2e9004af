"""Realistic episodes for the benchmarks: the environment's own questions, answered by
synthetic responses of 50-400 tokens that read like a model's reasoning.

The environment samples the same questions for the same seed in any process, so a
benchmark client can script whole episodes ahead of time (answers included) and replay
them in-process or over WebSocket with ``reset(seed=...)``.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from reasoning_economics.problems import Problem, create_source, sample_episode
from reasoning_economics.tokens import TokenCounter

REASONING_SENTENCES = (
    "Let me work through this step by step.",
    "First, I write down what the question gives us.",
    "We need to be careful with the signs here.",
    "Substituting the values, we get {a} + {b} = {c}.",
    "So the intermediate result is {c}.",
    "Wait, let me double-check that computation.",
    "Multiplying both sides by {a} gives {c}.",
    "Hmm, that does not look right; recompute: {a} \\times {b} = {d}.",
    "Dividing, $\\frac{{{d}}}{{{b}}} = {a}$, which matches.",
    "Therefore the remaining quantity is {c} - {a} = {b}.",
    "Check: $({a})^2 = {e}$, consistent with the earlier step.",
    "The common factor is {a}, so we simplify accordingly.",
    "Now combine the terms: ${a}x + {b}x = {c}x$.",
    "This is the key observation for the whole problem.",
    "Alternatively, we could approach it by listing the cases.",
    "Both methods give the same value, so I am fairly confident.",
)
THINK_SHARE = 0.3
"""Share of responses wrapped in ``<think>...</think>`` as thinking models emit them."""

SYMBOLIC_FORMS = ("x = {answer}", "{answer} \\text{{ units}}")
"""Ways a model writes an answer that the exact-number fast path cannot decide, so that
grading goes to a math-verify worker (``x = 9`` and ``9 \\text{ units}`` are both 9)."""


@dataclass(frozen=True)
class EpisodeScript:
    """One episode to replay: the seed that reproduces its questions and one response per question."""

    seed: int
    problems: tuple[Problem, ...]
    responses: tuple[str, ...]


def wrong_answer(gold: str, rng: random.Random) -> str:
    """A plausible but wrong final answer: an integer off by a small amount, else a fresh fraction."""
    if re.fullmatch(r"-?\d+", gold.strip()):
        return str(int(gold) + rng.choice((-10, -2, -1, 1, 2, 7)))
    return f"\\frac{{{rng.randint(1, 97)}}}{{{rng.randint(98, 199)}}}"


def realistic_response(
    problem: Problem,
    rng: random.Random,
    counter: TokenCounter,
    *,
    min_tokens: int = 50,
    max_tokens: int = 400,
    correct_rate: float = 0.7,
    symbolic_share: float = 0.0,
) -> str:
    """Reasoning prose of a length drawn uniformly from [min_tokens, max_tokens] (in ``counter``'s
    tokens, within one sentence), ending in ``\\boxed{answer}``; correct with ``correct_rate``.

    With ``symbolic_share`` > 0, that share of answers is written in one of
    :data:`SYMBOLIC_FORMS`, which only a math-verify worker decides.
    """
    target = rng.randint(min_tokens, max_tokens)
    answer = problem.answer if rng.random() < correct_rate else wrong_answer(problem.answer, rng)
    if symbolic_share and rng.random() < symbolic_share:
        answer = rng.choice(SYMBOLIC_FORMS).format(answer=answer)
    final = f"\n\nThe final answer is $\\boxed{{{answer}}}$."
    think = rng.random() < THINK_SHARE
    body: list[str] = []
    budget = target - counter.count(final) - (4 if think else 0)
    used = 0
    while used < budget:
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        sentence = rng.choice(REASONING_SENTENCES).format(a=a, b=b, c=a + b, d=a * b, e=a * a)
        body.append(sentence)
        used += counter.count(sentence + " ")
    text = " ".join(body)
    if think:
        return f"<think>\n{text}\n</think>{final}"
    return text + final


def episode_scripts(
    seeds: list[int],
    counter: TokenCounter,
    *,
    dataset: str = "builtin",
    dataset_config: dict | None = None,
    num_questions: int = 10,
    workload_seed: int = 20251124,
    symbolic_share: float = 0.0,
) -> list[EpisodeScript]:
    """Script one episode per seed with the questions the environment will ask for that seed."""
    source = create_source(dataset, **(dataset_config or {}))
    scripts = []
    for seed in seeds:
        # One generator per episode (str seeds hash with SHA-512: stable across processes), so
        # an episode's responses do not depend on which other episodes were scripted with it.
        rng = random.Random(f"{workload_seed}/{seed}")
        problems = tuple(sample_episode(source, num_questions, seed))
        responses = tuple(realistic_response(p, rng, counter, symbolic_share=symbolic_share) for p in problems)
        scripts.append(EpisodeScript(seed=seed, problems=problems, responses=responses))
    return scripts
