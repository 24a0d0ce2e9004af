"""Words that hedge a number or change its value ("8 (or 15)", "8 thousand", "8 squared"),
shared by final-answer extraction, the builtin answer-shape rule and math-verify grading: an
answer that offers two values, or names one and then changes it, is no single value and is
graded wrong whichever value is gold.
"""

from __future__ import annotations

import re

from reasoning_economics.grading.normalize import has_digit_gap

# - a word that turns the number into another value: a scale ("8 thousand", "3 dozen"), an
#   operation ("8 squared", "5 factorial", "8 divided by 5"), a spelt-out fraction or decimal
#   ("8 and a half", "8 thirds"), a base or a modulus ("8 in base 2", "8 mod 5"). Not "times" or
#   "point": "6 times" and "1 point" answer "how many", and "8 times 5" or "8 point 5" name a
#   second number, which refuses them anyway (names_another_number).
#   Not "percent": "40 percent" answers "what percent" as "40%" does, and grades so today;
VALUE_CHANGING_WORD = re.compile(
    r"(?<![A-Za-z])(?:hundreds?|thousands?|millions?|billions?|trillions?|dozens?|squared|cubed|factorial|power|root|"
    r"divided|multiplied|plus|minus|raised|increased|decreased|reduced|doubled|tripled|halved|"
    r"half|halves|thirds|quarters|fourths|fifths|sixths|sevenths|eighths|ninths|tenths|hundredths|"
    r"thousandths|base|mod|modulo|remainder)(?![A-Za-z])",
    re.IGNORECASE,
)
# - a word that offers an alternative or doubts the value: "8 (or 15)", "8, maybe 15", "8 unless
#   it is 15", "8 vs 15", "8 if we count the ends", "8 more than that", "8 at least". A range
#   ("8 to 15", "8 through 15") needs no word here: the second number refuses it. Words common in
#   honest asides ("either way", "according to", "nothing else") are left out for that reason;
#   the cost of the list is that "12 cm (or 120 mm)" restating the value is refused too;
ALTERNATIVE_WORDS = r"or|nor|maybe|possibly|perhaps|probably|alternatively|unless|vs|versus"
ALTERNATIVE_WORD = re.compile(rf"(?<![A-Za-z])(?:{ALTERNATIVE_WORDS})(?![A-Za-z])", re.IGNORECASE)
HEDGE_WORD = re.compile(rf"(?<![A-Za-z])(?:{ALTERNATIVE_WORDS}|if|than|at\s+(?:least|most))(?![A-Za-z])", re.IGNORECASE)
# - another number, in digits or in words ("8 (15)", "8 to fifteen"); words that spell the
#   number itself restate it ("8 (eight)", "-3 (minus three)"). A lone "one" is read as the
#   pronoun ("8, the only one that works"), not as 1. Neither an exponent ("12 cm^2") nor a
#   digit inside a name ("2 moles of H2O") is a number; these words are told apart by letters,
#   not by \b, so that "8 (or15)" still reads "or".
_DIGIT = re.compile(r"(?<![A-Za-z^])(?<!\^\{)\d")
_UNIT_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_TEENS_WORDS = ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
                "eighteen", "nineteen")
_TENS_WORDS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_VALUE_OF_WORD = {
    "zero": 0,
    **{word: value for value, word in enumerate(_UNIT_WORDS, start=1)},
    **{word: value for value, word in enumerate(_TEENS_WORDS, start=10)},
    **{word: value for value, word in zip(range(20, 100, 10), _TENS_WORDS)},
}
NUMBER_IN_WORDS = re.compile(
    rf"\b(?:(?P<sign>minus|negative)\s+)?(?:(?P<tens>{'|'.join(_TENS_WORDS)})(?:[\s-](?P<unit>{'|'.join(_UNIT_WORDS)}))?"
    rf"|(?P<word>zero|{'|'.join(_UNIT_WORDS + _TEENS_WORDS)}))\b",
    re.IGNORECASE,
)


def names_another_number(text: str, value: float | None) -> bool:
    """Whether ``text`` holds a digit, or a number in words whose value is not ``value``."""
    if _DIGIT.search(text):
        return True
    for spelt in NUMBER_IN_WORDS.finditer(text):
        if spelt["tens"]:
            spelt_value = _VALUE_OF_WORD[spelt["tens"].lower()] + _VALUE_OF_WORD.get((spelt["unit"] or "").lower(), 0)
        elif spelt["word"].lower() == "one" and not spelt["sign"]:
            continue  # the pronoun: "8, the only one that works"
        else:
            spelt_value = _VALUE_OF_WORD[spelt["word"].lower()]
        if value is None or (-spelt_value if spelt["sign"] else spelt_value) != value:
            return True
    return False


# LaTeX text inside an answer: math-verify reads the number before it and drops the text, so
# "3\\text{ (or 4)}", "3\\text{ apples and }4" and "8\\text{ thousand}" were graded as 3 and 8.
# Every command math-verify reads as text is one ("3\\textnormal{ (or 4)}", "8\\mathbf{ thousand}").
_TEXT_COMMAND = re.compile(
    r"\\(?:text|textbf|textit|textrm|textnormal|textsf|texttt|textup|textsc|emph|mathrm|mathit|mathbf|"
    r"mathsf|mathtt|mathcal|mathscr|mathbb|mathfrak|boldsymbol|mbox|hbox|operatorname)\s*\{"
)
_EXPONENT = re.compile(r"\^\s*(?:\{[^{}]*\}|[0-9]+)")
_NUMBER = re.compile(r"[0-9]")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
# "x = 3 \\lor x = 4", "3 \u2228 4": math-verify grades the last value.
_LOGICAL_OR = re.compile(r"\\(?:lor|vee)(?![A-Za-z])|\u2228")
# "\\frac12 \\cup \\frac34", "3 \\cup \\[4\\]": a union of two numbers, of which math-verify grades the
# last. Only against a gold number: a union of intervals answers "x \\neq 2".
_UNION = re.compile(r"\\cup(?![A-Za-z])|\u222a")
# "1100_2", "239_{246}", "1100_{(2)}", "1100_{two}", "1100\\;_2": a number in another base, which
# math-verify reads as the digits before it.
_BASE_SUBSCRIPT = re.compile(r"[0-9](?:\s|\\[,;:! ])*_")
# "0 o r 1", "2 x 3": letters between two numbers, which math-verify multiplies (0·o·r·1 is 0).
# Not "1.5e3" (one e, unspaced) and not a command's name ("3 \\times 4").
_LETTERS_BETWEEN_NUMBERS = re.compile(r"[0-9](\s*(?<!\\)(?<![A-Za-z])[A-Za-z]+(?:\s+[A-Za-z]+)*\s*)(?=[0-9])")
# "not 0", "maybe 0", "9 (possibly 0)", "unsure0", "not\\ $0$", "μάλλον 0": a word before a
# number, which math-verify multiplies in too, so that each was 0 and right for gold 0. Not a
# command ("\\frac12"), a function ("sqrt 2", "log 8") or one letter ("x 2"). Spaces, brackets,
# "$" and LaTeX spacing may stand between them.
_WORD_BEFORE_NUMBER = re.compile(
    r"(?<![\\\w])(?!(?:sqrt|sin|cos|tan|cot|sec|csc|log|ln|lg|exp|arcsin|arccos|arctan)(?![A-Za-z]))"
    r"[^\W\d_]{2,}(?:[\s(${~]|\\[,;:! {]|\\q?quad(?![A-Za-z]))*(?=[0-9])"
)
# Two values in rows ("\\frac12 \\\\ \\frac34" in cases) or either side of a bar ("\\frac12 |
# \\frac34"; bars in pairs are absolute values): math-verify, unable to read the whole, grades the
# last fraction it finds. Likewise "\\mid", "\\land" and arrows between two values (after the last "=",
# so "x^2 = 4 \\Rightarrow x = 2" and "P(A \\mid B) = 0.5" are read for their last value only).
_VALUE_SEPARATOR = re.compile(
    r"\\\\|(?<!\\)\||\\(?:mid|parallel|land|wedge|to|iff|implies|rightarrow|Rightarrow|leftrightarrow)(?![A-Za-z])"
    r"|[\u2192\u21d2\u2227]"
)
# "\\frac 1 2", "\\binom 5 2": one-digit arguments, written apart, which are no two numbers.
_ONE_DIGIT_ARGUMENTS = re.compile(r"\\((?:[dtc]?frac|binom))\s*([0-9])\s*([0-9])")
_BRACE_OR_ESCAPE = re.compile(r"\\.|[{}]", re.DOTALL)
# Commands that hide, colour, cancel, label or stack a second value beside the first: nothing an
# answer needs, and math-verify reads one of the values ("\\frac12\\hphantom{\\frac34}", "3 \\cancel{4}").
_HIDING_COMMAND = re.compile(
    r"\\(?:[hv]?phantom|color|textcolor|colorbox|tag|label|footnote|cancel|bcancel|xcancel|sout|overset|"
    r"underset|stackrel|smash|[lr]lap|mathrlap|mathllap|hspace)(?![A-Za-z])"
)
# A digit in a subscript or an exponent is no number beside the next: "\\log_2 8", "10^3 \\;".
_SCRIPT = re.compile(r"[_^]\s*(?:\{[^{}]*\}|[0-9])")


def _text_spans(answer: str) -> list[tuple[int, int, str]]:
    """(start, end, content) of each text command, its braces balanced (``\\text{ (or {4})}``); an
    unclosed one runs to the end."""
    spans = []
    position = 0
    while (opening := _TEXT_COMMAND.search(answer, position)) is not None:
        depth, index = 1, opening.end()
        while index < len(answer) and depth:
            character = answer[index]
            if character == "\\":
                index += 2  # "\\{" and "\\}" are braces in the text, not around it
                continue
            depth += (character == "{") - (character == "}")
            index += 1
        content_end = index - 1 if not depth else len(answer)
        spans.append((opening.start(), min(index, len(answer)), answer[opening.end() : content_end]))
        position = index
    return spans


def _separates_two_values(answer: str) -> bool:
    if _VALUE_SEPARATOR.search(answer) is None:
        return False
    digits = [match.start() for match in _NUMBER.finditer(answer)]
    if not digits:  # "|x|", "x \\to \\infty": no number on either side
        return False
    odd_bars = answer.count("|") % 2
    return any(
        digits[0] < separator.start() and digits[-1] >= separator.end() and (separator.group() != "|" or odd_bars)
        for separator in _VALUE_SEPARATOR.finditer(answer)
    )


def _letters_between_numbers(answer: str) -> bool:
    for between in _LETTERS_BETWEEN_NUMBERS.finditer(answer):
        letters = between.group(1)
        if letters.lower() != "e":  # "1.5e3"; a spaced " e " is a letter
            return True
    return False


def has_unbalanced_braces(answer: str) -> bool:
    """Whether a ``}`` closes nothing or a ``{`` stays open (``\\{`` and ``\\}`` are characters).

    math-verify reads an answer wrapped as ``\\boxed{…}``: a stray ``}`` ended that box, so
    ``3} or {4`` was graded as 3."""
    depth = 0
    for token in _BRACE_OR_ESCAPE.finditer(answer):
        if token.group() == "{":
            depth += 1
        elif token.group() == "}":
            depth -= 1
            if depth < 0:
                return True
    return depth != 0


def _outside_texts(answer: str, spans: list[tuple[int, int, str]]) -> list[str]:
    """What lies before, between and after the text commands of ``answer``."""
    bounds = [0] + [edge for start, end, _ in spans for edge in (start, end)] + [len(answer)]
    return [answer[bounds[index] : bounds[index + 1]] for index in range(0, len(bounds), 2)]


def why_not_one_value(answer: str, *, against_a_number: bool = False) -> str | None:
    """Why ``answer`` is not the single value math-verify would read from it, or None:
    ``"hedged"`` when it offers another value (``3\\text{ (or 4)}``, ``3\\text{ cm}, 4\\text{ cm}``,
    ``x = 3 \\lor x = 4``) or changes it in words (``8\\text{ thousand}``), ``"other_base"`` for a
    number in another base (``1100_2``). A unit (``5\\text{ cm}^2``, ``9.8\\ \\mathrm{m\\,s^{-2}}``) or a
    text answer (``\\text{2 apples}``) is one value.

    ``against_a_number`` (the gold is one number) also refuses two numbers that math-verify would
    read one of, or add up: ``3\\;4``, ``3\\phantom{4}``, ``0 o r 1``, ``\\frac12 \\cup \\frac34``,
    ``\\frac12 | \\frac34``, rows of cases. Only what follows the last ``=`` is read for them, the value
    math-verify grades (``P(X=1|Y=2) = \\frac13``, a determinant ``= -2``)."""
    if _LOGICAL_OR.search(answer):
        return "hedged"
    if _BASE_SUBSCRIPT.search(answer):
        return "other_base"
    spans = _text_spans(answer) if "\\" in answer else []
    if _hedged_in_texts(answer, spans) or (against_a_number and _two_numbers(answer, spans)):
        return "hedged"
    return None


def _hedged_in_texts(answer: str, spans: list[tuple[int, int, str]]) -> bool:
    """Whether ``answer``'s texts hedge, change its number or name another, or numbers stand
    on both sides of a text (``3\\text{ cm}, 4\\text{ cm}``)."""
    if not spans:
        return False
    pieces = _outside_texts(answer, spans)
    # A unit's exponents are no numbers: "m\\,s^{-2}".
    texts = [_EXPONENT.sub(" ", content) for _, _, content in spans]
    numbered = [index for index, piece in enumerate(pieces) if _NUMBER.search(_EXPONENT.sub(" ", piece))]
    if not numbered:
        return False  # a text answer
    outside = _PLAIN_NUMBER.fullmatch(pieces[numbered[0]].strip())
    value = float(outside.group()) if outside else None  # "5\\text{ (five)}" restates it
    return numbered[0] != numbered[-1] or any(
        names_another_number(text, value) or VALUE_CHANGING_WORD.search(text) or HEDGE_WORD.search(text)
        for text in texts
    )


def _last_equals_outside(answer: str, spans: list[tuple[int, int, str]]) -> int:
    """Where the last "=" outside the text spans (sorted, apart) is, else -1."""
    position = answer.rfind("=")
    for start, end, _ in reversed(spans):
        if position < 0 or position >= end:
            break
        if position >= start:  # inside this text: look before it
            position = answer.rfind("=", 0, start)
    return position


def _two_numbers(answer: str, spans: list[tuple[int, int, str]]) -> bool:
    """See ``against_a_number`` in :func:`why_not_one_value`."""
    # The last "=" outside a text: "0 o r 1 \\text{=}" ends in nothing math-verify reads.
    cut = _last_equals_outside(answer, spans) + 1
    value = answer[cut:]
    if _UNION.search(value) or _HIDING_COMMAND.search(value):
        return True
    spans = [(start - cut, end - cut, content) for start, end, content in spans if start >= cut]
    outside_texts = " ".join(_outside_texts(value, spans)) if spans else value
    if "_" in outside_texts or "^" in outside_texts:
        outside_texts = _SCRIPT.sub("@", outside_texts)
    if "\\" in outside_texts:
        outside_texts = _ONE_DIGIT_ARGUMENTS.sub(r"\\\1{\2}{\3}", outside_texts)
    return (
        _separates_two_values(outside_texts)
        or _letters_between_numbers(outside_texts)
        or _WORD_BEFORE_NUMBER.search(outside_texts) is not None
        or has_digit_gap(outside_texts)
    )
