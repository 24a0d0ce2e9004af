"""The messages made of pydantic validation errors, for config files, server settings and reset arguments."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict, StrictFloat, StrictInt, ValidationError

from reasoning_economics.errors import ConfigError, validation_problems
from reasoning_economics.server.environment import check_reset_params
from reasoning_economics.server.settings import ServerSettings, load_env_config


class Inner(BaseModel):
    depth: int


class Outer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    count: int
    budget: StrictInt | StrictFloat
    inner: Inner


def errors_of(**values) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        Outer(**values)
    return caught.value


def test_each_problem_is_named_by_its_field_path():
    exc = errors_of(count="many", budget=1, inner={"depth": "deep"}, typo=1)
    assert validation_problems(exc) == (
        "count: Input should be a valid integer, unable to parse string as an integer; "
        "inner.depth: Input should be a valid integer, unable to parse string as an integer; "
        "typo: Extra inputs are not permitted"
    )


def test_limit_prefix_and_top_level_names():
    exc = errors_of(count=1, budget="1", inner={"depth": 1})
    # A union's alternatives fail one by one, under paths of their own.
    assert validation_problems(exc) == (
        "budget.int: Input should be a valid integer; budget.float: Input should be a valid number"
    )
    assert validation_problems(exc, top_level=True, limit=1) == "budget: Input should be a valid integer"
    assert validation_problems(exc, limit=1, field_prefix="env.") == "env.budget.int: Input should be a valid integer"


def test_the_values_themselves_are_left_out():
    hostile = "x" * 10_000 + "\u202e"
    message = validation_problems(errors_of(count=hostile, budget=1, inner={"depth": 1}))
    assert hostile[:20] not in message and len(message) < 200


def test_the_whole_value_is_named_value():
    with pytest.raises(ValidationError) as caught:
        Inner.model_validate([1, 2])
    assert validation_problems(caught.value) == "value: Input should be a valid dictionary or instance of Inner"


def test_callers_name_the_bad_fields():
    with pytest.raises(ConfigError, match=r"^invalid server setting: max_sessions: .*greater than or equal to 1"):
        ServerSettings.build(max_sessions=0)
    with pytest.raises(ConfigError, match=r"^invalid environment setting: num_questions: .*; beta: "):
        load_env_config(num_questions=0, beta="steep")
    with pytest.raises(ConfigError, match=r"^invalid reset argument\(s\): seed: .*; total_budget: .*; accepted: seed"):
        check_reset_params({"seed": "one", "total_budget": "lots"})
