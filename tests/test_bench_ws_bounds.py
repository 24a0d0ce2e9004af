"""The benchmark cannot hang on a server that stops answering, nor leave ``ree serve`` behind.

- Every WebSocket exchange of the load client, and each level's connect-and-first-reset
  phase, is bounded: a server that takes a reset or step and never answers ends the level
  with errors.
- ``ServerProcess`` stops its ``ree serve`` when its start is interrupted, and on Linux the
  server dies with the process that started it (parent-death signal).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from reasoning_economics.bench import ws_load
from reasoning_economics.bench.workload import EpisodeScript

SCRIPTS = [EpisodeScript(seed=0, problems=(), responses=("First answer.", "Second answer.", "Third answer."))]
GRACE_S = 1.0
"""The grace the tests give a message past the level's cap, instead of the real 30 s."""


async def _silent_server(answer_resets: bool):
    """A WebSocket server on 127.0.0.1 that reads every message and answers none, except
    (with ``answer_resets``) resets, with an observation."""
    from websockets.asyncio.server import serve

    async def handler(connection) -> None:
        async for message in connection:
            if answer_resets and json.loads(message).get("type") == "reset":
                await connection.send(json.dumps({"type": "observation", "data": {"done": False}}))

    return await serve(handler, "127.0.0.1", 0)


async def _load_against_silent_server(answer_resets: bool, sessions: int) -> tuple[ws_load.LoadResult, float]:
    server = await _silent_server(answer_resets)
    try:
        port = next(iter(server.sockets)).getsockname()[1]
        started = time.perf_counter()
        result = await ws_load.run_load(
            f"ws://127.0.0.1:{port}/ws", sessions, SCRIPTS, total_steps=30, seconds=0.5, tokenizer="t", open_timeout=5
        )
        return result, time.perf_counter() - started
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.timeout(60)
def test_a_step_never_answered_ends_the_level_with_an_error_per_session(monkeypatch):
    monkeypatch.setattr(ws_load, "MESSAGE_GRACE_S", GRACE_S, raising=False)
    result, elapsed = asyncio.run(_load_against_silent_server(answer_resets=True, sessions=3))
    # The window (0.5 s) plus one message limit (0.5 + 1 s), then closing: well under 10 s.
    assert elapsed < 10
    assert result.steps == 0
    assert result.errors == 3, result.error_samples
    assert all("no answer within 1.5 s" in sample for sample in result.error_samples), result.error_samples


@pytest.mark.timeout(60)
def test_a_first_reset_never_answered_ends_the_connect_phase_with_errors(monkeypatch):
    monkeypatch.setattr(ws_load, "MESSAGE_GRACE_S", GRACE_S, raising=False)
    result, elapsed = asyncio.run(_load_against_silent_server(answer_resets=False, sessions=3))
    assert elapsed < 10
    assert result.steps == 0 and result.resets == 0
    assert result.errors == 3, result.error_samples
    assert all("could not start" in sample for sample in result.error_samples), result.error_samples
    assert result.connect_seconds < 8


@pytest.mark.timeout(60)
def test_idle_sessions_whose_reset_is_never_answered_are_errors(monkeypatch):
    monkeypatch.setattr(ws_load, "MESSAGE_GRACE_S", GRACE_S, raising=False)

    async def hold() -> tuple[object, ws_load.LoadResult, float]:
        server = await _silent_server(answer_resets=False)
        try:
            port = next(iter(server.sockets)).getsockname()[1]
            started = time.perf_counter()
            measured, result = await ws_load.hold_idle_sessions(
                f"ws://127.0.0.1:{port}/ws", 2, SCRIPTS, "t", lambda: "measured", seconds=0.5, open_timeout=5
            )
            return measured, result, time.perf_counter() - started
        finally:
            server.close()
            await server.wait_closed()

    measured, result, elapsed = asyncio.run(hold())
    assert measured == "measured"
    assert elapsed < 10
    assert result.errors == 2, result.error_samples


def _gone(pid: int) -> bool:
    """True once ``pid`` has exited (a zombie not yet reaped by its new parent counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _gone(pid):
            return True
        time.sleep(0.1)
    return _gone(pid)


STARTER = """
import sys, time
from pathlib import Path
from reasoning_economics.bench.server_process import ServerProcess

server = ServerProcess(("--max-sessions", "8"), log_path=Path(sys.argv[1]))
server.start()
print(server.pid, flush=True)
time.sleep(300)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux-only")
@pytest.mark.timeout(120)
def test_the_server_dies_with_the_process_that_started_it(tmp_path):
    parent = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(STARTER), str(tmp_path / "serve.log")],
        stdout=subprocess.PIPE,
        text=True,
    )
    server_pid = None
    try:
        line = parent.stdout.readline()
        assert line.strip().isdigit(), f"the starter printed {line!r}; exit code {parent.poll()}"
        server_pid = int(line)
        assert not _gone(server_pid)
        # SIGKILL: no handler, no __exit__, no atexit in the parent; only the kernel can stop the server.
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        assert _wait_gone(server_pid, 10), "ree serve outlived the process that started it"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)
        if server_pid is not None and not _gone(server_pid):
            os.kill(server_pid, signal.SIGKILL)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("interruption", [KeyboardInterrupt, RuntimeError])
def test_an_interrupted_start_stops_the_server(tmp_path, monkeypatch, interruption):
    from reasoning_economics.bench.server_process import ServerProcess

    def interrupted(self) -> bool:
        raise interruption("interrupted while polling /health")

    # Polled only once the banner names the port: the server is up when the interruption comes.
    monkeypatch.setattr(ServerProcess, "healthy", interrupted)
    server = ServerProcess(("--max-sessions", "8"), log_path=tmp_path / "serve.log")
    try:
        with pytest.raises(interruption):
            with server:
                pytest.fail("the with block must not be entered")
        assert server.port != 0, "the interruption came before the server announced its port"
        assert server.process.poll() is not None, "ree serve still runs after an interrupted start"
        assert _gone(server.pid)
    finally:
        if server.process is not None and server.process.poll() is None:
            server.process.kill()
            server.process.wait(10)
