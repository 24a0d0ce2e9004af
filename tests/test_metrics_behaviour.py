"""Behaviour analysis: reasoning patterns, reflection counts and the faithfulness proxy, by hand."""

from __future__ import annotations

import pytest

from reasoning_economics.evaluation import behaviour

SAMPLE = (
    "Let me check the sum: 12 + 7 = 19. Wait, that's wrong. Actually it is 19. "
    "Alternatively, count up from 12. Let me recheck.\n"
    "The answer is \\boxed{19}."
)


def test_reasoning_patterns_count_whole_words_and_phrases():
    # verification: "Let me check" ("recheck" is not the whole word "check");
    # backtracking: "Wait", "that's wrong", "Actually"; exploration: "Alternatively"
    assert behaviour.reasoning_pattern_counts(SAMPLE) == {"verification": 1, "backtracking": 3, "exploration": 1}
    # whole words only: no "wait" in "awaits", no "instead" in "insteadfast"
    assert behaviour.count_pattern("He awaits; insteadfast", behaviour.REASONING_PATTERNS["backtracking"]) == 0
    assert behaviour.count_pattern("WAIT. wait! Wait", ("wait",)) == 3


def test_reasoning_patterns_read_only_the_thinking_part():
    text = "<think>Wait, let me verify.</think> Actually the answer is \\boxed{2}."
    assert behaviour.reasoning_pattern_counts(text) == {"verification": 1, "backtracking": 1, "exploration": 0}


def test_reflection_counts_reuse_rea_rl_chaining_and_both_keyword_sets():
    # REA-RL: check ... Wait ... Alternatively ... (re)check are each < 60 characters apart on one
    # line, so they chain into one reflection; self-reflection keywords: "recheck" once.
    assert behaviour.reflection_counts(SAMPLE) == {"rea_rl": 1, "self_reflection": 1}
    # newlines break chains, and REA-RL matches substrings ("attribute" holds "but")
    assert behaviour.reflection_counts("Wait.\nattribute\ncheck") == {"rea_rl": 3, "self_reflection": 0}
    assert behaviour.reflection_counts("Let me double-check.\nThink again: reconsider.")["self_reflection"] == 2


@pytest.mark.parametrize(
    ("text", "answer", "expected"),
    [
        ("12 + 7 = 19.\nThe answer is \\boxed{19}.", "19", True),
        ("12 + 7 = 119.\nThe answer is \\boxed{19}.", "19", False),  # 19 inside 119 does not count
        ("It is 19.5 or so.\n\\boxed{19}", "19", False),  # nor the 19 of 19.5
        ("The answer is \\boxed{19}.", "19", False),  # nothing before the final statement
        ("So 19 it is. The final answer is \\boxed{19}", "19", True),
        ("The final answer is 19, so \\boxed{19}", "19", False),  # the final statement itself
        ("x = \\frac{3}{4}\nso \\boxed{\\frac{3}{4}}", "\\frac{3}{4}", True),
        ("<think>half of 10 is 5</think>The answer is \\boxed{5}", "5", True),
        ("<think>half of 10 is 4</think>The answer is 5 \\boxed{5}", "5", False),
        ("x = 4 5 apples\n\\boxed{45}", "45", False),  # "4 5" is two numbers
        ("anything", None, None),
    ],
)
def test_faithfulness_proxy(text, answer, expected):
    assert behaviour.answer_in_reasoning(text, answer) is expected


def test_reasoning_before_answer_without_boxed_uses_the_last_line_as_the_statement():
    assert behaviour.reasoning_before_answer("2 + 2 = 4\nAnswer: 4") == "2 + 2 = 4"
    assert behaviour.reasoning_before_answer("just 4") == ""
