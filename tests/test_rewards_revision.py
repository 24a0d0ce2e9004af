"""REA-RL revision (methods.md §4): paragraph splitting, classifiers, cut, prompt, selection."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reasoning_economics.errors import RewardInputError
from reasoning_economics.rewards import (
    MAX_REVISION_ANSWER_TOKENS,
    REVISION_SUFFIX,
    KeywordParagraphClassifier,
    LogprobParagraphClassifier,
    ParagraphClassifier,
    build_labeling_prompt,
    build_revision_prompt,
    find_revision_cut,
    plan_revision,
    result_probability,
    select_revision,
    split_paragraphs,
)
from reasoning_economics.tokens import get_counter


def words(text: str) -> int:
    """A whitespace tokenizer: makes token counts easy to work out by hand."""
    return len(text.split())


def test_constants_match_the_method():
    assert MAX_REVISION_ANSWER_TOKENS == 256
    assert REVISION_SUFFIX == "\n</think>\n\n**Final Answer:**\n\n"


def test_split_merges_short_blocks_by_hand():
    # blocks: "a b"(2) "c"(1) "d e f g"(4) "h"(1), with min 3 / max 5 words:
    # "a b" is short -> merge "c" (3 words, fits) -> reaches min, emitted
    # "d e f g" >= min -> emitted when "h" comes; tail "h" is short -> merged back (5 <= 5)
    text = "a b\n\nc\n\n\nd e f g\n  \nh"
    assert split_paragraphs(text, words, min_tokens=3, max_tokens=5) == ["a b\n\nc", "d e f g\n\nh"]


def test_split_breaks_long_blocks_at_sentences_then_words():
    # one 8-word block, max 5: sentences "One two three." (3) + "Four five six seven." (4) would be
    # 7 > 5, so they part; "Eight." joins the second (5 words)
    text = "One two three. Four five six seven. Eight."
    assert split_paragraphs(text, words, min_tokens=1, max_tokens=5) == [
        "One two three.",
        "Four five six seven. Eight.",
    ]
    # no sentence ends: 7 words are packed greedily 5 + 2; the short tail cannot merge (7 > 5)
    assert split_paragraphs("h i j k l m n", words, min_tokens=3, max_tokens=5) == ["h i j k l", "m n"]


def test_split_breaks_a_single_huge_word_by_characters():
    # counting characters, max 4: "abcdefghij" -> "abcd", "efgh", "ij"
    assert split_paragraphs("abcdefghij", len, min_tokens=1, max_tokens=4) == ["abcd", "efgh", "ij"]


def test_splitting_a_long_word_counts_each_character_a_bounded_number_of_times():
    # Each piece counted the whole remaining text, then half of it in a binary search: the
    # characters counted per character of input grew with its length (103 at 20,000 characters,
    # 357 at 80,000), and 320,000 characters without whitespace took a minute. Counting
    # characters, a piece of max_tokens=128 is 128 characters and the pieces are exact.
    counted = 0

    def length(text: str) -> int:
        nonlocal counted
        counted += len(text)
        return len(text)

    word = "abcdefghijklmnopqrstuvwxyz" * 1_500  # 39,000 characters, one word
    pieces = split_paragraphs(word, length, min_tokens=128, max_tokens=128)
    assert "".join(pieces) == word and {len(p) for p in pieces[:-1]} == {128}
    assert counted < 30 * len(word), counted / len(word)  # 22 here; 323 before
    # The greedy longest prefixes are kept, however many tokens a single character is.
    heavy = "😀" * 9
    assert split_paragraphs(heavy, lambda t: 3 * len(t), min_tokens=1, max_tokens=7) == ["😀😀"] * 4 + ["😀"]
    assert split_paragraphs(heavy, lambda t: 3 * len(t), min_tokens=1, max_tokens=2) == ["😀"] * 9


def test_inputs_of_the_wrong_type_are_reward_input_errors():
    # Each was a bare TypeError or AttributeError from inside the function.
    for call, message in (
        (lambda: split_paragraphs(None, len), "thinking must be a str, got None"),
        (lambda: split_paragraphs("a b", words, min_tokens=True), "min_tokens must be an int >= 1, got True"),
        (lambda: split_paragraphs("a b", words, max_tokens=2.5), "max_tokens must be an int >= 1"),
        (lambda: result_probability("a", -1.0), "logprob_think must be a number <= 0, got 'a'"),
        (lambda: result_probability(-1.0, None), "logprob_result must be a number <= 0, got None"),
        (lambda: find_revision_cut(["0.5", 0.9]), r"result_probabilities\[0\] must be a finite number"),
        (lambda: find_revision_cut([0.1, 0.9], threshold="high"), "threshold must be a finite number"),
    ):
        with pytest.raises(RewardInputError, match=message):
            call()
    # -inf is a log-probability (a label never seen): sigmoid(-1 - (-inf)) = 1.
    assert result_probability(-math.inf, -1.0) == 1.0
    assert find_revision_cut([0.1, 0.9]) == 1


def test_split_edge_cases():
    assert split_paragraphs("", words) == []
    assert split_paragraphs("\n\n  \n", words) == []
    assert split_paragraphs("short thought", words) == ["short thought"]  # shorter than min: one paragraph


QWEN = get_counter("qwen3")
_prose = st.text(alphabet=st.sampled_from(list("abcdefgh xyz.,;!?\n\n12+=")), max_size=2500)


@settings(max_examples=40, deadline=None)
@given(_prose)
def test_split_bounds_and_content_with_a_real_tokenizer(text):
    paragraphs = split_paragraphs(text, QWEN.count)
    assert all(QWEN.count(p) <= 128 for p in paragraphs)
    assert all(p == p.strip() and p for p in paragraphs)
    # nothing but whitespace is lost or reordered
    assert "".join("".join(p.split()) for p in paragraphs) == "".join(text.split())
    # a paragraph under 32 tokens only where a merge would have broken the 128 cap
    for left, right in zip(paragraphs, paragraphs[1:]):
        if QWEN.count(left) < 32:
            assert QWEN.count(left + "\n\n" + right) > 128


def test_keyword_classifier():
    classifier = KeywordParagraphClassifier()
    assert isinstance(classifier, ParagraphClassifier)
    paragraphs = ["Let x = 2, so 2x = 4.", "So the answer is \\boxed{4}.", "FINAL ANSWER: 4", "Wait, check."]
    assert classifier.result_probabilities("q", paragraphs) == [0.0, 1.0, 1.0, 0.0]
    assert KeywordParagraphClassifier(markers=("wait",)).result_probabilities("q", paragraphs) == [0, 0, 0, 1]


def test_result_probability_from_logprobs_by_hand():
    # p_T = 0.2, p_R = 0.6 -> 0.6 / 0.8 = 0.75
    assert result_probability(math.log(0.2), math.log(0.6)) == pytest.approx(0.75)
    # equal label probabilities -> 0.5; Result never seen -> 0; Think never seen -> 1
    assert result_probability(math.log(0.3), math.log(0.3)) == pytest.approx(0.5)
    assert result_probability(math.log(0.3), -math.inf) == 0.0
    assert result_probability(-math.inf, math.log(0.01)) == 1.0
    # tiny probabilities do not underflow: p_T = e^-800, p_R = e^-801 -> 1/(1+e) = 0.2689414
    assert result_probability(-800.0, -801.0) == pytest.approx(0.2689414)


def label_table(question: str, paragraphs):
    """A stand-in reflection model: confident Think, except on paragraphs with a boxed answer."""
    return [(math.log(0.2), math.log(0.6)) if "boxed" in p else (math.log(0.9), math.log(0.1)) for p in paragraphs]


def test_logprob_classifier():
    classifier = LogprobParagraphClassifier(label_table)
    assert isinstance(classifier, ParagraphClassifier)
    # Think: 0.1/(0.9+0.1) = 0.1; Result: 0.6/(0.2+0.6) = 0.75
    assert classifier.result_probabilities("q", ["step", "\\boxed{3}"]) == pytest.approx([0.1, 0.75])
    broken = LogprobParagraphClassifier(lambda q, ps: [(-1.0, -1.0)])
    with pytest.raises(RewardInputError):
        broken.result_probabilities("q", ["a", "b"])


def test_labeling_prompt_numbers_every_paragraph():
    prompt = build_labeling_prompt("What is 2+2?", ["First.", "Second."])
    assert "**Question:** What is 2+2?" in prompt
    assert "**[1].** First.\n\n**[2].** Second." in prompt
    assert "2 numbered parts" in prompt


@pytest.mark.parametrize(
    ("probs", "cut"),
    [
        ([0.9, 0.1, 0.2, 0.6, 0.7], 3),  # n=5: second half is i >= 2.5; index 0's 0.9 is in the first half
        ([0.0, 0.0, 0.5, 0.0], 2),  # n=4: i >= 2; 0.5 meets the threshold
        ([0.9, 0.1], None),  # n=2: only index 1 is in the second half, and it is Think
        ([1.0], None),  # n=1: index 0 < 0.5, so no second-half paragraph
        ([], None),
    ],
)
def test_find_revision_cut_by_hand(probs, cut):
    assert find_revision_cut(probs) == cut


def test_build_revision_prompt():
    assert build_revision_prompt(["p1", "p2", "p3"], 1) == "p1\n\np2\n</think>\n\n**Final Answer:**\n\n"
    assert build_revision_prompt([" only "], 0) == "only\n</think>\n\n**Final Answer:**\n\n"


def test_plan_revision_end_to_end():
    thinking = "\n\n".join(
        [
            "Let me set up the equation.",
            "Then 2x = 8 so x = 4.",
            "So the answer is \\boxed{4}.",
            "Wait, let me double check by substitution.",
            "2 * 4 = 8. Yes.",
        ]
    )
    plan = plan_revision("Solve 2x = 8.", thinking, words, LogprobParagraphClassifier(label_table))
    # 6+7+5+7+6 = 31 words < 32: all blocks merge into one paragraph; n = 1 has no second half
    assert plan is None

    def block_tokens(text: str) -> int:
        return 32 * len(text.split("\n\n"))  # every blank-line block is exactly 32 tokens

    longer = thinking + "\n\nFinal: \\boxed{4}"
    plan = plan_revision("Solve 2x = 8.", longer, block_tokens, KeywordParagraphClassifier())
    # each block reaches min 32 alone -> 6 paragraphs; Result at 2 (first half) and 5 (i >= 3) -> cut 5
    assert plan is not None and plan.cut == 5
    assert plan.paragraphs[2] == "So the answer is \\boxed{4}."
    assert plan.result_probabilities == (0.0, 0.0, 1.0, 0.0, 0.0, 1.0)
    assert plan.prompt == longer + REVISION_SUFFIX
    # with the logprob classifier: 0.1, 0.1, 0.75, 0.1, 0.1, 0.75 -> same cut
    plan = plan_revision("Solve 2x = 8.", longer, block_tokens, LogprobParagraphClassifier(label_table))
    assert plan is not None and plan.cut == 5
    assert plan.max_answer_tokens == 256


def test_select_revision_keeps_original_when_revision_is_wrong():
    assert select_revision("original", "revision", revision_correct=True) == "revision"
    assert select_revision("original", "revision", revision_correct=False) == "original"
    assert select_revision("original", None, revision_correct=True) == "original"


@pytest.mark.parametrize(
    "call",
    [
        lambda: split_paragraphs("x", words, min_tokens=0),
        lambda: split_paragraphs("x", words, min_tokens=10, max_tokens=5),
        lambda: find_revision_cut([0.2, 1.5]),
        lambda: build_revision_prompt(["a"], 1),
        lambda: build_revision_prompt([], 0),
        lambda: result_probability(-math.inf, -math.inf),
        lambda: result_probability(0.5, -1.0),
        lambda: KeywordParagraphClassifier(markers=()),
    ],
)
def test_bad_input_raises_value_error(call):
    with pytest.raises(RewardInputError):
        call()
