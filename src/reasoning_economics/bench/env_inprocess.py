"""The in-process environment: reset and step latency over scripted 10-question episodes,
and step time against the bare cost of the counting and grading it does.

Two workloads, each replayed through its own ``ReasonBudgetEnvironment``:

- **builtin**: the default source, graded by reasoning-gym's scorers in-process. The
  environment builds each episode's problems itself on reset (the scripts come from a
  separate source instance), so "reset, fresh problems" includes the generators, as a
  client sees it; "reset, problems built" re-resets the same seeds to show the
  environment's own share. The full run warms the source first (``warm_up``, as an
  operator can ask of ``ree serve``); the quick run does not.
- **champ**: numeric competition problems graded by math-verify (the exact-number fast
  path, else a supervised worker), with 30% of answers written in forms only a worker
  decides. This is the "full math-verify grading" target.

Each pass starts from an empty grading cache, and so does its bare pass (the same counting
and grading calls, nothing else), so the ratio compares like with like.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from reasoning_economics.bench.context import BUILTIN, MATH_VERIFY, BenchContext, Workload
from reasoning_economics.bench.results import SectionResult, Target
from reasoning_economics.bench.stats import LatencySummary, rate
from reasoning_economics.grading.grader import WORKER_REASONS

RESET_P50_TARGET_MS = 5.0
STEP_P50_TARGET_MS = 2.0
STEP_OVER_BARE_TARGET = 1.5


@dataclass
class Replay:
    resets: list[float] = field(default_factory=list)
    steps: list[float] = field(default_factory=list)
    bare: list[float] = field(default_factory=list)
    window_seconds: float = 0.0
    mismatched: int = 0
    to_workers: int = 0
    correct: int = 0

    @property
    def ratio_p50(self) -> float:
        return LatencySummary.of_seconds(self.steps).p50_ms / LatencySummary.of_seconds(self.bare).p50_ms

    @property
    def ratio_mean(self) -> float:
        return sum(self.steps) / sum(self.bare[: len(self.steps)])


def replay(env, scripts, tokenizer: str, seconds: float) -> Replay:
    """Reset to each script's seed and step its responses, until the scripts or ``seconds`` run out."""
    outcome = Replay()
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    for script in scripts:
        if outcome.resets and time.perf_counter() >= deadline:
            break
        t0 = time.perf_counter()
        env.reset(seed=script.seed, tokenizer_name=tokenizer)
        outcome.resets.append(time.perf_counter() - t0)
        outcome.mismatched += [p.id for p in env.problems] != [p.id for p in script.problems]
        for response in script.responses:
            action = {"response": response, "metadata": {"tokenizer_name": tokenizer}}
            t0 = time.perf_counter()
            observation = env.step(action)
            outcome.steps.append(time.perf_counter() - t0)
            last = observation.history[-1]
            outcome.to_workers += last["grade_reason"] in WORKER_REASONS
            outcome.correct += bool(last["was_correct"])
            if observation.done:
                break
    outcome.window_seconds = time.perf_counter() - started
    return outcome


def bare_pass(counter, scripts, steps: int, timeout: float) -> list[float]:
    """The counting and grading calls of the first ``steps`` steps of ``scripts``, timed alone."""
    from reasoning_economics import grading

    grading.clear_cache()
    bare: list[float] = []
    for script in scripts:
        for problem, response in zip(script.problems, script.responses):
            if len(bare) >= steps:
                return bare
            t0 = time.perf_counter()
            counter.count(response)
            grading.grade_problem(response, problem, timeout=timeout)
            bare.append(time.perf_counter() - t0)
    return bare


def measure(context: BenchContext, workload: Workload, *, warm_source: bool) -> tuple[Replay, dict]:
    from reasoning_economics import grading
    from reasoning_economics.env import EnvConfig, ReasonBudgetEnvironment

    config = context.config
    # warm_up builds the slow generators' pools when the source is built, as
    # an operator asks of ``ree serve`` with ``dataset_config = {warm_up = true}`` in its --config
    # file; the source build time then includes it.
    dataset_config = {**workload.env_dataset_config, **({"warm_up": True} if warm_source else {})}
    env_config = EnvConfig(num_questions=10, dataset=workload.dataset, dataset_config=dataset_config)
    started = time.perf_counter()
    env = ReasonBudgetEnvironment(env_config)
    extra: dict = {
        "workload": workload.description,
        "source_warmed": warm_source,
        "source_build_seconds": time.perf_counter() - started,
    }
    started = time.perf_counter()
    env.reset(seed=10_000_000, tokenizer_name=config.tokenizer)  # the first reset pays lazy imports
    extra["first_reset_ms"] = (time.perf_counter() - started) * 1000

    # Start the math-verify workers and wait for one symbolic verdict, as ``ree serve`` does
    # at start: process start-up is not a step's cost.
    started = time.perf_counter()
    grading.grade("\\boxed{x = 1}", "1", timeout=60)
    extra["grading_workers_ready_seconds"] = time.perf_counter() - started

    episodes = max(1, -(-config.env_steps // env_config.num_questions))
    scripts = context.scripts_for(episodes, workload)
    grading.clear_cache()
    outcome = replay(env, scripts, config.tokenizer, config.env_seconds)
    replayed = scripts[: len(outcome.resets)]
    built: list[float] = []
    for script in replayed:  # the same seeds again: problems are built now
        t0 = time.perf_counter()
        env.reset(seed=script.seed, tokenizer_name=config.tokenizer)
        built.append(time.perf_counter() - t0)
    extra["reset_problems_built"] = LatencySummary.of_seconds(built).as_dict()
    outcome.bare = bare_pass(context.counter, replayed, len(outcome.steps), env_config.grading_timeout)
    return outcome, extra


def run(context: BenchContext) -> SectionResult:
    config = context.config
    warm = config.mode == "full"
    result = SectionResult(
        name="env",
        title="In-process environment (10-question episodes, 50-400-token responses)",
        columns=("workload", "measure", "count", "p50 ms", "p99 ms", "mean ms"),
    )
    passes: dict[str, Replay] = {}
    for workload in (BUILTIN, MATH_VERIFY):
        outcome, extra = measure(context, workload, warm_source=warm and workload is BUILTIN)
        passes[workload.name] = outcome
        reset = LatencySummary.of_seconds(outcome.resets)
        step = LatencySummary.of_seconds(outcome.steps)
        bare = LatencySummary.of_seconds(outcome.bare)
        built = extra["reset_problems_built"]
        label = workload.name
        rows = [
            ("reset, fresh problems", reset),
            ("step", step),
            ("bare count+grade", bare),
        ]
        for name, summary in rows:
            result.rows.append(
                (label, name, summary.count, f"{summary.p50_ms:.3f}", f"{summary.p99_ms:.3f}", f"{summary.mean_ms:.3f}")
            )
        result.rows.append(
            (label, "reset, problems built", built["count"], f"{built['p50_ms']:.3f}", f"{built['p99_ms']:.3f}",
             f"{built['mean_ms']:.3f}")
        )  # fmt: skip
        result.rows.append((label, "step / bare (p50, mean)", "", f"{outcome.ratio_p50:.2f}x", "", f"{outcome.ratio_mean:.2f}x"))
        steps_per_s = rate(len(outcome.steps), outcome.window_seconds)
        result.rows.append((label, "steps/s incl. resets", len(outcome.steps), f"{steps_per_s:,.0f}/s", "", ""))
        result.rows.append((label, "graded by a math-verify worker", outcome.to_workers, "", "", ""))
        result.data[workload.name] = {
            **extra,
            "episodes": len(outcome.resets),
            "steps": len(outcome.steps),
            "correct": outcome.correct,
            "graded_by_math_verify_worker": outcome.to_workers,
            "window_seconds": outcome.window_seconds,
            "steps_per_s_including_resets": steps_per_s,
            "steps_per_s_excluding_resets": rate(len(outcome.steps), sum(outcome.steps)),
            "reset_fresh_problems": reset.as_dict(),
            "step": step.as_dict(),
            "bare_count_and_grade": bare.as_dict(),
            "step_over_bare_p50": outcome.ratio_p50,
            "step_over_bare_mean": outcome.ratio_mean,
            "episodes_whose_questions_differed_from_script": outcome.mismatched,
        }
        if outcome.mismatched:
            result.notes.append(f"{workload.name}: {outcome.mismatched} episodes asked other questions than the script")
    if not warm:
        result.notes.append("quick run: the builtin source is not warmed, so resets also build slow generators' pools")
    builtin, champ = passes[BUILTIN.name], passes[MATH_VERIFY.name]
    result.targets = [
        Target(
            "in-process reset p50 (builtin, fresh problems)",
            LatencySummary.of_seconds(builtin.resets).p50_ms, RESET_P50_TARGET_MS, "ms",
        ),
        Target(
            "in-process step p50 (math-verify grading)",
            LatencySummary.of_seconds(champ.steps).p50_ms, STEP_P50_TARGET_MS, "ms",
        ),
        Target("step p50 / bare count+grade p50 (math-verify)", champ.ratio_p50, STEP_OVER_BARE_TARGET, "x"),
        Target("step p50 / bare count+grade p50 (builtin)", builtin.ratio_p50, STEP_OVER_BARE_TARGET, "x"),
    ]  # fmt: skip
    return result
