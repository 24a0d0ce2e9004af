"""Problems whose answers only a math-verify worker decides, for measuring and testing the
grading workers under load: "Expand $(x+k)^2$." for k = 1..40, gold ``x^2 + 2kx + k^2``.
An answer written ``(x+k)^2`` is correct, and neither the in-process rules nor the verdict
cache of another k can settle it."""

from __future__ import annotations

import json
from pathlib import Path

SQUARES = range(1, 41)


def write_symbolic_problems_config(directory: Path, questions: int = 10) -> Path:
    """Write the problem file and an EnvConfig file of ``questions``-question episodes over it
    into ``directory``; return the config file's path (for ``ree serve --config``)."""
    problems = directory / "symbolic.jsonl"
    problems.write_text("".join(
        json.dumps({"question": f"Expand $(x+{k})^2$.", "answer": f"x^2 + {2 * k}x + {k * k}", "type": "algebra"}) + "\n"
        for k in SQUARES
    ))  # fmt: skip
    config = directory / "env.toml"
    config.write_text(f'dataset = "file:{problems}"\nnum_questions = {questions}\n')
    return config


def square_base(question: str) -> int:
    """k in "Expand $(x+k)^2$."."""
    return int(question.split("(x+")[1].split(")")[0])


def unexpanded_answer(question: str) -> str:
    """A correct response that only a worker can grade: ``\\boxed{(x+k)^2}``."""
    return f"\\boxed{{(x+{square_base(question)})^2}}"
