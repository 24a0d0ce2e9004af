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

MESSAGE_GRACE_S = 30.0
"""How much longer than a level's time cap (``seconds``) one reset or step may wait for its
answer before it counts as an error: a server that takes a message and never answers must not
hang the benchmark. Generous, so that only a stuck server reaches it: at 1,024 saturating
sessions a step waits about a second in the server's queue on 2 cores."""

CLOSE_TIMEOUT_S = 10.0
"""The longest one session's closing handshake may take; closing is best effort."""


def message_limit(seconds: float) -> float:
    """The longest one reset or step of a level capped at ``seconds`` waits for its answer."""
    return seconds + MESSAGE_GRACE_S


def connect_phase_limit(open_timeout: float, seconds: float) -> float:
    """The longest the connect-and-first-reset phase of a level may take: each session's
    handshake (``open_timeout``) and first reset (:func:`message_limit`); sessions start together."""
    return open_timeout + message_limit(seconds)


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

    def __init__(
        self,
        index: int,
        url: str,
        scripts: list[EpisodeScript],
        tokenizer: str,
        result: LoadResult,
        message_timeout: float,
    ):
        self.index = index
        self.message_timeout = message_timeout
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

    async def _send_and_receive(self, message: str) -> str | bytes:
        await self.connection.send(message)
        return await self.connection.recv()

    async def _exchange(self, message: str, expected_type: str) -> dict | None:
        """Send ``message`` and read its answer; raises ``TimeoutError`` when no answer comes
        within ``message_timeout`` s (the session then ends, counted as an error)."""
        try:
            answer = await asyncio.wait_for(self._send_and_receive(message), self.message_timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"no answer within {self.message_timeout:g} s") from None
        reply = json.loads(answer)
        if reply.get("type") != expected_type:
            self.result.record_error(f"session {self.index}: {json.dumps(reply)[:300]}")
            return None
        return reply

    async def start(self, open_timeout: float, limit: float) -> bool:
        """:meth:`connect_and_reset`, given up (as an error) after ``limit`` seconds."""
        try:
            return await asyncio.wait_for(self.connect_and_reset(open_timeout), limit)
        except asyncio.TimeoutError:
            self.result.record_error(
                f"session {self.index} could not start: not connected and reset within {limit:g} s"
            )
            return False

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
            await asyncio.wait_for(self._send_close(), CLOSE_TIMEOUT_S)
        except Exception:  # closing is best effort; errors were already counted above
            pass
        finally:
            # A connection whose server never answered the close: drop it without a handshake.
            transport = getattr(self.connection, "transport", None)
            if transport is not None and not transport.is_closing():
                transport.abort()

    async def _send_close(self) -> None:
        await self.connection.send(json.dumps({"type": "close"}))
        await self.connection.close()


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

    Every wait is bounded: one reset or step waits at most :func:`message_limit` (``seconds``
    plus :data:`MESSAGE_GRACE_S`) for its answer, and the connect-and-first-reset phase at
    most :func:`connect_phase_limit`. A wait that runs out counts as an error and ends its
    session, so a server that stops answering ends the level instead of hanging it.
    """
    result = LoadResult(sessions=sessions)
    limit = message_limit(seconds)
    clients = [_Session(index, url, scripts, tokenizer, result, limit) for index in range(sessions)]
    started = time.perf_counter()
    phase_limit = connect_phase_limit(open_timeout, seconds)
    ready = await asyncio.gather(*(client.start(open_timeout, phase_limit) for client in clients))
    result.connect_seconds = time.perf_counter() - started
    share = max(1, math.ceil(total_steps / sessions))
    window_start = time.perf_counter()
    deadline = window_start + seconds
    await asyncio.gather(*(client.run_steps(share, deadline, interval) for client, ok in zip(clients, ready) if ok))
    result.window_seconds = time.perf_counter() - window_start
    await asyncio.gather(*(client.close() for client in clients))
    return result


async def hold_idle_sessions(
    url: str,
    sessions: int,
    scripts: list[EpisodeScript],
    tokenizer: str,
    on_open,
    *,
    seconds: float = 0.0,
    open_timeout: float = 60.0,
):
    """Open and reset ``sessions`` sessions, call ``on_open()`` while all are idle, then close them.

    The opening is bounded as :func:`run_load`'s is, for a level capped at ``seconds``: a
    session not connected and reset within :func:`connect_phase_limit` counts as an error.
    Returns ``(on_open's result, LoadResult)``.
    """
    result = LoadResult(sessions=sessions)
    limit = message_limit(seconds)
    clients = [_Session(index, url, scripts, tokenizer, result, limit) for index in range(sessions)]
    started = time.perf_counter()
    phase_limit = connect_phase_limit(open_timeout, seconds)
    await asyncio.gather(*(client.start(open_timeout, phase_limit) for client in clients))
    result.connect_seconds = time.perf_counter() - started
    await asyncio.sleep(0.5)  # let the server finish bookkeeping of the last resets
    measured = on_open()
    await asyncio.gather(*(client.close() for client in clients))
    return measured, result
