"""Hypothesis over the in-process environment's public API: interleaved resets, steps and
state reads with random, wrong-typed, huge and deeply nested arguments.

Invariants, checked after every call:
- nothing but a typed :class:`ReasoningEconomicsError` ever escapes, and the type says why
  (bad reset -> ConfigError/UnknownTokenizerError, bad action -> InvalidActionError,
  step after the end -> EpisodeFinishedError, before any reset -> EpisodeNotStartedError);
- a rejected call leaves the episode exactly as it was;
- the budget is never double-counted: every accepted step charges exactly the tokens_used
  its history entry reports, spent == the sum of those (clipped at the total where the
  config floors the budget at zero), and remaining == total - spent;
- the step index, history, correct count and done flag agree with each other.

The same machine runs in hard-cap mode, in soft mode, and in soft mode with the budget
floored at zero, since each charges the budget differently.

Two defects the fuzzing found (lone surrogates reached the tokenizer; a deeply nested reset
argument overflowed repr() in the error message) are fixed and kept as regression tests.
"""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from reasoning_economics.env import EnvConfig, ReasonBudgetAction, ReasonBudgetEnvironment
from reasoning_economics.env.models import plain_action_fields
from reasoning_economics.errors import (
    ConfigError,
    EpisodeFinishedError,
    EpisodeNotStartedError,
    InvalidActionError,
    ReasoningEconomicsError,
    UnknownTokenizerError,
)

NUM_QUESTIONS = 4
MAX_RESPONSE_CHARS = 4_000


def nested(depth: int, leaf: object = "x") -> object:
    """``depth`` levels of alternating lists and dicts around ``leaf``."""
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


shallow = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
# Deeper than Python's recursion limit: anything that recurses over it (repr, copy, a
# validator) must not be reached by client input.
anything = shallow | st.integers(min_value=50, max_value=3_000).map(nested)
tokenizer_names = st.sampled_from(
    ["qwen3", "llama3", "cl100k_base", "o200k_base", "Qwen/Qwen3-0.6B", "meta-llama/Llama-3.1-8B", "gpt-4o"]
) | st.sampled_from(["", " ", ".", "/", "/etc/passwd", "../../x", "a" * 600, "\x00"]) | st.text(max_size=30) | shallow
response_texts = (
    st.sampled_from(
        [
            "\\boxed{42}",
            "The answer is \\boxed{7}.",
            "<think>hmm</think>\\boxed{1/2}",
            "<|im_end|><|endoftext|>\\boxed{3}",
            "",
            "\\boxed{}",
            "{" * 1_000,
            "\\boxed{" * 500,
            "\\boxed{10000!}",
        ]
    )
    | st.text(max_size=400)
    | st.text(min_size=MAX_RESPONSE_CHARS - 2, max_size=MAX_RESPONSE_CHARS + 2, alphabet="ab {}\\")
)

reset_kwargs = st.fixed_dictionaries(
    {},
    optional={
        # seed and tokenizer_name stay shallow here: deep ones are test_deep_reset_arguments_*
        "seed": st.integers(min_value=-5, max_value=2**70) | shallow,
        "episode_id": st.text(max_size=300) | anything,
        "tokenizer_name": tokenizer_names,
        "total_budget": st.integers(min_value=-10, max_value=10**9)
        | st.floats(allow_nan=True, allow_infinity=True)
        | anything,
        "bogus_option": anything,
    },
)
metadata = st.fixed_dictionaries(
    {},
    optional={"tokenizer_name": tokenizer_names | anything, "grading_response": response_texts | anything, "extra": anything},
)
actions = (
    st.builds(lambda r, m: {"response": r, "metadata": m}, response_texts, metadata)
    | st.builds(lambda r: {"response": r}, response_texts | anything)
    | st.builds(lambda r, m: ReasonBudgetAction(response=r, metadata=m), response_texts, st.just({}))
    | st.builds(lambda r, m: {"response": r, "metadata": m}, response_texts, anything)
    | st.dictionaries(st.text(max_size=10), anything, max_size=3)
    | anything
)


def snapshot(env: ReasonBudgetEnvironment):
    """Everything a rejected call must leave unchanged (None before the first reset)."""
    try:
        state = env.state.model_dump()
    except EpisodeNotStartedError:
        return None
    return state, [p.id for p in env.problems]


class EnvironmentMachine(RuleBasedStateMachine):
    mode: dict = {"hard_cap_mode": True}

    @initialize()
    def build(self):
        # allowed_tokenizers=() is what a server runs with: clients may name built-in
        # vocabularies and their hub aliases only, never load arbitrary paths.
        self.env = ReasonBudgetEnvironment(
            EnvConfig(
                num_questions=NUM_QUESTIONS,
                max_response_chars=MAX_RESPONSE_CHARS,
                allowed_tokenizers=(),
                grading_timeout=3,
                **self.mode,
            )
        )
        self.floored = not self.mode["hard_cap_mode"] and not self.mode.get("soft_allow_negative_budget", True)
        self.started = False
        self.history: list[dict] = []

    @rule(kwargs=reset_kwargs)
    def reset(self, kwargs):
        before = snapshot(self.env)
        try:
            observation = self.env.reset(**kwargs)
        except ReasoningEconomicsError as error:
            event(f"reset rejected: {type(error).__name__}")
            assert isinstance(error, (ConfigError, UnknownTokenizerError)), repr(error)
            assert snapshot(self.env) == before, "a rejected reset changed the episode"
            return
        event("reset accepted")
        self.started = True
        self.history = []
        assert observation.step_idx == 0 and observation.history == [] and not observation.done
        assert observation.remaining_budget == self.env.state.total_budget >= 1
        assert observation.questions_remaining == NUM_QUESTIONS
        assert observation.question and observation.question in observation.prompt

    @rule(seed=st.integers(0, 10_000), budget=st.integers(1, 4_000), tokenizer=st.sampled_from(["qwen3", "Qwen/Qwen3-0.6B", "llama3"]))
    def reset_well_formed(self, seed, budget, tokenizer):
        # Random kwargs are mostly rejected; this keeps episodes running so steps get exercised.
        self.reset({"seed": seed, "total_budget": budget, "tokenizer_name": tokenizer})

    @rule(correct=st.booleans(), words=st.integers(0, 600), think=st.booleans())
    def answer(self, correct, words, think):
        """A plausible response: ``words`` words of reasoning, then the gold answer or a wrong one."""
        try:
            problem = self.env.problems[self.env.state.step_count]
        except (EpisodeNotStartedError, IndexError):
            problem = None
        boxed = problem.answer if correct and problem is not None else "-987654321"
        reasoning = " ".join(["step"] * words)
        response = f"<think>{reasoning}</think>\\boxed{{{boxed}}}" if think else f"{reasoning} \\boxed{{{boxed}}}"
        observation = self.try_step({"response": response, "metadata": {"grading_response": f"\\boxed{{{boxed}}}"}})
        if observation is not None and problem is not None:
            assert observation.history[-1]["was_correct"] == correct, (problem, observation.history[-1])

    @rule(action=actions)
    def step(self, action):
        self.try_step(action)

    def try_step(self, action):
        """Step, check the outcome against the invariants, and return the observation (None if rejected)."""
        before = snapshot(self.env)
        try:
            observation = self.env.step(action)
        except ReasoningEconomicsError as error:
            event(f"step rejected: {type(error).__name__}")
            assert snapshot(self.env) == before, f"a rejected step changed the episode: {error!r}"
            if not self.started:
                assert isinstance(error, EpisodeNotStartedError), repr(error)
            elif before[0]["done"]:
                assert isinstance(error, EpisodeFinishedError), repr(error)
            else:
                assert isinstance(error, (InvalidActionError, UnknownTokenizerError)), repr(error)
            return None
        event("step accepted" + (" (episode done)" if observation.done else ""))
        assert self.started and not before[0]["done"], "a step was accepted outside an episode"
        state = self.env.state
        last = observation.history[-1]
        assert observation.history[:-1] == self.history, "an earlier step's record changed"
        assert state.questions_answered == before[0]["questions_answered"] + 1
        charged = state.spent_budget - before[0]["spent_budget"]
        if self.floored:
            assert charged == min(last["tokens_used"], before[0]["total_budget"] - before[0]["spent_budget"])
        else:
            assert charged == last["tokens_used"]
        assert 0 <= last["tokens_used"] <= last["tokens_counted"]
        assert math.isfinite(observation.reward)
        self.history = list(observation.history)
        return observation

    @rule()
    def read_state(self):
        before = snapshot(self.env)
        if not self.started:
            with pytest.raises(EpisodeNotStartedError):
                self.env.state
            return
        assert snapshot(self.env) == before, "reading the state changed it"

    @invariant()
    def budget_is_never_double_counted(self):
        if not self.started:
            return
        state = self.env.state
        used = sum(entry["tokens_used"] for entry in self.history)
        assert state.spent_budget == (min(used, state.total_budget) if self.floored else used)
        assert state.remaining_budget == state.total_budget - state.spent_budget
        if self.mode["hard_cap_mode"] or self.floored:
            assert state.remaining_budget >= 0
        assert state.questions_answered == len(self.history) == state.step_count
        assert state.total_correct == sum(entry["was_correct"] for entry in self.history)
        assert state.done == (
            len(self.history) == NUM_QUESTIONS or state.termination_reason == "budget_exhausted"
        )


class SoftModeMachine(EnvironmentMachine):
    mode = {"hard_cap_mode": False}


class SoftFlooredModeMachine(EnvironmentMachine):
    mode = {"hard_cap_mode": False, "soft_allow_negative_budget": False}


FUZZ_SETTINGS = settings(
    max_examples=50,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TestHardCapFuzz = EnvironmentMachine.TestCase
TestHardCapFuzz.settings = FUZZ_SETTINGS
TestSoftModeFuzz = SoftModeMachine.TestCase
TestSoftModeFuzz.settings = FUZZ_SETTINGS
TestSoftFlooredFuzz = SoftFlooredModeMachine.TestCase
TestSoftFlooredFuzz.settings = FUZZ_SETTINGS


class TextSubclass(str):
    pass


plain_dict_keys = st.sampled_from(["response", "metadata", "extra"]) | st.text(max_size=3) | st.integers()
plain_dict_values = (
    response_texts
    | st.builds(TextSubclass, st.text(max_size=5))
    | st.dictionaries(st.text(max_size=5) | st.builds(TextSubclass, st.text(max_size=5)) | st.integers(), shallow, max_size=3)
    | shallow
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.fixed_dictionaries({"response": plain_dict_values}, optional={"metadata": plain_dict_values})
    | st.dictionaries(plain_dict_keys, plain_dict_values, max_size=3)
)
def test_plain_dict_actions_are_read_as_validation_reads_them(data):
    # plain_action_fields skips pydantic on the dicts trainers step with: it must read exactly
    # what model_validate would hold, or leave the dict to it.
    fields = plain_action_fields(data)
    event("read without pydantic" if fields is not None else "left to pydantic")
    try:
        validated = ReasonBudgetAction.model_validate(data)
    except ValidationError:
        assert fields is None
        return
    if fields is not None:
        response, metadata = fields
        assert type(response) is str and response == validated.response
        assert type(metadata) is dict and metadata == validated.metadata


def test_the_dicts_trainers_step_with_are_read_without_pydantic():
    assert plain_action_fields({"response": "\\boxed{1}", "metadata": {"tokenizer_name": "qwen3"}}) == (
        "\\boxed{1}",
        {"tokenizer_name": "qwen3"},
    )
    assert plain_action_fields({"response": "x"}) == ("x", {})
    assert plain_action_fields({"response": TextSubclass("x")}) is None
    assert plain_action_fields({"response": "x", "metadata": {1: "y"}}) is None
    assert plain_action_fields({"response": "x", "extra": 1}) is None


@pytest.mark.parametrize("bad", [object(), b"\\boxed{1}", ["\\boxed{1}"], 42, None, nested(10_000)])
def test_non_mapping_actions_are_typed_errors(bad):
    env = ReasonBudgetEnvironment(num_questions=2)
    env.reset(seed=3, total_budget=100)
    with pytest.raises(InvalidActionError):
        env.step(bad)
    assert env.state.questions_answered == 0 and env.state.spent_budget == 0


@pytest.mark.parametrize(
    "action",
    [
        {"response": "\ud800\\boxed{1}"},
        {"response": "fine \\boxed{1}", "metadata": {"grading_response": "\\boxed{\udfff}"}},
        {"response": "<think>\udc80</think>\\boxed{1}"},
    ],
    ids=["response", "grading_response", "after-special-token"],
)
def test_lone_surrogates_are_rejected_with_a_typed_error(action):
    # json.loads turns a "\ud800" escape into a lone surrogate. It is not text: a tokenizer
    # cannot encode it, and an observation echoing it cannot be serialized to JSON, so the
    # server would fail after the step was charged. It must be an InvalidActionError.
    env = ReasonBudgetEnvironment(num_questions=2)
    env.reset(seed=3, total_budget=100)
    with pytest.raises(InvalidActionError):
        env.step(action)
    assert env.state.questions_answered == 0 and env.state.spent_budget == 0
    assert env.step({"response": "\\boxed{1}"}).step_idx == 1, "the episode goes on"


def test_a_lone_surrogate_episode_id_is_a_config_error():
    env = ReasonBudgetEnvironment(num_questions=2)
    with pytest.raises(ConfigError):
        env.reset(seed=3, episode_id="run-\ud800")


@pytest.mark.parametrize("argument", ["seed", "tokenizer_name"])
def test_deep_reset_arguments_are_typed_errors(argument):
    env = ReasonBudgetEnvironment(num_questions=2, allowed_tokenizers=())
    env.reset(seed=3, total_budget=100)
    before = snapshot(env)
    with pytest.raises((ConfigError, UnknownTokenizerError)):
        env.reset(**{argument: nested(5_000)})
    assert snapshot(env) == before


def test_a_pathological_answer_is_graded_wrong_within_the_timeout_and_the_episode_goes_on():
    env = ReasonBudgetEnvironment(num_questions=2, grading_timeout=1)
    env.reset(seed=3, total_budget=10_000)
    tower = "\\boxed{9^{9^{9^{9^{9}}}}}"
    observation = env.step({"response": tower})
    entry = observation.history[-1]
    assert not entry["was_correct"] and entry["tokens_used"] == env.state.spent_budget > 0
    assert env.step({"response": "\\boxed{1}"}).done
