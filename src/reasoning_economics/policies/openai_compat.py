"""``openai:<model>``: any OpenAI-compatible endpoint (OpenAI, vLLM's and llama.cpp's servers, ...).

Options (``create_policy("openai:<model>", base_url=..., ...)``; the CLI's ``--base-url``):

- ``base_url``: the API root, e.g. ``http://127.0.0.1:8000/v1`` for ``vllm serve`` or
  ``http://127.0.0.1:8080/v1`` for ``llama-server``. Default ``$OPENAI_BASE_URL``, else OpenAI's.
- ``api_key``: default ``$REE_API_KEY``, else ``$OPENAI_API_KEY`` (local servers need none).
- ``concurrency`` requests in flight at once (a thread pool over one connection pool);
  ``timeout`` seconds per attempt: an attempt whose answer is not complete by then fails, though
  the deadline is checked between the chunks of the body, so one stalled read can add at most
  one more ``timeout``. ``max_retries`` further attempts on 408/429/5xx, timeouts and connection
  errors, waiting ``backoff * 2**attempt`` seconds (at most ``max_backoff``; a ``Retry-After``
  header of finite, non-negative seconds is honoured, anything else falls back to the backoff).
  Other 4xx answers fail at once with the server's message; 3xx answers fail at once too,
  naming their ``Location`` (redirects are not followed: point ``base_url`` at the final address).
- ``max_response_bytes`` (default 64 MiB): the most bytes an answer may have once its
  ``Content-Encoding`` is undone (so a gzip bomb stops there too); a longer one fails without
  retrying. Of an error answer only the first 64 KiB are read, enough for its message.
- ``temperature`` (default 0), ``top_p``, ``seed``: sampling, passed through.
- ``max_tokens_field``: ``max_tokens`` (vLLM, llama.cpp, most servers) or
  ``max_completion_tokens`` (OpenAI's reasoning models, which reject ``max_tokens``).
- ``tokenizer``: the tokenizer name the environment counts with (default: the model name, which
  resolves offline for the Qwen, Llama 3 and GPT families). Only when given does it also count
  ``text`` for an answer without a usable ``usage.completion_tokens`` (missing, not an integer,
  negative or above ``MAX_TOKENS_PER_STEP``); without it such an answer is an error that says so,
  as a model name need not name a tokenizer that resolves.
- ``extra_body``: a dict merged into every request body (e.g.
  ``{"chat_template_kwargs": {"enable_thinking": False}}`` for Qwen3 on vLLM).

``messages`` requests go to ``POST /chat/completions``, raw ``prompt`` requests to
``POST /completions``. ``completion_tokens`` is the server's ``usage.completion_tokens``.
``finish_reason`` is read by :func:`reasoning_economics.policies.base.finish_reason_of`: None
for a missing reason or one it does not know.
``logprobs`` are None for a choice whose values are not all finite numbers.

``close()`` stops the policy at once, even while a server holds a request: it ends retry waits,
drops queued requests and shuts the open connections, and the ``generate`` call in progress
raises a ``PolicyEndpointError`` saying the policy was closed.

**Prefix continuation** (``supports_prefix``, on by default through ``prefix_continuation``):
the prefix is sent as a final assistant message with ``"continue_final_message": true,
"add_generation_prompt": false`` in the body. vLLM reads those two fields and continues the
message; llama.cpp's server continues a final assistant message by default (its "assistant
prefill") and ignores the fields. OpenAI's own API does not continue assistant messages: set
``prefix_continuation=false`` there, and requests with a prefix are refused clearly.
"""

from __future__ import annotations

import json
import math
import os
import random
import socket
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar

from reasoning_economics.errors import ConfigError, PolicyEndpointError, PolicyTimeoutError, require
from reasoning_economics.limits import MAX_TOKENS_PER_STEP
from reasoning_economics.policies.base import GenerationRequest, GenerationResult, finish_reason_of
from reasoning_economics.server_url import require_http_url

DEFAULT_BASE_URL = "https://api.openai.com/v1"
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
"""Answers worth retrying: overload, rate limits and transient server failures."""
MAX_TOKENS_FIELDS = ("max_tokens", "max_completion_tokens")
MAX_WAIT_S = 86_400.0
"""The longest ``timeout``, ``backoff`` or ``max_backoff``: a day. A wait of 1e308 s raised
OverflowError from the thread's wait at the first retry."""
ERROR_BODY_BYTES = 64 * 1024
"""How much of an error answer is read: enough for its message, not a flood."""


@dataclass(frozen=True)
class OpenAIConfig:
    """See the module docstring for each option."""

    CONNECTION_OPTIONS: ClassVar[frozenset[str]] = frozenset(
        {"base_url", "api_key", "concurrency", "timeout", "max_retries", "backoff", "max_backoff", "max_response_bytes"}
    )
    """How requests reach the server, not what the model is asked: ``ree eval --resume`` may change them."""
    SECRET_OPTIONS: ClassVar[frozenset[str]] = frozenset({"api_key"})
    """Never written to a run's ``run.json``."""

    model: str = ""
    base_url: str | None = None
    api_key: str | None = None
    temperature: float = 0.0
    top_p: float | None = None
    seed: int | None = None
    concurrency: int = 8
    timeout: float = 120.0
    max_retries: int = 4
    backoff: float = 0.5
    max_backoff: float = 30.0
    prefix_continuation: bool = True
    max_tokens_field: str = "max_tokens"
    tokenizer: str | None = None
    extra_body: dict[str, Any] | None = None
    max_response_bytes: int = 64 * 1024 * 1024

    def __post_init__(self) -> None:
        def number(name: str, value: Any, *, positive: bool) -> None:
            # NaN passes a ``< 0`` test, and NaN or inf would reach httpx.Timeout or the request body
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value < 0
                or (positive and value == 0)
            ):
                raise ConfigError(f"{name} must be a finite number {'>' if positive else '>='} 0, got {value!r}")

        def wait(name: str, value: Any, *, positive: bool) -> None:
            number(name, value, positive=positive)
            if value > MAX_WAIT_S:
                raise ConfigError(f"{name} must be at most {MAX_WAIT_S:g} seconds (a day), got {value!r}")

        def integer(name: str, value: Any, minimum: int) -> None:
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")

        if not isinstance(self.model, str) or not self.model.strip():
            raise ConfigError("openai policy needs a model name: openai:<model>")
        number("temperature", self.temperature, positive=False)
        if self.top_p is not None and (isinstance(self.top_p, bool) or not isinstance(self.top_p, (int, float))
                                       or not 0 < self.top_p <= 1):
            raise ConfigError(f"top_p must be in (0, 1], got {self.top_p!r}")
        if self.seed is not None:
            integer("seed", self.seed, minimum=-(2**63))
        integer("concurrency", self.concurrency, minimum=1)
        wait("timeout", self.timeout, positive=True)
        integer("max_retries", self.max_retries, minimum=0)
        wait("backoff", self.backoff, positive=False)
        wait("max_backoff", self.max_backoff, positive=False)
        integer("max_response_bytes", self.max_response_bytes, minimum=1)
        if self.max_tokens_field not in MAX_TOKENS_FIELDS:
            raise ConfigError(f"max_tokens_field must be one of {MAX_TOKENS_FIELDS}, got {self.max_tokens_field!r}")
        if self.base_url is not None:
            require_http_url(self.base_url, "base_url")
        if self.extra_body is not None and not isinstance(self.extra_body, Mapping):
            raise ConfigError(f"extra_body must be a dict, got {self.extra_body!r}")


def resolve_api_key(explicit: str | None) -> str | None:
    """The key to send: the option, else ``$REE_API_KEY``, else ``$OPENAI_API_KEY``, else none."""
    return explicit or os.environ.get("REE_API_KEY") or os.environ.get("OPENAI_API_KEY") or None


class OpenAIPolicy:
    """Chat or text completions over HTTP, ``concurrency`` at a time (see the module docstring)."""

    supports_logprobs = True

    def __init__(self, config: OpenAIConfig) -> None:
        httpx = require("httpx", "api")
        self.config = config
        self.name = f"openai:{config.model}"
        self.supports_prefix = config.prefix_continuation
        self.tokenizer_name = config.tokenizer or config.model
        self.base_url = (config.base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        headers = {"Content-Type": "application/json"}
        key = resolve_api_key(config.api_key)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._httpx = httpx
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(config.timeout, connect=min(config.timeout, 10.0)),
            limits=httpx.Limits(max_connections=config.concurrency, max_keepalive_connections=config.concurrency),
        )
        self._pool = ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="ree-openai")
        self._stop = threading.Event()
        self._close_lock = threading.Lock()
        # Every connection's network stream, so close() can shut its socket: closing a socket does
        # not wake a thread blocked reading it, shutting it down does.
        self._streams: weakref.WeakSet[Any] = weakref.WeakSet()
        self._counter: Any = None

    # ------------------------------------------------------------------ generation
    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        """One result per request, in order, ``concurrency`` requests in flight.

        Raises:
            PolicyEndpointError / PolicyTimeoutError: a request failed after its retries. The
                error's ``partial_results`` holds every result that did arrive (None elsewhere),
                so a caller can keep them.
            ConfigError: a request asks for a prefix while ``prefix_continuation`` is off.
        """
        if self._stop.is_set():
            raise ConfigError(f"policy {self.name!r} is closed")
        for request in requests:
            if request.prefix is not None and not self.supports_prefix:
                raise ConfigError(f"policy {self.name!r} was created with prefix_continuation=false")
        futures = [self._pool.submit(self._one, request) for request in requests]
        results: list[GenerationResult | None] = []
        first_error: Exception | None = None
        for future in futures:
            # Only the request's own failure is caught: a KeyboardInterrupt while waiting leaves at once.
            try:
                results.append(future.result())
            except Exception as exc:  # noqa: BLE001 - re-raised below, after every request ended
                results.append(None)
                if self._stop.is_set() and not isinstance(exc, PolicyEndpointError):
                    exc = self._closed_error(exc)  # a request close() cancelled, or one it cut off mid-start
                first_error = first_error or exc
        if first_error is not None:
            first_error.partial_results = results  # type: ignore[attr-defined]
            raise first_error
        return results  # type: ignore[return-value]

    def _one(self, request: GenerationRequest) -> GenerationResult:
        if request.max_tokens == 0:  # servers reject 0; nothing could be written anyway
            return GenerationResult("", 0, "length")
        path, body = self._body(request)
        payload = self._post(path, body)
        return self._parse(payload, request, chat=path == "/chat/completions")

    def _body(self, request: GenerationRequest) -> tuple[str, dict[str, Any]]:
        config = self.config
        body: dict[str, Any] = {"model": config.model, config.max_tokens_field: request.max_tokens,
                                "temperature": config.temperature}
        if config.top_p is not None:
            body["top_p"] = config.top_p
        seed = request.seed if request.seed is not None else config.seed
        if seed is not None:
            body["seed"] = seed
        if request.messages is not None:
            messages = [dict(message) for message in request.messages]
            if request.prefix is not None:
                messages.append({"role": "assistant", "content": request.prefix})
                body["continue_final_message"] = True
                body["add_generation_prompt"] = False
            body["messages"] = messages
            if request.logprobs:
                body["logprobs"] = True
            path = "/chat/completions"
        else:
            body["prompt"] = (request.prompt or "") + (request.prefix or "")
            if request.logprobs:
                body["logprobs"] = 1
            path = "/completions"
        if config.extra_body:
            body.update(config.extra_body)
        return path, body

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        config = self.config
        url = f"{self.base_url}{path}"
        for attempt in range(config.max_retries + 1):
            outcome = self._attempt(path, body, url)
            if isinstance(outcome, dict):
                return outcome
            last, retry_after = outcome
            if self._stop.is_set():  # close() shut the connection, or came while the server answered
                raise self._closed_error(last)
            if attempt < config.max_retries:
                delay = min(config.max_backoff, config.backoff * 2**attempt) * random.uniform(0.75, 1.0)
                if self._stop.wait(min(config.max_backoff, retry_after) if retry_after is not None else delay):
                    raise self._closed_error(last)
        if config.max_retries:
            last.args = (f"{last.args[0]} (after {config.max_retries + 1} attempts)",)
        raise last

    def _attempt(
        self, path: str, body: dict[str, Any], url: str
    ) -> dict[str, Any] | tuple[PolicyEndpointError, float | None]:
        """One request: the answer's JSON object, or a failure worth retrying and its ``Retry-After``.

        Raises:
            PolicyEndpointError: a failure not worth retrying (a 3xx or 4xx answer, a body that
                cannot be read or is too large).
        """
        httpx = self._httpx
        config = self.config
        deadline = time.monotonic() + config.timeout
        try:
            with self._client.stream("POST", path, json=body, extensions={"trace": self._track_stream}) as response:
                status = response.status_code
                if status < 300:
                    data, cut = self._read(response, config.max_response_bytes, deadline, url)
                    if cut:
                        raise PolicyEndpointError(
                            f"{url}: answer is larger than max_response_bytes={config.max_response_bytes}",
                            status=status,
                        )
                    return _json_object(data, url, status)
                if status < 400:
                    location = response.headers.get("location")
                    raise PolicyEndpointError(
                        f"{url}: HTTP {status} redirects to {location!r}; redirects are not followed, "
                        "set base_url to the address that answers",
                        status=status,
                    )
                try:
                    detail = _server_message(self._read(response, ERROR_BODY_BYTES, deadline, url)[0])
                except httpx.DecodingError as exc:
                    detail = _undecodable(response, exc)
        except httpx.DecodingError as exc:  # of a 2xx body; an error body's is its message above
            raise PolicyEndpointError(f"{url}: {_undecodable(response, exc)}", status=status) from exc
        except httpx.TimeoutException as exc:
            return PolicyTimeoutError(f"{url}: no answer within {config.timeout:g} s ({type(exc).__name__})"), None
        except PolicyTimeoutError as exc:
            return exc, None
        except httpx.TransportError as exc:
            return PolicyEndpointError(f"{url}: connection failed ({type(exc).__name__}: {exc})"), None
        message = f"{url}: HTTP {status}: {detail or response.reason_phrase}"
        if status not in RETRY_STATUSES:
            if status in (401, 403):
                message += " (set REE_API_KEY or OPENAI_API_KEY, or pass api_key)"
            raise PolicyEndpointError(message, status=status)
        return PolicyEndpointError(message, status=status), _retry_after(response)

    def _read(self, response: Any, limit: int, deadline: float, url: str) -> tuple[bytearray, bool]:
        """The first ``limit`` bytes of the body, and whether it had more (reading stops there).

        ``iter_bytes`` yields the bytes after ``Content-Encoding`` is undone, so ``limit`` bounds
        the memory a gzip bomb takes too. httpx's ``timeout`` bounds each read, not the whole
        answer, so a server dripping a byte at a time is stopped here by ``deadline``.

        Raises:
            PolicyTimeoutError: the body was still arriving at ``deadline``.
            httpx.DecodingError: the body does not match its ``Content-Encoding``.
        """
        body = bytearray()  # grown in place: a list joined at the end would hold the body twice
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > limit:
                del body[limit:]
                return body, True
            if time.monotonic() > deadline:
                raise PolicyTimeoutError(f"{url}: answer not complete within {self.config.timeout:g} s")
        return body, False

    def _parse(self, payload: dict[str, Any], request: GenerationRequest, *, chat: bool) -> GenerationResult:
        url = f"{self.base_url}{'/chat/completions' if chat else '/completions'}"
        try:
            choice = payload["choices"][0]
            text = choice["message"].get("content") if chat else choice["text"]
            finish = choice.get("finish_reason")
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise PolicyEndpointError(f"{url}: answer lacks choices[0] text ({exc!r}): {str(payload)[:300]}") from exc
        if text is None:  # a tool call or a refusal has no content
            text = ""
        if not isinstance(text, str):
            raise PolicyEndpointError(f"{url}: choices[0] text is not a string: {text!r}")
        usage = payload.get("usage")
        completion_tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
        if not _plausible_token_count(completion_tokens):
            if self.config.tokenizer is None:
                got = "none" if completion_tokens is None else repr(completion_tokens)[:40]
                raise PolicyEndpointError(
                    f"{url}: answer has no usable usage.completion_tokens (got {got}); "
                    "pass tokenizer=<name> to count the text instead"
                )
            completion_tokens = self._count(text)
        logprobs = _logprobs(choice, chat) if request.logprobs else None
        return GenerationResult(
            text=text,
            completion_tokens=completion_tokens,
            finish_reason=finish_reason_of(finish),
            logprobs=logprobs,
        )

    def _count(self, text: str) -> int:
        if self._counter is None:
            from reasoning_economics.tokens import get_counter

            self._counter = get_counter(self.config.tokenizer)
        return self._counter.count(text)

    def _track_stream(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's trace hook: remember each new connection's stream (TCP, then TLS) for close()."""
        stream = info.get("return_value")
        if not (event.endswith(".complete") and hasattr(stream, "get_extra_info")):
            return
        with self._close_lock:
            if not self._stop.is_set():
                self._streams.add(stream)
                return
        _shut(stream)  # connected while close() ran

    def _closed_error(self, cause: BaseException | None) -> PolicyEndpointError:
        error = PolicyEndpointError(f"policy {self.name!r} was closed before the request finished")
        error.__cause__ = cause
        return error

    def close(self) -> None:
        """Stop at once: end retry waits, drop queued requests, shut the connections; safe to call twice.

        Worker threads are not waited for: one reading a shut socket ends within moments, one
        still connecting within the connect timeout (at most 10 s).
        """
        with self._close_lock:
            if self._stop.is_set():
                return
            self._stop.set()
            streams = list(self._streams)
        for stream in streams:
            _shut(stream)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._client.close()


def _shut(stream: Any) -> None:
    """Shut a connection's socket so a thread blocked reading it wakes up now."""
    try:
        stream.get_extra_info("socket").shutdown(socket.SHUT_RDWR)
    except (AttributeError, OSError):  # no socket, already closed, or a TCP socket TLS has taken over
        pass


def _plausible_token_count(value: object) -> bool:
    """Whether a server's ``usage.completion_tokens`` can be a real count: an integer from 0 to
    :data:`MAX_TOKENS_PER_STEP` (no request asks for more; a JSON integer may have any size)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TOKENS_PER_STEP


def _json_object(data: bytearray, url: str, status: int) -> dict[str, Any]:
    try:
        payload = json.loads(data)
    except RecursionError as exc:
        raise PolicyEndpointError(f"{url}: answer is not JSON we can read: nested too deeply", status=status) from exc
    except ValueError as exc:
        start = data[:200].decode("utf-8", "replace")
        raise PolicyEndpointError(f"{url}: answer is not JSON: {start!r}", status=status) from exc
    if not isinstance(payload, dict):
        raise PolicyEndpointError(f"{url}: answer is not a JSON object", status=status)
    return payload


def _undecodable(response: Any, exc: Exception) -> str:
    encoding = response.headers.get("content-encoding")
    return f"body does not match its Content-Encoding {encoding!r} ({exc})"


def _server_message(data: bytearray) -> str:
    """The error text of an error answer's (first 64 KiB of) body; empty when it has none."""
    try:
        payload = json.loads(data)
    except (ValueError, RecursionError):
        return data[:300].decode("utf-8", "replace")
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict) and "message" in error:
        return str(error["message"])[:500]
    if isinstance(error, str):
        return error[:500]
    return str(payload)[:300]


def _retry_after(response: Any) -> float | None:
    """``Retry-After`` in seconds; None for an HTTP date or a value that is no wait (NaN, inf, < 0)."""
    try:
        seconds = float(response.headers.get("retry-after", ""))
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _logprobs(choice: dict[str, Any], chat: bool) -> tuple[float, ...] | None:
    block = choice.get("logprobs")
    if not isinstance(block, dict):
        return None
    try:
        if chat:
            values = tuple(float(item["logprob"]) for item in block.get("content") or [])
        else:
            values = tuple(float(value) for value in block.get("token_logprobs") or [])
    except (KeyError, TypeError, ValueError, OverflowError):  # OverflowError: an integer of 400 digits
        return None
    return values if all(math.isfinite(value) for value in values) else None
