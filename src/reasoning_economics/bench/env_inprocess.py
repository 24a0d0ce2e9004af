"""The in-process environment: reset and step latency over scripted 10-question episodes,
and step time against the bare cost of the counting and grading it does.

The source is warmed first (as ``ree serve`` does at start), and the first, cold reset is
reported apart. Each pass starts from an empty grading cache, so both passes see the same
hits and misses: the ratio compares like with like.
"""

from __future__ import annotations

import time

from reasoning_economics.bench.context import BenchContext
from reasoning_economics.bench.results import SectionResult, Target
from reasoning_economics.bench.stats import LatencySummary, rate

RESET_P50_TARGET_MS = 5.0
STEP_P50_TARGET_MS = 2.0
STEP_OVER_BARE_TARGET = 1.5


def run(context: BenchContext) -> SectionResult:
    from reasoning_economics import grading
    from reasoning_economics.env import EnvConfig, ReasonBudgetEnvironment
    from reasoning_economics.problems import create_source

    config = context.config
    env_config = EnvConfig(num_questions=10)
    started = time.perf_counter()
    source = create_source(env_config.dataset, **env_config.dataset_config)
    source_seconds = time.perf_counter() - started
    env = ReasonBudgetEnvironment(env_config)
    started = time.perf_counter()
    env.reset(seed=10_000, tokenizer_name=config.tokenizer)
    cold_reset_seconds = time.perf_counter() - started
    started = time.perf_counter()
    warmed = source.warm_up() if hasattr(source, "warm_up") else 0
    warm_up_seconds = time.perf_counter() - started

    episodes = max(1, -(-config.env_steps // env_config.num_questions))
    scripts = context.scripts_for(episodes)
    grading.clear_cache()
    resets: list[float] = []
    steps: list[float] = []
    mismatched = 0
    deadline = time.perf_counter() + config.env_seconds
    window_start = time.perf_counter()
    for script in scripts:
        if time.perf_counter() >= deadline:
            break
        t0 = time.perf_counter()
        env.reset(seed=script.seed, tokenizer_name=config.tokenizer)
        resets.append(time.perf_counter() - t0)
        mismatched += env.problems != list(script.problems)
        for response in script.responses:
            action = {"response": response, "metadata": {"tokenizer_name": config.tokenizer}}
            t0 = time.perf_counter()
            observation = env.step(action)
            steps.append(time.perf_counter() - t0)
            if observation.done:
                break
    window = time.perf_counter() - window_start
    replayed = scripts[: len(resets)]

    # Bare pass: the same counting and grading calls, nothing else.
    counter = context.counter
    grading.clear_cache()
    bare: list[float] = []
    for script in replayed:
        for problem, response in zip(script.problems, script.responses):
            t0 = time.perf_counter()
            counter.count(response)
            grading.grade_problem(response, problem, timeout=env_config.grading_timeout)
            bare.append(time.perf_counter() - t0)
            if len(bare) >= len(steps):
                break

    reset_summary = LatencySummary.of_seconds(resets)
    step_summary = LatencySummary.of_seconds(steps)
    bare_summary = LatencySummary.of_seconds(bare)
    ratio_p50 = step_summary.p50_ms / bare_summary.p50_ms
    ratio_mean = step_summary.mean_ms / bare_summary.mean_ms
    result = SectionResult(
        name="env",
        title="In-process environment (10-question episodes, 50-400-token responses)",
        columns=("measure", "count", "p50 ms", "p99 ms", "mean ms"),
    )
    for label, summary in (("reset (warm source)", reset_summary), ("step", step_summary), ("bare count+grade", bare_summary)):
        result.rows.append(
            (label, summary.count, f"{summary.p50_ms:.3f}", f"{summary.p99_ms:.3f}", f"{summary.mean_ms:.3f}")
        )
    result.rows.append(("step / bare (p50, mean)", "", f"{ratio_p50:.2f}x", "", f"{ratio_mean:.2f}x"))
    steps_per_s = rate(len(steps), window)
    result.rows.append(("steps/s incl. resets", len(steps), f"{steps_per_s:,.0f}/s", "", ""))
    result.data = {
        "episodes": len(resets),
        "steps": len(steps),
        "window_seconds": window,
        "steps_per_s_including_resets": steps_per_s,
        "steps_per_s_excluding_resets": rate(len(steps), sum(steps)),
        "reset": reset_summary.as_dict(),
        "step": step_summary.as_dict(),
        "bare_count_and_grade": bare_summary.as_dict(),
        "step_over_bare_p50": ratio_p50,
        "step_over_bare_mean": ratio_mean,
        "source_build_seconds": source_seconds,
        "first_reset_cold_source_ms": cold_reset_seconds * 1000,
        "source_warm_up_seconds": warm_up_seconds,
        "source_problems_prebuilt": warmed,
        "episodes_whose_questions_differed_from_script": mismatched,
    }
    if mismatched:
        result.notes.append(f"{mismatched} episodes asked other questions than the seed's script")
    result.targets = [
        Target("in-process reset p50", reset_summary.p50_ms, RESET_P50_TARGET_MS, "ms"),
        Target("in-process step p50 (math-verify grading)", step_summary.p50_ms, STEP_P50_TARGET_MS, "ms"),
        Target("step p50 / bare count+grade p50", ratio_p50, STEP_OVER_BARE_TARGET, "x"),
    ]
    return result
