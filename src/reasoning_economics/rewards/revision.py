"""REA-RL sequential revision (Deng et al. 2025, arXiv 2505.19862; methods.md §4).

Revision is training-time data augmentation: a response's thinking is cut right after the
paragraph where the answer is first reached, the policy writes a short final answer from that
prefix, and the revision joins the group beside its original. The steps, each a pure function:

1. :func:`split_paragraphs` splits the thinking into paragraphs of 32-128 tokens.
2. A :class:`ParagraphClassifier` gives each paragraph P(Result). Two ship here:
   :class:`KeywordParagraphClassifier` (no model) and :class:`LogprobParagraphClassifier`
   (a small reflection model's label log-probabilities: ``P(Result) = p_R / (p_R + p_T)``).
3. :func:`find_revision_cut` picks the first paragraph in the second half with P(Result) >= 0.5.
4. :func:`build_revision_prompt` appends ``"\\n</think>\\n\\n**Final Answer:**\\n\\n"``; the
   policy may then write at most :data:`MAX_REVISION_ANSWER_TOKENS` (256) tokens.
5. :func:`select_revision` keeps the original when the revision is wrong.

:func:`plan_revision` chains steps 1-4.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Protocol, TypeVar, runtime_checkable

from reasoning_economics.errors import RewardInputError, describe
from reasoning_economics.rewards._validation import (
    as_flag,
    as_items,
    as_number,
    as_numbers,
    as_text,
    require_positive_int,
)

MIN_PARAGRAPH_TOKENS = 32
MAX_PARAGRAPH_TOKENS = 128
MAX_REVISION_ANSWER_TOKENS = 256
"""The most tokens the policy may write after the revision prompt."""
REVISION_CUT_THRESHOLD = 0.5
REVISION_SUFFIX = "\n</think>\n\n**Final Answer:**\n\n"
"""Appended to the cut thinking; the policy continues from here."""

PARAGRAPH_SEPARATOR = "\n\n"
_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n\s*")
# How an over-long block is broken, coarsest first; the second item re-joins the pieces.
_FINER_SPLITS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\s*\n\s*"), "\n"),
    (re.compile(r"(?<=[.!?;])\s+"), " "),
    (re.compile(r"\s+"), " "),
)

T = TypeVar("T")
CountTokens = Callable[[str], int]


def _checked_counter(count_tokens: CountTokens) -> CountTokens:
    """``count_tokens`` refusing what is no token count: a str or None it returned failed later
    as a bare TypeError in a comparison, a float passed as a count."""
    if not callable(count_tokens):
        raise RewardInputError(f"count_tokens must be a callable (str -> int), got {type(count_tokens).__name__}")

    def count(text: str) -> int:
        n = count_tokens(text)
        if isinstance(n, bool) or not isinstance(n, Integral) or n < 0:
            raise RewardInputError(f"count_tokens must return an int >= 0, got {describe(n)}")
        return n

    return count


def _split_by_characters(text: str, count_tokens: CountTokens, max_tokens: int) -> list[str]:
    """Greedy longest prefixes of at most ``max_tokens`` tokens (a galloping search per piece).

    The search starts from ``max_tokens`` characters and doubles, so it counts texts about
    as long as a piece: counting the whole remaining text, then half of it in a binary search,
    for every piece made splitting quadratic (320,000 characters without whitespace took a minute).
    """
    pieces = []
    while text:
        fits, probe = 0, max_tokens
        while probe < len(text) and count_tokens(text[:probe]) <= max_tokens:
            fits, probe = probe, probe * 2
        if probe >= len(text) and count_tokens(text) <= max_tokens:  # the rest, at most 2 * fits long
            pieces.append(text)
            break
        # Neither the text nor (when shorter) text[:probe] fits; a piece takes at least one
        # character, as one character may count more than max_tokens tokens.
        lo, hi = max(fits, 1), max(min(probe, len(text)) - 1, 1)  # invariant: the answer lies in [lo, hi]
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if count_tokens(text[:mid]) <= max_tokens:
                lo = mid
            else:
                hi = mid - 1
        pieces.append(text[:lo])
        text = text[lo:]
    return pieces


def _split_long(text: str, count_tokens: CountTokens, max_tokens: int, level: int = 0) -> list[str]:
    """Break ``text`` into pieces of at most ``max_tokens`` tokens at the coarsest boundaries
    (lines, then sentences, then words, then characters), packing pieces greedily."""
    if count_tokens(text) <= max_tokens:
        return [text]
    if level == len(_FINER_SPLITS):
        return _split_by_characters(text, count_tokens, max_tokens)
    pattern, joiner = _FINER_SPLITS[level]
    pieces: list[str] = []
    current = ""
    for unit in (u for u in pattern.split(text) if u.strip()):
        for part in _split_long(unit, count_tokens, max_tokens, level + 1):
            candidate = part if not current else current + joiner + part
            if count_tokens(candidate) <= max_tokens:
                current = candidate
            else:
                pieces.append(current)
                current = part
    if current:
        pieces.append(current)
    return pieces


def split_paragraphs(
    thinking: str,
    count_tokens: CountTokens,
    *,
    min_tokens: int = MIN_PARAGRAPH_TOKENS,
    max_tokens: int = MAX_PARAGRAPH_TOKENS,
) -> list[str]:
    """Split thinking into paragraphs of ``min_tokens``-``max_tokens`` tokens (REA-RL step 1).

    Blocks are separated by blank lines and stripped. A block longer than ``max_tokens`` is
    broken at line, then sentence, then word, then character boundaries. Consecutive blocks
    are merged (joined by a blank line) until a paragraph reaches ``min_tokens``, as long as
    the merge stays within ``max_tokens``; a short tail is merged into the previous paragraph
    when it fits.

    Contract: every paragraph has at most ``max_tokens`` tokens by ``count_tokens``; a
    paragraph is shorter than ``min_tokens`` only when merging it with a neighbour would
    exceed ``max_tokens`` or the whole thinking is shorter; the non-whitespace characters of
    the thinking are kept, in order (whitespace inside a broken block is normalised).

    Args:
        thinking: the thinking text (see :func:`~reasoning_economics.rewards.reflection.thinking_part`).
        count_tokens: counts tokens of a string in the policy's tokenizer, e.g.
            ``reasoning_economics.tokens.get_counter("qwen3").count``.
    """
    min_tokens, max_tokens = require_positive_int(min_tokens, "min_tokens"), require_positive_int(max_tokens, "max_tokens")
    if not min_tokens <= max_tokens:
        raise RewardInputError(f"need 0 < min_tokens <= max_tokens, got {min_tokens}, {max_tokens}")
    count_tokens = _checked_counter(count_tokens)
    pieces: list[str] = []
    for block in _BLANK_LINE.split(as_text(thinking, "thinking")):
        block = block.strip()
        if block:
            pieces.extend(_split_long(block, count_tokens, max_tokens))

    paragraphs: list[str] = []
    current = ""
    for piece in pieces:
        if not current:
            current = piece
        elif count_tokens(current) >= min_tokens:
            paragraphs.append(current)
            current = piece
        elif count_tokens(merged := current + PARAGRAPH_SEPARATOR + piece) <= max_tokens:
            current = merged
        else:
            paragraphs.append(current)
            current = piece
    if current:
        if (
            paragraphs
            and count_tokens(current) < min_tokens
            and count_tokens(merged := paragraphs[-1] + PARAGRAPH_SEPARATOR + current) <= max_tokens
        ):
            paragraphs[-1] = merged
        else:
            paragraphs.append(current)
    return paragraphs


@runtime_checkable
class ParagraphClassifier(Protocol):
    """Labels each paragraph of a response Think or Result (REA-RL step 2)."""

    def result_probabilities(self, question: str, paragraphs: Sequence[str]) -> list[float]:
        """P(Result) in [0, 1] for each paragraph, in order."""
        ...


DEFAULT_RESULT_MARKERS: tuple[str, ...] = (
    "\\boxed",
    "final answer",
    "the answer is",
    "answer is:",
)


@dataclass(frozen=True)
class KeywordParagraphClassifier:
    """A model-free stand-in for the reflection model: a paragraph is Result (P = 1) when it
    contains one of ``markers`` (case-insensitive), else Think (P = 0)."""

    markers: tuple[str, ...] = DEFAULT_RESULT_MARKERS

    def __post_init__(self) -> None:
        if not self.markers or any(not isinstance(m, str) or not m for m in self.markers):
            raise RewardInputError(f"markers must be non-empty strings, got {self.markers!r}")

    def result_probabilities(self, question: str, paragraphs: Sequence[str]) -> list[float]:
        lowered = [m.lower() for m in self.markers]
        return [1.0 if any(m in p.lower() for m in lowered) else 0.0 for p in paragraphs]


LabelLogprobs = Callable[[str, Sequence[str]], Sequence[tuple[float, float]]]
"""``(question, paragraphs) -> [(logprob_think, logprob_result), ...]``, one pair per paragraph."""


def result_probability(logprob_think: float, logprob_result: float) -> float:
    """``p_R / (p_R + p_T)`` from the two labels' log-probabilities, computed stably as
    ``sigmoid(logprob_result - logprob_think)``. Both ``-inf`` (neither label seen) is an error."""
    for name, value in (("logprob_think", logprob_think), ("logprob_result", logprob_result)):
        if isinstance(value, bool) or not isinstance(value, Real):  # -inf is a log-probability: no as_number
            raise RewardInputError(f"{name} must be a number <= 0, got {describe(value)}")
    if math.isnan(logprob_think) or math.isnan(logprob_result) or logprob_think > 0 or logprob_result > 0:
        raise RewardInputError(f"log-probabilities must be <= 0, got {logprob_think}, {logprob_result}")
    if logprob_think == -math.inf and logprob_result == -math.inf:
        raise RewardInputError("both label log-probabilities are -inf: P(Result) is undefined")
    diff = logprob_result - logprob_think
    if diff >= 0:
        return 1.0 / (1.0 + math.exp(-diff))
    exp_diff = math.exp(diff)
    return exp_diff / (1.0 + exp_diff)


@dataclass(frozen=True)
class LogprobParagraphClassifier:
    """REA-RL's reflection model as a classifier: ``label_logprobs`` returns, for each
    paragraph, the log-probabilities of the labels Think and Result, and
    ``P(Result) = p_R / (p_R + p_T)``.

    ``label_logprobs`` can wrap any model (a local HF model, an OpenAI-compatible endpoint
    with ``logprobs``); :func:`build_labeling_prompt` gives a prompt for it.
    """

    label_logprobs: LabelLogprobs

    def result_probabilities(self, question: str, paragraphs: Sequence[str]) -> list[float]:
        # The model wrapper's output is checked here: None, a triple or a str label raised a bare
        # TypeError or ValueError ("too many values to unpack").
        pairs = as_items(self.label_logprobs(question, paragraphs), "label_logprobs' result", "pairs")
        if len(pairs) != len(paragraphs):
            raise RewardInputError(f"label_logprobs returned {len(pairs)} pairs for {len(paragraphs)} paragraphs")
        probs = []
        for i, pair in enumerate(pairs):
            values = as_items(pair, f"label_logprobs pair {i}", "two log-probabilities")
            if len(values) != 2:
                raise RewardInputError(
                    f"label_logprobs pair {i} must be (logprob_think, logprob_result), got {len(values)} values"
                )
            probs.append(result_probability(*(_logprob(v, f"label_logprobs pair {i}") for v in values)))
        return probs


def _logprob(value: object, name: str) -> float:
    """A log-probability as a float (a model's tensor scalar converts); else RewardInputError."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise RewardInputError(f"{name} must hold numbers, got {describe(value)}") from None


def build_labeling_prompt(question: str, paragraphs: Sequence[str]) -> str:
    """A prompt asking a reflection model to label each numbered paragraph Think or Result,
    answering one ``[i]. Think`` / ``[i]. Result`` line per paragraph (REA-RL's format)."""
    numbered = PARAGRAPH_SEPARATOR.join(f"**[{i}].** {p}" for i, p in enumerate(paragraphs, start=1))
    n = len(paragraphs)
    return (
        f"**Question:** {question}\n\n**Response:** {numbered}\n\n"
        f"The response above is split into {n} numbered parts. Label every part:\n"
        "    - Think: the part is reasoning on the way to an answer.\n"
        "    - Result: the part states an answer to the question (possibly mid-response).\n\n"
        f"Reply with one line per part, for all {n} parts:\n\n[1]. Think/Result\n\n[2]. Think/Result\n\n..."
    )


def find_revision_cut(result_probabilities: Sequence[float], threshold: float = REVISION_CUT_THRESHOLD) -> int | None:
    """Index (0-based) of the first paragraph in the second half whose P(Result) >= threshold.

    "Second half" means index ``i >= n / 2`` for ``n`` paragraphs, as in the reference. Returns
    None when no paragraph qualifies: then no revision is made. (The REA-RL reference instead
    falls back to a cut a few paragraphs before the end; a revision that keeps almost all the
    thinking saves almost nothing, so we skip it.)
    """
    probs = as_numbers(result_probabilities, "result_probabilities")
    as_number(threshold, "threshold")
    for i, p in enumerate(probs):
        if not 0.0 <= p <= 1.0:
            raise RewardInputError(f"result_probabilities[{i}] must lie in [0, 1], got {p!r}")
    n = len(probs)
    for i, p in enumerate(probs):
        if i >= n / 2 and p >= threshold:
            return i
    return None


def build_revision_prompt(paragraphs: Sequence[str], cut: int) -> str:
    """The revision prefix: paragraphs ``0..cut`` (the cut paragraph included), joined by blank
    lines and stripped, then :data:`REVISION_SUFFIX`. Prepend the chat-formatted question
    (with its ``<think>`` opener if the template has one) and let the policy write at most
    :data:`MAX_REVISION_ANSWER_TOKENS` tokens."""
    # A str was read as one paragraph per character; cut=True passed as 1, cut=1.0 failed in the slice.
    paragraphs = [as_text(p, f"paragraphs[{i}]") for i, p in enumerate(as_items(paragraphs, "paragraphs", "strings"))]
    if isinstance(cut, bool) or not isinstance(cut, Integral) or not 0 <= cut < len(paragraphs):
        raise RewardInputError(f"cut must index one of the {len(paragraphs)} paragraphs, got {describe(cut)}")
    return PARAGRAPH_SEPARATOR.join(paragraphs[: cut + 1]).strip() + REVISION_SUFFIX


@dataclass(frozen=True)
class RevisionPlan:
    """What :func:`plan_revision` decided for one response."""

    paragraphs: tuple[str, ...]
    result_probabilities: tuple[float, ...]
    cut: int
    prompt: str
    max_answer_tokens: int = MAX_REVISION_ANSWER_TOKENS


def plan_revision(
    question: str,
    thinking: str,
    count_tokens: CountTokens,
    classifier: ParagraphClassifier,
    *,
    threshold: float = REVISION_CUT_THRESHOLD,
) -> RevisionPlan | None:
    """REA-RL steps 1-4 for one response; None when no paragraph qualifies as the cut."""
    if not isinstance(classifier, ParagraphClassifier):
        raise RewardInputError(
            f"classifier must have result_probabilities(question, paragraphs), got {type(classifier).__name__}"
        )
    paragraphs = split_paragraphs(thinking, count_tokens)
    probs = classifier.result_probabilities(question, paragraphs)
    if len(probs) != len(paragraphs):
        raise RewardInputError(f"classifier returned {len(probs)} probabilities for {len(paragraphs)} paragraphs")
    cut = find_revision_cut(probs, threshold)
    if cut is None:
        return None
    return RevisionPlan(tuple(paragraphs), tuple(probs), cut, build_revision_prompt(paragraphs, cut))


def select_revision(original: T, revision: T | None, revision_correct: bool) -> T:
    """REA-RL step 5: the revision when there is one and it is correct, else the original."""
    # Checked as a flag: revision_correct="False" is truthy, and kept a wrong revision.
    return revision if as_flag(revision_correct, "revision_correct") and revision is not None else original
