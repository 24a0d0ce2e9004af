"""The OpenEnv wire models: action, observation and state.

Field names match the public ReasoningEconomicsEnv so its clients work unchanged;
the extra fields (``prompt``, ``step_token_limit``, ``episode_id``) are optional for them.
"""

from __future__ import annotations

import inspect
from typing import Any

from openenv.core.env_server.types import Action, Observation, State
from pydantic import Field, model_validator

from reasoning_economics.errors import few_unknown_keys


# Bound once: looked up on every observation, they were a quarter of from_trusted's cost.
_new_object = object.__new__
_set_attribute = object.__setattr__


class ReasonBudgetAction(Action):
    """One answer to the current question.

    ``metadata`` may carry ``tokenizer_name`` (count this response with that tokenizer)
    and ``grading_response`` (the visible answer of a thinking model, a part of ``response``:
    only it is graded, while the whole ``response`` is charged to the budget).
    """

    response: str = Field(..., description="The full model output for the current question.")

    @model_validator(mode="before")
    @classmethod
    def _few_unknown_fields(cls, data: Any) -> Any:
        return few_unknown_keys(cls, data)


def plain_action_fields(data: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The response and metadata ``ReasonBudgetAction.model_validate(data)`` would hold, read
    without pydantic, when ``data`` is ``{"response": str}`` or ``{"response": str, "metadata":
    dict with str keys}`` (those exact types); else None, for ``model_validate`` to accept or refuse.

    In-process trainers step with such dicts. pydantic-core's validator was the only Rust code
    a step ran besides counting, and loading its code and data on every step evicted the
    counting and grading code from the CPU's caches: a tenth of the environment's cost in a
    step (callgrind's cache simulation), for a check this one makes exactly.
    """
    if len(data) == 2:
        metadata = data.get("metadata")
        if type(metadata) is not dict:
            return None
        for key in metadata:
            if type(key) is not str:
                return None
    elif len(data) == 1:
        metadata = {}
    else:
        return None
    response = data.get("response")
    if type(response) is not str:
        return None
    return response, metadata


class ReasonBudgetObservation(Observation):
    """What the policy sees before each question, and the outcome of the last one."""

    question: str = Field("", description="The current question; empty once the episode is done.")
    remaining_budget: int = Field(0, description="Tokens left in the shared budget (may be < 0 in soft mode).")
    questions_remaining: int = Field(0, ge=0, description="Questions not yet answered, the current one included.")
    step_idx: int = Field(0, ge=0, description="Index of the current question (0-based).")
    budget_per_remaining: float = Field(0.0, description="remaining_budget / questions_remaining.")
    accuracy_so_far: float = Field(0.0, ge=0, le=1, description="Correct answers / answered questions.")
    history: list[dict[str, Any]] = Field(
        default_factory=list,
        description=(
            "One entry per answered question: step_idx, question_id, problem_type, difficulty "
            "(revealed only after the answer), tokens_used (charged), tokens_counted, overspend_tokens, "
            "was_correct, extracted_answer, gold_answer, grade_reason, reward. In-process, entries are "
            "read-only dicts shared by all observations of the episode."
        ),
    )
    prompt: str = Field("", description="A budget-aware prompt for the current question.")
    step_token_limit: int = Field(0, ge=0, description="Most tokens the next response may usefully spend.")
    episode_id: str | None = Field(None, description="Identifier of this episode.")

    @classmethod
    def from_trusted(
        cls,
        *,
        done: bool,
        reward: float | None,
        metadata: dict[str, Any],
        question: str,
        remaining_budget: int,
        questions_remaining: int,
        step_idx: int,
        budget_per_remaining: float,
        accuracy_so_far: float,
        history: list[dict[str, Any]],
        prompt: str,
        step_token_limit: int,
        episode_id: str | None,
    ) -> ReasonBudgetObservation:
        """Build an observation without validation from every field's value, each of its declared type.

        Only for values the environment computed itself. It sets what pydantic's
        ``model_construct`` sets, without resolving defaults field by field, which made
        ``model_construct`` a sixth of a step's own cost. Every field is a required
        keyword, so Python's own call checks refuse a missing or unknown one (``TypeError``);
        the import-time check below keeps the keywords equal to the model's fields.
        """
        observation = _new_object(cls)
        _set_attribute(
            observation,
            "__dict__",
            {
                "done": done,
                "reward": reward,
                "metadata": metadata,
                "question": question,
                "remaining_budget": remaining_budget,
                "questions_remaining": questions_remaining,
                "step_idx": step_idx,
                "budget_per_remaining": budget_per_remaining,
                "accuracy_so_far": accuracy_so_far,
                "history": history,
                "prompt": prompt,
                "step_token_limit": step_token_limit,
                "episode_id": episode_id,
            },
        )
        _set_attribute(observation, "__pydantic_fields_set__", _OBSERVATION_FIELDS.copy())
        _set_attribute(observation, "__pydantic_extra__", None)
        _set_attribute(observation, "__pydantic_private__", None)
        return observation


_OBSERVATION_FIELDS = set(ReasonBudgetObservation.__pydantic_fields__)
# A field openenv's Observation gains in a later version would otherwise be left unset.
if set(inspect.signature(ReasonBudgetObservation.from_trusted).parameters) != _OBSERVATION_FIELDS:
    raise ImportError(
        "ReasonBudgetObservation.from_trusted's keywords differ from the model's fields "
        f"{sorted(_OBSERVATION_FIELDS)}: update it for this openenv version"
    )


class ReasonBudgetState(State):
    """Episode bookkeeping, as ``GET /state`` and ``env.state`` report it."""

    total_budget: int = 0
    spent_budget: int = 0
    questions_answered: int = 0
    total_correct: int = 0
    current_accuracy: float = 0.0
    budget_remaining_ratio: float = 1.0
    num_questions: int = 0
    remaining_budget: int = 0
    budget_source: str = ""
    tokenizer_name: str = ""
    seed: int | None = None
    done: bool = False
    termination_reason: str | None = None
    total_reward: float = 0.0
