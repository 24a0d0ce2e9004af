"""Behaviour analysis of reasoning text: reflection, reasoning patterns and a faithfulness proxy.

Pure functions over strings. Reflection counting reuses the reward library
(:func:`~reasoning_economics.rewards.reflection.count_reflections`, REA-RL's chained-substring
regex and both of its keyword sets), so the evaluator and the REA-RL reward count the same way.

**Reasoning patterns** follow the cognitive behaviours of Gandhi et al. 2025 ("Cognitive
Behaviors that Enable Self-Improving Reasoners", arXiv 2503.01307), which the efficient-reasoning
papers use to explain where tokens go. Each is a documented keyword set, matched
case-insensitively as whole words or phrases (``\\b`` on both ends, unlike REA-RL's substring
matching, so "attribute" is not "but"), and every match counts:

- verification: checking an intermediate or final result;
- backtracking: abandoning a line of work after finding a problem;
- exploration: trying or announcing another approach.

The lists are short on purpose: they are proxies that are cheap, reproducible and easy to read,
not classifiers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from reasoning_economics.rewards.reflection import (
    REA_RL_REFLECTION_KEYWORDS,
    SELF_REFLECTION_KEYWORDS,
    count_reflections,
    thinking_part,
)

__all__ = [
    "REASONING_PATTERNS",
    "REA_RL_REFLECTION_KEYWORDS",
    "SELF_REFLECTION_KEYWORDS",
    "answer_in_reasoning",
    "count_pattern",
    "count_reflections",
    "reasoning_before_answer",
    "reasoning_pattern_counts",
]

VERIFICATION_KEYWORDS: tuple[str, ...] = (
    "verify",
    "verifying",
    "verification",
    "let me check",
    "let's check",
    "double-check",
    "double check",
    "check again",
    "check that",
    "checking",
    "confirm",
    "confirms",
    "substitute back",
    "plug back",
    "plugging back",
    "sanity check",
    "which matches",
    "is correct",
)
"""Checking a result: "let me check", "verify", "substitute back", "which matches", ..."""

BACKTRACKING_KEYWORDS: tuple[str, ...] = (
    "wait",
    "actually",
    "oops",
    "mistake",
    "that's wrong",
    "that is wrong",
    "that's not right",
    "that is not right",
    "not correct",
    "incorrect",
    "let me redo",
    "let me recalculate",
    "let me start over",
    "start over",
    "go back",
    "scratch that",
    "i made an error",
)
"""Abandoning a line of work: "wait", "actually", "that's wrong", "let me redo", ..."""

EXPLORATION_KEYWORDS: tuple[str, ...] = (
    "alternatively",
    "another way",
    "another approach",
    "another method",
    "a different approach",
    "let's try",
    "let me try",
    "try a different",
    "what if",
    "suppose",
    "instead",
    "on the other hand",
    "consider",
)
"""Trying another approach: "alternatively", "let's try", "what if", "instead", ..."""

REASONING_PATTERNS: dict[str, tuple[str, ...]] = {
    "verification": VERIFICATION_KEYWORDS,
    "backtracking": BACKTRACKING_KEYWORDS,
    "exploration": EXPLORATION_KEYWORDS,
}
"""Pattern name -> keyword set, counted by :func:`reasoning_pattern_counts`."""


@lru_cache(maxsize=32)
def _whole_word_pattern(keywords: tuple[str, ...]) -> re.Pattern[str]:
    # Longest first so "let me check" wins over a shorter keyword starting at the same place.
    alternation = "|".join(re.escape(k) for k in sorted(keywords, key=len, reverse=True))
    return re.compile(rf"(?i)(?<![\w-])(?:{alternation})(?![\w-])")


def count_pattern(text: str, keywords: Sequence[str]) -> int:
    """Non-overlapping whole-word, case-insensitive matches of ``keywords`` in ``text``."""
    return len(_whole_word_pattern(tuple(keywords)).findall(text))


def reasoning_pattern_counts(text: str) -> dict[str, int]:
    """Matches of each :data:`REASONING_PATTERNS` set in the thinking part of ``text``."""
    thinking = thinking_part(text)
    return {name: count_pattern(thinking, words) for name, words in REASONING_PATTERNS.items()}


def reflection_counts(text: str) -> dict[str, int]:
    """Both reflection counts of a response's thinking part: ``rea_rl`` (REA-RL's words
    "wait", "alternatively", "check", "but", chained) and ``self_reflection``
    (understand-r1-zero's "recheck", "double-check", ... set), with REA-RL's counting rule."""
    return {
        "rea_rl": count_reflections(text, REA_RL_REFLECTION_KEYWORDS),
        "self_reflection": count_reflections(text, SELF_REFLECTION_KEYWORDS),
    }


_BOXED = "\\boxed"
_FINAL_STATEMENT = re.compile(r"(?i)(final answer|the answer is|answer:)")


def reasoning_before_answer(text: str) -> str:
    """The part of a response that comes before its final statement.

    With ``</think>`` it is the thinking. Otherwise it is the text before the last
    ``\\boxed`` and, when a phrase such as "final answer" / "the answer is" / "answer:" opens
    the final statement, before the last such phrase preceding it. Without a ``\\boxed`` the
    whole text counts as the final statement and the reasoning is what comes before its last
    line.
    """
    if "</think>" in text:
        return thinking_part(text)
    cut = text.rfind(_BOXED)
    if cut < 0:
        cut = text.rstrip().rfind("\n")
        if cut < 0:
            return ""
    head = text[:cut]
    phrases = list(_FINAL_STATEMENT.finditer(head))
    if phrases:
        # The phrase belongs to the final statement only when it is on the boxed answer's line.
        last = phrases[-1]
        if "\n" not in head[last.start() :]:
            head = head[: last.start()]
    return head


def _normalise(answer: str) -> str:
    text = answer.strip().strip("$").strip()
    text = re.sub(r"\\(?:text|mathrm|mathbf)\{([^{}]*)\}", r"\1", text)
    text = text.replace("\\left", "").replace("\\right", "").replace("\\!", "").replace("\\,", "")
    # Whitespace between two digits separates numbers ("4 5" is not "45"); elsewhere it is layout.
    text = re.sub(r"(?<=\d)\s+(?=\d)", "|", text)
    text = re.sub(r"\s+", "", text)
    return text.rstrip(".")


def answer_in_reasoning(text: str, answer: str | None) -> bool | None:
    """Faithfulness proxy: does the final ``answer`` already appear in the reasoning before the
    final statement (:func:`reasoning_before_answer`)?

    A True says the stated answer was derived in the visible work rather than produced out of
    nowhere. Both sides are compared with whitespace, ``$`` and ``\\text{}`` removed, and the
    answer must not sit inside a longer number (``4`` is not found in ``14`` or ``4.5``).
    None when there is no answer to look for.
    """
    if answer is None:
        return None
    target = _normalise(answer)
    if not target:
        return None
    reasoning = _normalise(reasoning_before_answer(text))
    boundary_before = r"(?<![0-9.])" if target[0].isdigit() else ""
    boundary_after = r"(?![0-9]|\.[0-9])" if target[-1].isdigit() else ""
    return re.search(boundary_before + re.escape(target) + boundary_after, reasoning) is not None
