"""Grading with reasoning-gym's own scorers, for the ``builtin`` problems.

Only a score of exactly 1.0 counts as correct: the scorers give partial credit (a wrong
answer that contains the gold one scores above 0). The scorer sees the extracted answer
after light LaTeX-to-plain rewriting (``\\frac{3}{4}`` -> ``3/4``, ``x = 5`` -> ``5``,
``1,000`` -> ``1000``, ``13.0`` -> ``13`` for an integer gold, ``\\$``, a trailing period or comma
dropped) because reasoning-gym expects plain text and a model writes LaTeX.
The scorers read numbers with ``float``/``Decimal``/``complex``/``int`` on strings, never ``eval``,
so they run in the caller's process.

The scorers are lenient readers, and a wrong answer found their leniency: ``gsm_symbolic`` reads the
first number only (``22 or 221`` scored 1 for 22), ``fraction_simplification`` the leading
fraction only (``\\frac {4}{9} + 1``), ``polynomial_equations`` drops list items ``float`` cannot
read (``0.1667, \\sqrt{2}``), ``chain_sum`` and ``products`` delete every comma (``2,6`` for 26),
``Decimal`` reads ``1_70`` as 170, and ``complex_arithmetic`` deletes spaces before ``complex()``,
so ``n an`` became NaN, whose ``min(1, exp(-nan))`` is 1 for every question. So an answer
reaches the scorer only if it has the *shape* of the gold answer (:func:`shaped`): plain decimal
numbers, a list of as many of them as the gold lists, an ``a/b`` fraction, or a complex number
``a + bi``. Shapes hold ASCII digits, signs and points, never letters other than ``i``, so
``nan`` and ``inf`` have no way in. Any other answer scores 0.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from reasoning_economics.grading.normalize import MINUS_SIGNS as _MINUS_SIGNS, unwrap_text

_LATEX_FRACTION = re.compile(r"\\frac\s*\{\s*([^{}]*?)\s*\}\s*\{\s*([^{}]*?)\s*\}")
_ASSIGNMENT = re.compile(r"^[A-Za-z]\s*=\s*(?=\S)")
_GROUPED_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_INTEGER = re.compile(r"-?\d+")
_INTEGER_WITH_ZERO_DECIMALS = re.compile(r"(-?\d+)\.0+")

# Answer shapes (see the module docstring). ASCII digits only: \d would also match other scripts' digits.
_UNSIGNED = r"[0-9]+(?:\.[0-9]+)?"
_REAL = re.compile(rf"[+-]?{_UNSIGNED}")
_FRACTION = re.compile(r"[+-]?[0-9]+\s*/\s*[0-9]+")
# What parse_string_to_complex reads once spaces go: a real part, an imaginary part (i or j, either
# case, coefficient optional), or both in that order. It also strips parentheses around the whole.
_COMPLEX = re.compile(
    rf"[+-]?\s*(?:{_UNSIGNED}|{_UNSIGNED}?\s*[ij]|{_UNSIGNED}\s*[+-]\s*(?:{_UNSIGNED})?\s*[ij])", re.IGNORECASE
)
_COMPLEX_DATASETS = frozenset({"complex_arithmetic"})
# "x = 2", "x_1 = 2", "x_{1} = 2": the name of one root in a list of roots.
_ROOT_NAME = re.compile(r"^[A-Za-z](?:_\{?[0-9]+\}?)?\s*=\s*")


@lru_cache(maxsize=None)
def _scorer(dataset: str) -> Callable[[str, dict[str, Any]], float]:
    import reasoning_gym

    return reasoning_gym.get_score_answer_fn(dataset)


def plain_answer(answer: str, gold: str) -> str:
    """The model's LaTeX answer rewritten the way reasoning-gym's scorers read answers."""
    text = unwrap_text(answer)
    text = re.sub(r"\\[!,;: ]|\\left|\\right|\\displaystyle|\\?\$", "", text)
    text = re.sub(r"\\[dt]frac", r"\\frac", text)
    text = _LATEX_FRACTION.sub(r"\1/\2", text)
    text = text.translate(_MINUS_SIGNS).replace("\\cdot", "*").replace("\\times", "*").replace("{,}", ",")
    text = text.strip().rstrip(".,").strip()
    if _GROUPED_NUMBER.fullmatch(text.lstrip("-")):
        text = text.replace(",", "")
    if "=" not in gold:
        text = _ASSIGNMENT.sub("", text)
    whole = _INTEGER_WITH_ZERO_DECIMALS.fullmatch(text)
    if whole is not None and _INTEGER.fullmatch(gold.strip()):
        # Some scorers compare integer answers as strings, so "13.0" would miss "13".
        text = whole.group(1)
    return text


def shaped(text: str, gold: str, dataset: str) -> str | None:
    """``text`` (a :func:`plain_answer`) as the scorer should read it if it has the shape of the
    plain ``gold`` answer, else None: the scorers read only part of some answers (module docstring).

    A complex gold (by ``dataset``) takes any complex number; an ``a/b`` gold an ``a/b`` answer; a
    gold list of plain numbers (one number or the roots of a polynomial) a list of as many plain
    numbers, each maybe named (``x_1 = 0.5``). A gold of none of these shapes raises ValueError:
    a new problem type needs its shape here before it is graded.
    """
    kind, numbers = _gold_shape(gold, dataset)
    if kind == "complex":
        inner = text
        while inner.startswith("(") and inner.endswith(")"):
            inner = inner[1:-1].strip()
        return text if _COMPLEX.fullmatch(inner) else None
    if kind == "fraction":
        return text if _FRACTION.fullmatch(text) else None
    items = [_ROOT_NAME.sub("", item.strip()) for item in text.split(",")]
    if len(items) != numbers or not all(_REAL.fullmatch(item) for item in items):
        return None
    return ", ".join(items)


# Golds repeat (each problem is asked many times): their plain form and shape are worked out
# once, not on every grade (7 and 12 us of a ~25 us builtin grade).
@lru_cache(maxsize=16_384)
def _gold_shape(gold: str, dataset: str) -> tuple[str, int]:
    """``("complex", 0)``, ``("fraction", 0)`` or ``("numbers", how many)`` for the plain ``gold``."""
    if dataset in _COMPLEX_DATASETS and _COMPLEX.fullmatch(gold):
        return "complex", 0
    if _FRACTION.fullmatch(gold):
        return "fraction", 0
    if all(_REAL.fullmatch(item.strip()) for item in gold.split(",")):
        return "numbers", gold.count(",") + 1
    raise ValueError(f"reasoning-gym answer {gold!r} of {dataset} has no known shape")


@lru_cache(maxsize=16_384)
def _plain_gold(gold: str) -> str:
    return plain_answer(gold, gold)


def score(answer: str, dataset: str, entry: dict[str, Any]) -> float:
    """reasoning-gym's score of ``answer`` for ``entry`` of ``dataset`` (1.0 is correct)."""
    gold = str(entry.get("answer", ""))
    text = shaped(plain_answer(answer, gold), _plain_gold(gold), dataset)
    if text is None:
        return 0.0
    return float(_scorer(dataset)(text, entry))
