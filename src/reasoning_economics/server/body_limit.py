"""A size limit on HTTP request bodies, the counterpart of the WebSocket message limit.

uvicorn and Starlette read a request body whole, however large: one 300 MB ``POST /reset``
raised the server's peak memory from 0.33 to 1.27 GB, and a few such requests at once could
get it killed for memory. A body over the limit (``--max-message-mb``, as for WebSocket
messages) now gets ``413`` with ``{"detail": ..., "code": "MESSAGE_TOO_LARGE"}`` and the
connection is closed; nothing reaches the application.

A declared ``Content-Length`` is checked before any of the body is read. A chunked body,
whose size is not declared, is read up to the limit and then handed on. So is a declared body
of over ``MAX_JSON_VALUES`` bytes, which gets ``400`` ``INVALID_JSON`` unparsed when it holds
more JSON values than that (parsing 16 MB of ``[{},{},...]`` held the event loop that serves
every session for over a second), a number too long to convert quickly, or is not UTF-8
(:func:`json_body_problem`). A request that sends both headers gets ``400`` and the
connection is closed (see :func:`ambiguous_length`).
"""

from __future__ import annotations

from typing import Any

from reasoning_economics.server.asgi import ASGIApp, Receive, Scope, Send, send_error_response
from reasoning_economics.server.protocol import (
    INVALID_JSON,
    MAX_JSON_VALUES,
    MAX_NUMBER_DIGITS,
    MESSAGE_TOO_LARGE,
    holds_a_long_number,
    too_many_json_values,
)


class BodySizeLimitMiddleware:
    """ASGI middleware refusing HTTP requests whose body exceeds ``max_bytes`` (see module docstring)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if ambiguous_length(scope):
            await send_ambiguous_length(send)
            return
        declared = declared_length(scope)
        if declared is not None:
            if declared > self.max_bytes:
                await self._refuse(send, f"request body has {declared:,} bytes")
                return
            if declared <= MAX_JSON_VALUES:  # too short to hold too many JSON values
                await self.app(scope, receive, send)
                return
        messages: list[dict[str, Any]] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                messages.append(message)
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._refuse(send, f"request body has more than {self.max_bytes:,} bytes")
                return
            messages.append(message)
            if not message.get("more_body", False):
                break
        if size > MAX_JSON_VALUES:
            problem = json_body_problem(b"".join(message.get("body", b"") for message in messages))
            if problem is not None:
                # The body was read whole: the connection may go on.
                await send_error_response(send, 400, INVALID_JSON, f"invalid JSON: {problem}. Nothing was done.")
                return
        await self.app(scope, replay(messages, receive), send)

    async def _refuse(self, send: Send, what: str) -> None:
        await send_error_response(
            send, 413, MESSAGE_TOO_LARGE,
            f"{what}; this server accepts at most {self.max_bytes:,} (ree serve --max-message-mb). Nothing was done.",
            [(b"connection", b"close")],  # the rest of the body is not read
        )  # fmt: skip


def json_body_problem(body: bytes) -> str | None:
    """Why a long ``body`` is refused unparsed, or None.

    Parsing happens on the event loop that serves every session, and its cost is in the values,
    not the bytes (see protocol.MAX_JSON_VALUES), so a body holding too many is refused, or
    holding numbers of thousands of digits (see protocol.MAX_NUMBER_DIGITS). Values
    are counted in UTF-8: Starlette's ``json.loads`` also reads UTF-16 and UTF-32, where a
    ``"`` byte can be half of another character (U+0122 is ``22 01`` in UTF-16-LE) and made the
    count skip 2.7 million values. JSON text between systems is UTF-8 (RFC 8259 8.1), and no
    UTF-8 JSON holds a NUL byte (control characters in strings are escaped), while every
    UTF-16 or UTF-32 JSON does: its ASCII brackets and quotes carry them.
    """
    if b"\x00" in body:
        return "a request body must be UTF-8 (RFC 8259), and this one holds NUL bytes"
    if too_many_json_values(body, MAX_JSON_VALUES):
        return f"more than {MAX_JSON_VALUES:,} values; a request holds a few"
    if holds_a_long_number(body):
        return f"a number of more than {MAX_NUMBER_DIGITS} digits; no field takes one"
    return None


def ambiguous_length(scope: Scope) -> bool:
    """Whether the request declares both a ``Content-Length`` and a ``Transfer-Encoding``.

    h11 then reads the body as chunked (RFC 9112 6.3: Transfer-Encoding wins), so the declared
    length says nothing of its size: trusting it let a 300 MB body through a 1 MB limit. Such a
    request is refused rather than counted like any chunked body: RFC 9112 allows either, but
    both headers are how a request is smuggled past a proxy that reads the other one, and the
    RFC requires closing the connection after answering it, which uvicorn would not do for a
    request the application answered. h11 refuses every Transfer-Encoding but ``chunked``
    before the application sees it."""
    names = {name for name, _ in scope.get("headers", ())}
    return b"content-length" in names and b"transfer-encoding" in names


async def send_ambiguous_length(send: Send) -> None:
    """The 400 for :func:`ambiguous_length`, worded as uvicorn answers other framing errors
    (conflicting ``Content-Length`` headers); the body is not read and the connection closes."""
    body = b"Invalid HTTP request received: both Content-Length and Transfer-Encoding; send one."
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 400, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def declared_length(scope: Scope) -> int | None:
    """The request's ``Content-Length``, or None when it declares none (or not a number)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def replay(messages: list[dict[str, Any]], receive: Receive) -> Receive:
    """A ``receive`` giving ``messages`` first, then whatever ``receive`` gives."""
    pending = iter(messages)

    async def replayed() -> dict[str, Any]:
        for message in pending:
            return message
        return await receive()

    return replayed
