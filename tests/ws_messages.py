"""Sending one message over a WebSocket session and reading its reply, as the server tests do."""

from __future__ import annotations

import json
from typing import Any

REPLY_TIMEOUT = 120  # generous: a reply that never comes fails the test, however long this is


def exchange(ws: Any, message: dict | str | bytes, timeout: float = REPLY_TIMEOUT) -> dict:
    """Send ``message`` (a dict as JSON; text or bytes as they are) and return the reply."""
    ws.send(message if isinstance(message, (str, bytes)) else json.dumps(message))
    return json.loads(ws.recv(timeout=timeout))


def state_of(ws: Any) -> dict:
    """The session's state, which must come back as a ``state`` reply."""
    reply = exchange(ws, {"type": "state"})
    assert reply["type"] == "state", reply
    return reply["data"]
