"""REA-RL reflection counting and rewards (methods.md §4, §7)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reasoning_economics.errors import RewardInputError
from reasoning_economics.rewards import (
    REA_RL_REFLECTION_KEYWORDS,
    SELF_REFLECTION_KEYWORDS,
    count_reflections,
    rea_length_reward,
    rea_rl_reward,
    reflection_pattern,
    reflection_reward,
    thinking_part,
)

approx = pytest.approx


def test_reference_regex_is_built_exactly():
    pattern = reflection_pattern()
    k = "(?:wait|alternatively|check|but)"
    assert pattern.pattern == "(?i)(" + k + "(?:.{0,59}" + k + ")+|" + k + ")"


@pytest.mark.parametrize(
    ("text", "expected", "why"),
    [
        ("Wait, but I should check.", 1, "three hits 2 and 11 chars apart chain into one"),
        ("Wait, but I check.\nBut attribute", 2, "a newline breaks the chain; 'attribute' holds 'but'"),
        ("wait" + "x" * 59 + "but", 1, "59 chars between: still chained"),
        ("wait" + "x" * 60 + "but", 2, "60 chars between: two reflections"),
        ("wait\nbut", 2, "'.' does not match a newline"),
        ("WAIT... ALTERNATIVELY", 1, "case-insensitive"),
        # 'but' ends at 12 in 'contribute' and starts at 24 in 'distribute': 12 chars apart
        ("We contribute and distribute.", 1, "substring hits chain like words"),
        ("", 0, "empty thinking"),
        ("no reflection words here", 0, "nothing to count"),
        # a chain of 3 (each gap 40 chars), then a lone hit 70 chars later
        ("wait" + "x" * 40 + "but" + "x" * 40 + "check" + "x" * 70 + "wait", 2, "chain, then a lone hit"),
    ],
)
def test_count_reflections_by_hand(text, expected, why):
    assert count_reflections(text) == expected, why


def test_thinking_part_refuses_what_is_not_text():
    # None was an AttributeError ("'NoneType' object has no attribute 'split'").
    for call, message in (
        (lambda: thinking_part(None), "text must be a str, got None"),
        (lambda: thinking_part("x", start=5), "start must be a str"),
        (lambda: thinking_part("x", end=""), "thinking tags must be non-empty strings"),
    ):
        with pytest.raises(RewardInputError, match=message):
            call()
    assert thinking_part("<think>a</think>b") == "a"


def test_count_reflections_reads_only_the_thinking_part():
    # only 'wait' inside the tags counts; the answer's 'but' and 'check' do not
    assert count_reflections("<think>hmm, wait</think>\nbut check\nbut") == 1
    # a completion whose <think> was opened by the chat template: text before </think>
    assert count_reflections("wait\nwait</think>but") == 2
    # text after the last <think>, up to the first </think> after it
    assert thinking_part("a<think>b<think>c</think>d</think>e") == "c"
    assert thinking_part("no tags at all") == "no tags at all"
    assert thinking_part("<think>unfinished thought") == "unfinished thought"


def test_self_reflection_keyword_set():
    assert SELF_REFLECTION_KEYWORDS == (
        "recheck", "rethink", "reassess", "reevaluate", "re-evaluate", "re-examine", "reconsider",
        "reanalyze", "double-check", "check again", "think again", "verify again", "go over the steps",
    )  # fmt: skip
    text = "Let me double-check this.\nHmm, let me reconsider.\nI will go over the steps."
    assert count_reflections(text, SELF_REFLECTION_KEYWORDS) == 3
    # 'Wait' and 'but' are REA-RL words, not self-reflection ones
    assert count_reflections("Wait, but no.", SELF_REFLECTION_KEYWORDS) == 0
    # 'recheck again': 'recheck' consumes 'check', so 'check again' cannot also match: 1
    assert count_reflections("recheck again", SELF_REFLECTION_KEYWORDS) == 1
    # a smaller window unchains hits: 'rethink' and 'recheck' are 5 chars apart
    assert count_reflections("rethink, so recheck", SELF_REFLECTION_KEYWORDS) == 1
    assert count_reflections("rethink, so recheck", SELF_REFLECTION_KEYWORDS, window=5) == 2


def test_keywords_as_one_string_or_text_not_a_string_are_refused():
    from reasoning_economics.errors import RewardInputError

    # tuple("wait") counted the letters: 'a b c' read as one chain of reflections.
    with pytest.raises(RewardInputError, match="one string"):
        count_reflections("a b c", keywords="wait")
    assert count_reflections("wait, wait", keywords=("wait",)) == 1
    with pytest.raises(RewardInputError, match="text must be a str"):
        count_reflections(None)


@given(st.lists(st.sampled_from(REA_RL_REFLECTION_KEYWORDS), max_size=20))
def test_one_keyword_per_line_counts_each(words):
    assert count_reflections("\n".join(words)) == len(words)


@given(st.text(alphabet=st.sampled_from(list("waitbuchekrnlvy .,\n")), max_size=300))
def test_chains_never_exceed_raw_hits_and_ignore_case(text):
    raw_hits = len(re.findall("(?i)wait|alternatively|check|but", text))
    n = count_reflections(text)
    assert n <= raw_hits
    assert (n == 0) == (raw_hits == 0)
    assert count_reflections(text.upper()) == n


def test_reflection_reward_by_hand():
    # 225.09 * 2 / 900 = 0.5002
    assert reflection_reward(2, 900) == approx(0.5002)
    # 225.09 * 5 / 900 = 1.2505 -> capped at 1
    assert reflection_reward(5, 900) == 1.0
    assert reflection_reward(0, 900) == 0.0
    assert reflection_reward(3, 0) == 0.0  # no thinking tokens: defined as 0
    assert reflection_reward(1, 100, tau=50.0) == approx(0.5)


def test_rea_length_reward_by_hand():
    # correct lengths 100, 300, 200 -> min 100, max 300:
    # 0.5 - 0/200 = 0.5; 0.5 - 200/200 = -0.5; wrong -0.5; 0.5 - 100/200 = 0.0
    assert rea_length_reward([1, 1, 0, 1], [100, 300, 50, 200]) == approx([0.5, -0.5, -0.5, 0.0])
    assert rea_length_reward([1, 0], [100, 20]) == [0.0, -0.5]  # lone correct: L_max == L_min
    assert rea_length_reward([1, 1], [60, 60]) == [0.0, 0.0]
    assert rea_length_reward([0, 0], [1, 2]) == [-0.5, -0.5]
    assert rea_length_reward([], []) == []


def test_rea_rl_total_reward_by_hand():
    # sample 0: accuracy 1 + length 0 (lone correct) + reflection 225.09*1/900 = 0.2501 -> 1.2501
    # sample 1: accuracy 0 + length -0.5 + reflection 0 -> -0.5
    assert rea_rl_reward([1, 0], [100, 200], [1, 0], [900, 100]) == approx([1.2501, -0.5])


@pytest.mark.parametrize(
    "call",
    [
        lambda: count_reflections("wait", keywords=[]),
        lambda: count_reflections("wait", keywords=["wait", ""]),
        lambda: count_reflections("wait", window=0),
        lambda: reflection_reward(-1, 10),
        lambda: reflection_reward(1, -10),
        lambda: rea_length_reward([1, 0], [10]),
        lambda: rea_length_reward([1], [-3]),
        lambda: rea_rl_reward([1], [10], [1, 2], [10]),
        lambda: thinking_part("x", start=""),
    ],
)
def test_bad_input_raises_value_error(call):
    with pytest.raises(RewardInputError):
        call()


def test_counts_past_float_range_and_unchecked_group_inputs_are_a_reward_input_error():
    # math.isfinite(10**400) raised a raw OverflowError.
    with pytest.raises(RewardInputError, match="n_reflections must be at most 1e"):
        reflection_reward(10**400, 10)
    with pytest.raises(RewardInputError, match="thinking_tokens must be at most 1e"):
        reflection_reward(1, 10**400)
    # rea_rl_reward took len() of unchecked inputs: a generator was a raw TypeError, a str of
    # the right length passed to the reflection reward letter by letter.
    with pytest.raises(RewardInputError, match="n_reflections must be a sequence of numbers, got str"):
        rea_rl_reward([True, True], [10, 20], "12", [100, 100])
    # By hand: length rewards 0.5 and -0.5 (lengths 10, 20); reflection min(225.09 * 1/450.18, 1) = 0.5
    # and 0: totals 1 + 0.5 + 0.5 = 2.0 and 1 - 0.5 + 0 = 0.5.
    assert rea_rl_reward([True, True], [10, 20], (n for n in (1, 0)), [450.18, 100]) == pytest.approx([2.0, 0.5])
