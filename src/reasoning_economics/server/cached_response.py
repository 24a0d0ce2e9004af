"""Serve a route's first successful answer again without running the route.

OpenEnv's ``GET /schema`` rebuilds every model's ``model_json_schema()`` on each call, on
the event loop: about 15 ms a request, so 32 clients polling it held another session's p99
step at 1.1-1.3 s. The schemas cannot change while the server runs, so, as FastAPI does
for ``/openapi.json``, the answer is built once, by OpenEnv's own route (same body, same
headers, byte for byte), and replayed. The route object stays where it was, so the
OpenAPI document does not change either.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class CachedResponse:
    """An ASGI app that runs ``app`` until it answers 200 in one body message, then sends
    that answer to every later request without calling ``app`` again.

    The first answer is collected whole before any of it is sent, so building it never waits
    on a client: the event loop does not switch to another request in between, and a second
    request cannot start a second build (were ``app`` to await something, one might: harmless).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers: list[tuple[bytes, bytes]] | None = None
        self.body: bytes | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.body is None:
            kept: list[Message] = []

            async def keep(message: Message) -> None:
                kept.append(message)

            await self.app(scope, receive, keep)
            if not (
                len(kept) == 2
                and kept[0]["type"] == "http.response.start"
                and kept[0].get("status") == 200
                and kept[1]["type"] == "http.response.body"
                and not kept[1].get("more_body", False)
            ):
                for message in kept:  # not an answer to keep: passed on as it came
                    await send(message)
                return
            self.headers = [tuple(header) for header in kept[0].get("headers", ())]
            self.body = bytes(kept[1].get("body", b""))
        # Fresh messages each time: a middleware may edit the headers of what it is sent.
        await send({"type": "http.response.start", "status": 200, "headers": list(self.headers or ())})
        await send({"type": "http.response.body", "body": self.body})


def cache_get_route(app: FastAPI, path: str) -> CachedResponse:
    """Make ``GET path`` answer from :class:`CachedResponse`; returns the cache.

    Raises:
        LookupError: the application has no ``GET`` route at ``path``.
    """
    for route in app.router.routes:
        if isinstance(route, APIRoute) and route.path == path and "GET" in route.methods:
            cached = CachedResponse(route.app)
            route.app = cached
            return cached
    raise LookupError(f"no GET route at {path}")

