#!/usr/bin/env python
"""Time the in-process grading of hostile final answers.

After extraction, a final answer of up to 2,000 characters (``MAX_ANSWER_CHARS``; longer ones
are wrong unread) is read by regular expressions in the server process: reasoning-gym's answer
shapes for builtin problems, and the one-value rules and the fast path before a math-verify
worker for the others. A pattern that is quadratic on some input holds the GIL for every other
session: a run of 2,000 spaces cost 0.1 s in one ``re.split``. Each shape
here is a number followed by a 2,000-character run and a last character. Usage::

    python benchmarks/hostile_answers.py            # best of 3 per shape
    python benchmarks/hostile_answers.py --repeat 5 --json benchmarks/results/hostile-answers.json
"""

from __future__ import annotations

import random

RUN_CHARS = 1_990
RUNS = {
    "spaces": " ", "no-break spaces": "\u00a0", "tabs": "\t", "digits": "1", "letters": "a", "opening braces": "{",
    "closing braces": "}", "backslashes": "\\", "dollars": "$", "spaced digits": "1 ", "full stops": ". ",
    "commas": ", ", "thin spaces": "\\,", "or": "or ", "equals signs": " =", "bars": "| ", "texts": "\\text{a}",
    "letters between digits": "0 o ", "subscripts": "_", "carets": "^", "rows": "\\\\",
}  # fmt: skip
LAST_CHARACTERS = ("", "x", "1", "%", "}")
BUILTIN_TYPES = ("gsm_symbolic", "polynomial_equations", "fraction_simplification", "complex_arithmetic", "gcd")


def shapes() -> dict[str, list[str]]:
    """Hostile answers of about 2,000 characters, by the run they are made of."""
    return {name: ["1" + run * (RUN_CHARS // len(run)) + last for last in LAST_CHARACTERS] for name, run in RUNS.items()}


def main() -> None:
    from reasoning_economics.bench.hostile_text import arguments

    args = arguments(__doc__)

    from reasoning_economics.bench.hostile_text import best_ms, write_shapes
    from reasoning_economics.grading import fast_path, grade_problem
    from reasoning_economics.grading.hedges import has_unbalanced_braces, why_not_one_value
    from reasoning_economics.problems import create_source

    source = create_source("builtin")
    problems = [source.draw(problem_type, random.Random(0)) for problem_type in BUILTIN_TYPES]
    readers = {
        **{f"builtin {p.problem_type}": (lambda p: lambda answer: grade_problem(f"\\boxed{{{answer}}}", p))(p) for p in problems},
        "before a worker": lambda answer: (
            has_unbalanced_braces(answer), why_not_one_value(answer, against_a_number=True),
            fast_path.decide(answer, "\\frac{3}{4}"),
        ),  # fmt: skip
    }
    results = {}
    for name, answers in shapes().items():
        worst_ms, worst_reader = max(
            (best_ms(reader, answer, args.repeat), reader_name) for reader_name, reader in readers.items() for answer in answers
        )
        results[name] = {"chars": max(map(len, answers)), "worst_ms": round(worst_ms, 3), "worst_in": worst_reader}
        print(f"{name:24s} {max(map(len, answers)):>6,} chars  worst {worst_ms:7.3f} ms  ({worst_reader})")
    if args.json is not None:
        write_shapes(args.json, args.repeat, results)


if __name__ == "__main__":
    main()
