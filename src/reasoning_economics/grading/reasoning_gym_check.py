"""Grading with reasoning-gym's own scorers, for the ``builtin`` problems.

Only a score of exactly 1.0 counts as correct: the scorers give partial credit (a wrong
answer that contains the gold one scores above 0). The scorer sees the extracted answer
after light LaTeX-to-plain rewriting (``\\frac{3}{4}`` -> ``3/4``, ``x = 5`` -> ``5``,
``1,000`` -> ``1000``, ``13.0`` -> ``13`` for an integer gold) because reasoning-gym expects plain text and a model writes LaTeX.
The scorers read numbers with ``float``/``Decimal``/``complex`` on strings, never ``eval``,
so they run in the caller's process. Those readers accept ``nan`` and ``inf``, and
``complex_arithmetic`` scores ``min(1, exp(-distance))``: a NaN distance made ``\\boxed{nan}``
a perfect answer to every one of its questions. An answer naming NaN or infinity scores 0
unless the gold answer names one too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from reasoning_economics.grading.normalize import MINUS_SIGNS as _MINUS_SIGNS, unwrap_text

_LATEX_FRACTION = re.compile(r"\\frac\{([^{}]*)\}\{([^{}]*)\}")
_ASSIGNMENT = re.compile(r"^[A-Za-z]\s*=\s*(?=\S)")
_GROUPED_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_INTEGER = re.compile(r"-?\d+")
_INTEGER_WITH_ZERO_DECIMALS = re.compile(r"(-?\d+)\.0+")
# What float(), Decimal() and complex() read as NaN or infinity ("nan", "-Infinity", "nanj", "sNaN"),
# and LaTeX's \infty.
_NON_FINITE = re.compile(r"(?i)(?<![a-z])s?(?:nan|inf)")


@lru_cache(maxsize=None)
def _scorer(dataset: str) -> Callable[[str, dict[str, Any]], float]:
    import reasoning_gym

    return reasoning_gym.get_score_answer_fn(dataset)


def plain_answer(answer: str, gold: str) -> str:
    """The model's LaTeX answer rewritten the way reasoning-gym's scorers read answers."""
    text = unwrap_text(answer)
    text = re.sub(r"\\[!,;: ]|\\left|\\right|\\displaystyle|\$", "", text)
    text = re.sub(r"\\[dt]frac", r"\\frac", text)
    text = _LATEX_FRACTION.sub(r"\1/\2", text)
    text = text.translate(_MINUS_SIGNS).replace("\\cdot", "*").replace("\\times", "*").replace("{,}", ",")
    text = text.strip().rstrip(".").strip()
    if _GROUPED_NUMBER.fullmatch(text.lstrip("-")):
        text = text.replace(",", "")
    if "=" not in gold:
        text = _ASSIGNMENT.sub("", text)
    whole = _INTEGER_WITH_ZERO_DECIMALS.fullmatch(text)
    if whole is not None and _INTEGER.fullmatch(gold.strip()):
        # Some scorers compare integer answers as strings, so "13.0" would miss "13".
        text = whole.group(1)
    return text


def score(answer: str, dataset: str, entry: dict[str, Any]) -> float:
    """reasoning-gym's score of ``answer`` for ``entry`` of ``dataset`` (1.0 is correct)."""
    gold = str(entry.get("answer", ""))
    text = plain_answer(answer, gold)
    if _NON_FINITE.search(text) and not _NON_FINITE.search(gold):
        return 0.0
    return float(_scorer(dataset)(text, entry))
