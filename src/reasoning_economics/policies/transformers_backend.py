"""Batched generation with a ``transformers`` causal LM: the code path of ``smollm2`` and ``hf:``.

Requests are rendered with the chat template (:func:`~reasoning_economics.policies.chat.prompt_text`),
left-padded into batches of ``batch_size`` and generated together up to the largest limit; each
row is then cut at its first end-of-sequence token or at its own limit. Tokens are produced left
to right, so the cut gives what a per-row limit would have.

``completion_tokens`` counts the generated tokens before the end-of-sequence token (which is not
part of ``text``), in the model's own tokenizer. ``finish_reason`` is ``"stop"`` when the model
ended its turn within the limit, else ``"length"``.

Sampling (``temperature > 0``) is seeded per batch from the ``seed`` option and the requests'
seeds, inside a forked RNG so the caller's global torch state is untouched: the same batch
reproduces the same samples. Greedy decoding (the default) does not depend on the batch.
Log-probabilities are those of the chosen tokens under the model's raw distribution
(temperature 1, no top-p), which is what importance-weighted training needs.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from reasoning_economics.errors import ConfigError, require
from reasoning_economics.policies.base import GenerationRequest, GenerationResult
from reasoning_economics.policies.chat import LocalModelConfig, prompt_text


def eos_token_ids(model: Any, tokenizer: Any, extra_stop_tokens: Sequence[str] = ()) -> frozenset[int]:
    """Every id that ends a turn: the tokenizer's EOS, the generation config's, and the ids of
    ``extra_stop_tokens`` the vocabulary holds."""
    ids: set[int] = set()
    vocabulary = tokenizer.get_vocab()
    ids.update(int(vocabulary[token]) for token in extra_stop_tokens if token in vocabulary)
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    if isinstance(configured, int):
        ids.add(configured)
    elif configured:
        ids.update(int(i) for i in configured)
    return frozenset(ids)


def prepare_tokenizer(tokenizer: Any) -> Any:
    """Left padding (generation appends on the right) and a pad token (EOS when none)."""
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


@contextlib.contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    """Run with ``threads`` torch CPU threads, then restore the previous setting."""
    if threads is None:
        yield
        return
    torch = require("torch", "models")
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class TransformersPolicy:
    """A loaded model and tokenizer behind the Policy protocol (see the module docstring)."""

    supports_prefix = True
    supports_logprobs = True

    def __init__(self, name: str, model: Any, tokenizer: Any, sampling: LocalModelConfig,
                 tokenizer_name: str | None, extra_stop_tokens: Sequence[str] = ()) -> None:
        self.name = name
        self.model = model.eval()
        self.tokenizer = prepare_tokenizer(tokenizer)
        self.sampling = sampling
        self.tokenizer_name = tokenizer_name
        """A name :func:`reasoning_economics.tokens.get_counter` resolves to this tokenizer, or
        None when only this process can load it (the embedded GGUF model)."""
        self.eos_ids = eos_token_ids(model, tokenizer, extra_stop_tokens)
        if not self.eos_ids:
            raise ConfigError(f"model {name!r} has no end-of-sequence token; it could never stop")
        # One generate() at a time per policy: a model is not safe to run from two threads.
        self._lock = threading.Lock()

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        results: list[GenerationResult] = [GenerationResult("", 0, "length")] * len(requests)
        active = [i for i, request in enumerate(requests) if request.max_tokens > 0]
        size = self.sampling.batch_size
        with self._lock, _torch_threads(self.sampling.threads):
            for start in range(0, len(active), size):
                chunk = active[start : start + size]
                for i, result in zip(chunk, self._generate_batch([requests[i] for i in chunk])):
                    results[i] = result
        return results

    def _encode(self, request: GenerationRequest) -> list[int]:
        text = prompt_text(self.tokenizer, request, self.sampling.enable_thinking)
        # A chat template writes its own BOS; a raw prompt gets the tokenizer's usual specials.
        encoded = self.tokenizer(text, add_special_tokens=request.messages is None)
        return list(encoded["input_ids"])

    def _generate_batch(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        torch = require("torch", "models")
        transformers = require("transformers", "models")
        prompts = [self._encode(request) for request in requests]
        width = max(len(ids) for ids in prompts)
        pad_id = self.tokenizer.pad_token_id
        input_ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, ids in enumerate(prompts):
            input_ids[row, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
            attention_mask[row, width - len(ids) :] = 1
        want_logprobs = any(request.logprobs for request in requests)
        sample = self.sampling.temperature > 0
        config = transformers.GenerationConfig(
            max_new_tokens=max(request.max_tokens for request in requests),
            do_sample=sample,
            temperature=self.sampling.temperature if sample else None,
            top_p=self.sampling.top_p if sample else None,
            top_k=None,
            eos_token_id=sorted(self.eos_ids),
            pad_token_id=pad_id,
            return_dict_in_generate=True,
            output_logits=want_logprobs,
        )
        device = next(self.model.parameters()).device
        with torch.random.fork_rng(devices=[]), torch.inference_mode():
            torch.manual_seed(self._batch_seed(requests))
            output = self.model.generate(
                input_ids=input_ids.to(device), attention_mask=attention_mask.to(device), generation_config=config
            )
        generated = output.sequences[:, width:].cpu().tolist()
        results = []
        for row, (request, ids) in enumerate(zip(requests, generated)):
            kept, finish = self._cut(ids, request.max_tokens)
            logprobs = None
            if request.logprobs:
                logprobs = tuple(
                    float(torch.log_softmax(output.logits[step][row].float(), dim=-1)[token])
                    for step, token in enumerate(kept)
                )
            text = self.tokenizer.decode(kept, skip_special_tokens=True)
            results.append(GenerationResult(text=text, completion_tokens=len(kept), finish_reason=finish, logprobs=logprobs))
        return results

    def _cut(self, ids: list[int], limit: int) -> tuple[list[int], str]:
        for position, token in enumerate(ids[:limit]):
            if token in self.eos_ids:
                return ids[:position], "stop"
        return ids[:limit], "length"

    def _batch_seed(self, requests: list[GenerationRequest]) -> int:
        seeds = [request.seed for request in requests if request.seed is not None]
        value = self.sampling.seed
        for seed in seeds:
            value = (value * 1_000_003 + seed) % 2**63
        return value

    def close(self) -> None:
        """The model stays in the process cache, shared with any other policy on it."""
