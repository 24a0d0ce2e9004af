"""Bare cost of grading: grades/s with a cold and a warm verdict cache, per grader.

- **math-verify**: CHAMP numeric problems; 30% of answers are written in forms the
  exact-number fast path cannot decide (``x = 9``, ``9 \\text{ units}``), so those go to a
  supervised math-verify worker process. The "to workers" column counts them.
- **reasoning-gym**: the builtin problems, scored by reasoning-gym in-process.

Cold: distinct (response, problem) pairs on an emptied cache. Warm: the same pairs again,
so every grade is a cache hit (extraction still runs: the cache is keyed by the answer).
"""

from __future__ import annotations

import time

from reasoning_economics.bench.context import BUILTIN, MATH_VERIFY, BenchContext
from reasoning_economics.grading.grader import WORKER_REASONS
from reasoning_economics.bench.results import SectionResult
from reasoning_economics.bench.stats import LatencySummary, rate

TIMEOUT_S = 5.0


def grade_all(pairs, seconds: float, timeout: float) -> tuple[list[float], int, int, float]:
    """Grade pairs in order until done or ``seconds`` pass: (latencies, correct, to_workers, elapsed)."""
    from reasoning_economics import grading

    latencies: list[float] = []
    correct = to_workers = 0
    started = time.perf_counter()
    deadline = started + seconds
    for response, problem in pairs:
        if latencies and time.perf_counter() >= deadline:
            break
        t0 = time.perf_counter()
        verdict = grading.grade_problem(response, problem, timeout=timeout)
        latencies.append(time.perf_counter() - t0)
        correct += bool(verdict.correct)
        to_workers += verdict.reason in WORKER_REASONS
    return latencies, correct, to_workers, time.perf_counter() - started


def run(context: BenchContext) -> SectionResult:
    from reasoning_economics import grading

    config = context.config
    episodes = max(1, -(-config.grading_pairs // 10))
    result = SectionResult(
        name="grading",
        title="Bare cost: grading, one response at a time",
        columns=("grader", "cache", "grades", "grades/s", "p50 ms", "p99 ms", "correct", "to workers"),
    )
    started = time.perf_counter()
    grading.grade("\\boxed{x = 1}", "1", timeout=60)  # start the worker pool and wait for a verdict
    result.data["worker_pool_start_seconds"] = time.perf_counter() - started
    for label, workload in (("math-verify", MATH_VERIFY), ("reasoning-gym", BUILTIN)):
        pairs = [
            (response, problem)
            for script in context.scripts_for(episodes, workload)
            for response, problem in zip(script.responses, script.problems)
        ][: config.grading_pairs]
        grading.clear_cache()
        result.data[label] = {"workload": workload.description}
        for cache in ("cold", "warm"):
            latencies, correct, to_workers, elapsed = grade_all(pairs, config.loop_seconds, TIMEOUT_S)
            pairs = pairs[: len(latencies)]  # the warm pass re-grades exactly what the cold pass cached
            if cache == "warm":
                to_workers = 0  # cached verdicts keep the worker's reason, but no worker ran
            summary = LatencySummary.of_seconds(latencies)
            result.data[label][cache] = {
                "grades_per_s": rate(len(latencies), elapsed),
                "correct": correct,
                "graded_by_worker": to_workers,
                **summary.as_dict(),
            }
            result.rows.append(
                (
                    label,
                    cache,
                    len(latencies),
                    f"{rate(len(latencies), elapsed):,.0f}",
                    f"{summary.p50_ms:.3f}",
                    f"{summary.p99_ms:.3f}",
                    f"{correct}/{len(latencies)}",
                    to_workers,
                )
            )
    return result
