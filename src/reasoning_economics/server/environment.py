"""The environment as the server runs it: client input checked strictly, operator limits enforced.

In-process users may pass anything Python allows; a network client may not. This subclass
checks the types of reset arguments (JSON gives ints, floats, strings, lists...), names the
size limit in its own error code, and ignores a client-chosen grading timeout: the
operator's ``grading_timeout`` is the only one.
"""

from __future__ import annotations

import itertools
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr, ValidationError, model_validator

from reasoning_economics.env import EnvConfig, ReasonBudgetAction, ReasonBudgetEnvironment, ReasonBudgetObservation
from reasoning_economics.errors import ConfigError, ResponseTooLargeError, few_unknown_keys, validation_problems
from reasoning_economics.grading.fair_share import charged_to


class ResetParams(BaseModel):
    """The reset arguments a client may send, with JSON types checked strictly (no coercion)."""

    model_config = ConfigDict(extra="forbid")

    seed: StrictInt | None = Field(None, ge=0, le=2**63 - 1)
    episode_id: StrictStr | None = Field(None, max_length=255)
    tokenizer_name: StrictStr | None = Field(None, min_length=1, max_length=512)
    total_budget: StrictInt | StrictFloat | None = None

    @model_validator(mode="before")
    @classmethod
    def _few_unknown_fields(cls, data: Any) -> Any:
        return few_unknown_keys(cls, data)


def check_reset_params(params: dict[str, Any]) -> dict[str, Any]:
    """Return the reset kwargs the client set, or raise ConfigError naming each bad one."""
    try:
        return ResetParams.model_validate(params).model_dump(exclude_unset=True)
    except ValidationError as exc:
        raise ConfigError(
            "invalid reset argument(s): " + validation_problems(exc, top_level=True)
            + "; accepted: seed (int >= 0), episode_id (str), tokenizer_name (str), total_budget (number)"
        ) from exc


def check_response_size(action: ReasonBudgetAction, limit: int) -> None:
    """Raise ResponseTooLargeError when the response or its grading_response exceeds ``limit`` characters."""
    if len(action.response) > limit:
        raise ResponseTooLargeError(
            f"response has {len(action.response):,} characters; this server accepts at most {limit:,} "
            "(max_response_chars). Nothing was charged; the episode goes on."
        )
    grading_response = action.metadata.get("grading_response")
    if isinstance(grading_response, str) and len(grading_response) > limit:
        raise ResponseTooLargeError(
            f"metadata.grading_response has {len(grading_response):,} characters; the limit is {limit:,}"
        )


_accounts = itertools.count(1)


class ServedEnvironment(ReasonBudgetEnvironment):
    """:class:`ReasonBudgetEnvironment` with the checks a network-facing server needs."""

    def __init__(self, config: EnvConfig | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        # An int, not the environment itself: the usage table must not keep closed sessions alive.
        self._grading_account = next(_accounts)

    def reset(self, /, **params: Any) -> ReasonBudgetObservation:  # type: ignore[override]
        # Every argument is a client's key, checked here. "self" is positional-only so that a
        # key named "self" is an unknown argument too, not a collision (a TypeError, a 500).
        return super().reset(**check_reset_params(params))

    def step(  # type: ignore[override]
        self, action: ReasonBudgetAction | dict[str, Any], timeout_s: float | None = None
    ) -> ReasonBudgetObservation:
        # timeout_s comes from the client over HTTP and is ignored on purpose. No **kwargs:
        # OpenEnv's /step passes every other field of the body as a keyword to a method taking
        # them, and one named "self" or "func" collided with its own parameters (a 500).
        if isinstance(action, ReasonBudgetAction):
            check_response_size(action, self.config.max_response_chars)
        # Each session is its own account, so one sending slow answers waits behind its own
        # grades instead of every other session waiting behind them (grading/fair_share.py).
        with charged_to(self._grading_account):
            return super().step(action)
