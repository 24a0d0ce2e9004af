"""EnvConfig: every knob of the shared-budget environment, validated on construction."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, model_validator

from reasoning_economics.grading.grader import MAX_TIMEOUT_S, MIN_TIMEOUT_S
from reasoning_economics.limits import MAX_QUESTIONS, MAX_TOKENS_PER_STEP


class EnvConfig(BaseModel):
    """Configuration of :class:`~reasoning_economics.env.environment.ReasonBudgetEnvironment`.

    Field names and defaults follow the public ReasoningEconomicsEnv, except
    ``budget_ratio`` which defaults to 4.0 as its description states. The reward
    constants are those of methods.md §1.
    """

    # No inf: an infinite reward weight times a zero term is NaN, returned as a reward. Numbers
    # and flags are strict: a file's "true" was 1 question, and "yes" a hard cap.
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)

    num_questions: StrictInt = Field(10, ge=1, le=MAX_QUESTIONS, description="Questions per episode (N).")
    budget_ratio: StrictFloat = Field(4.0, gt=0, le=1000, description="B = budget_ratio x question tokens.")
    min_tokens: StrictInt = Field(10, ge=0, description="Hard mode ends the episode when fewer remain.")
    max_tokens: StrictInt = Field(800, ge=1, le=1_000_000, description="Upper token estimate per answer (config budget).")
    max_tokens_per_step: StrictInt = Field(2048, ge=1, le=MAX_TOKENS_PER_STEP, description="Generation limit per step.")
    hard_cap_mode: StrictBool = Field(True, description="Hard: clip to remaining budget and stop early.")
    soft_allow_negative_budget: StrictBool = Field(True, description="Soft: remaining budget may go below 0.")
    soft_overspend_penalty: StrictFloat = Field(0.25, ge=0, description="rho, soft-mode overspend weight.")
    beta: StrictFloat = Field(0.05, ge=0, description="Cost-penalty weight.")
    gamma: StrictFloat = Field(0.1, ge=0, description="Efficiency-bonus weight.")
    lambda_ep: StrictFloat = Field(0.5, ge=0, description="Episode-bonus weight.")
    target_utilization: StrictFloat = Field(0.9, gt=0, le=1, description="Budget use the bonus aims at.")
    tokenizer_name: str | None = Field(None, description="Default tokenizer for counting and budgets.")
    seed: StrictInt | None = Field(None, ge=0, description="Default seed when reset() gets none.")
    dataset: str = Field("builtin", min_length=1, description="Problem source spec (see problems).")
    dataset_config: dict[str, Any] = Field(default_factory=dict, description="Options for the source.")
    max_response_chars: StrictInt = Field(1_000_000, ge=1, description="Larger responses are rejected.")
    grading_timeout: StrictFloat = Field(5.0, ge=MIN_TIMEOUT_S, le=MAX_TIMEOUT_S, description="Wall-clock limit per grade (s); the worker stops deciding after a third of it in CPU seconds.")
    allowed_tokenizers: tuple[str, ...] | None = Field(
        None, description="External tokenizers clients may name; None allows any (library use)."
    )
    trust_remote_code: StrictBool = Field(False, description="Let transformers run tokenizer code.")
    max_total_budget: StrictInt = Field(100_000_000, ge=1, description="Largest total_budget a client may set.")

    @model_validator(mode="after")
    def _check_ranges(self) -> "EnvConfig":
        if self.min_tokens > self.max_tokens:
            raise ValueError(f"min_tokens ({self.min_tokens}) must not exceed max_tokens ({self.max_tokens})")
        return self

    @property
    def config_budget(self) -> int:
        """Fallback budget: budget_ratio x N x (min_tokens + max_tokens) / 2."""
        return int(round(self.budget_ratio * self.num_questions * (self.min_tokens + self.max_tokens) / 2))
