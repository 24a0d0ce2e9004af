"""Many concurrent WebSocket sessions replaying scripted episodes against one server.

The client speaks the OpenEnv WebSocket protocol the reference environment's clients use
(``{"type": "reset" | "step" | "close", "data": ...}``) directly on the ``websockets``
library, so the load generator costs as little CPU as a client can: on a 2-core machine
it shares the cores with the server it measures.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from dataclasses import dataclass, field

from reasoning_economics.bench.workload import EpisodeScript

ERROR_SAMPLES = 5


@dataclass
class LoadResult:
    """What ``sessions`` concurrent clients saw over one measured window."""

    sessions: int
    steps: int = 0
    resets: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    connect_seconds: float = math.nan
    window_seconds: float = math.nan
    step_latencies: list[float] = field(default_factory=list)
    reset_latencies: list[float] = field(default_factory=list)
    server_cpu_seconds: float = math.nan
    client_cpu_seconds: float = math.nan

    def record_error(self, message: str) -> None:
        self.errors += 1
        if len(self.error_samples) < ERROR_SAMPLES:
            self.error_samples.append(message[:300])


def step_message(response: str, tokenizer: str) -> str:
    # What the reference trainer sends: the response plus tokenizer and grading metadata.
    return json.dumps(
        {
            "type": "step",
            "data": {"response": response, "metadata": {"tokenizer_name": tokenizer, "grading_response": response}},
        }
    )


def reset_message(seed: int, tokenizer: str) -> str:
    return json.dumps({"type": "reset", "data": {"seed": seed, "tokenizer_name": tokenizer}})


class _Session:
    """One client: connect, reset, then step through scripted episodes until told to stop."""

    def __init__(self, index: int, url: str, scripts: list[EpisodeScript], tokenizer: str, result: LoadResult):
        self.index = index
        self.url = url
        self.scripts = scripts
        self.tokenizer = tokenizer
        self.result = result
        self.connection = None
        self.episode = 0
        self.position = 0

    def _slot(self) -> int:
        return self.index + self.episode * self.result.sessions

    def _script(self) -> EpisodeScript:
        return self.scripts[self._slot() % len(self.scripts)]

    async def _exchange(self, message: str, expected_type: str) -> dict | None:
        await self.connection.send(message)
        reply = json.loads(await self.connection.recv())
        if reply.get("type") != expected_type:
            self.result.record_error(f"session {self.index}: {json.dumps(reply)[:300]}")
            return None
        return reply

    async def connect_and_reset(self, open_timeout: float) -> bool:
        from websockets.asyncio.client import connect

        try:
            self.connection = await connect(self.url, open_timeout=open_timeout, ping_interval=None, max_size=None)
            return await self._reset(timed=False)
        except (OSError, asyncio.TimeoutError, ValueError) as exc:
            self.result.record_error(f"session {self.index} could not start: {type(exc).__name__}: {exc}")
            return False
        except Exception as exc:  # websockets' handshake and close errors
            self.result.record_error(f"session {self.index} could not start: {type(exc).__name__}: {exc}")
            return False

    async def _reset(self, timed: bool = True) -> bool:
        started = time.perf_counter()
        reply = await self._exchange(reset_message(self._script().seed, self.tokenizer), "observation")
        if timed:
            self.result.reset_latencies.append(time.perf_counter() - started)
            self.result.resets += 1
        self.position = 0
        return reply is not None

    async def run_steps(self, steps: int, deadline: float, interval: float = 0.0) -> None:
        """Step ``steps`` times; with ``interval`` > 0, one step every ``interval`` seconds
        from a per-session phase (a paced client), else back to back (a saturating one)."""
        next_step = time.perf_counter() + interval * random.Random(self.index).random()
        try:
            for _ in range(steps):
                if interval:
                    await asyncio.sleep(max(0.0, next_step - time.perf_counter()))
                    next_step += interval
                if time.perf_counter() >= deadline:
                    return
                script = self._script()
                if self.position >= len(script.responses):
                    self.episode += 1
                    if not await self._reset():
                        return
                    script = self._script()
                # Replays of a script vary the text so a response cache cannot serve them.
                response = script.responses[self.position]
                replay = self._slot() // len(self.scripts)
                if replay:
                    response = f"Attempt {replay}. {response}"
                started = time.perf_counter()
                reply = await self._exchange(step_message(response, self.tokenizer), "observation")
                self.result.step_latencies.append(time.perf_counter() - started)
                if reply is None:
                    return
                self.result.steps += 1
                self.position += 1
                if reply["data"].get("done") and self.position < len(script.responses):
                    self.position = len(script.responses)  # budget ran out early: next episode
        except Exception as exc:  # a dropped connection ends this session, counted as an error
            self.result.record_error(f"session {self.index}: {type(exc).__name__}: {exc}")

    async def close(self) -> None:
        if self.connection is None:
            return
        try:
            await self.connection.send(json.dumps({"type": "close"}))
            await self.connection.close()
        except Exception:  # closing is best effort; errors were already counted above
            pass


async def run_load(
    url: str,
    sessions: int,
    scripts: list[EpisodeScript],
    *,
    total_steps: int,
    seconds: float,
    tokenizer: str,
    open_timeout: float = 60.0,
    interval: float = 0.0,
) -> LoadResult:
    """Open ``sessions`` sessions (each resets once), then let all step at once until each
    has done its share of ``total_steps`` (at least one) or ``seconds`` pass.

    ``interval`` = 0 saturates the server (each client sends its next step as soon as the
    last is answered); ``interval`` > 0 paces each client to one step per ``interval`` s,
    like a trainer waiting on generation, for an offered load of ``sessions / interval``.
    """
    result = LoadResult(sessions=sessions)
    clients = [_Session(index, url, scripts, tokenizer, result) for index in range(sessions)]
    started = time.perf_counter()
    ready = await asyncio.gather(*(client.connect_and_reset(open_timeout) for client in clients))
    result.connect_seconds = time.perf_counter() - started
    share = max(1, math.ceil(total_steps / sessions))
    window_start = time.perf_counter()
    deadline = window_start + seconds
    await asyncio.gather(*(client.run_steps(share, deadline, interval) for client, ok in zip(clients, ready) if ok))
    result.window_seconds = time.perf_counter() - window_start
    await asyncio.gather(*(client.close() for client in clients))
    return result


async def hold_idle_sessions(url: str, sessions: int, scripts: list[EpisodeScript], tokenizer: str, on_open):
    """Open and reset ``sessions`` sessions, call ``on_open()`` while all are idle, then close them.

    Returns ``(on_open's result, LoadResult)``.
    """
    result = LoadResult(sessions=sessions)
    clients = [_Session(index, url, scripts, tokenizer, result) for index in range(sessions)]
    started = time.perf_counter()
    await asyncio.gather(*(client.connect_and_reset(60.0) for client in clients))
    result.connect_seconds = time.perf_counter() - started
    await asyncio.sleep(0.5)  # let the server finish bookkeeping of the last resets
    measured = on_open()
    await asyncio.gather(*(client.close() for client in clients))
    return measured, result
