"""REA-RL reflection counting and rewards (Deng et al. 2025, arXiv 2505.19862; methods.md §4),
plus the self-reflection keyword set of understand-r1-zero (Liu et al. 2025, arXiv 2503.20783;
methods.md §7).

Counting reproduces the REA-RL reference exactly: the regex ``(?i)(K(?:.{0,59}K)+|K)`` with K
the alternation of the keywords, applied with ``re.findall`` to the thinking part. So

- matching is case-insensitive and hits substrings ("attribute" counts as "but");
- a chain of hits, each starting at most 59 characters after the end of the previous one,
  with no newline in between (``.`` does not match ``\\n``), counts once;
- matches never overlap: a chain consumes its text and the scan resumes after it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from reasoning_economics.errors import RewardInputError
from reasoning_economics.rewards._validation import (
    as_correctness,
    as_items,
    as_lengths,
    as_numbers,
    as_text,
    require_non_negative,
    same_length,
)

REA_RL_REFLECTION_KEYWORDS: tuple[str, ...] = ("wait", "alternatively", "check", "but")
"""The words REA-RL counts as reflection."""

SELF_REFLECTION_KEYWORDS: tuple[str, ...] = (
    "recheck",
    "rethink",
    "reassess",
    "reevaluate",
    "re-evaluate",
    "re-examine",
    "reconsider",
    "reanalyze",
    "double-check",
    "check again",
    "think again",
    "verify again",
    "go over the steps",
)
"""understand-r1-zero's self-reflection keywords, as listed in methods.md §7. (The reference
analysis script also counts "reevaluation" and "reexamine"; pass them in ``keywords`` to match
it.)"""

REFLECTION_WINDOW = 60
"""Hits less than this many characters apart (at most 59 between them) chain into one."""

REFLECTION_TAU = 225.09
"""REA-RL's tau: a response with one reflection per 225.09 thinking tokens earns the full 1."""

REA_WRONG_LENGTH_REWARD = -0.5

THINK_START = "<think>"
THINK_END = "</think>"


def thinking_part(text: str, start: str = THINK_START, end: str = THINK_END) -> str:
    """The thinking of a response, split the way the REA-RL reference splits it.

    Takes the text after the last ``start`` tag (or from the beginning when there is none)
    up to the first ``end`` tag after it (or to the end when there is none). So a response
    with no tags is all thinking, and a chat template that opened ``<think>`` in the prompt
    still works: the completion's text before ``</think>`` is the thinking.
    """
    if not as_text(start, "start") or not as_text(end, "end"):
        raise RewardInputError("thinking tags must be non-empty strings")
    return as_text(text, "text").split(start)[-1].split(end)[0]


def reflection_pattern(
    keywords: Sequence[str] = REA_RL_REFLECTION_KEYWORDS, window: int = REFLECTION_WINDOW
) -> re.Pattern[str]:
    """The REA-RL chain regex ``(?i)(K(?:.{0,window-1}K)+|K)`` for the given keywords.

    Keywords are matched literally (``re.escape``) and tried in the order given.
    """
    # Checked before the cache: its keys compare equal across types, so window=60.0 (or True
    # for 1) was served the pattern of window=60 once that was cached, and refused before.
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise RewardInputError(f"window must be an int >= 1, got {window!r}")
    if isinstance(keywords, str):  # tuple("wait") would count the letters w, a, i, t
        raise RewardInputError(f"keywords must be a sequence of words, not one string: use ({keywords!r},)")
    words = tuple(as_items(keywords, "keywords", "words"))  # a list was unhashable for the cache
    if not words or any(not isinstance(k, str) or not k for k in words):
        raise RewardInputError(f"keywords must be non-empty strings, got {words!r}")
    return _compiled_pattern(words, int(window))


@lru_cache(maxsize=64)
def _compiled_pattern(keywords: tuple[str, ...], window: int) -> re.Pattern[str]:
    k = "(?:" + "|".join(re.escape(word) for word in keywords) + ")"
    return re.compile(rf"(?i)({k}(?:.{{0,{window - 1}}}{k})+|{k})")


def count_reflections(
    text: str,
    keywords: Sequence[str] | None = None,
    window: int = REFLECTION_WINDOW,
    *,
    start: str = THINK_START,
    end: str = THINK_END,
) -> int:
    """Number of reflections in the thinking part of ``text``, counted as REA-RL does.

    Args:
        text: a full response; only :func:`thinking_part` of it is searched.
        keywords: words to count; default :data:`REA_RL_REFLECTION_KEYWORDS`. Use
            :data:`SELF_REFLECTION_KEYWORDS` for understand-r1-zero's set.
        window: hits whose gap is at most ``window - 1`` characters, with no newline, chain.
        start, end: the model's thinking tags (see :func:`thinking_part`).
    """
    if not isinstance(text, str):
        raise RewardInputError(f"text must be a str, got {type(text).__name__}")
    words = REA_RL_REFLECTION_KEYWORDS if keywords is None else keywords
    return len(reflection_pattern(words, window).findall(thinking_part(text, start, end)))


def reflection_reward(n_reflections: int, thinking_tokens: int, tau: float = REFLECTION_TAU) -> float:
    """REA-RL reflection reward ``min(tau * n_reflect / L_think, 1)`` with ``tau = 225.09``.

    Zero thinking tokens gives 0.0, as in the reference (there is nothing to reward).
    """
    n = require_non_negative(n_reflections, "n_reflections")
    length = require_non_negative(thinking_tokens, "thinking_tokens")
    tau = require_non_negative(tau, "tau")
    if length == 0:
        return 0.0
    return min(tau * n / length, 1.0)


def rea_length_reward(correct: Sequence[bool], lengths: Sequence[float]) -> list[float]:
    """REA-RL length reward for one group (arXiv 2505.19862).

    - wrong: -0.5
    - correct: ``0.5 - (L - L_min) / (L_max - L_min)`` with min and max over the group's
      **correct** samples; 0 when ``L_max == L_min`` (including a lone correct sample).
    """
    flags = as_correctness(correct)
    lens = as_lengths(lengths)
    same_length(correct=flags, lengths=lens)
    correct_lengths = [n for ok, n in zip(flags, lens) if ok]
    if not correct_lengths:
        return [REA_WRONG_LENGTH_REWARD] * len(lens)
    low, high = min(correct_lengths), max(correct_lengths)
    rewards = []
    for ok, n in zip(flags, lens):
        if not ok:
            rewards.append(REA_WRONG_LENGTH_REWARD)
        elif high == low:
            rewards.append(0.0)
        else:
            rewards.append(0.5 - (n - low) / (high - low))
    return rewards


def rea_rl_reward(
    correct: Sequence[bool],
    lengths: Sequence[float],
    n_reflections: Sequence[int],
    thinking_tokens: Sequence[int],
    tau: float = REFLECTION_TAU,
) -> list[float]:
    """REA-RL's total reward for one group: accuracy (1/0) + length + reflection, equal weights.

    ``lengths`` are the response lengths for the length reward; ``thinking_tokens`` the
    thinking lengths for the reflection reward.
    """
    flags = as_correctness(correct)
    lens = as_lengths(lengths)
    reflections = as_numbers(n_reflections, "n_reflections")  # reflection_reward checks each is >= 0
    thinking = as_numbers(thinking_tokens, "thinking_tokens")
    same_length(correct=flags, lengths=lens, n_reflections=reflections, thinking_tokens=thinking)
    length_part = rea_length_reward(flags, lens)
    return [
        float(ok) + lr + reflection_reward(n, t, tau)
        for ok, lr, n, t in zip(flags, length_part, reflections, thinking)
    ]
