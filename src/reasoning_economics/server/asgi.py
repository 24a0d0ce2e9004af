"""The ASGI types our middlewares share, and the JSON error responses they answer with."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Awaitable, Callable

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def error_body(code: str, message: str) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """``{"detail": message, "code": code}`` as JSON bytes, with its content headers."""
    body = json.dumps({"detail": message, "code": code}).encode("utf-8")
    return body, [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]


async def send_error_response(
    send: Send, status: int, code: str, message: str, extra_headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    """Answer an HTTP request with ``status`` and :func:`error_body`, plus ``extra_headers``."""
    body, headers = error_body(code, message)
    await send({"type": "http.response.start", "status": status, "headers": [*headers, *extra_headers]})
    await send({"type": "http.response.body", "body": body})
