"""Cheap, exact canonical forms of answers: the grader's fast path and its text rules.

Nothing here evaluates an expression: numbers are read with ``fractions.Fraction`` from
strings that a strict regex has already accepted, so a hostile answer stays inert text.
"""

from __future__ import annotations

import re
from fractions import Fraction

MINUS_SIGNS = str.maketrans({"\u2212": "-", "\u2012": "-", "\u2013": "-", "\ufe63": "-", "\uff0d": "-"})
_SPACING = re.compile(r"\\[!,;:> ]|~|\\left|\\right|\\displaystyle|\\mathrm\{\s*\}")
# Spacing between two digits ("1 2", "1~2", "1\\;2", "1\\,2", "1$$2", "1\\quad 2", "1\\ldots 2")
# parts two numbers, never twelve, unless a thin one groups thousands ("1 000", "12\\;345", "1\\,000").
_THOUSANDS_GAP = r"(?:\s|~|\\[ ;:>,]|\$)+"
_DIGIT_GAP = r"(?:\s|~|\\[ ;:>,]|\$|\\q?quad(?![A-Za-z])|\\[lcv]?dots(?![A-Za-z])|\\hspace\*?\{[^{}]*\})+"
_SPACE_BETWEEN_DIGITS = re.compile(rf"(?<=\d){_DIGIT_GAP}(?=\d)")
_SPACED_THOUSANDS = re.compile(rf"(?<![\d.])\d{{1,3}}(?:{_THOUSANDS_GAP}\d{{3}})+(?![\d])")
# Decimals grouped the same way after the point: "3.141\\,59", "0.000\\,01".
_SPACED_DECIMALS = re.compile(rf"(?<=\d\.)\d{{3}}(?:{_THOUSANDS_GAP}\d{{3}})*{_THOUSANDS_GAP}\d{{1,3}}(?![\d])")
_DOLLARS_BETWEEN_DIGITS = re.compile(r"(?<=\d)\s*\$+\s*(?=\d)")
_KEPT_SPACE = "\ue000"  # private use: survives the removal of spacing, then becomes one space
_FRAC_ALIASES = re.compile(r"\\[dt]frac")
# "\\mathbf{12.5}", "\\text{0.5}": math-verify reads a decimal in a font as no number (an integer it reads).
_NUMBER_IN_FONT = re.compile(
    r"\\(?:text|textbf|textrm|textnormal|textit|mathrm|mathbf|mathit|boldsymbol|mbox)\s*\{\s*(-?[0-9]+\.[0-9]+)\s*\}"
)
# "0.5." in a box: the full stop ends the sentence.
_FULL_STOP_AFTER_DECIMAL = re.compile(r"(?<=[0-9])\.\s*$")
_TEXT_WRAPPER = re.compile(r"\\(?:text|textbf|mathrm|mathbf|boldsymbol|mbox|textit)\{([^{}]*)\}")
_THOUSANDS = re.compile(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_DECIMAL = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")
_SCIENTIFIC = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))[eE]([+-]?\d{1,3})$")
_SLASH_FRACTION = re.compile(r"^([+-]?\d+)/(\d+)$")
# "6.67\\times10^{-11}", "10^{-7}", "3\\cdot10^8" (spaces already removed).
_POWER_OF_TEN = re.compile(r"^(?:([+-]?(?:\d+(?:\.\d*)?|\.\d+))\\(?:times|cdot))?10\^\{?([+-]?\d{1,3})\}?$")
_LATEX_FRACTION = re.compile(r"^([+-]?)\\frac\{?([+-]?\d+)\}?\{?(\d+)\}?$")
_MIXED_NUMBER = re.compile(r"(-?)(\d+)\s+(\d+)/(\d+)")
_PERCENT_WORD = re.compile(r"(?<!\s)\s*\\text\{\s*percent\s*\}|(?<!\s)\s+percent\b")  # from a run's start only
_MATRIX_KIND = re.compile(r"\\(begin|end)\{(?:bmatrix|Bmatrix|matrix|smallmatrix)\}")
# "sqrt(3)" and "√3" are plain-text roots; math-verify's LaTeX parser reads "-1 + sqrt(3)"
# as a product of letters, so they are rewritten as \sqrt{...} (bounded: no nesting).
_PLAIN_SQRT = re.compile(r"(?<![\\A-Za-z])sqrt\s*\(([^()]{1,200})\)")
_RADICAL_SIGN = re.compile(r"\u221a\s*(?:\(([^()]{1,200})\)|\{([^{}]{1,200})\}|(\d+(?:\.\d+)?|[A-Za-z]))")
_CHOICE = re.compile(r"^\(?([A-Za-z])\)?[.:]?$")
_WORDS = re.compile(r"^[A-Za-z][A-Za-z' -]*[A-Za-z]$")

MAX_NUMBER_DIGITS = 400
MAX_ROOT_NESTING = 4


def latex_friendly(answer: str) -> str:
    """Plain-text spellings math-verify's LaTeX parser misreads, rewritten as LaTeX."""
    text = answer.translate(MINUS_SIGNS)
    text = text.replace("<=", "\\leq ").replace(">=", "\\geq ").replace("\u2264", "\\leq ").replace("\u2265", "\\geq ")
    text = text.replace("\u00b0", "^\\circ").replace("\\$", "")
    # math-verify deletes math delimiters, and "1$$2" became 12.
    text = _DOLLARS_BETWEEN_DIGITS.sub(" ", text)
    text = _PERCENT_WORD.sub(r"\\%", text)
    if "{" in text:
        text = _NUMBER_IN_FONT.sub(r"\1", text)
    if "." in text:
        text = _FULL_STOP_AFTER_DECIMAL.sub("", text)
    text = _MATRIX_KIND.sub(r"\\\1{pmatrix}", text)  # bracket style is typography (vmatrix, a determinant, is not)
    for _ in range(MAX_ROOT_NESTING):  # innermost first: sqrt(sqrt(2)) takes two rounds
        if "sqrt" not in text:
            break
        text, rewritten = _PLAIN_SQRT.subn(r"\\sqrt{\1}", text)
        if not rewritten:
            break
    if "\u221a" in text:
        text = _RADICAL_SIGN.sub(lambda m: "\\sqrt{" + next(g for g in m.groups() if g is not None) + "}", text)
    mixed = _MIXED_NUMBER.fullmatch(text.strip())
    if mixed:
        sign, whole, numerator, denominator = mixed.groups()
        text = f"{sign}{int(whole) * int(denominator) + int(numerator)}/{denominator}"
    return text


def clean(answer: str) -> str:
    """Unicode minus signs, LaTeX spacing, ``\\dfrac`` and ``{,}`` made uniform; spaces removed,
    except one between two digits that do not group thousands."""
    text = mark_digit_gaps(latex_friendly(answer), _KEPT_SPACE)
    text = _SPACING.sub("", text)
    text = _FRAC_ALIASES.sub(r"\\frac", text)
    text = text.replace("{,}", ",").replace("\\%", "%").strip()
    if _THOUSANDS.match(text):  # before spaces go: "32, 349" is a list, "32,349" a number
        text = text.replace(",", "")
    return re.sub(r"\s+", "", text).replace(_KEPT_SPACE, " ")


def mark_digit_gaps(text: str, mark: str) -> str:
    """Spacing between two digits removed where it groups thousands (``1\\,000`` -> ``1000``) and
    replaced by ``mark`` elsewhere (``1\\;2`` -> ``1{mark}2``), so that removing spacing later
    cannot join two numbers into one."""
    text = _SPACED_THOUSANDS.sub(lambda grouped: _SPACE_BETWEEN_DIGITS.sub("", grouped.group()), text)
    if "." in text:
        text = _SPACED_DECIMALS.sub(lambda grouped: _SPACE_BETWEEN_DIGITS.sub("", grouped.group()), text)
    return _SPACE_BETWEEN_DIGITS.sub(mark, text)


def has_digit_gap(text: str) -> bool:
    """Whether spacing parts two digits of ``text`` (``3\\;4``, ``3 4``), other than spacing that
    groups thousands (``1\\,000``) or a mixed number's (``3 1/2``)."""
    if _SPACE_BETWEEN_DIGITS.search(text) is None or _MIXED_NUMBER.fullmatch(text.strip()):
        return False
    return _KEPT_SPACE in mark_digit_gaps(text, _KEPT_SPACE)


def unwrap_text(answer: str) -> str:
    """``\\text{Monday}`` -> ``Monday``; other text is left as it is."""
    previous = None
    text = answer
    while previous != text:
        previous, text = text, _TEXT_WRAPPER.sub(r"\1", text)
    return text.strip()


def exact_number(cleaned: str) -> Fraction | None:
    """The exact value of a plain number (integer, decimal, a/b, \\frac{a}{b}, 1.5e3, 1.5\\times10^{3}), else None."""
    if len(cleaned) > MAX_NUMBER_DIGITS:
        return None
    text = cleaned.lstrip("+") if cleaned.startswith("+") else cleaned
    if _DECIMAL.match(text):
        return Fraction(text)
    scientific = _SCIENTIFIC.match(text)
    if scientific:
        return Fraction(scientific.group(1)) * Fraction(10) ** int(scientific.group(2))
    power = _POWER_OF_TEN.match(text)
    if power:
        return Fraction(power.group(1) or 1) * Fraction(10) ** int(power.group(2))
    slash = _SLASH_FRACTION.match(text)
    if slash and int(slash.group(2)) != 0:
        return Fraction(int(slash.group(1)), int(slash.group(2)))
    latex = _LATEX_FRACTION.match(text)
    if latex and int(latex.group(3)) != 0:
        value = Fraction(int(latex.group(2)), int(latex.group(3)))
        return -value if latex.group(1) == "-" else value
    return None


def choice_letter(answer: str) -> str | None:
    """``B``, ``(B)``, ``B.``, ``\\text{(B)}`` -> ``B``; anything else -> None."""
    match = _CHOICE.match(unwrap_text(answer).strip())
    return match.group(1).upper() if match else None


def plain_words(answer: str) -> str | None:
    """A text answer made only of words (``yes``, ``New York``), lower-cased; else None."""
    text = unwrap_text(answer).strip().rstrip(".").strip()
    if len(text) >= 2 and _WORDS.match(text) and "\\" not in text:
        return " ".join(text.lower().split())
    return None
