"""Bare cost of counting: tokens/s of each built-in vocabulary and of a Hugging Face tokenizer.

Texts are counted one at a time, as ``env.step`` counts each response.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from reasoning_economics import tokens
from reasoning_economics.bench.context import BenchContext
from reasoning_economics.bench.local_hf_tokenizer import build_qwen_tokenizer
from reasoning_economics.bench.results import SectionResult
from reasoning_economics.bench.stats import LatencySummary, bounded, rate


def counting_throughput(counter: tokens.TokenCounter, texts: Sequence[str], passes: int, seconds: float) -> dict:
    """Count every text ``passes`` times (or until ``seconds`` run out); tokens/s and per-text latency."""
    for text in texts[:20]:  # warm-up: first calls build lazy tables
        counter.count(text)
    per_text: list[float] = []
    counted = 0
    started = time.perf_counter()
    for _ in bounded(passes, seconds):
        for text in texts:
            t0 = time.perf_counter()
            counted += counter.count(text)
            per_text.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    latency = LatencySummary.of_seconds(per_text)
    return {
        "tokens_per_s": rate(counted, elapsed),
        "texts_per_s": rate(len(per_text), elapsed),
        "tokens_counted": counted,
        "texts_counted": len(per_text),
        "seconds": elapsed,
        "per_text": latency.as_dict(),
    }


def run(context: BenchContext) -> SectionResult:
    config = context.config
    texts = context.response_texts()
    result = SectionResult(
        name="tokens",
        title="Bare cost: token counting (one response at a time)",
        columns=("tokenizer", "tokens/s", "responses/s", "p50 µs", "p99 µs"),
    )
    counters: list[tuple[str, tokens.TokenCounter]] = [
        (name, tokens.get_counter(name)) for name in tokens.BUILTIN_VOCABULARIES
    ]
    hf_directory = build_qwen_tokenizer(config.cache_dir / "qwen3-hf-tokenizer")
    hf_counter = tokens.get_counter(str(hf_directory))
    qwen = tokens.get_counter("qwen3")
    disagreements = sum(hf_counter.count(text) != qwen.count(text) for text in texts)
    result.data["hf_tokenizer"] = {
        "path": str(hf_directory),
        "built_from": "quicktok qwen3 ranks + Qwen split pattern (transformers PreTrainedTokenizerFast)",
        "texts_disagreeing_with_builtin_qwen3": disagreements,
    }
    counters.append(("HF fast (Qwen vocab)", hf_counter))
    result.data["workload"] = {
        "texts": len(texts),
        "mean_tokens": sum(qwen.count(t) for t in texts) / len(texts),
    }
    for label, counter in counters:
        measured = counting_throughput(counter, texts, config.token_passes, config.loop_seconds)
        result.data[label] = measured
        result.rows.append(
            (
                label,
                f"{measured['tokens_per_s']:,.0f}",
                f"{measured['texts_per_s']:,.0f}",
                f"{measured['per_text']['p50_ms'] * 1000:.1f}",
                f"{measured['per_text']['p99_ms'] * 1000:.1f}",
            )
        )
    if disagreements:
        result.notes.append(f"the local HF tokenizer disagreed with qwen3 on {disagreements} texts")
    return result
