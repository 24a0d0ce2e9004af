"""Turning a request into the text a local model continues, and the options local models
share (transformers and vLLM use the same ones, so a spec behaves the same on both)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from reasoning_economics.errors import ConfigError
from reasoning_economics.policies.base import GenerationRequest


@dataclass(frozen=True)
class LocalModelConfig:
    """Options of local models (transformers and vLLM).

    Attributes:
        temperature: 0 (the default) decodes greedily, so runs reproduce exactly.
        top_p: nucleus sampling mass (with ``temperature > 0``).
        seed: seed of the sampler; a request's own ``seed`` is combined with it.
        batch_size: most requests generated together (memory grows with it).
        threads: torch CPU threads while generating (restored afterwards; None keeps torch's
            setting). Torch's thread pool spins while waiting, so on a small machine shared with
            other work (the grading workers, other jobs) more threads than free cores can make
            generation many times slower; 1 is the safe choice for small models.
        enable_thinking: passed to the chat template when set (Qwen3's switch between thinking
            and direct answers); None leaves the template's default.
    """

    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    batch_size: int = 8
    threads: int | None = None
    enable_thinking: bool | None = None

    def __post_init__(self) -> None:
        if isinstance(self.temperature, bool) or not isinstance(self.temperature, (int, float)) or not (
            math.isfinite(self.temperature) and self.temperature >= 0
        ):
            raise ConfigError(f"temperature must be a number >= 0, got {self.temperature!r}")
        if isinstance(self.top_p, bool) or not isinstance(self.top_p, (int, float)) or not 0 < self.top_p <= 1:
            raise ConfigError(f"top_p must be in (0, 1], got {self.top_p!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ConfigError(f"seed must be an integer, got {self.seed!r}")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ConfigError(f"batch_size must be an integer >= 1, got {self.batch_size!r}")
        if self.enable_thinking is not None and not isinstance(self.enable_thinking, bool):
            raise ConfigError(f"enable_thinking must be true, false or none, got {self.enable_thinking!r}")
        if self.threads is not None and (isinstance(self.threads, bool) or not isinstance(self.threads, int)
                                         or self.threads < 1):
            raise ConfigError(f"threads must be an integer >= 1 or None, got {self.threads!r}")


def prompt_text(tokenizer: Any, request: GenerationRequest, enable_thinking: bool | None = None) -> str:
    """The text the model continues: the chat template with the assistant turn opened (for
    ``messages``) or the raw ``prompt``, followed by the request's ``prefix``.

    Appending the prefix after the opened assistant turn continues that turn, which is what
    ``continue_final_message`` does for the prefix-preserving templates (ChatML, Llama 3).
    """
    if request.messages is None:
        text = request.prompt or ""
    else:
        if not getattr(tokenizer, "chat_template", None):
            raise ConfigError("this model's tokenizer has no chat template: send a raw prompt instead of messages")
        try:
            extra = {} if enable_thinking is None else {"enable_thinking": enable_thinking}
            text = tokenizer.apply_chat_template(
                list(request.messages), tokenize=False, add_generation_prompt=True, **extra
            )
        except Exception as exc:  # jinja errors of a template that rejects these messages
            raise ConfigError(f"the chat template rejected the messages: {exc}") from exc
    return text + (request.prefix or "")
