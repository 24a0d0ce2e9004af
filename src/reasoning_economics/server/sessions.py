"""WebSocket sessions at ``/ws``: one environment per connection, many connections at once.

Each connection owns one :class:`ServedEnvironment`. Its messages are handled in order,
one at a time; every message gets exactly one reply (see :mod:`.protocol`). Counting and
grading run on a shared thread pool (grading itself in supervised worker processes) that
grows to a thread for every session with a message in flight, so a slow grade holds up only
its own session, and an idle session costs no thread.

Lifecycle:

- at capacity (``max_sessions`` open), a new connection gets a ``CAPACITY_REACHED`` error
  and is closed with code 1013 (try again later);
- a session silent for ``session_timeout_s`` gets a ``SESSION_TIMEOUT`` error and is closed
  with code 4408; its slot is free at once (a frozen client cannot hold it);
- ``{"type": "close"}`` or a disconnect ends the session and frees its slot.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from concurrent.futures import Executor
from functools import partial
from typing import Any, Callable

from fastapi import WebSocket, WebSocketDisconnect
from openenv.core.env_server.types import WSCloseMessage, WSResetMessage, WSStateMessage, WSStepMessage
from pydantic import ValidationError

from reasoning_economics.env import ReasonBudgetAction
from reasoning_economics.errors import ReasoningEconomicsError, unknown_keys_problem
from reasoning_economics.server import protocol
from reasoning_economics.server.environment import ServedEnvironment, check_response_size
from reasoning_economics.server.episode_log import EpisodeLog, EpisodeRecorder

logger = logging.getLogger(__name__)

CLOSE_NORMAL = 1000
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_SESSION_TIMEOUT = 4408
"""Application close code (4000-4999 are free for applications): 408 is HTTP's Request Timeout."""

_CLOSE = object()


class _Session:
    __slots__ = ("session_id", "env", "recorder")

    def __init__(self, env: ServedEnvironment, episode_log: EpisodeLog | None) -> None:
        self.session_id = uuid.uuid4().hex
        self.env = env
        self.recorder = EpisodeRecorder(self.session_id) if episode_log is None else episode_log.recorder(self.session_id)


class WebSocketSessions:
    """The ``/ws`` endpoint: capacity, idle timeout, message dispatch, episode logging."""

    def __init__(
        self,
        make_env: Callable[[], ServedEnvironment],
        *,
        max_sessions: int,
        session_timeout_s: float,
        max_message_bytes: int,
        executor: Executor,
        episode_log: EpisodeLog | None = None,
    ) -> None:
        self.make_env = make_env
        self.max_sessions = max_sessions
        self.session_timeout_s = session_timeout_s
        self.max_message_bytes = max_message_bytes
        self.executor = executor
        self.episode_log = episode_log
        self.active = 0
        self.opened = 0
        self.timed_out = 0

    async def __call__(self, websocket: WebSocket) -> None:
        await websocket.accept()
        if self.active >= self.max_sessions:
            await self._refuse_at_capacity(websocket)
            return
        self.active += 1  # one event loop: no lock needed between the check and the increment
        self.opened += 1
        session = None
        try:
            # Off the loop: building an environment may wait on the problem-source lock.
            env = await asyncio.get_running_loop().run_in_executor(self.executor, self.make_env)
            session = _Session(env, self.episode_log)
            await self._run(websocket, session)
        except (WebSocketDisconnect, ConnectionError):
            pass  # the client went away mid-reply; nothing to tell it
        finally:
            self.active -= 1
            if session is not None:
                await self._log_abandoned(session)

    async def _refuse_at_capacity(self, websocket: WebSocket) -> None:
        reply = protocol.error_reply(
            protocol.CAPACITY_REACHED,
            f"the server holds its maximum of {self.max_sessions} sessions; retry later",
            active_sessions=self.active,
            max_sessions=self.max_sessions,
        )
        try:
            await websocket.send_text(reply)
            await websocket.close(code=CLOSE_TRY_AGAIN_LATER, reason="server at capacity")
        except (WebSocketDisconnect, RuntimeError, ConnectionError):
            pass

    async def _run(self, websocket: WebSocket, session: _Session) -> None:
        while True:
            try:
                event = await asyncio.wait_for(websocket.receive(), self.session_timeout_s)
            except asyncio.TimeoutError:
                self.timed_out += 1
                await websocket.send_text(
                    protocol.error_reply(
                        protocol.SESSION_TIMEOUT,
                        f"no message for {self.session_timeout_s:g} s: the session is closed; connect again to start anew",
                    )
                )
                await websocket.close(code=CLOSE_SESSION_TIMEOUT, reason="session idle timeout")
                return
            if event["type"] == "websocket.disconnect":
                return
            text = event.get("text")
            if text is None:
                reply: Any = protocol.error_reply(
                    protocol.BINARY_FRAME, "binary frames are not part of the protocol: send JSON in text frames"
                )
            else:
                reply = await self.handle(session, text)
            if reply is _CLOSE:
                await websocket.close(code=CLOSE_NORMAL)
                return
            await websocket.send_text(reply)

    async def handle(self, session: _Session, text: str) -> Any:
        """The reply (a JSON text) to one message, or ``_CLOSE``. Never raises."""
        try:
            kind, message = protocol.parse_message(text, self.max_message_bytes)
            if kind == "step":
                return await self._step(session, message)
            if kind == "reset":
                return await self._reset(session, message)
            if kind == "state":
                _validate(WSStateMessage, message, "state message")
                return protocol.state_reply(session.env.state)
            if kind == "close":
                _validate(WSCloseMessage, message, "close message")
                return _CLOSE
            return _mcp_unsupported(message)
        except protocol.ProtocolError as exc:
            return protocol.error_reply(exc.code, exc.message, **exc.details)
        except ReasoningEconomicsError as exc:
            return protocol.error_reply(exc.code, str(exc))
        except Exception:  # a bug: say so, keep the session (the episode was not changed)
            logger.exception("session %s: unexpected error handling a message", session.session_id)
            return protocol.error_reply(
                protocol.INTERNAL_ERROR, "internal server error; the episode is unchanged (see the server log)"
            )

    async def _log_abandoned(self, session: _Session) -> None:
        """Log the steps of an episode its client left unfinished, so no answered step is lost."""
        record = self._unlogged_episode(session)
        if record is not None:
            await self._append_abandoned(session, record)

    def _unlogged_episode(self, session: _Session) -> dict[str, Any] | None:
        """The log record of the session's episode, as abandoned, if it has steps the log lacks."""
        if self.episode_log is None or not session.recorder.has_unlogged_steps:
            return None
        return session.recorder.record(session.env, abandoned=True)

    async def _append_abandoned(self, session: _Session, record: dict[str, Any]) -> None:
        error = await asyncio.get_running_loop().run_in_executor(self.executor, self.episode_log.append, record)
        if error is not None:
            logger.error("session %s: could not log its abandoned episode: %s", session.session_id, error)

    async def _reset(self, session: _Session, message: dict[str, Any]) -> str:
        data = _validate(WSResetMessage, message, "reset message").data
        # Built before the reset replaces the episode, logged only once the reset succeeded:
        # a refused reset leaves the old episode to go on.
        abandoned = self._unlogged_episode(session)
        observation = await asyncio.get_running_loop().run_in_executor(
            self.executor, partial(session.env.reset, **data)
        )
        session.recorder.on_reset()
        if abandoned is not None:
            await self._append_abandoned(session, abandoned)
        return protocol.observation_reply(observation)

    async def _step(self, session: _Session, message: dict[str, Any]) -> str:
        data = _validate(WSStepMessage, message, "step message").data
        action = _validate(ReasonBudgetAction, data, "action")
        env = session.env
        check_response_size(action, env.config.max_response_chars)
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        observation = await loop.run_in_executor(self.executor, env.step, action)
        step_ms = (time.perf_counter() - started) * 1000
        extra = None
        if self.episode_log is not None:
            grading_response = action.metadata.get("grading_response")
            session.recorder.on_step(action.response, grading_response, step_ms)
            if observation.done:
                record = session.recorder.finish(env)
                error = await loop.run_in_executor(self.executor, self.episode_log.append, record)
                if error is not None:
                    extra = {"episode_log_error": f"the server could not write this episode to its log: {error}"}
        return protocol.observation_reply(observation, extra)


def _validate(model: Any, data: Any, what: str) -> Any:
    # OpenEnv's message models list every unknown key as an error of its own.
    problem = unknown_keys_problem(data, model.model_fields)
    if problem is not None:
        raise protocol.ProtocolError(protocol.VALIDATION_ERROR, f"invalid {what}: {problem}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise protocol.validation_error(exc, what) from None


def _mcp_unsupported(message: dict[str, Any]) -> str:
    data = message.get("data")
    request_id = data.get("id") if isinstance(data, dict) else None
    return protocol.encode({"type": "mcp", "data": protocol.mcp_error(request_id)})
