"""``openai:<model>``: any OpenAI-compatible endpoint (OpenAI, vLLM's and llama.cpp's servers, ...).

Options (``create_policy("openai:<model>", base_url=..., ...)``; the CLI's ``--base-url``):

- ``base_url``: the API root, e.g. ``http://127.0.0.1:8000/v1`` for ``vllm serve`` or
  ``http://127.0.0.1:8080/v1`` for ``llama-server``. Default ``$OPENAI_BASE_URL``, else OpenAI's.
- ``api_key``: default ``$REE_API_KEY``, else ``$OPENAI_API_KEY`` (local servers need none).
- ``concurrency`` requests in flight at once (a thread pool over one connection pool);
  ``timeout`` seconds per attempt; ``max_retries`` further attempts on 408/429/5xx, timeouts and
  connection errors, waiting ``backoff * 2**attempt`` seconds (at most ``max_backoff``; a
  ``Retry-After`` header is honoured). Other 4xx answers fail at once with the server's message.
- ``temperature`` (default 0), ``top_p``, ``seed``: sampling, passed through.
- ``max_tokens_field``: ``max_tokens`` (vLLM, llama.cpp, most servers) or
  ``max_completion_tokens`` (OpenAI's reasoning models, which reject ``max_tokens``).
- ``tokenizer``: the tokenizer name to count with (default: the model name, which resolves
  offline for the Qwen, Llama 3 and GPT families); it also counts ``text`` when the server
  sends no ``usage``.
- ``extra_body``: a dict merged into every request body (e.g.
  ``{"chat_template_kwargs": {"enable_thinking": False}}`` for Qwen3 on vLLM).

``messages`` requests go to ``POST /chat/completions``, raw ``prompt`` requests to
``POST /completions``. ``completion_tokens`` is the server's ``usage.completion_tokens``.

**Prefix continuation** (``supports_prefix``, on by default through ``prefix_continuation``):
the prefix is sent as a final assistant message with ``"continue_final_message": true,
"add_generation_prompt": false`` in the body. vLLM reads those two fields and continues the
message; llama.cpp's server continues a final assistant message by default (its "assistant
prefill") and ignores the fields. OpenAI's own API does not continue assistant messages: set
``prefix_continuation=false`` there, and requests with a prefix are refused clearly.
"""

from __future__ import annotations

import math
import os
import random
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from reasoning_economics.errors import ConfigError, PolicyEndpointError, PolicyTimeoutError, require
from reasoning_economics.policies.base import GenerationRequest, GenerationResult

DEFAULT_BASE_URL = "https://api.openai.com/v1"
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
"""Answers worth retrying: overload, rate limits and transient server failures."""
MAX_TOKENS_FIELDS = ("max_tokens", "max_completion_tokens")


@dataclass(frozen=True)
class OpenAIConfig:
    """See the module docstring for each option."""

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
        number("timeout", self.timeout, positive=True)
        integer("max_retries", self.max_retries, minimum=0)
        number("backoff", self.backoff, positive=False)
        number("max_backoff", self.max_backoff, positive=False)
        if self.max_tokens_field not in MAX_TOKENS_FIELDS:
            raise ConfigError(f"max_tokens_field must be one of {MAX_TOKENS_FIELDS}, got {self.max_tokens_field!r}")
        if self.base_url is not None and not str(self.base_url).startswith(("http://", "https://")):
            raise ConfigError(f"base_url must start with http:// or https://, got {self.base_url!r}")
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
        self._closed = False
        self._close_lock = threading.Lock()
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
        if self._closed:
            raise ConfigError(f"policy {self.name!r} is closed")
        for request in requests:
            if request.prefix is not None and not self.supports_prefix:
                raise ConfigError(f"policy {self.name!r} was created with prefix_continuation=false")
        futures = [self._pool.submit(self._one, request) for request in requests]
        results: list[GenerationResult | None] = []
        first_error: BaseException | None = None
        for future in futures:
            try:
                results.append(future.result())
            except BaseException as exc:  # noqa: BLE001 - re-raised below, after every request ended
                results.append(None)
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
        httpx = self._httpx
        config = self.config
        url = f"{self.base_url}{path}"
        last: PolicyEndpointError | None = None
        for attempt in range(config.max_retries + 1):
            retry_after: float | None = None
            try:
                response = self._client.post(path, json=body)
            except httpx.TimeoutException as exc:
                last = PolicyTimeoutError(f"{url}: no answer within {config.timeout:g} s ({type(exc).__name__})")
            except httpx.TransportError as exc:
                last = PolicyEndpointError(f"{url}: connection failed ({type(exc).__name__}: {exc})")
            else:
                if response.status_code < 400:
                    try:
                        payload = response.json()
                    except ValueError as exc:
                        raise PolicyEndpointError(f"{url}: answer is not JSON: {response.text[:200]!r}",
                                                  status=response.status_code) from exc
                    if not isinstance(payload, dict):
                        raise PolicyEndpointError(f"{url}: answer is not a JSON object", status=response.status_code)
                    return payload
                message = f"{url}: HTTP {response.status_code}: {_server_message(response)}"
                if response.status_code not in RETRY_STATUSES:
                    if response.status_code in (401, 403):
                        message += " (set REE_API_KEY or OPENAI_API_KEY, or pass api_key)"
                    raise PolicyEndpointError(message, status=response.status_code)
                last = PolicyEndpointError(message, status=response.status_code)
                retry_after = _retry_after(response)
            if attempt < config.max_retries:
                delay = min(config.max_backoff, config.backoff * 2**attempt) * random.uniform(0.75, 1.0)
                time.sleep(min(config.max_backoff, retry_after) if retry_after is not None else delay)
        assert last is not None
        if config.max_retries:
            last.args = (f"{last.args[0]} (after {config.max_retries + 1} attempts)",)
        raise last

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
        if not isinstance(completion_tokens, int) or isinstance(completion_tokens, bool) or completion_tokens < 0:
            if self.config.tokenizer is None:
                raise PolicyEndpointError(
                    f"{url}: answer has no usage.completion_tokens; pass tokenizer=<name> to count the text instead"
                )
            completion_tokens = self._count(text)
        logprobs = _logprobs(choice, chat) if request.logprobs else None
        return GenerationResult(
            text=text,
            completion_tokens=completion_tokens,
            finish_reason="length" if finish == "length" else "stop",
            logprobs=logprobs,
        )

    def _count(self, text: str) -> int:
        if self._counter is None:
            from reasoning_economics.tokens import get_counter

            self._counter = get_counter(self.config.tokenizer)
        return self._counter.count(text)

    def close(self) -> None:
        """Stop the worker threads and close the connections; safe to call twice."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        self._pool.shutdown(wait=True)
        self._client.close()


def _server_message(response: Any) -> str:
    try:
        payload = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict) and "message" in error:
        return str(error["message"])[:500]
    if isinstance(error, str):
        return error[:500]
    return str(payload)[:300]


def _retry_after(response: Any) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to the exponential backoff


def _logprobs(choice: dict[str, Any], chat: bool) -> tuple[float, ...] | None:
    block = choice.get("logprobs")
    if not isinstance(block, dict):
        return None
    try:
        if chat:
            return tuple(float(item["logprob"]) for item in block.get("content") or [])
        return tuple(float(value) for value in block.get("token_logprobs") or [])
    except (KeyError, TypeError, ValueError):
        return None
