"""The environment over WebSocket: a real ``ree serve`` on 127.0.0.1 under 1-1,024 sessions.

Two kinds of load, each per concurrency level (all sessions connect and reset first, then
all start together; every run stops at its step count or its time cap, and a reset or step
left unanswered past the cap plus ``ws_load.MESSAGE_GRACE_S`` counts as an error and ends
its session, so a server that stops answering cannot hang the run):

- **saturating**: each client sends its next step as soon as the last is answered. This
  gives the server's throughput (total steps/s). Latency here is queueing: by Little's law
  p50 is about sessions / throughput, whatever the server does.
- **paced**: each client steps once per ``paced_interval_s`` (a trainer waits seconds for
  generation between steps), an offered load of sessions / interval. This gives the
  latency a client sees when the server is not overloaded.

Server memory per idle session is the growth of the server's resident set while N
reset-but-idle sessions are open, divided by N.

With ``--server-url`` the same load goes to a server started elsewhere on this machine:
any server speaking OpenEnv's WebSocket protocol, such as the reference environment, for a
side-by-side run with the same workload. Its CPU time and memory are read only when
``--server-pid`` names its process.
"""

from __future__ import annotations

import asyncio
import gc
import math
import resource
import time
from dataclasses import dataclass

from reasoning_economics.bench.context import BenchContext
from reasoning_economics.bench.results import SectionResult, Target
from reasoning_economics.bench.server_process import ServerProcess
from reasoning_economics.proc_stats import child_pids, cpu_seconds, rss_bytes
from reasoning_economics.bench.stats import LatencySummary, rate
from reasoning_economics.bench.ws_load import LoadResult, hold_idle_sessions, run_load
from reasoning_economics.server.connections import descriptors_needed, raise_open_file_limit

STEPS_PER_S_TARGET = (64, 500.0)
P99_TARGET = (256, 50.0)
NO_ERRORS_AT = 1024
IDLE_SESSION_KB_TARGET = 100.0

SERVER_ARGS: tuple[str, ...] = ("--max-sessions", "2048")
"""Room for the largest level plus the idle-memory phase."""


@dataclass
class ExternalServer:
    """A server started elsewhere (``--server-url``): loaded here, never started or stopped."""

    ws_url: str
    pid: int | None = None

    def __enter__(self) -> "ExternalServer":
        asyncio.run(check_answers(self.ws_url))
        return self

    def __exit__(self, *exc_info) -> None:
        return None


async def check_answers(url: str, open_timeout: float = 10.0) -> None:
    """Raise ``ConnectionError`` unless a WebSocket handshake at ``url`` succeeds, so that a
    wrong address fails the section instead of filling every level with errors."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidHandshake

    try:
        async with connect(url, open_timeout=open_timeout, ping_interval=None):
            pass
    except (OSError, asyncio.TimeoutError, InvalidHandshake) as exc:
        raise ConnectionError(f"no WebSocket server answers at {url}: {type(exc).__name__}: {exc}") from exc


def server_cpu_seconds(pid: int | None) -> float:
    """CPU time of the server and of its grading workers (its direct children); NaN without a pid."""
    if pid is None:
        return math.nan
    total = cpu_seconds(pid)
    for child in child_pids(pid):
        try:
            total += cpu_seconds(child)
        except (FileNotFoundError, ProcessLookupError):  # a worker replaced meanwhile
            continue
    return total


def client_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def per_step_ms(cpu: float, steps: int) -> float:
    return 1000 * cpu / steps if steps else math.nan


def level_row(mode: str, result: LoadResult) -> tuple:
    step = LatencySummary.of_seconds(result.step_latencies)
    reset = LatencySummary.of_seconds(result.reset_latencies)
    return (
        mode,
        result.sessions,
        result.steps,
        f"{rate(result.steps, result.window_seconds):,.0f}",
        f"{step.p50_ms:.1f}",
        f"{step.p99_ms:.1f}",
        # No session finished an episode (a short run): there is no reset to time after the first.
        f"{reset.p50_ms:.1f}" if reset.count else "-",
        f"{reset.p99_ms:.1f}" if reset.count else "-",
        f"{result.connect_seconds:.2f}",
        f"{per_step_ms(result.server_cpu_seconds, result.steps):.2f}",
        f"{per_step_ms(result.client_cpu_seconds, result.steps):.2f}",
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
        "server_cpu_seconds": result.server_cpu_seconds,
        "client_cpu_seconds": result.client_cpu_seconds,
        "server_cpu_ms_per_step": per_step_ms(result.server_cpu_seconds, result.steps),
        "client_cpu_ms_per_step": per_step_ms(result.client_cpu_seconds, result.steps),
    }


def _idle_memory(server: ServerProcess | ExternalServer, context: BenchContext) -> dict:
    config = context.config
    if server.pid is None:
        return {"sessions": config.idle_sessions, "kb_per_idle_session": math.nan, "not_measured": "no --server-pid"}
    baseline = rss_bytes(server.pid)
    during, idle = asyncio.run(
        hold_idle_sessions(
            server.ws_url, config.idle_sessions, context.scripts, config.tokenizer, lambda: rss_bytes(server.pid),
            seconds=config.ws_seconds_per_level,
        )  # fmt: skip
    )
    # A session the server refused (at capacity) costs it nothing: divide by those it holds.
    opened = config.idle_sessions - idle.errors
    return {
        "sessions": config.idle_sessions,
        "sessions_open": opened,
        "rss_before_bytes": baseline,
        "rss_with_sessions_open_bytes": during,
        "rss_after_close_bytes": rss_bytes(server.pid),
        "kb_per_idle_session": (during - baseline) / opened / 1024 if opened > 0 else math.nan,
        "errors": idle.errors,
        "error_samples": idle.error_samples,
        "open_seconds": idle.connect_seconds,
    }


def run(context: BenchContext) -> SectionResult:
    config = context.config
    result = SectionResult(
        name="websocket",
        title="Over WebSocket: `ree serve` on 127.0.0.1 (the load client runs on the same cores)",
        columns=(
            "load", "sessions", "steps", "steps/s", "step p50 ms", "step p99 ms",
            "reset p50 ms", "reset p99 ms", "open s", "server CPU ms/step", "client CPU ms/step", "errors",
        ),
    )  # fmt: skip
    saturating: dict[int, LoadResult] = {}
    paced: dict[int, LoadResult] = {}
    most_sessions = max((*config.concurrency, *config.paced_sessions, config.idle_sessions))
    needed = descriptors_needed(most_sessions)
    if raise_open_file_limit(needed) < needed:
        result.notes.append(
            f"this load client may open fewer files than the {needed:,} that {most_sessions:,} sessions need "
            "(ulimit -Hn): expect errors at the largest levels"
        )
    if config.server_url is None:
        # One place, overwritten by each run, instead of a new temporary folder per run left behind.
        log_path = config.cache_dir / "serve.log"
        log_path.unlink(missing_ok=True)
        server = ServerProcess(SERVER_ARGS, log_path=log_path, start_seconds=config.server_start_seconds)
    else:
        server = ExternalServer(config.server_url, config.server_pid)
        result.title = f"Over WebSocket: the server at {config.server_url} (the load client runs on the same cores)"
        result.data["server_url"] = config.server_url
    # A full collection in this load client stalls all its clients at once and would be read
    # as server latency (100-140 ms each, measured): what it holds before the load is frozen.
    gc.collect()
    gc.freeze()
    started = time.perf_counter()
    with server:
        result.data["server_start_seconds"] = time.perf_counter() - started

        def load(sessions: int, total_steps: int, interval: float) -> LoadResult:
            server_cpu, client_cpu = server_cpu_seconds(server.pid), client_cpu_seconds()
            measured = asyncio.run(
                run_load(
                    server.ws_url, sessions, context.scripts, total_steps=total_steps,
                    seconds=config.ws_seconds_per_level, tokenizer=config.tokenizer, interval=interval,
                )
            )  # fmt: skip
            # CPU per step (connects, resets and closes included) splits the shared cores
            # between the server (with its grading workers) and this load client.
            measured.server_cpu_seconds = server_cpu_seconds(server.pid) - server_cpu
            measured.client_cpu_seconds = client_cpu_seconds() - client_cpu
            return measured

        result.data["warm_up"] = level_data(load(1, 20, 0.0))
        result.data["idle_memory"] = memory = _idle_memory(server, context)
        for sessions in config.concurrency:
            saturating[sessions] = load(sessions, config.ws_steps_per_level, 0.0)
        per_session = math.ceil(config.ws_seconds_per_level / config.paced_interval_s)
        for sessions in config.paced_sessions:
            paced[sessions] = load(sessions, sessions * per_session, config.paced_interval_s)
        if server.pid is not None:
            result.data["server_rss_after_levels_bytes"] = rss_bytes(server.pid)

    for mode, runs in (("saturating", saturating), (f"paced {config.paced_interval_s:g} s", paced)):
        for sessions, measured in runs.items():
            result.rows.append(level_row(mode, measured))
            result.data[f"{mode.split()[0]}_{sessions}"] = level_data(measured)
            if measured.errors:
                result.notes.append(f"{mode}, {sessions} sessions: {measured.errors} errors, e.g. {measured.error_samples[:2]}")
    result.data["paced_interval_s"] = config.paced_interval_s
    if server.pid is None:
        result.notes.append("server CPU and memory not measured: give --server-pid with --server-url")
    else:
        result.notes.append(
            f"server memory: {memory['kb_per_idle_session']:.1f} KB per idle session "
            f"({memory['sessions_open']} of {memory['sessions']} opened)"
        )
    result.targets = _targets(saturating, paced, memory["kb_per_idle_session"], memory["sessions"])
    return result


def errors_at(sessions: int, *runs: dict[int, LoadResult]) -> float:
    """Errors of every run at ``sessions`` sessions; NaN (not met) when none ran at that level."""
    measured = [run[sessions].errors for run in runs if sessions in run]
    return float(sum(measured)) if measured else math.nan


def _targets(
    saturating: dict[int, LoadResult], paced: dict[int, LoadResult], kb_per_session: float, idle_sessions: int
) -> list[Target]:
    def read(runs: dict[int, LoadResult], sessions: int, measure) -> float:
        return measure(runs[sessions]) if sessions in runs else math.nan

    def p99(run: LoadResult) -> float:
        return LatencySummary.of_seconds(run.step_latencies).p99_ms

    throughput_at, throughput_goal = STEPS_PER_S_TARGET
    latency_at, latency_goal = P99_TARGET
    return [
        Target(
            f"steps/s at {throughput_at} sessions (saturating)",
            read(saturating, throughput_at, lambda r: rate(r.steps, r.window_seconds)),
            throughput_goal, "steps/s", higher_is_better=True,
        ),
        Target(f"step p99 at {latency_at} sessions (paced)", read(paced, latency_at, p99), latency_goal, "ms", strict=True),
        Target(
            f"errors at {NO_ERRORS_AT} sessions (saturating + paced)",
            errors_at(NO_ERRORS_AT, saturating, paced),
            0, "",
        ),
        Target(f"server memory per idle session ({idle_sessions} open)", kb_per_session, IDLE_SESSION_KB_TARGET, "KB"),
    ]  # fmt: skip
