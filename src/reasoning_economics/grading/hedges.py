"""Words that hedge a number or change its value ("8 (or 15)", "8 thousand", "8 squared"),
shared by final-answer extraction, the builtin answer-shape rule and math-verify grading: an
answer that offers two values, or names one and then changes it, is no single value and is
graded wrong whichever value is gold.
"""

from __future__ import annotations

import re

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
_TEXT_CONTENT = re.compile(r"\\(?:text|textbf|textit|textrm|mathrm|mbox|operatorname)\s*\{([^{}]*)\}")
_EXPONENT = re.compile(r"\^\s*(?:\{[^{}]*\}|[0-9]+)")
_NUMBER = re.compile(r"[0-9]")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
# "x = 3 \\lor x = 4": math-verify grades the last disjunct.
_LOGICAL_OR = re.compile(r"\\(?:lor|vee)(?![A-Za-z])")
# "1100_2", "239_{246}": a number in another base, which math-verify reads as the digits before it.
_BASE_SUBSCRIPT = re.compile(r"[0-9]_\s*\{?\s*[0-9]")


def why_not_one_value(answer: str) -> str | None:
    """Why ``answer`` is not the single value math-verify would read from it, or None:
    ``"hedged"`` when it offers another value (``3\\text{ (or 4)}``, ``3\\text{ cm}, 4\\text{ cm}``,
    ``x = 3 \\lor x = 4``) or changes it in words (``8\\text{ thousand}``), ``"other_base"`` for a
    number in another base (``1100_2``). A unit (``5\\text{ cm}^2``) or a text answer
    (``\\text{2 apples}``) is one value."""
    if _LOGICAL_OR.search(answer):
        return "hedged"
    if _BASE_SUBSCRIPT.search(answer):
        return "other_base"
    texts = _TEXT_CONTENT.findall(answer)
    if not texts:
        return None
    pieces = _TEXT_CONTENT.split(_EXPONENT.sub(" ", answer))[::2]  # what lies between the texts
    numbered = [index for index, piece in enumerate(pieces) if _NUMBER.search(piece)]
    if not numbered:
        return None  # a text answer
    outside = _PLAIN_NUMBER.fullmatch(pieces[numbered[0]].strip())
    value = float(outside.group()) if outside else None  # "5\\text{ (five)}" restates it
    if numbered[0] != numbered[-1] or any(
        names_another_number(text, value) or VALUE_CHANGING_WORD.search(text) or HEDGE_WORD.search(text)
        for text in texts
    ):
        return "hedged"
    return None
