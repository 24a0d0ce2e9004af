"""``vllm:<model>``: in-process vLLM on a GPU machine (``pip install 'reasoning-economics[vllm]'``).

The engine is created once per process and model. Prompts are rendered with the model's chat
template exactly like the transformers policies (:func:`~reasoning_economics.policies.chat.prompt_text`),
and one ``SamplingParams`` per request carries its own token limit and seed.

``completion_tokens`` excludes the end-of-sequence token, like the transformers policies, so the
count equals the token length of ``text``. This module is not exercised by the test suite: the
build machines have no GPU and no vLLM (only the missing-extra error is tested).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reasoning_economics.errors import ConfigError, PolicyError, require
from reasoning_economics.policies.base import GenerationRequest, GenerationResult, finish_reason_of
from reasoning_economics.policies.chat import LocalModelConfig, prompt_text


@dataclass(frozen=True)
class VLLMConfig(LocalModelConfig):
    """``model``: hub id or directory; ``dtype``: vLLM's dtype name ("auto", "bfloat16", ...);
    ``gpu_memory_utilization`` and ``max_model_len`` go to ``vllm.LLM``."""

    model: str = ""
    dtype: str = "auto"
    gpu_memory_utilization: float = 0.85
    max_model_len: int | None = None
    tensor_parallel_size: int = 1
    trust_remote_code: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < self.gpu_memory_utilization <= 1:
            raise ConfigError(f"gpu_memory_utilization must be in (0, 1], got {self.gpu_memory_utilization!r}")


_engines: dict[tuple[Any, ...], Any] = {}
_engines_lock = threading.Lock()


def _engine(config: VLLMConfig) -> Any:
    vllm = require("vllm", "vllm")
    key = (config.model, config.dtype, config.gpu_memory_utilization, config.max_model_len,
           config.tensor_parallel_size, config.trust_remote_code, config.seed)
    with _engines_lock:
        if key not in _engines:
            try:
                _engines[key] = vllm.LLM(
                    model=config.model,
                    dtype=config.dtype,
                    gpu_memory_utilization=config.gpu_memory_utilization,
                    max_model_len=config.max_model_len,
                    tensor_parallel_size=config.tensor_parallel_size,
                    trust_remote_code=config.trust_remote_code,
                    seed=config.seed,
                )
            except Exception as exc:  # vLLM raises many kinds (OSError, ValueError, RuntimeError)
                raise PolicyError(f"vLLM could not load {config.model!r}: {type(exc).__name__}: {exc}") from exc
        return _engines[key]


class VLLMPolicy:
    supports_prefix = True
    supports_logprobs = True

    def __init__(self, config: VLLMConfig) -> None:
        self.config = config
        self.name = f"vllm:{config.model}"
        self.tokenizer_name = config.model
        self.llm = _engine(config)
        self.tokenizer = self.llm.get_tokenizer()
        eos = getattr(self.tokenizer, "eos_token_id", None)
        self.eos_ids = frozenset([eos] if eos is not None else [])

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        vllm = require("vllm", "vllm")
        results: list[GenerationResult | None] = [
            GenerationResult("", 0, "length") if r.max_tokens == 0 else None for r in requests
        ]
        active = [i for i, r in enumerate(requests) if r.max_tokens > 0]
        if not active:
            return [r for r in results if r is not None]
        # Token ids, not text: vLLM would add a second BOS to a chat template that writes its own.
        prompts = [
            {"prompt_token_ids": list(self.tokenizer(
                prompt_text(self.tokenizer, requests[i], self.config.enable_thinking),
                add_special_tokens=requests[i].messages is None,
            )["input_ids"])}
            for i in active
        ]
        params = [
            vllm.SamplingParams(
                max_tokens=requests[i].max_tokens,
                temperature=self.config.temperature,
                top_p=self.config.top_p,
                seed=self.config.seed if requests[i].seed is None else self.config.seed * 1_000_003 + requests[i].seed,
                logprobs=0 if requests[i].logprobs else None,
            )
            for i in active
        ]
        outputs = self.llm.generate(prompts, params, use_tqdm=False)
        for i, output in zip(active, outputs):
            completion = output.outputs[0]
            ids = list(completion.token_ids)
            finish = finish_reason_of(completion.finish_reason)  # vLLM's "abort" is no stop
            if finish == "stop" and ids and ids[-1] in self.eos_ids:
                ids = ids[:-1]
            logprobs = None
            if requests[i].logprobs and completion.logprobs is not None:
                logprobs = tuple(float(step[token].logprob) for step, token in zip(completion.logprobs, ids))
            results[i] = GenerationResult(completion.text, len(ids), finish, logprobs)
        return [r for r in results if r is not None]

    def close(self) -> None:
        """The engine stays cached for the process (vLLM cannot reliably free a GPU engine)."""
