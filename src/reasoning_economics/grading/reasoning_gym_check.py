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

What a model commonly writes around those shapes is read as the shape: a number's unit or
percent sign (``36 \\text{ apples}``, ``25\\%``; not a word that hedges or changes the value,
``8 thousand``), brackets around the whole answer (``\\left(\\frac{5}{6}\\right)``, ``\\{1, 2\\}``),
roots joined by ``;``, ``or`` or ``and`` or named ``x_1 \\approx``, ``\\pm 2`` for the roots -2 and 2,
``\\frac56``, and a sign or leading zero the exact-string scorers would refuse (``+23``, ``- 54``).
Spacing between two digits parts two numbers (``1\\;0`` is not 10) unless it groups thousands.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from reasoning_economics.grading.hedges import HEDGE_WORD, NUMBER_IN_WORDS, VALUE_CHANGING_WORD
from reasoning_economics.grading.normalize import MINUS_SIGNS as _MINUS_SIGNS, mark_digit_gaps, unwrap_text

_LATEX_FRACTION = re.compile(r"\\frac\s*\{\s*([^{}]*?)\s*\}\s*\{\s*([^{}]*?)\s*\}")
# "\frac56", "\frac5{6}", "\frac{5}6": TeX reads one digit as an argument.
_FRACTION_SHORTHAND = re.compile(r"\\frac\s*(?:\{([^{}]*)\}|([0-9]))\s*(?:\{([^{}]*)\}|([0-9]))(?![0-9])")
_SPACING_COMMANDS = re.compile(r"\\[!,;: ]|\\q?quad\b|\\left|\\right|\\displaystyle|\\?\$")
_BRACED_NUMBER = re.compile(r"\{\s*([+-]?[0-9.]+)\s*\}")
_FRACTION_ALIASES = re.compile(r"\\[dtc]frac")
_OPENING_BRACKETS = frozenset("([{\\")
_BRACKET = re.compile(r"[()\[\]{}]")
_SPACE_AFTER_SIGN = re.compile(r"^([+-])\s+")
_LEADING_ZEROS = re.compile(r"^(-?)0+(?=[0-9])")
_ASSIGNMENT = re.compile(r"^[A-Za-z]\s*=\s*(?=\S)")
# What may stand before the "=" of a single answer: a name or the computation it answers.
_EQUATION_LEFT = re.compile(r"(?:\\(?:gcd|operatorname|mathrm|lcm)|[A-Za-z0-9\s+\-*/^(){}.,=])*")
_PARENTHESIZED = re.compile(r"\([^()]*\)")
# A number and the words that follow it ("36 apples", "36 \text{ cm}", "25\%"): a unit, unless a
# word hedges, names another value or changes this one ("8 or 15", "8 thousand", "5 factorial").
# Words are split at spaces only, so that a long run of letters cannot be split every which way.
_NUMBER_AND_UNIT = re.compile(
    r"([+-]?[0-9]+(?:\.[0-9]+)?)\s*(?:\\?%|([A-Za-z]{2,}\.?(?:\s+[A-Za-z]{2,}\.?){0,3}))"
)
# Besides the shared hedging and value-changing words (grading.hedges): a range, an
# approximation, a constant or function, a non-number.
_NOT_UNITS = frozenset(
    "to through thru and either else approximately approx about roughly almost nearly ish over under minimum "
    "maximum score roots pi sqrt log ln exp sin cos tan inf infinity nan inverse reciprocal negated negative "
    "opposite tens grand lakh lakhs crore crores mil bn third quarter fourth fifth sixth seventh eighth ninth "
    "tenth eleventh twelfth twelfths hundredth thousandth millionth".split()
)
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
_TIMES_I = re.compile(r"(?<!\s)\s*\*\s*(?=[ij]$)", re.IGNORECASE)
# "x = 2", "x_1 = 2", "x_{1} = 2": the name of one root in a list of roots.
_ROOT_NAME = re.compile(r"^[A-Za-z](?:_\{?[0-9]+\}?)?\s*(?:=|\\approx|\u2248)\s*")
# Between the roots of a list: "1, 2", "1; 2", "x = 1 or x = 2", "1 and 2". A hedge of one
# number ("2 or 3") then holds two, as many as no single-number gold.
# Each alternative starts only where a run of spaces does: tried inside the run, the split read
# the rest of it from every position (2,000 spaces cost 0.1 s, holding the GIL).
_LIST_SEPARATOR = re.compile(r"(?<!\s)\s*[,;]\s*|(?<!\s)\s+(?:or|and)\s+")
_PLUS_MINUS = re.compile(r"(?:\\pm|\u00b1)\s*([0-9]+(?:\.[0-9]+)?)")


@lru_cache(maxsize=None)
def _scorer(dataset: str) -> Callable[[str, dict[str, Any]], float]:
    import reasoning_gym

    return reasoning_gym.get_score_answer_fn(dataset)


def plain_answer(answer: str, gold: str) -> str:
    """The model's LaTeX answer rewritten the way reasoning-gym's scorers read answers."""
    # Each rewrite runs only when its characters occur: this is on every builtin step's path.
    text = answer
    if "frac" in text:
        text = _FRACTION_ALIASES.sub(r"\\frac", text)
        text = _FRACTION_SHORTHAND.sub(lambda m: f"\\frac{{{m[1] or m[2]}}}{{{m[3] or m[4]}}}", text)
        # Fractions first: \mathbf{\frac{5}{6}} holds braces, which unwrap_text leaves alone.
        text = _LATEX_FRACTION.sub(r"\1/\2", text)
    if "\\" in text:
        text = unwrap_text(text)
    text = mark_digit_gaps(text, " ")
    if "\\" in text or "$" in text:
        text = _SPACING_COMMANDS.sub("", text)
        text = text.replace("\\cdot", "*").replace("\\times", "*").replace("\\div", "/")
    if not text.isascii():
        text = text.translate(_MINUS_SIGNS)
    if "{" in text:
        text = _BRACED_NUMBER.sub(r"\1", text.replace("{,}", ","))
    text = text.strip().rstrip(".,").strip()
    if text[:1] in _OPENING_BRACKETS:
        text = _without_enclosing_brackets(text)
    if _GROUPED_NUMBER.fullmatch(text.lstrip("-")):
        text = text.replace(",", "")
    if "=" in text and "=" not in gold:
        text = _ASSIGNMENT.sub("", text) if "," in gold else _last_side(text)
    whole = _INTEGER_WITH_ZERO_DECIMALS.fullmatch(text)
    if whole is not None and _INTEGER.fullmatch(gold.strip()):
        # Some scorers compare integer answers as strings, so "13.0" would miss "13".
        text = whole.group(1)
    return text


def _last_side(text: str) -> str:
    """``GCD = 2``, ``\\gcd(12, 18) = 6``, ``180/392 = 45/98`` -> the value after the last ``=``,
    when what comes before names or computes it; ``8 or x = 15`` is returned as it is."""
    left, _, right = text.rpartition("=")
    if (
        not right.strip()
        or not _EQUATION_LEFT.fullmatch(left)
        or _LIST_SEPARATOR.search(_PARENTHESIZED.sub("", left))
        or VALUE_CHANGING_WORD.search(left)
        or HEDGE_WORD.search(left)
    ):  # fmt: skip
        return text
    return right.strip()


def _without_enclosing_brackets(text: str) -> str:
    """``(5/6)``, ``\\{1, 2\\}``, ``[1, 2]`` -> their content, when the brackets enclose all of it."""
    for opening, closing in (("\\{", "\\}"), ("(", ")"), ("[", "]"), ("{", "}")):
        if text.startswith(opening) and text.endswith(closing):
            inner = text[len(opening) : -len(closing)]
            if not _BRACKET.search(inner):
                return inner.strip()
    return text


def _plain_number(item: str) -> str:
    """One number as exact-string scorers compare it: ``- 54`` -> ``-54``, ``+23`` -> ``23``, ``023`` -> ``23``."""
    if item[:1] not in "+-0":
        return item
    item = _SPACE_AFTER_SIGN.sub(r"\1", item)
    if item[1:2].isdigit():  # "+23"; not "+-91", which stays unreadable
        item = item.removeprefix("+")
    return _LEADING_ZEROS.sub(r"\1", item)


def _without_unit(text: str) -> str:
    """``36 apples`` -> ``36``; text that is not one number and its unit is returned as it is."""
    match = _NUMBER_AND_UNIT.fullmatch(text)
    if match is None:
        return text
    words = match[2] or ""
    if (
        any(word.rstrip(".").lower() in _NOT_UNITS for word in words.split())
        or VALUE_CHANGING_WORD.search(words) or HEDGE_WORD.search(words) or NUMBER_IN_WORDS.search(words)
    ):  # fmt: skip
        return text
    return match[1]


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
        inner = _TIMES_I.sub("", inner)  # "3 + 3 \\cdot i"
        return inner if _COMPLEX.fullmatch(inner) else None
    if kind == "fraction":
        if _INTEGER.fullmatch(text):
            text = f"{text}/1"  # the scorer reads fractions only: 1 is 1/1
        return text if _FRACTION.fullmatch(text) else None
    if numbers == 1:
        text = _without_unit(text)
    parts = _LIST_SEPARATOR.split(text)
    if len(parts) > numbers:
        return None
    items: list[str] = []
    for item in parts:
        item = _ROOT_NAME.sub("", item.strip())
        plus_minus = _PLUS_MINUS.fullmatch(item)
        items += [f"-{plus_minus[1]}", plus_minus[1]] if plus_minus else [_plain_number(item)]
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
