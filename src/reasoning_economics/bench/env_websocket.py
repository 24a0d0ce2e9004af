"""The environment over WebSocket: a real ``ree serve`` on 127.0.0.1 under 1-1,024 sessions.

Per concurrency level: all sessions connect and reset first, then all step at once until
each has done its share of the level's steps or the level's time runs out. Reported:
total steps/s over that window, step latency p50/p99 as each client saw it, resets apart,
and errors. Server memory per idle session is the growth of the server's resident set
while N reset-but-idle sessions are open, divided by N.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from reasoning_economics.bench.context import BenchContext
from reasoning_economics.bench.results import SectionResult, Target
from reasoning_economics.bench.server_process import ServerProcess, rss_bytes
from reasoning_economics.bench.stats import LatencySummary, rate
from reasoning_economics.bench.ws_load import LoadResult, hold_idle_sessions, run_load

STEPS_PER_S_TARGET = (64, 500.0)
P99_TARGET = (256, 50.0)
NO_ERRORS_AT = 1024
IDLE_SESSION_KB_TARGET = 100.0

SERVER_ARGS: tuple[str, ...] = ("--max-sessions", "2048")
"""Room for the largest level plus the idle-memory phase."""


def level_row(result: LoadResult) -> tuple:
    step = LatencySummary.of_seconds(result.step_latencies)
    reset = LatencySummary.of_seconds(result.reset_latencies)
    return (
        result.sessions,
        result.steps,
        f"{rate(result.steps, result.window_seconds):,.0f}",
        f"{step.p50_ms:.1f}",
        f"{step.p99_ms:.1f}",
        f"{reset.p50_ms:.1f}",
        f"{reset.p99_ms:.1f}",
        f"{result.connect_seconds:.2f}",
        result.errors,
    )


def level_data(result: LoadResult) -> dict:
    return {
        "sessions": result.sessions,
        "steps": result.steps,
        "resets": result.resets,
        "errors": result.errors,
        "error_samples": result.error_samples,
        "window_seconds": result.window_seconds,
        "steps_per_s": rate(result.steps, result.window_seconds),
        "step": LatencySummary.of_seconds(result.step_latencies).as_dict(),
        "reset": LatencySummary.of_seconds(result.reset_latencies).as_dict(),
        "connect_and_first_reset_seconds": result.connect_seconds,
    }


def run(context: BenchContext) -> SectionResult:
    config = context.config
    scripts = context.scripts
    tokenizer = config.tokenizer
    result = SectionResult(
        name="websocket",
        title="Over WebSocket: `ree serve` on 127.0.0.1 (client in the same machine)",
        columns=(
            "sessions", "steps", "steps/s", "step p50 ms", "step p99 ms",
            "reset p50 ms", "reset p99 ms", "open s", "errors",
        ),
    )  # fmt: skip
    log_directory = Path(tempfile.mkdtemp(prefix="ree-bench-"))
    with ServerProcess(SERVER_ARGS, log_path=log_directory / "serve.log", start_seconds=config.server_start_seconds) as server:
        warm = asyncio.run(run_load(server.ws_url, 1, scripts, total_steps=20, seconds=30, tokenizer=tokenizer))
        result.data["warm_up"] = level_data(warm)

        baseline = rss_bytes(server.pid)
        during, idle = asyncio.run(
            hold_idle_sessions(server.ws_url, config.idle_sessions, scripts, tokenizer, lambda: rss_bytes(server.pid))
        )
        per_session_kb = (during - baseline) / config.idle_sessions / 1024
        result.data["idle_memory"] = {
            "sessions": config.idle_sessions,
            "rss_before_bytes": baseline,
            "rss_with_sessions_open_bytes": during,
            "rss_after_close_bytes": rss_bytes(server.pid),
            "kb_per_idle_session": per_session_kb,
            "errors": idle.errors,
            "error_samples": idle.error_samples,
            "open_seconds": idle.connect_seconds,
        }

        levels = {}
        for sessions in config.concurrency:
            load = asyncio.run(
                run_load(
                    server.ws_url,
                    sessions,
                    scripts,
                    total_steps=config.ws_steps_per_level,
                    seconds=config.ws_seconds_per_level,
                    tokenizer=tokenizer,
                )
            )
            levels[sessions] = load
            result.rows.append(level_row(load))
            result.data[f"sessions_{sessions}"] = level_data(load)
            if load.errors:
                result.notes.append(f"{sessions} sessions: {load.errors} errors, e.g. {load.error_samples[:2]}")
        result.data["server_rss_after_levels_bytes"] = rss_bytes(server.pid)
    result.notes.append(f"server memory: {per_session_kb:.1f} KB per idle session ({config.idle_sessions} open)")

    def measured(level: int, read) -> float:
        return read(levels[level]) if level in levels else float("nan")

    sessions, goal = STEPS_PER_S_TARGET
    result.targets.append(
        Target(f"steps/s at {sessions} sessions", measured(sessions, lambda r: rate(r.steps, r.window_seconds)),
               goal, "steps/s", higher_is_better=True)
    )  # fmt: skip
    sessions, goal = P99_TARGET
    result.targets.append(
        Target(f"step p99 at {sessions} sessions",
               measured(sessions, lambda r: LatencySummary.of_seconds(r.step_latencies).p99_ms), goal, "ms")
    )  # fmt: skip
    result.targets.append(Target(f"errors at {NO_ERRORS_AT} sessions", measured(NO_ERRORS_AT, lambda r: float(r.errors)), 0, ""))
    result.targets.append(Target("server memory per idle session", per_session_kb, IDLE_SESSION_KB_TARGET, "KB"))
    return result
