"""The Policy protocol: batched generation, the one interface every model and baseline speaks.

A request carries either a plain ``prompt`` or chat ``messages`` and a token limit. A result
carries the text, the number of completion tokens the policy spent (in its own tokenizer) and
why generation stopped. Two abilities are optional and advertised by flags so callers can check
before relying on them:

- ``supports_prefix``: ``GenerationRequest.prefix`` is a partial assistant turn the policy must
  continue (anytime evaluation forces a final answer after truncated thinking);
- ``supports_logprobs``: results carry per-token log-probabilities when ``logprobs=True``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from reasoning_economics.errors import ConfigError

FinishReason = Literal["stop", "length"]
LENGTH_REASONS = frozenset({"length", "max_tokens"})
STOP_REASONS = frozenset({"stop", "eos", "eos_token", "end_turn", "stop_sequence", "tool_calls", "function_call"})


def finish_reason_of(value: Any) -> FinishReason | None:
    """A backend's finish reason as a result states it: ``"length"`` for ``length`` (and
    ``max_tokens``, the name some proxies pass on); ``"stop"`` when the model ended on its own
    (``stop``, ``eos``, ``end_turn``, ``stop_sequence``, a tool call, ...); None for anything
    else, a missing reason included (``content_filter``, ``abort``: the text was cut, but not by
    the token limit)."""
    if not isinstance(value, str):
        return None
    if value in LENGTH_REASONS:
        return "length"
    return "stop" if value in STOP_REASONS else None


@dataclass(frozen=True)
class GenerationRequest:
    """One generation: ``messages`` (chat) or ``prompt`` (raw text), at most ``max_tokens`` new tokens.

    ``context`` is opaque to model-backed policies; scripted baselines read the problem and the
    budget state from it (keys: ``problem``, ``observation``).
    """

    max_tokens: int
    messages: tuple[dict[str, str], ...] | None = None
    prompt: str | None = None
    prefix: str | None = None
    logprobs: bool = False
    seed: int | None = None
    context: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if (self.messages is None) == (self.prompt is None):
            raise ConfigError("a GenerationRequest needs exactly one of messages or prompt")
        if not isinstance(self.max_tokens, int) or self.max_tokens < 0:
            raise ConfigError(f"max_tokens must be a non-negative int, got {self.max_tokens!r}")
        if self.messages is not None:
            object.__setattr__(self, "messages", tuple(dict(m) for m in self.messages))


@dataclass(frozen=True)
class GenerationResult:
    """What a policy produced for one request.

    ``text`` excludes the request's ``prefix``. ``completion_tokens`` counts only the new tokens.
    ``finish_reason`` is ``"length"`` when the limit cut the text, ``"stop"`` when the model
    ended on its own, and None when the policy cannot tell (an endpoint that sends no reason, or
    one it does not know, such as ``content_filter``).
    """

    text: str
    completion_tokens: int
    finish_reason: FinishReason | None
    logprobs: tuple[float, ...] | None = None


@runtime_checkable
class Policy(Protocol):
    """Batched text generation. ``generate`` returns one result per request, in order."""

    name: str
    supports_prefix: bool
    supports_logprobs: bool

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        ...

    def close(self) -> None:
        """Release resources (processes, sessions, GPU memory); safe to call twice."""
        ...
