#!/usr/bin/env python
"""Profile the in-process hot path (reset + step) with pyinstrument.

Replays the benchmark's scripted episodes (the same workload as ``ree bench --only env``)
through one ``ReasonBudgetEnvironment`` under the profiler, after a warm-up episode and
from an empty grading cache (as the benchmark does), and prints where the time goes. Usage::

    python benchmarks/profile_env.py                      # 100 episodes (1,000 steps)
    python benchmarks/profile_env.py --episodes 300 --html benchmarks/results/profile-env.html

pyinstrument samples the main thread only: time spent inside grading worker processes shows
up as the parent waiting on them (the round trip is what a step pays).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=100, help="10-question episodes to replay (default 100)")
    parser.add_argument("--interval", type=float, default=0.0001, help="sampling interval in seconds")
    parser.add_argument("--html", type=Path, help="also write an HTML report here")
    parser.add_argument(
        "--prebuilt", action="store_true",
        help="replay once unprofiled first, so problems are built and the profile shows the environment itself",
    )  # fmt: skip
    args = parser.parse_args()

    from pyinstrument import Profiler

    from reasoning_economics import grading
    from reasoning_economics.bench.config import BenchConfig
    from reasoning_economics.bench.context import BenchContext
    from reasoning_economics.env import EnvConfig, ReasonBudgetEnvironment

    config = BenchConfig.quick(sections=("env",))
    context = BenchContext(config)
    scripts = context.scripts_for(args.episodes + 1)
    env = ReasonBudgetEnvironment(EnvConfig(num_questions=10))

    def replay(script) -> int:
        env.reset(seed=script.seed, tokenizer_name=config.tokenizer)
        steps = 0
        for response in script.responses:
            steps += 1
            if env.step({"response": response, "metadata": {"tokenizer_name": config.tokenizer}}).done:
                break
        return steps

    replay(scripts[-1])  # warm-up: worker pool, counters, lazy imports
    if args.prebuilt:
        for script in scripts[: args.episodes]:
            replay(script)
    grading.clear_cache()
    profiler = Profiler(interval=args.interval)
    started = time.perf_counter()
    profiler.start()
    steps = sum(replay(script) for script in scripts[: args.episodes])
    profiler.stop()
    elapsed = time.perf_counter() - started
    print(f"{args.episodes} episodes, {steps} steps in {elapsed:.2f} s under the profiler")
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    if args.html:
        args.html.parent.mkdir(parents=True, exist_ok=True)
        args.html.write_text(profiler.output_html())
        print(f"wrote {args.html}")


if __name__ == "__main__":
    main()
