"""Inputs the reward functions and their TRL adapters used to mistake or crash on.

Each case was a silent misreading (a str flag read as truthy, a str read one character at a
time) or a bare TypeError/ValueError/AttributeError; each now raises RewardInputError, and the
inputs that should work give hand-worked values.
"""

from __future__ import annotations

import math
import random

import pytest

from reasoning_economics.errors import RewardInputError
from reasoning_economics.rewards import (
    LogprobParagraphClassifier,
    budget_prior,
    build_revision_prompt,
    count_reflections,
    forced_summary_prompt,
    grpo_advantages,
    plan_revision,
    reflection_pattern,
    sample_lcpo_target,
    select_revision,
    split_paragraphs,
)
from reasoning_economics.training.field_rewards import FieldReward, GroupVerdictReward
from reasoning_economics.training.trl_rewards import correctness_reward, efficiency_reward, make_reward_func


def words(text: str) -> int:
    return len(text.split())


def first_words(text: str, n: int) -> str:
    return " ".join(text.split()[:n])


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# --- flags given as strings: "False" is truthy ---------------------------------------------


def test_grpo_scale_by_std_is_a_flag():
    # [1, 0]: mean 0.5, Dr. GRPO gives r - mean = [0.5, -0.5]; "False" used to divide by the std.
    assert grpo_advantages([1, 0], scale_by_std=False) == [0.5, -0.5]
    with pytest.raises(RewardInputError, match="scale_by_std"):
        grpo_advantages([1, 0], scale_by_std="False")


def test_select_revision_refuses_a_string_verdict():
    assert select_revision("original", "revision", False) == "original"
    assert select_revision("original", "revision", 1) == "revision"
    with pytest.raises(RewardInputError, match="revision_correct"):  # kept a wrong revision
        select_revision("original", "revision", "False")


def test_forced_summary_prompt_checks_finished_and_thinking():
    # Two of four words kept; unfinished thinking is marked cut ("…") even when it fits.
    assert forced_summary_prompt("a b c d", 2, first_words, finished=True) == "a b…</think>\n\n**Final Answer**\n"
    assert forced_summary_prompt("a b", 2, first_words, finished=False) == "a b…</think>\n\n**Final Answer**\n"
    with pytest.raises(RewardInputError, match="finished"):  # "no" read as finished: no "…"
        forced_summary_prompt("a b", 2, first_words, finished="no")
    with pytest.raises(RewardInputError, match="thinking"):
        forced_summary_prompt(None, 2, first_words, finished=True)


# --- reflection regex cache -----------------------------------------------------------------


def test_reflection_pattern_takes_a_list_and_checks_window_before_its_cache():
    # A list of keywords was unhashable for the cache. "Wait ... wait" (3 characters apart) is one chain.
    assert len(reflection_pattern(["wait"]).findall("Wait, wait")) == 1
    assert count_reflections("wait", window=60) == 1  # caches window 60
    with pytest.raises(RewardInputError, match="window"):  # was served the cached window-60 pattern
        count_reflections("wait", window=60.0)
    with pytest.raises(RewardInputError, match="window"):
        reflection_pattern(("wait",), True)


# --- revision -------------------------------------------------------------------------------


def test_build_revision_prompt_checks_paragraphs_and_cut():
    assert build_revision_prompt(["a", "b", "c"], 1) == "a\n\nb\n</think>\n\n**Final Answer:**\n\n"
    with pytest.raises(RewardInputError, match="cut"):  # True passed as paragraph 1
        build_revision_prompt(["a", "b"], True)
    with pytest.raises(RewardInputError, match="cut"):  # a bare TypeError in the slice
        build_revision_prompt(["a", "b"], 1.0)
    with pytest.raises(RewardInputError, match="paragraphs"):  # one paragraph per character
        build_revision_prompt("ab", 1)


def test_logprob_classifier_checks_what_the_model_returned():
    # P(Result) = p_R / (p_R + p_T) = sigmoid(-2 - (-1)) = sigmoid(-1)
    classifier = LogprobParagraphClassifier(lambda question, paragraphs: [(-1.0, -2.0)])
    assert classifier.result_probabilities("q", ["x"]) == pytest.approx([sigmoid(-1.0)])
    for bad in (None, [(-1.0, -1.0, -1.0)], [("think", "result")]):
        with pytest.raises(RewardInputError, match="label_logprobs"):
            LogprobParagraphClassifier(lambda question, paragraphs, bad=bad: bad).result_probabilities("q", ["x"])


def test_split_paragraphs_and_plan_revision_check_their_callables():
    with pytest.raises(RewardInputError, match="count_tokens must return an int"):
        split_paragraphs("a b", lambda text: "2")
    with pytest.raises(RewardInputError, match="count_tokens must be a callable"):
        split_paragraphs("a b", None)
    with pytest.raises(RewardInputError, match="classifier"):
        plan_revision("q", "a b", words, object())


# --- names and generators -------------------------------------------------------------------


def test_budget_prior_name_must_be_a_string():
    assert budget_prior("linear", [1, 3]) == [0.25, 0.75]
    with pytest.raises(RewardInputError, match="unknown budget prior"):  # "unhashable type: 'list'"
        budget_prior(["uniform"], [1, 2])


def test_sample_lcpo_target_needs_a_random_generator():
    n_target, suffix = sample_lcpo_target(random.Random(0), 5, 5)
    assert (n_target, suffix) == (5, "Think for 5 tokens.")
    with pytest.raises(RewardInputError, match="rng"):
        sample_lcpo_target(None)


# --- TRL adapter ----------------------------------------------------------------------------

BOXED_4 = "\\boxed{4}"


def test_trl_reward_without_prompts():
    # TRL passes prompts; a caller with num_generations (or a per-sample method) needs none.
    # Lengths 10 and 30: mean 20, std 10, z = -1 and +1; reward 1 - 0.1 * sigmoid(z).
    grouped = make_reward_func("efficiency", num_generations=2)
    rewards = grouped(completions=[BOXED_4, BOXED_4], completion_ids=[[1] * 10, [1] * 30], answer=["4", "4"])
    assert rewards == pytest.approx([1 - 0.1 * sigmoid(-1), 1 - 0.1 * sigmoid(1)])
    assert correctness_reward(completions=[BOXED_4, "\\boxed{5}"], answer=["4", "4"]) == [1.0, 0.0]
    with pytest.raises(RewardInputError, match="pass prompts"):  # a group reward cannot group them
        efficiency_reward(completions=[BOXED_4], answer=["4"])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: efficiency_reward("pp", [BOXED_4, BOXED_4], answer=["4", "4"]), "prompts must be a sequence"),
        (lambda: efficiency_reward(["p"], BOXED_4[:1], answer=["4"]), "completions must be a sequence"),
        (lambda: efficiency_reward(["p"], None, answer=["4"]), "needs the completions"),
        (lambda: efficiency_reward(["p"], [BOXED_4], completion_ids=[None], answer=["4"]), r"completion_ids\[0\]"),
        (lambda: efficiency_reward(["p"], [BOXED_4], completion_ids=[7], answer=["4"]), r"completion_ids\[0\]"),
        (lambda: efficiency_reward(["p", "p"], [BOXED_4] * 2, completion_ids="ab", answer=["4"] * 2), "completion_ids"),
        (lambda: correctness_reward(["p"], [BOXED_4], answer=None), "column 'answer'"),
        (lambda: correctness_reward(["p"], [BOXED_4], answer=4), "column 'answer'"),
        (
            lambda: efficiency_reward([[{"role": ["user"], "content": "q"}]], [BOXED_4], answer=["4"]),
            "role must be a string",
        ),
    ],
)
def test_trl_reward_refuses_malformed_inputs(call, message):
    with pytest.raises(RewardInputError, match=message):
        call()


def test_trl_reward_reads_tensor_rows_of_ids():
    torch = pytest.importorskip("torch")
    # Row 0 ends with the EOS id 2; row 1 does not: cut off, so 0. The lone valid sample gets 1 - 0.1/2.
    reward = make_reward_func("efficiency", eos_token_ids=[2])
    ids = [torch.tensor([1, 2]), torch.tensor([1, 2, 3, 4])]
    assert reward(["p", "p"], [BOXED_4, BOXED_4], completion_ids=ids, answer=["4", "4"]) == [0.95, 0.0]


def test_field_rewards_take_completions_alone():
    assert FieldReward("episode_return", "r")(completions=["a", "b"], episode_return=[1.5, -0.1]) == [1.5, -0.1]
    fields = {"seed": [1, 1], "correct": [[True], [False]], "response_tokens": [[3], [5]], "truncated": [[False]] * 2}
    assert GroupVerdictReward("correctness")(completions=["a", "b"], **fields) == [1.0, 0.0]
    with pytest.raises(RewardInputError, match="needs the completions"):
        FieldReward("episode_return", "r")(episode_return=[1.0])
