"""summary.json from hand-made results: every number below is worked out in the comments."""

from __future__ import annotations

import math

import pytest

from reasoning_economics.evaluation.summary import summarize, with_baseline


def _step(difficulty, problem_type, remaining, counted, used, correct, response, extracted, reward, finish="stop"):
    return {
        "difficulty": difficulty, "problem_type": problem_type, "remaining_before": remaining,
        "tokens_counted": counted, "tokens_used": used, "thinking_tokens": counted, "correct": correct,
        "response": response, "extracted": extracted, "reward": reward, "finish_reason": finish,
    }


EPISODES = [
    {
        "index": 0, "mode": "episode", "total_budget": 400, "num_questions": 3, "spent_budget": 400,
        "total_reward": 0.7,
        "steps": [
            _step(0.1, "gcd", 400, 100, 100, True, "Wait, 6 divides both.\n\\boxed{6}", "6", 1.0),
            _step(0.5, "lcm", 300, 200, 200, False, "step\n\\boxed{7}", "7", -0.1),
            # wanted 150 tokens with 100 left: overspend, clipped to 100, cut off
            _step(0.9, "gcd", 100, 150, 100, False, "step step", None, -0.2, finish="length"),
        ],
    },
    {
        # stopped after one of three questions: early termination, two unanswered
        "index": 1, "mode": "episode", "total_budget": 200, "num_questions": 3, "spent_budget": 50,
        "total_reward": 1.3,
        "steps": [_step(0.2, "gcd", 200, 50, 50, True, "2*3 = 6\n\\boxed{6}", "6", 1.0)],
    },
]


def test_episode_summary_by_hand():
    s = summarize(EPISODES, {"mode": "episode", "name": "hand"})
    # 2 correct of 6 questions (unanswered count as wrong)
    assert (s["accuracy"]["successes"], s["accuracy"]["total"]) == (2, 6)
    assert s["answers"] == 4
    # tokens [100, 200, 150, 50]
    assert s["tokens_per_question"]["mean"] == 125.0
    assert s["tokens_per_question"]["median"] == 125.0
    budget = s["budget"]
    assert budget["utilisation"] == pytest.approx((400 / 400 + 50 / 200) / 2)  # 0.625
    assert budget["overspend_rate"] == pytest.approx(1 / 4)
    assert budget["early_termination_rate"] == pytest.approx(1 / 2)
    assert budget["questions_answered"] == 2.0
    assert budget["unanswered_rate"] == pytest.approx(2 / 6)
    # token ranks [2, 4, 3, 1], difficulty ranks [1, 3, 4, 2]: sxy = 3, sxx = syy = 5 -> 0.6
    assert s["spearman_tokens_difficulty"] == pytest.approx(0.6)
    # 2 correct answers / 0.5k tokens
    assert s["accuracy_per_1k_tokens"] == pytest.approx(4.0)
    assert s["truncation_rate"] == pytest.approx(0.25)
    # one REA-RL reflection ("Wait") and one backtracking word in 500 thinking tokens
    assert s["reflection"]["rea_rl_per_1k"] == pytest.approx(2.0)
    assert s["reflection"]["self_reflection_per_1k"] == 0.0
    assert s["reflection"]["share_reflecting"] == pytest.approx(0.25)
    assert s["patterns_per_1k"] == {"verification": 0.0, "backtracking": pytest.approx(2.0), "exploration": 0.0}
    # faithful: "6" in "Wait, 6 divides both." and in "2*3 = 6"; "7" not in "step"; no answer skipped
    assert (s["faithfulness"]["successes"], s["faithfulness"]["total"]) == (2, 3)
    easy, medium, hard = (s["by_difficulty"][t] for t in ("easy", "medium", "hard"))
    assert list(s["by_difficulty"]) == ["easy", "medium", "hard"]
    assert (easy["tokens"]["mean"], easy["accuracy"]["value"]) == (75.0, 1.0)
    assert (medium["tokens"]["mean"], medium["accuracy"]["value"]) == (200.0, 0.0)
    assert hard["tokens"]["count"] == 1
    assert s["by_problem_type"]["gcd"]["tokens"]["mean"] == 100.0
    assert s["by_problem_type"]["gcd"]["accuracy"]["value"] == pytest.approx(2 / 3)
    assert s["reward"]["episode_return"] == pytest.approx(1.0)
    assert s["reward"]["episode_return_std"] == pytest.approx(0.3)
    assert s["reward"]["step_reward"] == pytest.approx((1.0 - 0.1 - 0.2 + 1.0) / 4)


def test_unanswered_questions_count_as_wrong_in_their_tier_and_type():
    # Episode 1 left two questions: a hard gcd and a hard "prime" no answer reached.
    unanswered = [{"question_id": "q5", "problem_type": "gcd", "difficulty": 0.8},
                  {"question_id": "q6", "problem_type": "prime", "difficulty": 0.95}]
    units = [{**EPISODES[0], "unanswered": []}, {**EPISODES[1], "unanswered": unanswered}]
    s = summarize(units, {"mode": "episode"})
    hard = s["by_difficulty"]["hard"]
    # one answered hard question (wrong) and two unanswered: 0 of 3
    assert (hard["accuracy"]["successes"], hard["accuracy"]["total"], hard["unanswered"]) == (0, 3, 2)
    assert hard["tokens"]["count"] == 1  # tokens stay those of the answers
    easy = s["by_difficulty"]["easy"]
    assert (easy["accuracy"]["successes"], easy["accuracy"]["total"], easy["unanswered"]) == (2, 2, 0)
    gcd, prime = s["by_problem_type"]["gcd"], s["by_problem_type"]["prime"]
    assert (gcd["accuracy"]["successes"], gcd["accuracy"]["total"], gcd["unanswered"]) == (2, 4, 1)
    # a type no answer reached still shows, with its accuracy 0 of 1
    assert (prime["accuracy"]["total"], prime["unanswered"], prime["tokens"]["count"]) == (1, 1, 0)
    # the groups add up to the overall accuracy's 2 of 6
    assert sum(g["accuracy"]["total"] for g in s["by_difficulty"].values()) == s["accuracy"]["total"] == 6


def test_baseline_comparison_reports_reduction_and_points():
    s = summarize(EPISODES, {"mode": "episode"})
    baseline = {"run": {"name": "base"}, "accuracy": {"value": 0.5}, "tokens_per_question": {"mean": 250.0}}
    versus = with_baseline(s, baseline)["vs_baseline"]
    assert versus["baseline"] == "base"
    assert versus["token_reduction_pct"] == pytest.approx(50.0)  # 250 -> 125
    assert versus["accuracy_change_points"] == pytest.approx(100 * (2 / 6 - 0.5))


@pytest.mark.parametrize("mode", ["episode", "problem", "anytime"])
def test_a_run_without_answers_has_no_accuracy_or_tokens(mode):
    # An empty results.jsonl (a run killed before its first unit): unknown, not 0.000 and 0.0 tokens.
    s = summarize([], {"mode": mode, "name": "empty"})
    assert (s["units"], s["answers"], s["accuracy"]) == (0, 0, None)
    assert s["tokens_per_question"] == {"count": 0, "mean": None, "median": None, "p90": None, "min": None, "max": None}
    # Used as a baseline it compares nothing, instead of "+33 points against 0".
    versus = with_baseline(summarize(EPISODES, {"mode": "episode"}), s)["vs_baseline"]
    assert versus == {"baseline": "empty", "token_reduction_pct": None, "accuracy_change_points": None}


def _sample(correct, tokens):
    return {"correct": correct, "tokens": tokens, "thinking_tokens": tokens, "response": "x", "extracted": None,
            "finish_reason": "stop"}


def test_problem_mode_pass_at_k_by_hand():
    unit = {
        "index": 0, "mode": "problem",
        "problems": [
            {"problem_type": "gcd", "difficulty": 0.1,
             "samples": [_sample(True, 10), _sample(False, 20), _sample(True, 30)]},
            {"problem_type": "gcd", "difficulty": 0.9,
             "samples": [_sample(False, 40), _sample(False, 50), _sample(False, 60)]},
        ],
    }
    s = summarize([unit], {"mode": "problem"})
    assert (s["accuracy"]["successes"], s["accuracy"]["total"]) == (2, 6)
    # pass@1 = (2/3 + 0)/2; pass@2: 1 - C(1,2)/C(3,2) = 1 for the first, 0 for the second
    assert s["pass_at_k"] == {"1": pytest.approx(1 / 3), "2": pytest.approx(0.5), "3": pytest.approx(0.5)}
    assert s["identical_samples_rate"] == 1.0  # every sample of each problem is the text "x"
    assert s["samples_per_problem"] == 3
    # ranks of tokens 1..6 against difficulty ranks [2,2,2,5,5,5]: 13.5 / sqrt(17.5 * 13.5)
    assert s["spearman_tokens_difficulty"] == pytest.approx(math.sqrt(13.5 / 17.5))
    # six distinct lengths in five equal-count bins: 2, 1, 1, 1, 1 (it was 2, 2, 2)
    assert [(b["low"], b["count"], b["accuracy"]) for b in s["accuracy_by_length"]] == [
        (10.0, 2, 0.5), (30.0, 1, 1.0), (40.0, 1, 0.0), (50.0, 1, 0.0), (60.0, 1, 0.0)
    ]


def test_identical_samples_each_count_for_reflection():
    # Three samples of the same reflecting text are three answers that reflect: the share is 3 of
    # 6 and the rate 3 REA-RL reflections ("wait") in 60 thinking tokens (it was 1 of 4, 1 in 40).
    reflecting = {**_sample(True, 10), "response": "wait, so 6"}
    unit = {
        "index": 0, "mode": "problem",
        "problems": [
            {"problem_type": "gcd", "difficulty": 0.1, "samples": [reflecting] * 3},
            {"problem_type": "gcd", "difficulty": 0.1,
             "samples": [{**_sample(True, 10), "response": text} for text in ("so 6", "hence 6", "thus 6")]},
        ],
    }
    s = summarize([unit], {"mode": "problem"})
    assert s["reflection"]["share_reflecting"] == pytest.approx(0.5)
    assert s["reflection"]["rea_rl_per_1k"] == pytest.approx(1000 * 3 / 60)
    assert s["patterns_per_1k"]["backtracking"] == pytest.approx(1000 * 3 / 60)


def test_anytime_summary_by_hand():
    def cell(budget, tokens, score):
        return {"budget": budget, "thinking_tokens": tokens, "score": score,
                "summaries": [{"correct": score == 1.0, "extracted": "3"}]}

    unit = {
        "index": 0, "mode": "anytime", "budgets": [10, 20],
        "problems": [
            # right at 10 tokens, wrong at 20: overthinking
            {"problem_type": "gcd", "difficulty": 0.1, "thinking": "a", "thinking_tokens": 15,
             "by_budget": [cell(10, 10, 1.0), cell(20, 15, 0.0)]},
            {"problem_type": "gcd", "difficulty": 0.9, "thinking": "b", "thinking_tokens": 30,
             "by_budget": [cell(10, 10, 0.0), cell(20, 20, 1.0)]},
        ],
    }
    s = summarize([unit], {"mode": "anytime"})
    anytime = s["anytime"]
    assert anytime["budgets"] == [10, 20]
    assert anytime["accuracy"] == [0.5, 0.5]
    assert anytime["anytime_score"] == pytest.approx(0.5)
    assert anytime["overthinking_count"] == 1
    assert anytime["by_difficulty"]["easy"]["overthinking_count"] == 1
    assert anytime["by_difficulty"]["hard"]["accuracy"] == [0.0, 1.0]
    assert (s["accuracy"]["successes"], s["accuracy"]["total"]) == (1, 2)  # at the largest budget
    # One answer a question, at the largest budget (it pooled every budget's cut: 4 answers, 13.75).
    assert s["answers"] == 2
    assert s["tokens_per_question"]["mean"] == pytest.approx((15 + 20) / 2)
    assert anytime["tokens"] == [10.0, 17.5]
    assert anytime["by_difficulty"]["hard"]["tokens"] == [10.0, 20.0]
    # 1 right summary in 35 thinking tokens at the largest budget
    assert s["accuracy_per_1k_tokens"] == pytest.approx(1000 / 35)
    assert s["by_difficulty"]["hard"]["accuracy_per_1k_tokens"] == pytest.approx(1000 / 20)
    # Tiers and types read accuracy at the largest budget too (they pooled every budget's cells).
    assert s["by_difficulty"]["easy"]["accuracy"]["value"] == 0.0
    assert s["by_difficulty"]["hard"]["accuracy"]["value"] == 1.0
    assert (s["by_problem_type"]["gcd"]["accuracy"]["successes"], s["by_problem_type"]["gcd"]["accuracy"]["total"]) == (1, 2)


def test_anytime_reflection_counts_each_question_once_over_its_whole_thinking():
    # One question's 300 thinking tokens hold 3 REA-RL reflections ("wait", "but", "check", each
    # on its own line) and 1 backtracking word, cut at four budgets: 3 per 300 tokens is 10 per
    # 1k. Counting the whole text at each cut over the kept tokens only read 12 in 800: 15 per 1k.
    thinking = "wait\n" + "x\n" * 10 + "but\n" + "y\n" * 10 + "check"
    unit = {
        "index": 0, "mode": "anytime", "budgets": [100, 200, 300, 400],
        "problems": [{"problem_type": "gcd", "difficulty": 0.1, "thinking": thinking, "thinking_tokens": 300,
                      "by_budget": [{"budget": b, "thinking_tokens": min(300, b), "score": 1.0,
                                     "summaries": [{"correct": True, "extracted": "3"}]} for b in (100, 200, 300, 400)]}],
    }  # fmt: skip
    s = summarize([unit], {"mode": "anytime"})
    assert s["reflection"]["rea_rl_per_1k"] == pytest.approx(10.0)
    assert s["reflection"]["share_reflecting"] == 1.0
    assert s["patterns_per_1k"]["backtracking"] == pytest.approx(1000 / 300)
    assert s["by_difficulty"]["easy"]["reflection"]["rea_rl_per_1k"] == pytest.approx(10.0)
    # The tokens are those kept at the largest budget: all 300.
    assert s["tokens_per_question"]["mean"] == pytest.approx(300)


def _anytime_problem(difficulty, thinking_tokens, budgets, finish_reason="stop"):
    return {"problem_type": "gcd", "difficulty": difficulty, "thinking": "so 3", "thinking_tokens": thinking_tokens,
            "finish_reason": finish_reason,
            "by_budget": [{"budget": b, "thinking_tokens": min(thinking_tokens, b), "score": 1.0,
                           "summaries": [{"correct": True, "extracted": "3"}]} for b in budgets]}


def test_anytime_ranks_questions_not_budget_cuts_against_difficulty():
    # Thinking grows with difficulty (40, 80, 120 tokens): rho is 1. Pooling the cuts at budgets
    # 50 and 100 ranked (40, 40, 50, 80, 50, 100) and read 0.80; the largest budget's are
    # 40, 80, 100, still in difficulty's order.
    budgets = [50, 100]
    unit = {"index": 0, "mode": "anytime", "budgets": budgets,
            "problems": [_anytime_problem(0.1, 40, budgets), _anytime_problem(0.5, 80, budgets),
                         _anytime_problem(0.9, 120, budgets, finish_reason="length")]}
    s = summarize([unit], {"mode": "anytime"})
    assert s["spearman_tokens_difficulty"] == pytest.approx(1.0)
    assert s["answers"] == 3
    assert s["tokens_per_question"]["mean"] == pytest.approx((40 + 80 + 100) / 3)
    # the third thought was cut at the largest budget: 1 of 3 (it read 0.0, finish reasons unread)
    assert s["truncation_rate"] == pytest.approx(1 / 3)


def test_rates_of_a_run_without_answers_are_unknown():
    s = summarize([], {"mode": "episode"})
    assert (s["truncation_rate"], s["reflection"]["share_reflecting"]) == (None, None)
    # and a run whose policy reports no finish reasons knows no truncation rate
    unit = {**EPISODES[1], "steps": [{**EPISODES[1]["steps"][0], "finish_reason": None}]}
    assert summarize([unit], {"mode": "episode"})["truncation_rate"] is None


def test_anytime_accuracy_counts_summaries_so_a_half_right_question_is_half_right():
    # round(0.5 * 1) is 0: one question with one right summary of two read as accuracy 0.
    summaries = [{"correct": True, "extracted": "3"}, {"correct": False, "extracted": "4"}]
    unit = {
        "index": 0, "mode": "anytime", "budgets": [10, 20],
        "problems": [{"problem_type": "gcd", "difficulty": 0.1, "thinking": "a", "thinking_tokens": 15,
                      "by_budget": [{"budget": b, "thinking_tokens": b, "score": 0.5, "summaries": summaries}
                                    for b in (10, 20)]}],
    }  # fmt: skip
    s = summarize([unit], {"mode": "anytime"})
    assert s["anytime"]["accuracy"] == [0.5, 0.5]
    assert (s["accuracy"]["successes"], s["accuracy"]["total"], s["accuracy"]["value"]) == (1, 2, 0.5)
    assert s["by_difficulty"]["easy"]["accuracy"]["value"] == 0.5
