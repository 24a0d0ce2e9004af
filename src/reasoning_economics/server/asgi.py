"""The ASGI types our middlewares share, and the JSON error body they answer with."""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def error_body(code: str, message: str) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """``{"detail": message, "code": code}`` as JSON bytes, with its content headers."""
    body = json.dumps({"detail": message, "code": code}).encode("utf-8")
    return body, [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
