"""Final-answer extraction: which part of a response is the answer.

Rules, in order, applied first to the text after the last ``</think>`` and then, only if
that part holds no answer, to the whole response (so a box inside the thinking counts only
when no final answer follows it):

1. the last ``<answer>…</answer>`` block (a box inside it wins over its plain text);
2. of the last ``\\boxed{…}`` / ``\\fbox{…}`` (nested braces; ``\\boxed 5`` too; a box inside
   another is part of its content, read as on the page: ``\\boxed{\\fbox{5}9}`` is 59; boxes that list
   values, ``x = \\boxed{-2}`` and ``x = \\boxed{3}``, are one answer ``-2, 3``) and the last
   "The answer is X" / "Final Answer: X" / "Answer: X" / "#### X" phrase that states a value,
   the one that comes later: a closing statement overrides the boxes of intermediate steps,
   but "I hope this answer is helpful!" states no value and overrides nothing. A phrase
   followed by a sentence ("The largest $n$ is 34.") gives the last number or formula of that
   sentence; a number followed by a word or an aside ("12 dollars", "5, since 5*5 = 25")
   gives that number. Either gives the whole sentence instead, which grades as no single
   value, when words hedge the number or change its value ("8 (or 15)", "8, maybe 15",
   "8 to 15", "8 thousand", "8 squared", "8 and a half"). With no box, a phrase stating only
   words ("The answer is yes") counts. Words between the phrase and the value that change
   nothing are skipped ("The answer is thus 5");
3. with no anchor: a short bare response is the answer as a whole, below an "Answer" heading
   if it has one (unless it is a word and a formula, "Answer $9$"); otherwise the last
   ``$…$``-style math block or plain number, whichever comes last.

When the answer is found only in the thinking, the ``<think>`` tags are not part of it. An
empty final box is an answer: the empty string, which grades as wrong. Every scan is linear in
the length of the text, and what follows an anchor is read for ``MAX_ANCHOR_SCAN_CHARS`` at
most (``MAX_PHRASE_SCAN_CHARS`` after an answer phrase), so the most costly hostile megabytes
found (eight phrases, each before thousands of ``$``, or then a million of them) take 40-70 ms,
against ~15 ms for a megabyte of plain words (2-core EPYC; ``benchmarks/hostile_extraction.py``).
"""

from __future__ import annotations

import bisect
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice

from reasoning_economics.grading.hedges import (
    ALTERNATIVE_WORD,
    HEDGE_WORD,
    NUMBER_IN_WORDS,
    VALUE_CHANGING_WORD,
    names_another_number,
)

THINK_END = "</think>"
THINK_START = "<think>"

# How many of the last \boxed occurrences, and of the last answer phrases, are tried before
# giving up: hostile repetitions must not turn the scan quadratic.
MAX_BOX_ATTEMPTS = 8
MAX_PHRASE_ATTEMPTS = 8
# How far past a box's opening brace, or an answer phrase, the answer is looked for. No answer
# is that long (the grader refuses those over 2,000 characters), and reading each anchor to the
# end of a hostile megabyte cost a second or more.
MAX_ANCHOR_SCAN_CHARS = 10_000
# After an answer phrase, only the sentence stating the answer is read, and each of the last
# phrases is tried: eight phrases, each before 10,000 "$", cost 220 ms. No answer the grader
# takes is longer than 2,000 characters.
MAX_PHRASE_SCAN_CHARS = 2_500
# With no anchor, the answer is looked for in this much of the text's end.
UNANCHORED_TAIL_CHARS = 20_000
BARE_ANSWER_MAX_CHARS = 500
MAX_WRAPPER_LAYERS = 8

_BOX_START = re.compile(r"\\(?:boxed|fbox)\b\s*")
_BRACE_OR_ESCAPE = re.compile(r"\\.|[{}]", re.DOTALL)
_BOX_COMMAND_OR_BRACE = re.compile(r"\\(?:boxed|fbox)\b\s*\{?|\\.|[{}]", re.DOTALL)
# Each alternative reads a whitespace/bold run with one unambiguous loop, so a run of spaces
# with no colon after it fails in linear time (two adjacent \s* made it quadratic).
_ANSWER_PHRASE = re.compile(
    r"(?:final\s+answer(?:\s+is)?|answer\s+is|answer(?:\s|\*)*[:：]|####)(?:\s|\*)*[:：]?[ \t]*",
    re.IGNORECASE,
)
_ANSWER_PHRASE_LOWER = re.compile(_ANSWER_PHRASE.pattern)
# Words of prose (not LaTeX commands, not \text{} content): two or more mean a sentence.
_PROSE_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{3,}")
_LATEX_COMMAND_OR_TEXT = re.compile(r"\\(?:text|mathrm|textbf|begin|end)\{[^{}]*\}|\\[A-Za-z]+|\$[^$]*\$")
# A word of two or more letters, then a space, colon or comma; not a function name ("sin x").
_OPENING_WORD = re.compile(r"(?!(?:sqrt|sin|cos|tan|cot|sec|csc|log|ln|exp|lim|max|min|gcd|lcm|det)\b)[A-Za-z]{2,}[\s:,]")
_MATH_DELIMITER = re.compile(r"(?<!\\)\$\$|(?<!\\)\$|\\\(|\\\)|\\\[|\\\]")
_CLOSER_OF = {"$$": "$$", "$": "$", "\\(": "\\)", "\\[": "\\]"}
_NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?(?:/\d+)?%?")
_SENTENCE_END = re.compile(r"\.(?=\s+[A-Za-z])|\.\s*$")
# What may follow a number that is the whole answer: a word ("dollars"), an abbreviation
# ("i.e."), or an aside in parentheses. Not "and"/"or" (a list: "2 and 3") and not a factor
# ("4 sqrt(2)", "2 pi", "3 times 4").
_ASIDE_AFTER_NUMBER = re.compile(
    r",?\s*\(|,?\s+(?!(?:and|or|pi|sqrt|sin|cos|tan|log|ln|exp|times|cdot|over|plus|minus)\b)"
    r"(?:[A-Za-z]{2,}|[A-Za-z]\.[A-Za-z])"
)
# That shape is not enough: what follows the number must not make the answer another value, or
# "The answer is 8 (or 15)" grades as 8 (right for gold 8) and "8 thousand" as 8 (right for gold
# 8, wrong for 8000). The words read are those before the first that opens a reason or a
# rejected value (_REASON_OPENER): a digit there is arithmetic ("5, since 5*5 = 25", "5 apples
# (after giving 3 away)", "12 (not 13)"), not a second answer. Before it, the answer is refused
# for any of:
# - a word that turns the number into another value, or offers an alternative, or another
#   number: see reasoning_economics.grading.hedges.
# Words after which the rest is a reason or a rejected value, not part of the answer. Not "so",
# "hence" or "i.e.": what follows them may be the real answer ("5, so 25 in all"); not "by"
# ("8 by 5" is a size) nor "as well" ("8 (as well as 15)"). The trade-off: a hedge after a
# reason ("8, since 15 seemed too big") is not read, so "8" is the answer; it names only one
# value, so it cannot pay for a second one. Refusing every digit instead would refuse the
# honest asides above, and "12 (not 13)" is one. An "=" opens arithmetic: "2820 (= 2819 + 1)";
# an approximation or a restatement follows its value ("$\\sqrt{2}$, approximately 1.414",
# "$0.5$, i.e. one half").
_REASON_OPENER = re.compile(
    r"\b(?:since|because|as(?!\s+well\b)|after|given|using|which|where|not|approximately|approx|about|roughly|"
    r"around|nearly|namely|equivalently|that\s+is|ie)\b|\bi\.\s?e\.|=|\\approx|\u2248",
    re.IGNORECASE,
)
# A reason given after the answer (_REASON_OPENER also lists words that qualify it).
_JUSTIFICATION = re.compile(r",?\s+(?:since|because)\b", re.IGNORECASE)
_REJECTED_BEFORE = re.compile(
    r"\b(?:not|rather\s+than|instead\s+of|anything\s+but|other\s+than|except(?:\s+for)?|excluding)\Z",
    re.IGNORECASE,
)
# "between 9 and 5", "from 9 to 5": the last number closes a range or a list that another
# number opens, so it is one of two (graded 5 for gold 5).
_JOINED_TO_A_NUMBER_BEFORE = re.compile(
    r"[0-9]\$*\s*(?:and|to|through|nor|vs\.?|versus)\Z", re.IGNORECASE
)
# Words between an answer phrase and its value that change nothing: "The answer is thus 5",
# "The answer is, therefore, $5$". Read as the answer, "thus 5" was a product of letters, wrong
# for gold 5 even after a correct box.
_FILLER_AFTER_PHRASE = re.compile(
    r"(?:[,\s]*(?:thus|therefore|then|hence|simply|just|exactly|precisely|indeed|clearly|also|actually|"
    r"obviously|finally|in\s+fact|equal\s+to|given\s+by|found\s+to\s+be)(?![A-Za-z]))+[\s,:]*",
    re.IGNORECASE,
)
# A heading over a bare answer: "## Answer\n5", "**Final Answer**\n\n5".
_ANSWER_HEADING = re.compile(r"[#*\s]*(?:final\s+)?answer[#*:\s]*\n", re.IGNORECASE)
# An answer states a value when it holds a digit, LaTeX or an operator, or is one letter (a
# variable or a choice, "(B)"): "helpful!", "correct" and "above" state none.
_STATES_A_VALUE = re.compile(r"[\d\\^_=+*/√π∞]|^\(?[A-Za-z]\)?$")


@dataclass(frozen=True)
class Extraction:
    """The extracted answer text and the rule that found it (``boxed``, ``answer_tag``, ...)."""

    answer: str
    method: str


def split_thinking(text: str, end_marker: str = THINK_END) -> tuple[str, str]:
    """Split a response into (thinking, visible answer) at the last ``end_marker``.

    Without the marker there is no separate thinking: ``("", text)``; an opened but
    unclosed ``<think>`` means the whole response is thinking: ``(text, "")``.
    """
    cut = text.rfind(end_marker)
    if cut >= 0:
        thinking = text[:cut]
        start = thinking.find(THINK_START)
        if start >= 0:
            thinking = thinking[start + len(THINK_START):]
        return thinking, text[cut + len(end_marker):]
    if THINK_START in text:
        return text[text.find(THINK_START) + len(THINK_START):], ""
    return "", text


def _balanced_group(text: str, open_at: int) -> str | None:
    """Content of the ``{...}`` group opening at ``open_at``; escaped braces do not count.

    None when the group does not close within ``MAX_ANCHOR_SCAN_CHARS``.
    """
    depth = 0
    for token in _BRACE_OR_ESCAPE.finditer(text, open_at, open_at + MAX_ANCHOR_SCAN_CHARS):
        char = token.group()
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[open_at + 1 : token.start()]
    return None


def _box_starts_from_the_end(text: str) -> Iterator[re.Match[str]]:
    """The ``\\boxed``/``\\fbox`` commands of ``text``, last first, looking at no more than
    ``2 * MAX_BOX_ATTEMPTS`` places that start like one (``\\boxedx`` is not one).

    Found backwards with ``rfind`` from the end: listing every match first cost 110 ms for a
    megabyte of ``\\boxed{``, on every grade of such a response.
    """
    names = ("\\boxed", "\\fbox")
    found = [text.rfind(name) for name in names]
    for _ in range(2 * MAX_BOX_ATTEMPTS):
        at = max(found)
        if at < 0:
            return
        match = _BOX_START.match(text, at)
        if match is not None:
            yield match
        which = found.index(at)
        found[which] = text.rfind(names[which], 0, at)


def _last_box(text: str) -> tuple[int, str] | None:
    """(where its ``\\boxed`` starts, its content) for the last well-formed box, else None. A
    box inside another is part of the outer one's content: ``\\boxed{\\fbox{5}9}`` answers
    ``59``, not 5, which a grader reading boxes would have read alone, and
    ``\\boxed{x = \\boxed{3}}`` answers ``x = 3``."""
    box = _last_box_span(text)
    return None if box is None else (box[0], box[2])


def _last_box_span(text: str) -> tuple[int, int, str] | None:
    """:func:`_last_box` with where the box ends: (start, end, content)."""
    found: tuple[int, int, str] | None = None
    for match in islice(_box_starts_from_the_end(text), MAX_BOX_ATTEMPTS):
        box = _box_at(text, match)
        if box is None:
            continue
        if found is None or box[1] >= found[1]:  # the last box, or one around it
            found = box
    if found is None:
        return None
    content = found[2]
    for _ in range(MAX_WRAPPER_LAYERS):  # "\\boxed{\\boxed{5}}" is 5
        inner = _BOX_START.match(content)
        box = None if inner is None else _box_at(content, inner)
        if box is None or box[1] != len(content):
            break
        content = box[2]
    if "box" in content:
        content = strip_delimiters(_without_inner_boxes(content))  # "\\boxed{3}." is "3"
    return found[0], found[1], content


MAX_LISTED_BOXES = 8
"""The most boxes read as one list (each is read backwards from the last: a hostile megabyte of
boxes must not be walked whole); a longer list is graded on its last eight values."""
# Between two boxes of one list of values: "$x = \\boxed{-2}$ and $x = \\boxed{3}$", "\\boxed{1}, \\boxed{2}
# or \\boxed{3}". Only a separator, "$" and the name of the value may stand there.
_NAME = r"(?P<name>[A-Za-z])(?:_\{?[0-9A-Za-z]{1,3}\}?)?\s*="
_BETWEEN_LISTED_BOXES = re.compile(
    rf"\s*\$*\s*(?:,|;|,?\s*(?:and|or)(?![A-Za-z]))\s*\$*\s*(?:{_NAME}\s*)?\Z", re.IGNORECASE
)
_LISTED_BOX_GAP_ENDINGS = ("=", ",", ";", "and", "or")
"""How the text before a box that continues a list ends: a name's "=" or a separator."""
_NAME_BEFORE_BOX = re.compile(rf"{_NAME}\s*\Z")


def _listed_boxes(text: str, last: tuple[int, int, str]) -> str:
    """The content of the ``last`` box of ``text``, joined with ", " to the boxes before it that
    list values with it: ``x = \\boxed{-2}`` and ``x = \\boxed{3}`` answer ``-2, 3``, as
    math-verify reads them; the last box alone was graded wrong for the gold ``-2, 3``, and
    right for 3. Boxes named by different letters (``a = \\boxed{2}, b = \\boxed{5}``) are
    different quantities: only the last is the answer."""
    contents = [last[2]]
    names = set()
    start = last[0]
    for _ in range(MAX_LISTED_BOXES - 1):
        window = text[max(0, start - 200) : start]
        if not window.rstrip(" \t\n$")[-3:].lower().endswith(_LISTED_BOX_GAP_ENDINGS):
            # Nearly every box ("The answer is \boxed{42}"): the search below tried each of
            # the 200 places, which tripled the time of extracting an answer.
            break
        gap = _BETWEEN_LISTED_BOXES.search(window)
        if gap is None or not window[: gap.start()].endswith("}"):
            break
        before = text[: start - len(window) + gap.start()]
        box = _last_box_span(before)
        if box is None or box[1] != len(before) or not box[2]:
            break
        names.add((gap["name"] or "").lower())
        contents.append(box[2])
        start = box[0]
    if len(contents) == 1:
        return last[2]
    first_name = _NAME_BEFORE_BOX.search(text[max(0, start - 20) : start])
    names.add((first_name["name"] if first_name else "").lower())
    if len(names) > 1:
        return last[2]
    return ", ".join(reversed(contents))


def _without_inner_boxes(content: str) -> str:
    """``content`` with each box command and its braces removed, its content left in place, as
    it reads on the page: ``\\fbox{5}9`` is 59, ``\\boxed{4}\\quad\\boxed{7}`` two numbers. Left
    as groups (``{4}\\quad{7}``), the braces hid the digits from the checks for two numbers."""
    pieces, position = [], 0
    closes_a_box: list[bool] = []  # for each open group, whether a box opened it
    for token in _BOX_COMMAND_OR_BRACE.finditer(content):
        text = token.group()
        if text.startswith(("\\boxed", "\\fbox")):
            pieces.append(content[position : token.start()])
            position = token.end()
            if text.endswith("{"):
                closes_a_box.append(True)
        elif text == "{":
            closes_a_box.append(False)
        elif text == "}" and closes_a_box and closes_a_box.pop():
            pieces.append(content[position : token.start()])
            position = token.end()
    pieces.append(content[position:])
    return "".join(pieces)


def _box_at(text: str, match: re.Match[str]) -> tuple[int, int, str] | None:
    """(start, end, content) of the box whose command ``match`` found, if it is well formed."""
    start = match.end()
    if start < len(text) and text[start] == "{":
        content = _balanced_group(text, start)
        if content is not None:
            return match.start(), start + len(content) + 2, content.strip()
    elif start < len(text):
        token = re.match(r"[^\s$\\]+", text[start:start + 200])
        if token:
            return match.start(), start + token.end(), token.group(0)
    return None


def last_boxed_content(text: str) -> str | None:
    """Content of the last well-formed ``\\boxed{…}`` / ``\\fbox{…}`` (nested braces), else None."""
    box = _last_box(text)
    return None if box is None else box[1]


def _answer_tag_content(text: str) -> str | None:
    close = text.rfind("</answer>")
    if close < 0:
        return None
    open_ = text.rfind("<answer>", 0, close)
    if open_ < 0:
        return None
    return text[open_ + len("<answer>") : close]


def strip_delimiters(answer: str) -> str:
    """Remove math delimiters, bold markers and a trailing full stop around an answer."""
    text = answer.strip()
    # Real answers have a wrapper or two; the cap keeps "$$$$…" (each pass copies the text)
    # from turning quadratic.
    for _ in range(MAX_WRAPPER_LAYERS):
        before = text
        for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"), ("**", "**")):
            if len(text) >= len(left) + len(right) and text.startswith(left) and text.endswith(right):
                text = text[len(left) : len(text) - len(right)].strip()
        text = text.rstrip(". \t\n")
        if text.startswith("**") or text.endswith("**"):
            text = text.strip("*").strip()
        if text == before or not text:
            break
    return text


def math_blocks(text: str) -> list[tuple[int, int, str]]:
    """``$…$``, ``$$…$$``, ``\\(…\\)`` and ``\\[…\\]`` blocks as (start, end, content), left to right.

    The blocks a lazy regex such as ``\\$(.+?)\\$`` finds, in O(n log n): each opener's closer
    is looked up by bisection among the closers' positions, so thousands of unclosed ``\\(``
    cost no rescans (the regex took 5 s on 60 KB of them). The one way blocks are found here.
    """
    tokens = [(match.start(), match.group()) for match in _MATH_DELIMITER.finditer(text)]
    starts_of: dict[str, list[int]] = {}
    for start, token in tokens:
        starts_of.setdefault(token, []).append(start)
    blocks = []
    cursor = 0
    for start, token in tokens:
        closer = _CLOSER_OF.get(token)
        if start < cursor or closer is None:
            continue
        content_start = start + len(token)
        candidates = starts_of.get(closer, [])
        index = bisect.bisect_left(candidates, content_start + 1)  # at least one character inside
        if index == len(candidates):
            continue
        end = candidates[index]
        blocks.append((start, end + len(closer), text[content_start:end].strip()))
        cursor = end + len(closer)
    return blocks


def is_prose(text: str) -> bool:
    """Whether ``text`` reads as a sentence rather than a bare answer."""
    return len(_PROSE_WORD.findall(_LATEX_COMMAND_OR_TEXT.sub(" ", text))) >= 2


def _last_math_or_number(text: str) -> str | None:
    """Whichever ends later: the last ``$…$``-style block or the last plain number."""
    found = _last_math_or_number_span(text)
    return None if found is None else found[0]


def _last_math_or_number_span(text: str) -> tuple[str, int, int] | None:
    """``_last_math_or_number`` with where it starts and ends in ``text``."""
    blocks = math_blocks(text)
    last_block = blocks[-1] if blocks else None
    outside = text
    if blocks:
        pieces, previous = [], 0
        for start, end, _ in blocks:
            pieces.append(text[previous:start])
            pieces.append(" " * (end - start))
            previous = end
        pieces.append(text[previous:])
        outside = "".join(pieces)
    last_number = None
    for last_number in _NUMBER.finditer(outside):
        pass
    if last_number is not None and (last_block is None or last_number.end() > last_block[1]):
        number = last_number.group(0).rstrip(",")
        return number, last_number.start(), last_number.start() + len(number)
    if last_block is not None:
        return last_block[2], last_block[0], last_block[1]
    return None


def _numeric_value(number: str) -> float | None:
    """The value of a plain number as ``_NUMBER`` finds it ("1,250", "-3", "0.5"); None for a
    fraction or a formula."""
    try:
        return float(number.replace(",", "").rstrip("%"))
    except ValueError:
        return None


def _could_be_another_value(answer: str, after: str) -> bool:
    """Whether ``after``, what follows ``answer`` in its sentence, hedges it or changes its
    value: see VALUE_CHANGING_WORD, HEDGE_WORD and NUMBER_IN_WORDS. Only the words before
    the first that opens a reason (_REASON_OPENER) are read."""
    reason = _REASON_OPENER.search(after)
    qualifier = after if reason is None else after[: reason.start()]
    value = _numeric_value(answer)
    # Words that restate the number ("-3 (minus three)") are no second value; blank them so
    # that their "minus" is not read as an operation.
    restated = NUMBER_IN_WORDS.sub(
        lambda spelt: " " if not names_another_number(spelt.group(0), value) else spelt.group(0), qualifier
    )
    return bool(
        names_another_number(restated, value) or VALUE_CHANGING_WORD.search(restated) or HEDGE_WORD.search(restated)
    )


_PERCENT_IN_WORDS = re.compile(r"(?<![A-Za-z])(?:per\s*cent|pct)", re.IGNORECASE)


def number_before_words(answer: str) -> str | None:
    """The number a plain-text answer states before words that neither hedge nor change it, as
    after an answer phrase: ``18 dollars`` -> ``18``, ``5 apples (after giving 3 away)`` -> ``5``;
    None for any other answer (``8 thousand``, ``2 hours and 30 minutes``, ``3 or 4``, LaTeX).
    Not ``40 percent`` or ``40 pct``, which math-verify reads as 0.4 or 40 as the gold needs."""
    if "\\" in answer or "$" in answer or _PERCENT_IN_WORDS.search(answer):
        return None
    number = _NUMBER.match(answer)
    if number is None or not _ASIDE_AFTER_NUMBER.match(answer, number.end() - number.group(0).endswith(",")):
        return None
    stated = number.group(0).rstrip(",")
    return None if _could_be_another_value(stated, answer[len(stated) :]) else stated


def _prose_answer(sentence: str) -> str | None:
    """The answer a sentence after an answer phrase states: its last number or formula ("The
    largest $n$ is 34"), unless words hedge or change it. Then the whole sentence, which grades
    as no single value: falling back to a number would grade "8 and a half" as 8, and "8, or
    maybe 15 apples" as 15."""
    found = _last_math_or_number_span(sentence)
    if found is None:
        return None
    answer, start, end = found
    before = sentence[:start]
    # "probably 8, or maybe 15": the last number is one of two offered. The alternative word
    # alone is no hedge ("the largest n that is odd or prime is 34").
    offered_as_alternative = ALTERNATIVE_WORD.search(before) and names_another_number(before, None)
    # "about 2, not 3": the last number is the one the sentence rejects.
    # Read from the end of what is left once the spaces and "$" before the number are gone: an
    # anchored "\\s*\\$*\\s*$" took quadratic time over a long run of spaces.
    tail = before.rstrip(" \t\n$")[-200:]
    rejected = _REJECTED_BEFORE.search(tail) or _JOINED_TO_A_NUMBER_BEFORE.search(tail)
    if offered_as_alternative or rejected or _could_be_another_value(answer, sentence[end:]):
        return strip_delimiters(sentence) or None
    return answer


def _last_phrases(text: str) -> list[re.Match[str]]:
    """The last ``MAX_PHRASE_ATTEMPTS`` answer phrases of ``text``, in order."""
    # Matching lower-cased text without IGNORECASE is ~6x faster; positions stay valid only
    # when lower-casing keeps the length (some non-ASCII letters grow), else match as is.
    lowered = text.lower()
    pattern, subject = (_ANSWER_PHRASE_LOWER, lowered) if len(lowered) == len(text) else (_ANSWER_PHRASE, text)
    # A megabyte of "answer: " is 125,000 matches, 40 ms of match objects to keep the last 8.
    # Tails four times longer each are searched until one holds more than 8: they are the last
    # ones. Its first match is dropped, as it may be the end of a longer phrase that starts
    # before the tail ("final answer"). The tails read at most 4/3 of the text.
    size = UNANCHORED_TAIL_CHARS
    while size < len(subject):
        in_tail = list(deque(pattern.finditer(subject, len(subject) - size), maxlen=MAX_PHRASE_ATTEMPTS + 1))
        if len(in_tail) > MAX_PHRASE_ATTEMPTS:
            return in_tail[1:]
        size *= 4
    return list(deque(pattern.finditer(subject), maxlen=MAX_PHRASE_ATTEMPTS))


def _stated_answer(text: str, after: int | None) -> str | None:
    """The answer of the last phrase after position ``after`` (a box's start) that states a
    value. With no box (``after`` None), a phrase stating only words counts too, failing one
    that states a value: "The answer is yes."."""
    in_words = None
    for phrase in reversed(_last_phrases(text)):
        if after is not None and phrase.start() <= after:
            break
        answer = _phrase_answer(text, phrase)
        if answer is None:
            continue
        if _STATES_A_VALUE.search(answer):
            return answer
        in_words = in_words or answer
    return in_words if after is None else None


def _phrase_answer(text: str, phrase: re.Match[str]) -> str | None:
    rest = text[phrase.end() : phrase.end() + MAX_PHRASE_SCAN_CHARS].lstrip()
    filler = _FILLER_AFTER_PHRASE.match(rest)
    if filler is not None:
        rest = rest[filler.end() :]
    blocks = math_blocks(rest)
    if blocks and blocks[0][0] == 0:  # "Answer: $$ 9 $$" (a display may span lines)
        _, block_end, answer = blocks[0]
        if not answer:
            return None
        after = _sentence_rest(rest[block_end:])
        if _could_be_another_value(answer, after):
            # Refused as after a plain number ("$3$ or $4$", "$8$ thousand"): the sentence, its
            # formulas unwrapped, so that no grader reads one of them out of it.
            return _without_math_delimiters(rest[: block_end + len(after)])
        return answer
    line_end = rest.find("\n")
    line = (rest if line_end < 0 else rest[:line_end]).rstrip()
    if not line:
        return None
    boxed = last_boxed_content(line)
    if boxed is not None:
        return boxed
    sentence_end = _SENTENCE_END.search(line)
    if sentence_end:
        line = line[: sentence_end.start()]
    return _line_answer(line)


def _line_answer(line: str) -> str | None:
    """The answer stated by ``line``, the sentence after an answer phrase."""
    justified = _JUSTIFICATION.search(line)
    if justified is not None and justified.start() > 0:
        # "No, because 7 is prime", "not 6, since 7 is prime": the answer is stated before its
        # reason. The reason's last number was taken (7, right for gold 7).
        line = line[: justified.start()]
    number = _NUMBER.match(line)
    head, semicolon, clause = line.partition(";")
    if number is not None and semicolon and head.strip() == number.group(0) and is_prose(clause):
        # "85; this is the number we found in step 2": a number, then a sentence about it, whose
        # last number was taken. Not "5; 9" or "5; otherwise 9" (no sentence), and not a clause
        # that offers another ("5; I would also say maybe 9"); not "x = 2; the minimum is 5".
        return number.group(0) if not ALTERNATIVE_WORD.search(clause) else strip_delimiters(line)
    if number is not None and _ASIDE_AFTER_NUMBER.match(line, number.end() - number.group(0).endswith(",")):
        # Read before the sentence rule: in "5 apples (after giving 3 away)" the answer is 5,
        # not the sentence's last number.
        stated = number.group(0).rstrip(",")
        if not _could_be_another_value(stated, line[len(stated):]):
            return stated
        # Refused: the whole sentence, which grades as no single value. Its first or last
        # number would grade "8 (or 15)" right for gold 8 or 15.
        return strip_delimiters(line) or None
    if is_prose(line):
        return _prose_answer(line)
    return strip_delimiters(line) or None


def _sentence_rest(text: str) -> str:
    """``text`` up to the end of its line or sentence."""
    line_end = text.find("\n")
    line = text if line_end < 0 else text[:line_end]
    sentence_end = _SENTENCE_END.search(line)
    return line if sentence_end is None else line[: sentence_end.start()]


def _without_math_delimiters(text: str) -> str:
    """``$3$ or $4$`` -> ``3 or 4``."""
    pieces, position = [], 0
    for start, end, content in math_blocks(text):
        pieces += [text[position:start], content]
        position = end
    pieces.append(text[position:])
    return "".join(pieces).strip()


def _unanchored_answer(text: str) -> str | None:
    # Only a short text can be a bare answer; never strip a long one.
    bare = strip_delimiters(text) if len(text) <= 4 * BARE_ANSWER_MAX_CHARS else ""
    heading = _ANSWER_HEADING.match(bare)
    if heading is not None:
        bare = strip_delimiters(bare[heading.end() :])
    if bare and len(bare) <= BARE_ANSWER_MAX_CHARS and not is_prose(bare) and not math_blocks(bare):
        # "So 12." and "It costs 5" open with a word: a short sentence, whose answer is its
        # last number unless words hedge it ("So 9 or 5") or it names another ("So 9, 5": a
        # reply this short commits to neither); "New York" has none and stays whole.
        if _OPENING_WORD.match(bare):
            answer = _prose_answer(bare)
            if answer is None or names_another_number(bare.replace(answer, " "), _numeric_value(answer)):
                return bare
            return answer
        return bare
    # "Answer $9$" is a word and a formula, not a bare answer: take the formula.
    return _last_math_or_number(_tail(text))


def _tail(text: str) -> str:
    """The last ``UNANCHORED_TAIL_CHARS`` of ``text``, from a line's start where one falls in
    them, so that the cut splits no inline ``$…$``."""
    if len(text) <= UNANCHORED_TAIL_CHARS:
        return text
    start = len(text) - UNANCHORED_TAIL_CHARS
    line_start = text.find("\n", start)
    return text[line_start + 1 :] if line_start >= 0 else text[start:]


def _extract_from(segment: str) -> Extraction | None:
    tagged = _answer_tag_content(segment)
    if tagged is not None:
        boxed = _last_box_span(tagged)
        if boxed is not None:  # listed boxes read as outside the tags (they kept only the last)
            return Extraction(_listed_boxes(tagged, boxed), "answer_tag")
        inner = _stated_answer(tagged, None) or strip_delimiters(tagged)
        return Extraction(inner, "answer_tag")
    box = _last_box_span(segment)
    # The later anchor wins: a closing "Final Answer: X" overrides boxes of intermediate steps.
    stated = _stated_answer(segment, None if box is None else box[0])
    if stated is not None:
        return Extraction(stated, "answer_phrase")
    if box is not None:
        return Extraction(_listed_boxes(segment, box), "boxed")
    bare = _unanchored_answer(segment)
    if bare is not None:
        return Extraction(bare, "unanchored")
    return None


def extract_final_answer(text: str) -> Extraction | None:
    """The final answer of a response, or None when it states none."""
    _, visible = split_thinking(text)
    if visible.strip():
        found = _extract_from(visible)
        if found is not None:
            return found
    if visible == text:
        return None
    # Newlines for the tags: "<think>The answer is 4</think>" states "4", not "4</think>".
    return _extract_from(text.replace(THINK_START, "\n").replace(THINK_END, "\n"))
