"""Bearer-token authentication for every HTTP request and WebSocket handshake.

With a token set, a request must carry ``Authorization: Bearer <token>``. Without it:

- HTTP gets ``401`` (no or malformed header) or ``403`` (wrong token), with a JSON body
  ``{"detail": ..., "code": "UNAUTHORIZED" | "FORBIDDEN"}`` and ``WWW-Authenticate: Bearer``;
- a WebSocket handshake gets the same HTTP status instead of the upgrade (when the ASGI
  server supports denial responses, as uvicorn does), else it is closed with code 1008
  (policy violation) and the reason in the close frame.

``GET /health`` stays open: load balancers and container health checks probe it without
credentials, and it reveals nothing but "healthy". Tokens are compared in constant time.
"""

from __future__ import annotations

import hmac

from reasoning_economics.server.asgi import ASGIApp, Receive, Scope, Send, error_body

OPEN_PATHS = frozenset({"/health"})
WS_POLICY_VIOLATION = 1008


def bearer_token(scope: Scope) -> str | None:
    """The token of the request's ``Authorization: Bearer`` header, or None."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and credentials.strip():
                return credentials.strip()
            return None
    return None


def check_token(scope: Scope, expected: str) -> tuple[int, str, str] | None:
    """None when the request carries ``expected``, else ``(status, code, message)``."""
    given = bearer_token(scope)
    if given is None:
        return 401, "UNAUTHORIZED", "this server requires a token: send the header 'Authorization: Bearer <token>'"
    if not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
        return 403, "FORBIDDEN", "the token sent in the Authorization header is not valid for this server"
    return None


class BearerTokenMiddleware:
    """ASGI middleware refusing requests without the server's token (see module docstring)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket") or scope.get("path") in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        refusal = check_token(scope, self.token)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, code, message = refusal
        body, headers = error_body(code, message)
        headers.append((b"www-authenticate", b'Bearer realm="reasoning-economics"'))
        if kind == "http":
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        # WebSocket: wait for the connect event, then refuse the upgrade.
        await receive()
        if "websocket.http.response" in (scope.get("extensions") or {}):
            await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await send({"type": "websocket.close", "code": WS_POLICY_VIOLATION, "reason": f"{code}: {message}"[:120]})
