"""Bare cost of grading: grades/s through the supervised math-verify pool, cold and warm cache.

Cold: distinct (response, problem) pairs on an emptied cache, so every grade goes to a
worker. Warm: the same pairs again, so every grade is a cache hit.
"""

from __future__ import annotations

import time

from reasoning_economics.bench.context import BenchContext
from reasoning_economics.bench.results import SectionResult
from reasoning_economics.bench.stats import LatencySummary, rate


def grade_all(pairs, seconds: float, timeout: float) -> tuple[list[float], int, float]:
    """Grade pairs in order until done or ``seconds`` pass: (latencies, correct, elapsed)."""
    from reasoning_economics import grading

    latencies: list[float] = []
    correct = 0
    started = time.perf_counter()
    deadline = started + seconds
    for response, problem in pairs:
        if latencies and time.perf_counter() >= deadline:
            break
        t0 = time.perf_counter()
        verdict = grading.grade_problem(response, problem, timeout=timeout)
        latencies.append(time.perf_counter() - t0)
        correct += bool(verdict.correct)
    return latencies, correct, time.perf_counter() - started


def run(context: BenchContext) -> SectionResult:
    from reasoning_economics import grading

    config = context.config
    episodes = max(1, -(-config.grading_pairs // 10))
    pairs = [
        (response, problem)
        for script in context.scripts_for(episodes)
        for response, problem in zip(script.responses, script.problems)
    ][: config.grading_pairs]
    timeout = 5.0
    grading.grade_problem(pairs[0][0], pairs[0][1], timeout=timeout)  # start the worker pool
    grading.clear_cache()
    result = SectionResult(
        name="grading",
        title="Bare cost: grading (supervised math-verify workers)",
        columns=("cache", "grades", "grades/s", "p50 ms", "p99 ms", "correct"),
    )
    for label in ("cold", "warm"):
        latencies, correct, elapsed = grade_all(pairs, config.loop_seconds, timeout)
        pairs = pairs[: len(latencies)]  # the warm pass re-grades exactly what the cold pass cached
        summary = LatencySummary.of_seconds(latencies)
        result.data[label] = {"grades_per_s": rate(len(latencies), elapsed), "correct": correct, **summary.as_dict()}
        result.rows.append(
            (
                label,
                len(latencies),
                f"{rate(len(latencies), elapsed):,.0f}",
                f"{summary.p50_ms:.3f}",
                f"{summary.p99_ms:.3f}",
                f"{correct}/{len(latencies)}",
            )
        )
    return result
