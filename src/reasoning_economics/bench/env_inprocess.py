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

A last row plays 100-question builtin episodes keeping every observation, as a rollout buffer
does: each observation carries the whole history so far, so a step cost that grows with the
history shows there.

The ratio compares like with like. After that first pass (the one with fresh problems) a
second pass plays each episode twice, once through the environment and once as the bare
calls (the same counting and grading, nothing else), each from an empty verdict cache,
alternating which goes first from one episode to the next. Both then meet the same process
state (every input seen once before: regex caches, reasoning-gym's lazy state and the
grading workers' parse caches are warm for both), and drift in the machine's speed, large
on a shared virtual machine, falls on both alike instead of on whichever pass ran later.
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
LONG_EPISODE_QUESTIONS = 100


@dataclass
class Replay:
    resets: list[float] = field(default_factory=list)
    steps: list[float] = field(default_factory=list)
    steps_per_episode: list[int] = field(default_factory=list)
    window_seconds: float = 0.0
    mismatched: int = 0
    to_workers: int = 0
    correct: int = 0


@dataclass
class Comparison:
    """The second pass: the environment's resets and steps, and the same steps' bare calls."""

    resets: list[float] = field(default_factory=list)
    steps: list[float] = field(default_factory=list)
    bare: list[float] = field(default_factory=list)

    @property
    def ratio_p50(self) -> float:
        return LatencySummary.of_seconds(self.steps).p50_ms / LatencySummary.of_seconds(self.bare).p50_ms

    @property
    def ratio_mean(self) -> float:
        return sum(self.steps) / sum(self.bare)


def step_action(response: str, tokenizer: str) -> dict:
    """A step's action as a trainer passes it in-process: a plain dict naming the tokenizer."""
    return {"response": response, "metadata": {"tokenizer_name": tokenizer}}


def play_episode(env, script, tokenizer: str, outcome: Replay) -> None:
    """Reset to ``script``'s seed and step its responses until the episode ends, timing each call."""
    t0 = time.perf_counter()
    env.reset(seed=script.seed, tokenizer_name=tokenizer)
    outcome.resets.append(time.perf_counter() - t0)
    outcome.mismatched += [p.id for p in env.problems] != [p.id for p in script.problems]
    steps = 0
    for response in script.responses:
        action = step_action(response, tokenizer)
        t0 = time.perf_counter()
        stepped = env.step(action)
        outcome.steps.append(time.perf_counter() - t0)
        # Rebinding ``observation`` frees the previous one (1.5 us): the caller's work, after the window.
        observation = stepped
        steps += 1
        last = observation.history[-1]
        outcome.to_workers += last["grade_reason"] in WORKER_REASONS
        outcome.correct += bool(last["was_correct"])
        if observation.done:
            break
    outcome.steps_per_episode.append(steps)


def replay(env, scripts, tokenizer: str, seconds: float) -> Replay:
    """From an empty verdict cache, play each script's episode until the scripts or ``seconds`` run out."""
    from reasoning_economics import grading

    grading.clear_cache()
    outcome = Replay()
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    for script in scripts:
        if outcome.resets and time.perf_counter() >= deadline:
            break
        play_episode(env, script, tokenizer, outcome)
    outcome.window_seconds = time.perf_counter() - started
    return outcome


def time_bare(counter, script, steps: int, timeout: float) -> list[float]:
    """The counting and grading calls of ``script``'s first ``steps`` steps, timed alone."""
    from reasoning_economics import grading

    times: list[float] = []
    for problem, response in zip(script.problems[:steps], script.responses):
        t0 = time.perf_counter()
        counter.count(response)
        grading.grade_problem(response, problem, timeout=timeout)
        times.append(time.perf_counter() - t0)
    return times


def compare(env, counter, scripts, steps_per_episode: list[int], tokenizer: str, timeout: float) -> Comparison:
    """Play each episode through ``env`` and as bare calls, alternating which goes first."""
    from reasoning_economics import grading

    comparison = Comparison()
    for index, (script, steps) in enumerate(zip(scripts, steps_per_episode)):
        for through_env in (True, False) if index % 2 == 0 else (False, True):
            grading.clear_cache()
            if through_env:
                played = Replay()
                play_episode(env, script, tokenizer, played)
                comparison.resets += played.resets
                comparison.steps += played.steps
            else:
                comparison.bare += time_bare(counter, script, steps, timeout)
    return comparison


def measure_long_episodes(context: BenchContext) -> list[float]:
    """Step times of ``long_episodes`` 100-question builtin episodes played with the workload's
    responses, keeping every observation as a rollout buffer does: each carries the whole
    history so far, so a per-step cost that grows with it shows here and not in 10-question
    episodes."""
    from reasoning_economics.env import EnvConfig, ReasonBudgetEnvironment

    config = context.config
    questions = LONG_EPISODE_QUESTIONS
    env = ReasonBudgetEnvironment(EnvConfig(num_questions=questions, dataset=BUILTIN.dataset))
    responses = context.response_texts()
    times: list[float] = []
    for episode in range(config.long_episodes):
        # A budget no response can exhaust, so every episode runs all its questions.
        env.reset(seed=20_000_000 + episode, tokenizer_name=config.tokenizer, total_budget=10**8)
        kept = []
        for index in range(questions):
            response = responses[(episode * questions + index) % len(responses)]
            action = step_action(response, config.tokenizer)
            t0 = time.perf_counter()
            kept.append(env.step(action))
            times.append(time.perf_counter() - t0)
        if not kept[-1].done or len(kept[-1].history) != questions:
            raise RuntimeError(f"a {questions}-question episode ended after {len(kept[-1].history)} questions")
    return times


def measure(
    context: BenchContext, workload: Workload, *, warm_source: bool
) -> tuple[Replay, Comparison, dict]:
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
    first = replay(env, scripts, config.tokenizer, config.env_seconds)
    replayed = scripts[: len(first.resets)]
    comparison = compare(
        env, context.counter, replayed, first.steps_per_episode, config.tokenizer, env_config.grading_timeout
    )
    return first, comparison, extra


def run(context: BenchContext) -> SectionResult:
    config = context.config
    warm = config.mode == "full"
    result = SectionResult(
        name="env",
        title="In-process environment (10-question episodes, 50-400-token responses)",
        columns=("workload", "measure", "count", "p50 ms", "p99 ms", "mean ms"),
    )
    firsts: dict[str, Replay] = {}
    comparisons: dict[str, Comparison] = {}
    for workload in (BUILTIN, MATH_VERIFY):
        first, comparison, extra = measure(context, workload, warm_source=warm and workload is BUILTIN)
        firsts[workload.name], comparisons[workload.name] = first, comparison
        reset = LatencySummary.of_seconds(first.resets)
        step = LatencySummary.of_seconds(first.steps)
        step_again = LatencySummary.of_seconds(comparison.steps)
        bare = LatencySummary.of_seconds(comparison.bare)
        built = LatencySummary.of_seconds(comparison.resets)
        label = workload.name
        rows = [
            ("reset, fresh problems", reset),
            ("step", step),
            ("reset, problems built", built),
            ("step, second pass", step_again),
            ("bare count+grade", bare),
        ]
        for name, summary in rows:
            result.rows.append(
                (label, name, summary.count, f"{summary.p50_ms:.3f}", f"{summary.p99_ms:.3f}", f"{summary.mean_ms:.3f}")
            )
        result.rows.append(
            (label, "second-pass step / bare (p50, mean)", "", f"{comparison.ratio_p50:.2f}x", "",
             f"{comparison.ratio_mean:.2f}x")
        )  # fmt: skip
        steps_per_s = rate(len(first.steps), first.window_seconds)
        result.rows.append((label, "steps/s incl. resets", len(first.steps), f"{steps_per_s:,.0f}/s", "", ""))
        result.rows.append((label, "graded by a math-verify worker", first.to_workers, "", "", ""))
        result.data[workload.name] = {
            **extra,
            "episodes": len(first.resets),
            "steps": len(first.steps),
            "correct": first.correct,
            "graded_by_math_verify_worker": first.to_workers,
            "window_seconds": first.window_seconds,
            "steps_per_s_including_resets": steps_per_s,
            "steps_per_s_excluding_resets": rate(len(first.steps), sum(first.steps)),
            "reset_fresh_problems": reset.as_dict(),
            "step": step.as_dict(),
            "reset_problems_built": built.as_dict(),
            "step_second_pass": step_again.as_dict(),
            "bare_count_and_grade": bare.as_dict(),
            "step_over_bare_p50": comparison.ratio_p50,
            "step_over_bare_mean": comparison.ratio_mean,
            "episodes_whose_questions_differed_from_script": first.mismatched,
        }
        if first.mismatched:
            result.notes.append(f"{workload.name}: {first.mismatched} episodes asked other questions than the script")
    long = LatencySummary.of_seconds(measure_long_episodes(context))
    result.rows.append(
        (f"{LONG_EPISODE_QUESTIONS}-question", "step, every observation kept", long.count,
         f"{long.p50_ms:.3f}", f"{long.p99_ms:.3f}", f"{long.mean_ms:.3f}")
    )  # fmt: skip
    result.data["long_episodes"] = {
        "questions": LONG_EPISODE_QUESTIONS,
        "episodes": context.config.long_episodes,
        "step_every_observation_kept": long.as_dict(),
    }
    result.notes.append(
        "step / bare: a second pass plays each episode through the environment and as bare counting "
        "and grading, alternately first, each from an empty verdict cache"
    )
    if not warm:
        result.notes.append(
            "quick run: the builtin source is not warmed, so resets also build each problem on its first draw "
            "(polynomial_equations from its packaged pools)"
        )
    builtin, champ = BUILTIN.name, MATH_VERIFY.name
    result.targets = [
        Target(
            # The goal is for a warmed source, as an operator serves it; a quick run does not warm it.
            "in-process reset p50 (builtin, fresh problems" + (")" if warm else ", source not warmed)"),
            LatencySummary.of_seconds(firsts[builtin].resets).p50_ms, RESET_P50_TARGET_MS, "ms",
        ),
        Target(
            "in-process step p50 (math-verify grading)",
            LatencySummary.of_seconds(firsts[champ].steps).p50_ms, STEP_P50_TARGET_MS, "ms",
        ),
        Target("step p50 / bare count+grade p50 (math-verify)", comparisons[champ].ratio_p50, STEP_OVER_BARE_TARGET, "x"),
        Target("step p50 / bare count+grade p50 (builtin)", comparisons[builtin].ratio_p50, STEP_OVER_BARE_TARGET, "x"),
    ]  # fmt: skip
    return result
