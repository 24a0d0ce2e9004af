"""``ReasonBudgetClient``: the typed client of ``ree serve`` (and of the reference server).

Built on OpenEnv's ``EnvClient``, so it has both APIs::

    with ReasonBudgetClient(base_url="http://127.0.0.1:8000", token=...) as client:   # sync
        result = client.reset(seed=1, tokenizer_name="Qwen/Qwen3-0.6B")
        while not result.done:
            result = client.step(ReasonBudgetAction(response=policy(result.observation.prompt)))

    async with ReasonBudgetClient(base_url=...) as client:                             # async
        result = await client.reset(seed=1)

``result`` is OpenEnv's ``StepResult``: ``observation`` (a :class:`ReasonBudgetObservation`
whose own ``done`` and ``reward`` are set too), ``reward``, ``done`` and ``metadata``.

Errors are typed: a server error raises the same class the environment raises in-process
(``EpisodeFinishedError``, ``ConfigError``, ``TokenizerNotAllowedError``, ...), or a
:class:`~reasoning_economics.errors.ServerError` with the server's ``code``
(``ServerCapacityError``, ``SessionTimeoutError``, ...). A server that cannot be reached,
refuses the token or drops the connection raises :class:`ServerConnectionError`.
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
from typing import Any

from openenv.core.client_types import StepResult
from openenv.core.env_client import EnvClient
from pydantic import ValidationError
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.protocol import State

from reasoning_economics import errors
from reasoning_economics.env.models import ReasonBudgetAction, ReasonBudgetObservation, ReasonBudgetState
from reasoning_economics.limits import MAX_QUESTIONS, MAX_TOKENS_PER_STEP
from reasoning_economics.server_url import check_server_url, token_problem
from reasoning_economics.text import visible

__all__ = ["ReasonBudgetClient", "ReasonBudgetAction", "ReasonBudgetObservation", "ReasonBudgetState", "StepResult"]

_OBSERVATION_FIELDS = frozenset(ReasonBudgetObservation.model_fields)
_STATE_FIELDS = frozenset(ReasonBudgetState.model_fields)
CLOSE_CODE_MEANINGS = {
    1000: "a normal closure",
    1001: "the server is going away, stopping or shutting down",
    1006: "an abnormal closure: the server process stopped, or the network dropped the connection",
    1008: "the server's policy refused the connection",
    1009: "a message was too large for the server",
    1011: "an internal error of the server",
    1012: "the server is restarting",
    1013: "the server is overloaded: try again later",
}
"""What the WebSocket close codes a server sends mean (RFC 6455 section 7.4 and the IANA
registry): a bare number in an error told a user nothing of whether to wait or give up."""
# What an OpenEnv server (ree serve and the reference alike) answers to each message.
_REPLY_TYPES = {"reset": "observation", "step": "observation", "state": "state"}
# The reference environment's observation fields: every server of this protocol sends them.
_REQUIRED_OBSERVATION_FIELDS = ("question", "remaining_budget", "questions_remaining", "step_idx", "history")
MAX_SERVER_TEXT = 2000
"""Most characters of a server's error message (or of one of its details) shown: a server wrote
20 MB of text, and terminal escapes, into the error a user reads."""
DEFAULT_MESSAGE_TIMEOUT_S = 300.0
"""How long a reply is waited for before the connection is dropped and the episode lost. A
saturated ``ree serve`` answers a step GRADING_ERROR (the episode goes on) only once no grading
worker came free within 2 minutes plus the grading timeout, which may happen twice for one
answer: at the former 120 s the client gave up on episodes the server would have kept. A dead
peer is found sooner, by the keepalive pings (``websocket_ping_interval_s``)."""
DEFAULT_MAX_MESSAGE_MB = 16.0
"""The largest reply read (OpenEnv's default is 100 MB): an observation holds one episode of at
most 1,000 questions, and a server's 90 MB frame of empty history entries took 4.8 GB to parse."""


def _error_classes() -> dict[str, type[errors.ReasoningEconomicsError]]:
    """Error code -> the most specific error class with that code."""
    found: dict[str, type[errors.ReasoningEconomicsError]] = {}
    pending = [errors.ReasoningEconomicsError]
    while pending:
        kind = pending.pop()
        if "code" in vars(kind):  # a subclass that inherits its parent's code must not shadow the parent
            found[kind.code] = kind
        pending.extend(kind.__subclasses__())
    return found


# Errors of this process, not of an environment: a server naming one of these codes is relayed
# as a ServerError, or a server could make `ree eval` blame the user's own model endpoint.
_LOCAL_ONLY_ERRORS = (errors.PolicyError, errors.MissingExtraError, errors.ServerConnectionError, errors.ResultsFileError)


def _server_text(value: Any) -> str:
    """A server's text as it may be shown: cut to MAX_SERVER_TEXT characters, controls escaped."""
    text = value if isinstance(value, str) else str(value)[:MAX_SERVER_TEXT]
    if len(text) > MAX_SERVER_TEXT:
        text = text[:MAX_SERVER_TEXT] + f"... ({len(text) - MAX_SERVER_TEXT:,} more characters)"
    return visible(text)


def _finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _observation_problem(observation: ReasonBudgetObservation) -> str | None:
    """What in ``observation`` no environment of this protocol sends (None when nothing): numbers
    that are not finite or lie past the environment's limits, and history records whose
    verdict or token counts are not of their type (they were recorded as given)."""
    for name in ("budget_per_remaining", "accuracy_so_far"):
        if not math.isfinite(getattr(observation, name)):
            return f"an observation whose {name} is not finite"
    if observation.step_token_limit > MAX_TOKENS_PER_STEP:
        return f"a step_token_limit of {errors.describe(observation.step_token_limit)}, past the environment's {MAX_TOKENS_PER_STEP:,}"
    if observation.questions_remaining > MAX_QUESTIONS or observation.step_idx > MAX_QUESTIONS:
        return f"an episode of more than {MAX_QUESTIONS:,} questions"
    if len(observation.history) > observation.step_idx:
        return f"{len(observation.history):,} history records for {observation.step_idx} questions answered"
    questions = observation.metadata.get("num_questions")
    if questions is not None and not (isinstance(questions, int) and not isinstance(questions, bool)
                                      and 1 <= questions <= MAX_QUESTIONS):  # fmt: skip
        return f"metadata.num_questions of {errors.describe(questions)}, not a count from 1 to {MAX_QUESTIONS:,}"
    for record in observation.history:
        if "was_correct" in record and not isinstance(record["was_correct"], bool):
            return f"a history record whose was_correct is {errors.describe(record['was_correct'])}"
        for key in ("tokens_used", "tokens_counted"):
            value = record.get(key, 0)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                return f"a history record whose {key} is {errors.describe(value)}, not a token count"
        if "reward" in record and not _finite_number(record["reward"]):
            return f"a history record whose reward is {errors.describe(record['reward'])}"
    return None


def error_from_reply(data: Any) -> errors.ReasoningEconomicsError:
    """The typed exception for a server's ``{"type": "error", "data": ...}`` payload."""
    if not isinstance(data, dict):  # not ree serve's shape: keep what it said
        data = {"message": f"the server reported an error: {str(data)[:300]}"}
    code = _server_text(data.get("code") or "SERVER_ERROR")[:100]
    message = _server_text(data.get("message") or "the server reported an error")
    details = {
        _server_text(key)[:100]: _server_text(value) if isinstance(value, str) else value
        for key, value in list(data.items())[:20]
        if key not in ("code", "message")
    }
    kind = _error_classes().get(code)
    if kind is None or kind is errors.ReasoningEconomicsError or issubclass(kind, _LOCAL_ONLY_ERRORS):
        return errors.ServerError(f"{message} (code: {code})", code=code, details=details)
    if issubclass(kind, errors.ServerError):
        return kind(message, details=details)
    error = kind(message)
    error.details = details  # type: ignore[attr-defined]
    return error


class ReasonBudgetClient(EnvClient[ReasonBudgetAction, ReasonBudgetObservation, ReasonBudgetState]):
    """Typed client of the shared-budget environment server (sync and async, see the module docstring).

    Args:
        base_url: the server, ``http://host:port`` or ``ws://host:port`` (its sessions' address,
            ``ws://host:port/ws``, is read as that too); a ConfigError for any other scheme.
        token: sent as ``Authorization: Bearer <token>`` (servers started with ``--token``).
        headers: further handshake headers.
        **kwargs: passed to OpenEnv's ``EnvClient`` (``connect_timeout_s``, ``message_timeout_s``, ...).
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        all_headers = dict(headers or {})
        if token is not None:
            problem = token_problem(token)
            if problem is not None:  # websockets' own error quoted the whole header, token and all
                raise errors.ConfigError(f"token {problem}")
            all_headers["Authorization"] = f"Bearer {token}"
        kwargs.setdefault("message_timeout_s", DEFAULT_MESSAGE_TIMEOUT_S)
        kwargs.setdefault("max_message_size_mb", DEFAULT_MAX_MESSAGE_MB)
        if base_url is not None:
            base_url = check_server_url(base_url, "base_url")
        super().__init__(base_url=base_url, headers=all_headers or None, **kwargs)
        # Why the connection ended, raised again by every call until reset() starts anew.
        self._lost: errors.ReasoningEconomicsError | None = None
        # The message the reply being parsed answers, and the episode's last (step_idx,
        # questions_remaining): each step must move it on, so a server can never keep an
        # episode going forever.
        self._replying_to: str | None = None
        self._progress: tuple[int, int] | None = None
        # One call at a time on the connection (see _send_and_receive), on the loop it runs on.
        self._one_call: asyncio.Lock | None = None
        self._one_call_loop: asyncio.AbstractEventLoop | None = None

    # -- wire format ---------------------------------------------------------
    def _step_payload(self, action: ReasonBudgetAction | dict[str, Any] | str) -> dict[str, Any]:
        # What the in-process environment's step() takes, a dict among them; other values
        # raised AttributeError ("'dict' object has no attribute 'response'").
        if isinstance(action, str):
            action = ReasonBudgetAction(response=action)
        elif isinstance(action, dict):
            try:
                action = ReasonBudgetAction.model_validate(action)
            except ValidationError as exc:
                raise errors.InvalidActionError(f"invalid action: {errors.validation_problems(exc)}") from exc
        elif not isinstance(action, ReasonBudgetAction):
            raise errors.InvalidActionError(
                f"action must be a ReasonBudgetAction, a dict of its fields or a response string, got {type(action).__name__}"
            )
        payload: dict[str, Any] = {"response": action.response}
        if action.metadata:
            payload["metadata"] = action.metadata
        return payload

    def _parse_result(self, payload: dict[str, Any]) -> StepResult[ReasonBudgetObservation]:
        fields = dict(payload.get("observation") or {})
        # OpenEnv servers (the reference too) move done/reward out of the observation: put them back.
        done = payload.get("done", fields.get("done", False))
        reward = payload.get("reward", fields.get("reward"))
        if not isinstance(done, bool):  # bool("false") is True: every episode ended at once
            raise self._invalid_reply(f"'done' that is not true or false ({errors.describe(done)})")
        if reward is not None and not _finite_number(reward):
            raise self._invalid_reply(f"a reward that is not a finite number ({errors.describe(reward)})")
        missing = [name for name in _REQUIRED_OBSERVATION_FIELDS if name not in fields]
        if missing:
            raise self._invalid_reply(f"an observation without {', '.join(missing)}")
        fields["done"], fields["reward"] = done, reward
        observation = self._validated(
            ReasonBudgetObservation, {key: value for key, value in fields.items() if key in _OBSERVATION_FIELDS}
        )
        problem = _observation_problem(observation) or self._progress_problem(observation)
        if problem is not None:
            raise self._invalid_reply(problem)
        return StepResult(observation=observation, reward=reward, done=done, metadata=payload.get("metadata"))

    def _progress_problem(self, observation: ReasonBudgetObservation) -> str | None:
        """Why ``observation`` does not follow the episode's last one (None when it does): a
        reset starts at question 0, and each step answers one question, so ``step_idx`` goes up
        by one and, until the end, ``questions_remaining`` down by one."""
        now = (observation.step_idx, observation.questions_remaining)
        before, self._progress = self._progress, now
        if self._replying_to == "reset":
            return None if observation.step_idx == 0 else f"a reset at question {observation.step_idx}, not 0"
        if self._replying_to != "step" or before is None:
            return None
        if observation.step_idx != before[0] + 1 or (not observation.done and now[1] != before[1] - 1):
            self._progress = before
            return (
                f"a step that did not move the episode on by one question (from step_idx {before[0]} with "
                f"{before[1]} questions left to step_idx {now[0]} with {now[1]}, done={observation.done})"
            )
        return None

    def _parse_state(self, payload: dict[str, Any]) -> ReasonBudgetState:
        return self._validated(ReasonBudgetState, {k: v for k, v in payload.items() if k in _STATE_FIELDS})

    def _validated(self, model: Any, fields: dict[str, Any]) -> Any:
        try:
            # strict: "true" is no count and 1.5 no step index; a reply is read, never coerced.
            return model.model_validate(fields, strict=True)
        except ValidationError as exc:
            raise self._invalid_reply(f"an invalid {model.__name__}: {exc.error_count()} error(s), first: "
                                      f"{exc.errors(include_url=False, include_input=False)[0]['msg']}") from exc

    def _invalid_reply(self, what: str) -> errors.ServerError:
        return errors.ServerError(
            f"{self._ws_url} answered with {what}; is it a reasoning-economics (OpenEnv) server?", code="INVALID_REPLY"
        )

    # -- errors ----------------------------------------------------------------
    async def _connect_async(self) -> "ReasonBudgetClient":
        try:
            return await super()._connect_async()
        except ConnectionError as exc:
            raise errors.ServerConnectionError(self._describe_connect_failure(exc)) from exc

    def _describe_connect_failure(self, exc: BaseException) -> str:
        cause = exc.__cause__
        if isinstance(cause, InvalidStatus):
            status = cause.response.status_code
            # Escaped as a reply's error text is: whatever answers at the URL writes this body.
            body = visible(cause.response.body[:300].decode("utf-8", "replace")) if cause.response.body else ""
            if status in (401, 403):
                # Read by library users and by ree eval alike: name both ways of passing it.
                hint = (
                    "the server was started with --token: pass token=... (ree eval: --token or REE_TOKEN)"
                    if status == 401
                    else "check the token (token=...; ree eval: --token or REE_TOKEN), and that nothing "
                    "follows the server's address in the URL (a path that is not served answers 403 too)"
                )
                return f"{self._ws_url} refused the connection with HTTP {status}: {body or 'unauthorized'}; {hint}"
            return f"{self._ws_url} refused the WebSocket handshake with HTTP {status}: {body}"
        reason = visible(f"{type(cause).__name__}: {cause}" if cause is not None else str(exc))
        return f"cannot connect to {self._ws_url}: {reason} (is `ree serve` running there?)"

    def _lost_connection(self, code: int | None, reason: str | None) -> errors.ServerConnectionError:
        if code is None:
            how = f"no close frame: {CLOSE_CODE_MEANINGS[1006]}"
        else:
            meaning = CLOSE_CODE_MEANINGS.get(code)
            how = f"code {code}" + (f": {meaning}" if meaning else "") + (f"; it said {reason!r}" if reason else "")
        return errors.ServerConnectionError(
            f"the server at {self._ws_url} closed the connection ({how}); the episode is lost "
            "(a new reset() starts another on a new connection)"
        )

    async def _send_and_receive(self, message: dict[str, Any]) -> dict[str, Any]:
        # Calls made at once (asyncio.gather, or a task reading state() while another steps)
        # take turns. Each sent its message, and the second failed with websockets'
        # ConcurrencyError with its reply still coming: every later call then read the reply
        # of the call before it, a step's reward paired with the next step's response.
        loop = asyncio.get_running_loop()
        if self._one_call is None or self._one_call_loop is not loop:
            self._one_call, self._one_call_loop = asyncio.Lock(), loop
        async with self._one_call:
            return await self._send_and_receive_alone(message)

    async def _send_and_receive_alone(self, message: dict[str, Any]) -> dict[str, Any]:
        if message.get("type") == "reset":
            self._lost = None
        elif self._lost is not None:
            # EnvClient would reconnect: the call would land in a fresh session, fail with
            # EPISODE_NOT_STARTED and hold a session slot. Say again what happened instead.
            raise copy.copy(self._lost)
        ws = self._ws
        if ws is not None and ws.state in (State.CLOSING, State.CLOSED) and message.get("type") != "reset":
            self._ws = None
            raise self._remember(await self._why_closed(ws))
        try:
            await self._send(message)
        except ConnectionClosed:
            pass  # a refused session sends an error frame and then closes: read it below
        try:
            response = await self._receive()
        except ConnectionClosed as exc:
            self._ws = None
            if exc.sent is not None and exc.sent.code == 1009:  # closed here: the reply was too large
                raise self._remember(errors.ServerConnectionError(
                    f"{self._ws_url} sent a reply larger than this client reads "
                    f"({self._max_message_size / 2**20:g} MB: max_message_size_mb); the connection was closed"
                )) from exc  # fmt: skip
            close = exc.rcvd
            raise self._remember(
                self._lost_connection(close.code if close else None, close.reason if close else None)
            ) from exc
        except asyncio.TimeoutError as exc:
            raise self._remember(errors.ServerConnectionError(
                f"no reply from {self._ws_url} within {self._message_timeout:g} s; the connection was dropped: "
                "reset() opens a new connection and starts anew"
            )) from exc  # fmt: skip
        except (ValueError, RecursionError) as exc:  # json.loads: not a reply of this protocol
            raise self._invalid_reply("text that is not JSON") from exc
        if not isinstance(response, dict):
            raise self._invalid_reply(f"JSON that is not an object ({type(response).__name__})")
        if response.get("type") == "error":
            raise error_from_reply(response.get("data") or {})
        self._check_reply_shape(message.get("type"), response)
        self._replying_to = message.get("type")
        return response

    def _check_reply_shape(self, sent: Any, response: dict[str, Any]) -> None:
        """Raise INVALID_REPLY unless ``response`` has the type and the object payload an
        OpenEnv server answers ``sent`` with: parsing anything else either crashed
        (AttributeError, TypeError) or, for another type or a missing payload, gave an empty
        observation with ``done`` False, on which a trainer's loop would go on forever."""
        expected = _REPLY_TYPES.get(sent) if isinstance(sent, str) else None
        if expected is None:
            return
        kind = response.get("type")
        if kind != expected:
            shown = f"of type {kind[:50]!r}" if isinstance(kind, str) else "without a type"
            raise self._invalid_reply(f"a reply {shown} to a {sent!r} message (expected {expected!r})")
        data = response.get("data")
        if not isinstance(data, dict):
            raise self._invalid_reply(f"an {expected!r} reply whose data is not an object ({type(data).__name__})")
        if expected == "observation" and not isinstance(data.get("observation"), dict):
            raise self._invalid_reply("an 'observation' reply without an observation object")

    async def _why_closed(self, ws: Any) -> errors.ReasoningEconomicsError:
        """Why the server closed ``ws`` between calls: the error it sent before closing, such
        as SESSION_TIMEOUT for an idle session, or else the close code."""
        try:
            last = json.loads(await asyncio.wait_for(ws.recv(), timeout=1.0))
        except (ConnectionClosed, asyncio.TimeoutError, ValueError, RecursionError):
            last = None
        if isinstance(last, dict) and last.get("type") == "error":
            return error_from_reply(last.get("data") or {})
        return self._lost_connection(ws.close_code, ws.close_reason)

    def _remember(self, error: errors.ReasoningEconomicsError) -> errors.ReasoningEconomicsError:
        self._lost = error
        return error
