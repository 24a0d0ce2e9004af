"""Generation backends for episode rollouts: the trainer's own model through ``transformers``
(CPU or GPU), or TRL's vLLM engine (colocated or a ``trl vllm-serve`` server).

Every backend takes token-id prompts and one token limit per prompt (the environment's step
limit) and returns the sampled ids, cut after the first end-of-sequence id. The sampling
settings (temperature, top-p, top-k, ...) are the trainer's, so a rollout samples exactly the
way TRL's own generation would.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Generated:
    """One sampled continuation.

    ``logprobs`` holds the sampler's log-probability of each id when the backend reports it
    (vLLM), else None. ``closed`` says whether the last id is an end-of-sequence id (the
    model ended its turn) rather than a cut at the limit.
    """

    token_ids: tuple[int, ...]
    logprobs: tuple[float, ...] | None
    closed: bool


class Generator(Protocol):
    """Samples continuations of token-id prompts."""

    def generate(self, prompts: Sequence[Sequence[int]], limits: Sequence[int]) -> list[Generated]:
        """One continuation per prompt, of at most ``limits[i]`` new ids (0 gives an empty one)."""
        ...


def _cut_at_eos(ids: Sequence[int], limit: int, eos: frozenset[int]) -> tuple[list[int], bool]:
    kept: list[int] = []
    for token in ids[:limit]:
        kept.append(int(token))
        if token in eos:
            return kept, True
    return kept, False


class TransformersGenerator:
    """Samples with the trainer's model through ``model.generate``, batching the prompts.

    The batch generates up to the largest limit and each row is cut to its own limit, which
    samples exactly what a per-row limit would (tokens are drawn left to right).
    """

    def __init__(self, trainer: Any, max_batch_size: int | None = None) -> None:
        self.trainer = trainer
        self.max_batch_size = max_batch_size
        self.eos = frozenset(int(i) for i in trainer.eos_token_ids)

    def generate(self, prompts: Sequence[Sequence[int]], limits: Sequence[int]) -> list[Generated]:
        results: list[Generated] = [Generated((), None, False)] * len(prompts)
        active = [i for i, limit in enumerate(limits) if limit > 0]
        step = self.max_batch_size or len(active) or 1
        for start in range(0, len(active), step):
            chunk = active[start : start + step]
            rows = self._generate_chunk([prompts[i] for i in chunk], max(limits[i] for i in chunk))
            for i, row in zip(chunk, rows):
                ids, closed = _cut_at_eos(row, limits[i], self.eos)
                results[i] = Generated(tuple(ids), None, closed)
        return results

    def _generate_chunk(self, prompts: list[Sequence[int]], max_new_tokens: int) -> list[list[int]]:
        import copy

        import torch
        from trl.models.utils import unwrap_model_for_generation

        trainer = self.trainer
        pad_id = getattr(trainer.processing_class, "tokenizer", trainer.processing_class).pad_token_id
        width = max(len(p) for p in prompts)
        input_ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, ids in enumerate(prompts):  # left padding, as generation needs
            input_ids[row, width - len(ids) :] = torch.tensor(list(ids), dtype=torch.long)
            attention_mask[row, width - len(ids) :] = 1
        device = trainer.accelerator.device
        generation_config = copy.deepcopy(trainer.generation_config)
        generation_config.max_new_tokens = max_new_tokens
        with (
            unwrap_model_for_generation(
                trainer.model_wrapped,
                trainer.accelerator,
                gather_deepspeed3_params=trainer.args.ds3_gather_for_generation,
                generation_kwargs=trainer.generation_kwargs,
                gradient_checkpointing_kwargs=trainer.args.gradient_checkpointing_kwargs,
            ) as model,
            torch.no_grad(),
        ):
            output = model.generate(
                input_ids=input_ids.to(device),
                attention_mask=attention_mask.to(device),
                generation_config=generation_config,
            )
        return output[:, width:].cpu().tolist()


class VLLMGenerator:
    """Samples with TRL's vLLM engine (``trainer.vllm_generation``), colocated or a server.

    TRL's engine takes one ``max_completion_length`` per call, so prompts are generated in
    buckets of equal limit. In server mode each call is a collective over processes, so this
    backend supports one training process per server; colocated, it supports any number of
    processes with tensor parallel size 1. Not run in this project (no GPU was available).
    """

    def __init__(self, trainer: Any) -> None:
        self.engine = trainer.vllm_generation
        self.eos = frozenset(int(i) for i in trainer.eos_token_ids)
        # Each process makes one generate call per distinct limit, and the limits differ between
        # processes; where TRL's call is a collective (server mode across processes, colocate mode
        # across a tensor-parallel group) the calls would not pair up and the run would hang.
        from reasoning_economics.errors import ConfigError

        if self.engine.mode == "server" and trainer.accelerator.num_processes > 1:
            raise ConfigError(
                "episode rollouts with vLLM in server mode support a single training process; "
                "use vllm_mode='colocate' for multi-process training"
            )
        if self.engine.mode == "colocate" and getattr(self.engine, "tensor_parallel_size", 1) > 1:
            raise ConfigError("episode rollouts with colocated vLLM support vllm_tensor_parallel_size=1 only")

    def generate(self, prompts: Sequence[Sequence[int]], limits: Sequence[int]) -> list[Generated]:
        results: list[Generated] = [Generated((), None, False)] * len(prompts)
        buckets: dict[int, list[int]] = defaultdict(list)
        for i, limit in enumerate(limits):
            if limit > 0:
                buckets[limit].append(i)
        saved = self.engine.max_completion_length
        try:
            for limit, indices in sorted(buckets.items()):
                self.engine.max_completion_length = limit
                _, completion_ids, logprobs, _ = self.engine.generate(
                    prompts=[list(prompts[i]) for i in indices], images=None, num_generations=1
                )
                for j, i in enumerate(indices):
                    ids, closed = _cut_at_eos(completion_ids[j], limit, self.eos)
                    row_logprobs = None
                    if logprobs is not None:
                        # vLLM reports top-k per position; the first entry is the sampled id's.
                        row_logprobs = tuple(
                            float("nan") if lp is None or lp[0] is None else float(lp[0])
                            for lp in logprobs[j][: len(ids)]
                        )
                    results[i] = Generated(tuple(ids), row_logprobs, closed)
        finally:
            self.engine.max_completion_length = saved
        return results


def make_generator(trainer: Any) -> Generator:
    """The backend matching the trainer's configuration: vLLM when ``use_vllm``, else transformers."""
    if getattr(trainer, "use_vllm", False):
        return VLLMGenerator(trainer)
    return TransformersGenerator(trainer)
