"""The shared-budget environment: rewards worked out by hand from methods.md §1."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from reasoning_economics import tokens
from reasoning_economics.env import EnvConfig, ReasonBudgetAction, ReasonBudgetEnvironment
from reasoning_economics.errors import (
    ConfigError,
    EpisodeFinishedError,
    EpisodeNotStartedError,
    GradingInputError,
    InvalidActionError,
    ReasoningEconomicsError,
    ResponseTooLargeError,
    UnknownTokenizerError,
)

QWEN = tokens.get_counter("qwen3")


def answer(gold: str, n_tokens: int, *, correct: bool = True) -> str:
    """A response of exactly ``n_tokens`` qwen3 tokens whose boxed answer is right or wrong."""
    boxed = f"\\boxed{{{gold}}}" if correct else "\\boxed{none}"
    base = QWEN.count(boxed)
    assert n_tokens >= base, f"{n_tokens} tokens cannot hold {boxed!r}"
    text = " x" * (n_tokens - base) + boxed
    assert QWEN.count(text) == n_tokens
    return text


def play(env: ReasonBudgetEnvironment, plan: list[tuple[bool, int]]):
    observations = []
    golds = [p.answer for p in env.problems]
    for k, (correct, n_tokens) in enumerate(plan):
        obs = env.step(ReasonBudgetAction(response=answer(golds[k], n_tokens, correct=correct)))
        observations.append(obs)
    return observations


def test_hard_mode_rewards_by_hand():
    env = ReasonBudgetEnvironment(num_questions=4)
    obs = env.reset(seed=1, total_budget=400)
    assert (obs.remaining_budget, obs.questions_remaining, obs.budget_per_remaining) == (400, 4, 100.0)
    assert obs.metadata["budget_source"] == "client" and obs.step_token_limit == 400 and not obs.done
    steps = play(env, [(True, 50), (False, 150), (True, 100), (True, 300)])
    # fair = 400/4 = 100.
    # 1: correct, ratio 0.5 -> 1 + 0.1*(1-0.5) = 1.05
    # 2: wrong, ratio 1.5 -> -0.1 - 0.05*0.5 = -0.125
    # 3: correct, ratio 1.0 -> 1 + 0 - 0 = 1.0
    # 4: 300 counted, clipped to the 100 left, ratio 1.0 -> 1.0; final bonus
    #    0.5 * (3/4) * max(0, 1 - |400/400 - 0.9|) = 0.5 * 0.75 * 0.9 = 0.3375 -> 1.3375
    assert [round(o.reward, 10) for o in steps] == [1.05, -0.125, 1.0, 1.3375]
    assert [o.remaining_budget for o in steps] == [350, 200, 100, 0]
    assert [o.done for o in steps] == [False, False, False, True]
    last = steps[-1].history[-1]
    assert (last["tokens_counted"], last["tokens_used"], last["was_correct"]) == (300, 100, True)
    assert last["reward_parts"]["episode_bonus"] == pytest.approx(0.3375)
    assert steps[1].accuracy_so_far == pytest.approx(0.5)
    state = env.state
    assert (state.spent_budget, state.questions_answered, state.total_correct) == (400, 4, 3)
    assert state.current_accuracy == pytest.approx(0.75) and state.budget_remaining_ratio == 0.0
    assert state.total_reward == pytest.approx(1.05 - 0.125 + 1.0 + 1.3375)


def test_observation_metadata_keys_and_record_reward_parts():
    env = ReasonBudgetEnvironment(num_questions=2)
    first = env.reset(seed=1, total_budget=200)
    fixed = ["total_budget", "budget_source", "tokenizer_name", "num_questions", "seed", "env_config_digest"]
    running = ["spent_budget", "total_reward", "termination_reason"]
    assert list(first.metadata) == [*fixed, *running, "problem_type", "question_id"]
    assert first.metadata["question_id"] == env.problems[0].id and first.metadata["spent_budget"] == 0
    middle, last = play(env, [(True, 50), (False, 100)])
    assert list(middle.metadata) == [*fixed, *running, "problem_type", "question_id"]
    assert (middle.metadata["question_id"], middle.metadata["spent_budget"]) == (env.problems[1].id, 50)
    assert middle.metadata["total_reward"] == pytest.approx(1.05)
    # Once done there is no current question; earlier observations keep their own metadata.
    assert list(last.metadata) == [*fixed, *running]
    assert last.metadata["termination_reason"] == "all_answered" and first.metadata["spent_budget"] == 0
    # 2: wrong, ratio 1.0 -> -0.1; bonus 0.5 * 1/2 * (1 - |150/200 - 0.9|) = 0.2125
    parts = last.history[1]["reward_parts"]
    assert list(parts) == ["correctness", "efficiency_bonus", "cost_penalty", "overspend_penalty", "episode_bonus"]
    assert parts["correctness"] == -0.1 and parts["episode_bonus"] == pytest.approx(0.2125)
    assert last.reward == pytest.approx(-0.1 + 0.2125)
    assert middle.history[0]["reward_parts"] == {
        "correctness": 1.0, "efficiency_bonus": pytest.approx(0.05), "cost_penalty": 0.0,
        "overspend_penalty": 0.0, "episode_bonus": 0.0,
    }  # fmt: skip


def test_hard_mode_terminates_early_when_fewer_than_min_tokens_remain():
    env = ReasonBudgetEnvironment(num_questions=4, min_tokens=10)
    env.reset(seed=2, total_budget=400)
    (obs,) = play(env, [(True, 395)])
    # ratio 3.95: 1 + 0.1*(1-3.95) - 0.05*(3.95-1) = 1 - 0.295 - 0.1475 = 0.5575
    # 5 tokens left < 10: done. bonus = 0.5 * (1/4) * (1 - |0.9875-0.9|) = 0.1140625
    assert obs.done and obs.metadata["termination_reason"] == "budget_exhausted"
    assert obs.reward == pytest.approx(0.5575 + 0.1140625)
    assert obs.questions_remaining == 0 and obs.question == "" and obs.step_token_limit == 0
    with pytest.raises(EpisodeFinishedError):
        env.step(ReasonBudgetAction(response="\\boxed{1}"))


def test_soft_mode_penalises_overspend_and_never_stops_early():
    env = ReasonBudgetEnvironment(num_questions=2, hard_cap_mode=False)
    obs = env.reset(seed=3, total_budget=200)
    assert obs.step_token_limit == 2048
    first, second = play(env, [(True, 250), (False, 10)])
    # fair = 100. 1: ratio 2.5, overspend 250-200 = 50:
    #   1 + 0.1*(1-2.5) - 0.05*1.5 - 0.25*50/100 = 1 - 0.15 - 0.075 - 0.125 = 0.65
    assert first.reward == pytest.approx(0.65) and first.remaining_budget == -50 and not first.done
    # 2: wrong, ratio 0.1, all 10 tokens are overspend: -0.1 - 0.25*10/100 = -0.125
    #    bonus: accuracy 1/2, utilisation 260/200 = 1.3 -> 0.5*0.5*(1-0.4) = 0.15
    assert second.reward == pytest.approx(-0.125 + 0.15) and second.done
    assert second.history[1]["overspend_tokens"] == 10


def test_soft_mode_can_floor_the_budget_at_zero():
    env = ReasonBudgetEnvironment(num_questions=2, hard_cap_mode=False, soft_allow_negative_budget=False)
    env.reset(seed=3, total_budget=200)
    (obs,) = play(env, [(True, 250)])
    assert obs.remaining_budget == 0 and obs.history[0]["tokens_used"] == 250


def test_budget_resolution_priority():
    env = ReasonBudgetEnvironment(num_questions=5)
    client = env.reset(seed=4, total_budget=1234, tokenizer_name="Qwen/Qwen2.5-0.5B-Instruct")
    assert (client.remaining_budget, client.metadata["budget_source"]) == (1234, "client")

    native = env.reset(seed=4, tokenizer_name="Qwen/Qwen2.5-0.5B-Instruct")
    question_tokens = sum(QWEN.count(p.question) for p in env.problems)
    assert native.metadata["budget_source"] == "tokenizer_native"
    assert native.remaining_budget == round(4.0 * question_tokens)
    assert native.metadata["tokenizer_name"] == "qwen3"

    fallback = env.reset(seed=4)
    assert fallback.metadata["budget_source"] == "config"
    assert fallback.remaining_budget == 4 * 5 * (10 + 800) // 2 == 8100

    configured = ReasonBudgetEnvironment(num_questions=5, tokenizer_name="llama3").reset(seed=4)
    assert configured.metadata["budget_source"] == "tokenizer_native"
    assert configured.metadata["tokenizer_name"] == "llama3"


@pytest.mark.parametrize(
    ("budget", "shown"),
    [(10**400, "an integer of over 30 digits"), (-(10**4000), "an integer of over 30 digits"),
     (float("nan"), "nan"), (float("inf"), "inf"), (0, "0"), (5e-324, "5e-324"), (10**8 + 0.5, "100000000.5")],
)
def test_an_out_of_range_budget_is_a_config_error_and_the_episode_is_kept(budget, shown):
    # An integer of over 308 digits raised OverflowError (math.isfinite cannot make it a float).
    env = ReasonBudgetEnvironment(num_questions=2)
    before = env.reset(seed=1, total_budget=500)
    with pytest.raises(ConfigError, match=rf"total_budget must be between 1 and 100000000, got {re.escape(shown)}$"):
        env.reset(seed=2, total_budget=budget)
    assert env.state.episode_id == before.episode_id and env.state.total_budget == 500


def test_the_config_budget_fallback_is_announced_once_per_budget(caplog, monkeypatch):
    # Once per reset before: clients of a server resetting without a budget wrote a line each.
    from reasoning_economics.env import environment

    monkeypatch.setattr(environment, "_ANNOUNCED_CONFIG_BUDGETS", set())  # whatever other tests announced
    with caplog.at_level("WARNING", logger="reasoning_economics.env.environment"):
        env = ReasonBudgetEnvironment(num_questions=2)
        for seed in range(5):
            assert env.reset(seed=seed).metadata["budget_source"] == "config"
        ReasonBudgetEnvironment(num_questions=2).reset(seed=0)  # as each HTTP /reset does
        ReasonBudgetEnvironment(num_questions=3).reset(seed=0)  # another budget: said once more
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == [
        "no total_budget or tokenizer_name given: using the config budget 3240",  # 4 x 2 x (10 + 800) / 2
        "no total_budget or tokenizer_name given: using the config budget 4860",
    ]


def test_grading_response_is_graded_while_the_full_response_is_charged():
    env = ReasonBudgetEnvironment(num_questions=2)
    env.reset(seed=5, total_budget=1000)
    gold = env.problems[0].answer
    visible = f"So the result is \\boxed{{{gold}}}"
    full = "<think>maybe it is \\boxed{-987654321}, wait, let me check</think>" + visible
    obs = env.step(ReasonBudgetAction(response=full, metadata={"grading_response": visible}))
    assert obs.history[0]["was_correct"] is True
    assert obs.history[0]["tokens_counted"] == QWEN.count(full)


def test_a_grading_response_outside_the_charged_response_is_refused():
    # An empty response with the answer in grading_response scored for zero tokens.
    env = ReasonBudgetEnvironment(num_questions=2)
    env.reset(seed=5, total_budget=1000)
    gold = f"\\boxed{{{env.problems[0].answer}}}"
    before = _snapshot(env)
    for response in ("", "<think>long reasoning</think> \\boxed{0}", gold[:-1]):
        with pytest.raises(InvalidActionError, match="grading_response must be part of response"):
            env.step(ReasonBudgetAction(response=response, metadata={"grading_response": gold}))
        assert _snapshot(env) == before
    # Surrounding whitespace is not part of the answer: a stripped visible part is accepted.
    obs = env.step(ReasonBudgetAction(response=f"<think>x</think>{gold}", metadata={"grading_response": f"\n{gold} "}))
    assert obs.history[0]["was_correct"] is True


def test_a_null_grading_response_grades_the_response_like_an_absent_one():
    # Clients write metadata={"grading_response": visible_or_None}; None once failed the step
    # with "response must be a str, got NoneType".
    for metadata in ({"grading_response": None}, {"grading_response": None, "tokenizer_name": None}, {}):
        env = ReasonBudgetEnvironment(num_questions=2)
        env.reset(seed=5, total_budget=1000)
        obs = env.step({"response": f"\\boxed{{{env.problems[0].answer}}}", "metadata": metadata})
        assert obs.history[0]["was_correct"] is True, metadata
        assert obs.step_idx == 1


def test_a_step_cannot_count_with_another_tokenizer_than_its_episodes():
    # Switching to a coarser vocabulary mid-episode spent about a third of the budget on digits.
    env = ReasonBudgetEnvironment(num_questions=3)
    env.reset(seed=6, tokenizer_name="qwen3", total_budget=1000)
    before = _snapshot(env)
    digits = "1234567890" * 20 + " \\boxed{0}"
    with pytest.raises(InvalidActionError, match="not this episode's tokenizer 'qwen3'"):
        env.step(ReasonBudgetAction(response=digits, metadata={"tokenizer_name": "o200k_base"}))
    assert _snapshot(env) == before
    # Another name of the same vocabulary is the same tokenizer.
    obs = env.step(ReasonBudgetAction(response=digits, metadata={"tokenizer_name": "Qwen/Qwen3-0.6B"}))
    assert obs.history[0]["tokens_counted"] == QWEN.count(digits)


def test_step_tokenizer_name_counts_with_that_tokenizer():
    env = ReasonBudgetEnvironment(num_questions=2)
    env.reset(seed=6, total_budget=1000)
    text = "Let me think about this carefully. \\boxed{0}"
    obs = env.step(ReasonBudgetAction(response=text, metadata={"tokenizer_name": "o200k_base"}))
    assert obs.history[0]["tokens_counted"] == tokens.get_counter("o200k_base").count(text)


def test_without_a_tokenizer_at_reset_the_first_step_naming_one_pins_it():
    # A client free to switch on every step counted each response with the cheapest vocabulary.
    env = ReasonBudgetEnvironment(num_questions=4)
    assert env.reset(seed=6, total_budget=5000).metadata["tokenizer_name"] == QWEN.name  # the default
    digits = "1234567890" * 20 + " \\boxed{0}"
    o200k = tokens.get_counter("o200k_base")
    assert o200k.count(digits) != QWEN.count(digits)
    obs = env.step(ReasonBudgetAction(response=digits, metadata={"tokenizer_name": "o200k_base"}))
    assert obs.history[0]["tokens_counted"] == o200k.count(digits)
    assert env.state.tokenizer_name == obs.metadata["tokenizer_name"] == o200k.name
    before = _snapshot(env)
    with pytest.raises(InvalidActionError, match="not this episode's tokenizer 'o200k_base'"):
        env.step(ReasonBudgetAction(response=digits, metadata={"tokenizer_name": "qwen3"}))
    assert _snapshot(env) == before
    # A step naming none counts with the pinned one; the next reset starts free again.
    obs = env.step(ReasonBudgetAction(response=digits))
    assert obs.history[1]["tokens_counted"] == o200k.count(digits)
    env.reset(seed=6, total_budget=5000)
    obs = env.step(ReasonBudgetAction(response=digits, metadata={"tokenizer_name": "qwen3"}))
    assert obs.history[0]["tokens_counted"] == QWEN.count(digits)


def test_a_first_step_naming_a_model_of_the_same_vocabulary_counts_with_its_special_tokens():
    # Qwen2.5 shares Qwen3's vocabulary name but has no <think> token: the step counted with the
    # default Qwen3 counter (7 tokens) because the names matched; Qwen2.5's tokenizer gives 9.
    env = ReasonBudgetEnvironment(num_questions=2)
    env.reset(seed=6, total_budget=5000)
    text = "<think>\nok\n</think>\n\n4"
    qwen25 = tokens.get_counter("Qwen/Qwen2.5-0.5B-Instruct")
    assert (qwen25.count(text), QWEN.count(text)) == (9, 7)
    obs = env.step(ReasonBudgetAction(response=text, metadata={"tokenizer_name": "Qwen/Qwen2.5-0.5B-Instruct"}))
    assert obs.history[0]["tokens_counted"] == 9
    obs = env.step(ReasonBudgetAction(response=text))  # pinned
    assert obs.history[1]["tokens_counted"] == 9


def test_after_a_first_step_naming_none_a_step_cannot_switch_from_the_default():
    # Pinning on a later step let a client count its first answers in one vocabulary and the rest in another.
    env = ReasonBudgetEnvironment(num_questions=4)
    env.reset(seed=6, total_budget=5000)
    digits = "1234567890" * 20 + " \\boxed{0}"
    obs = env.step(ReasonBudgetAction(response=digits))
    assert obs.history[0]["tokens_counted"] == QWEN.count(digits)
    before = _snapshot(env)
    with pytest.raises(InvalidActionError, match="its first steps named none and were counted in that one"):
        env.step(ReasonBudgetAction(response=digits, metadata={"tokenizer_name": "o200k_base"}))
    assert _snapshot(env) == before
    # The default by any of its names is the episode's tokenizer: counted, and pinned under that name.
    obs = env.step(ReasonBudgetAction(response=digits, metadata={"tokenizer_name": "Qwen/Qwen3-0.6B"}))
    assert obs.history[1]["tokens_counted"] == QWEN.count(digits)
    assert env.state.tokenizer_name == QWEN.name


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), "5"])
def test_a_step_timeout_that_is_not_seconds_is_a_typed_error_not_the_default(timeout):
    # 0 stood for the configured timeout here while the grader refuses it.
    env = ReasonBudgetEnvironment(num_questions=2)
    env.reset(seed=3, total_budget=1000)
    before = _snapshot(env)
    with pytest.raises(GradingInputError, match="timeout must be a number of seconds from 0.1"):
        env.step(ReasonBudgetAction(response="\\boxed{1}"), timeout_s=timeout)
    assert _snapshot(env) == before
    assert env.step(ReasonBudgetAction(response="\\boxed{1}"), timeout_s=0.5).step_idx == 1


def test_difficulty_is_revealed_only_after_the_answer():
    env = ReasonBudgetEnvironment(num_questions=3)
    obs = env.reset(seed=7, total_budget=3000)
    dumped = json.dumps(obs.model_dump())
    assert "difficulty" not in dumped
    obs = env.step(ReasonBudgetAction(response="\\boxed{0}"))
    assert obs.history[0]["difficulty"] == env.problems[0].difficulty
    assert obs.history[0]["problem_type"] == env.problems[0].problem_type


def test_prompt_states_the_budget():
    env = ReasonBudgetEnvironment(num_questions=3)
    obs = env.reset(seed=8, total_budget=900)
    assert obs.question in obs.prompt
    assert "900 tokens for 3 questions" in obs.prompt and "\\boxed" in obs.prompt


def test_same_seed_same_questions_in_another_process():
    env = ReasonBudgetEnvironment(num_questions=10)
    env.reset(seed=123)
    here = [p.question for p in env.problems]
    env.reset(seed=124)
    assert [p.question for p in env.problems] != here
    code = (
        "import json; from reasoning_economics.env import ReasonBudgetEnvironment as E;"
        "e=E(num_questions=10); e.reset(seed=123); print(json.dumps([p.question for p in e.problems]))"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(other.stdout.strip().splitlines()[-1]) == here


def test_unseeded_resets_differ_and_report_their_seed():
    env = ReasonBudgetEnvironment(num_questions=10)
    first = env.reset()
    second = env.reset()
    assert first.metadata["seed"] != second.metadata["seed"]
    replay = ReasonBudgetEnvironment(num_questions=10).reset(seed=second.metadata["seed"])
    assert replay.question == second.question


def _snapshot(env):
    return env.state.model_dump(), [p.id for p in env.problems]


@pytest.mark.parametrize(
    "bad_action, error",
    [
        ({"response": 42}, InvalidActionError),
        ({"answer": "x"}, InvalidActionError),
        ({"response": "x", "metadata": {"grading_response": 7}}, InvalidActionError),
        ({"response": "x", "metadata": {"tokenizer_name": ["qwen3"]}}, InvalidActionError),
        ({"response": "x", "metadata": {"tokenizer_name": "no/such-tokenizer"}}, UnknownTokenizerError),
        # The server's code for it, RESPONSE_TOO_LARGE, in-process too (a subclass of InvalidActionError).
        ({"response": "x" * 1_000_001}, ResponseTooLargeError),
        ({"response": "x", "metadata": {"grading_response": "x" * 1_000_001}}, ResponseTooLargeError),
        ("just a string", InvalidActionError),
    ],
)
def test_invalid_actions_raise_typed_errors_and_leave_the_state_untouched(bad_action, error, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    env = ReasonBudgetEnvironment(num_questions=3, allowed_tokenizers=())
    env.reset(seed=9, total_budget=600)
    before = _snapshot(env)
    with pytest.raises(error) as info:
        env.step(bad_action)
    assert isinstance(info.value, ReasoningEconomicsError) and info.value.code
    assert _snapshot(env) == before
    obs = env.step({"response": "\\boxed{0}"})
    assert obs.step_idx == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"seed": -1},
        {"seed": "7"},
        {"seed": True},
        {"total_budget": 0},
        {"total_budget": float("nan")},
        {"total_budget": "100"},
        {"total_budget": 10**12},
        {"episode_id": "x" * 300},
        {"tokenizer": "qwen3"},
    ],
)
def test_invalid_reset_arguments_raise_config_errors(kwargs):
    env = ReasonBudgetEnvironment(num_questions=2)
    env.reset(seed=10, total_budget=100)
    before = _snapshot(env)
    with pytest.raises(ConfigError):
        env.reset(**kwargs)
    assert _snapshot(env) == before


def test_step_and_state_before_reset():
    env = ReasonBudgetEnvironment(num_questions=2)
    with pytest.raises(EpisodeNotStartedError):
        env.step(ReasonBudgetAction(response="1"))
    with pytest.raises(EpisodeNotStartedError):
        env.state  # noqa: B018


@pytest.mark.parametrize(
    "overrides",
    [{"num_questions": 0}, {"budget_ratio": -1}, {"min_tokens": 900, "max_tokens": 800}, {"no_such_field": 1},
     # An infinite weight made a step's reward NaN (inf x 0); a huge max_tokens an absurd budget.
     {"beta": float("inf")}, {"gamma": float("inf")}, {"lambda_ep": float("inf")},
     {"soft_overspend_penalty": float("inf")}, {"max_tokens": 10**30}],
)
def test_config_validation(overrides):
    with pytest.raises(ValueError):
        EnvConfig(**overrides)
    # The same overrides on top of a config are refused too: a misspelled one once vanished.
    with pytest.raises(ValueError):
        ReasonBudgetEnvironment(EnvConfig(num_questions=3), **overrides)


def test_overrides_on_top_of_a_config_replace_its_values():
    env = ReasonBudgetEnvironment(EnvConfig(num_questions=3, gamma=0.2), hard_cap_mode=False, num_questions=5)
    assert (env.config.num_questions, env.config.hard_cap_mode, env.config.gamma) == (5, False, 0.2)


def test_config_budget_default_ratio_is_four():
    assert EnvConfig().budget_ratio == 4.0
    assert EnvConfig().config_budget == 4 * 10 * 810 // 2


def test_observations_are_what_validation_would_build():
    # Observations skip pydantic validation (from_trusted); validating their dump must give them back.
    from reasoning_economics.env.models import ReasonBudgetObservation

    for hard in (True, False):
        env = ReasonBudgetEnvironment(num_questions=3, hard_cap_mode=hard)
        observations = [env.reset(seed=3, total_budget=400)]
        observations += play(env, [(True, 40), (False, 200), (True, 30)])
        assert observations[-1].done
        for obs in observations:
            dumped = obs.model_dump()
            rebuilt = ReasonBudgetObservation.model_validate(dumped)
            assert rebuilt == obs and rebuilt.model_dump() == dumped
            assert obs.model_fields_set == set(ReasonBudgetObservation.model_fields)
            assert json.loads(obs.model_dump_json()) == json.loads(rebuilt.model_dump_json())


def test_from_trusted_needs_every_field():
    from reasoning_economics.env.models import ReasonBudgetObservation

    every = {name: None for name in ReasonBudgetObservation.model_fields}
    assert ReasonBudgetObservation.from_trusted(**every).model_fields_set == set(every)
    with pytest.raises(TypeError, match="'done'"):
        ReasonBudgetObservation.from_trusted(**{name: None for name in every if name != "done"})
    with pytest.raises(TypeError, match="'nonsense'"):
        ReasonBudgetObservation.from_trusted(**every, nonsense=1)


def test_observations_do_not_share_their_fields_set():
    # pydantic adds to __pydantic_fields_set__ on assignment: one shared set would leak between observations.
    env = ReasonBudgetEnvironment(num_questions=3)
    first = env.reset(seed=3, total_budget=400)
    second = env.step(ReasonBudgetAction(response="\\boxed{1}"))
    assert first.__pydantic_fields_set__ is not second.__pydantic_fields_set__
    first.__pydantic_fields_set__.discard("prompt")
    assert "prompt" in second.model_fields_set


def test_changing_an_observation_never_changes_the_episode():
    env = ReasonBudgetEnvironment(num_questions=3)
    env.reset(seed=4, total_budget=300)
    gold = env.problems[0].answer
    first = env.step(ReasonBudgetAction(response=answer(gold, 20)))
    record = first.history[0]
    with pytest.raises(TypeError, match="read-only"):
        record["reward"] = 99.0
    with pytest.raises(TypeError, match="read-only"):
        record["reward_parts"]["correctness"] = 99.0
    for refused in (
        lambda: record.update(reward=99.0),
        lambda: record.pop("reward"),
        lambda: record.setdefault("forged", True),
        lambda: record.clear(),
        lambda: record.popitem(),
        lambda: record.__delitem__("reward"),
        lambda: record.__ior__({"reward": 99.0}),
    ):
        with pytest.raises(TypeError, match="read-only"):
            refused()
    first.history.append({"forged": True})
    first.metadata["spent_budget"] = 0
    editable = dict(record)
    editable["reward"] = 99.0
    second = env.step(ReasonBudgetAction(response=answer(env.problems[1].answer, 20, correct=False)))
    for kept in (env.history[0], second.history[0], record):
        assert kept["reward"] == pytest.approx(1 + 0.1 * (1 - 20 / 100))
        assert kept["reward_parts"]["correctness"] == 1.0
    assert len(second.history) == 2 and second.metadata["spent_budget"] == 40
    assert len(first.history) == 2 and first.history[1] == {"forged": True}  # its own list


def test_history_records_are_shared_not_copied_and_copy_as_read_only():
    # Observations share the episode's records (no per-step copies); every copy stays read-only
    # and every serialisation is a plain dict equal to the record.
    import copy
    import pickle

    from reasoning_economics.env.history import ReadOnlyDict
    from reasoning_economics.env.models import ReasonBudgetObservation

    env = ReasonBudgetEnvironment(num_questions=3)
    env.reset(seed=4, total_budget=300)
    first = env.step(ReasonBudgetAction(response=answer(env.problems[0].answer, 20)))
    second = env.step(ReasonBudgetAction(response=answer(env.problems[1].answer, 30)))
    assert second.history[0] is first.history[0] is env.history[0]
    assert second.history is not first.history and env.history is not env.history
    record = second.history[1]
    for duplicate in (copy.copy(record), copy.deepcopy(record), pickle.loads(pickle.dumps(record))):
        assert duplicate == record and type(duplicate) is ReadOnlyDict
        assert type(duplicate["reward_parts"]) is ReadOnlyDict
        with pytest.raises(TypeError):
            duplicate["tokens_used"] = 0
    assert type(record.copy()) is dict and record.copy() == record
    deep = second.model_copy(deep=True)
    assert deep == second and deep.history[1] is not record
    dumped = second.model_dump()
    assert [type(entry) for entry in dumped["history"]] == [dict, dict]
    assert type(dumped["history"][1]["reward_parts"]) is dict
    assert dumped["history"][1] == record and dumped["history"][1]["tokens_used"] == 30
    assert json.loads(second.model_dump_json())["history"] == json.loads(json.dumps(second.history))
    assert ReasonBudgetObservation.model_validate(dumped) == second


def test_env_config_digest_names_the_settings_in_every_observation():
    """``env_config_digest`` fingerprints the whole EnvConfig: a client (``ree eval --server``)
    tells two servers' settings apart by it, though the server exposes none of them."""
    from reasoning_economics.env.environment import config_digest

    base = dict(num_questions=2, budget_ratio=4.0, dataset="builtin")
    first = ReasonBudgetEnvironment(EnvConfig(**base))
    same = ReasonBudgetEnvironment(EnvConfig(**base))
    digest = first.config_digest
    assert config_digest(EnvConfig(**base)) == digest
    assert re.fullmatch(r"[0-9a-f]{16}", digest)
    assert same.config_digest == digest
    changes = {
        "budget_ratio": 2.0, "beta": 0.5, "gamma": 0.3, "lambda_ep": 0.1, "hard_cap_mode": False,
        "max_tokens_per_step": 64, "soft_overspend_penalty": 1.0, "target_utilization": 0.5,
        "num_questions": 3, "dataset": "file:other.jsonl", "min_tokens": 5,
    }
    seen = {digest}
    for name, value in changes.items():
        # config_digest is what the environment computes in __init__ (no dataset is loaded here).
        other = config_digest(EnvConfig(**{**base, name: value}))
        assert other != digest, name
        seen.add(other)
    assert len(seen) == len(changes) + 1

    observation = first.reset(seed=3, tokenizer_name="qwen3")
    assert observation.metadata["env_config_digest"] == digest
    gold = first.problems[0].answer
    after = first.step(ReasonBudgetAction(response=f"\\boxed{{{gold}}}"))
    assert after.metadata["env_config_digest"] == digest
    after = first.step(ReasonBudgetAction(response="\\boxed{none}"))
    assert after.done and after.metadata["env_config_digest"] == digest
