"""Log floods that unauthenticated clients could cause, against a live ``ree serve``.

- each WebSocket handshake refused for want of a token logged a spurious ERROR line;
- each request carrying ``Upgrade: h2c`` logged a warning;
- each invalid HTTP request logged a line (47 KB of log a second from one client).
"""

from __future__ import annotations

import logging
import socket

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

TOKEN = "log-flood-token"


def read_all(sock: socket.socket) -> bytes:
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    return answer


def test_refused_websocket_handshakes_are_answered_and_not_logged_as_errors(start_server, log_records):
    server = start_server(token=TOKEN)
    with log_records("uvicorn.error") as records:
        for _ in range(20):
            with pytest.raises(InvalidStatus) as refused:
                connect(f"ws://127.0.0.1:{server.port}/ws", open_timeout=10)
            assert refused.value.response.status_code == 401
            assert b"UNAUTHORIZED" in refused.value.response.body
    # Before, each refused client logged "ASGI callable returned without completing handshake." at ERROR.
    assert [record.getMessage() for record in records if record.levelno >= logging.ERROR] == []
    with connect(f"ws://127.0.0.1:{server.port}/ws", additional_headers={"Authorization": f"Bearer {TOKEN}"}) as ws:
        ws.send('{"type": "reset", "data": {"seed": 3}}')
        assert '"observation"' in ws.recv(timeout=30)


def test_requests_asking_for_an_h2c_upgrade_are_answered_and_logged_summed(live_server, log_records):
    with log_records("uvicorn.error") as records:
        with socket.create_connection(("127.0.0.1", live_server.port), timeout=10) as sock:
            request = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
            sock.sendall(request * 40 + b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            answer = read_all(sock)
    assert answer.count(b"HTTP/1.1 200 OK") == 41
    # Before, uvicorn warned "Unsupported upgrade request." once per request.
    assert [r for r in records if "Unsupported upgrade" in r.getMessage()] == [] and len(records) <= 1
    assert httpx.get(f"{live_server.base_url}/health", timeout=10).status_code == 200


def test_invalid_http_requests_are_answered_400_and_logged_summed_not_one_line_each(live_server, log_records):
    # Before, uvicorn logged "Invalid HTTP request received." for each: 47 KB of log a second from one client.
    with log_records("uvicorn.error") as records:
        for _ in range(30):
            with socket.create_connection(("127.0.0.1", live_server.port), timeout=10) as sock:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n")  # a header line without ':'
                answer = b""
                while chunk := sock.recv(65536):
                    answer += chunk
                assert answer.startswith(b"HTTP/1.1 400"), answer
    invalid = [record for record in records if "Invalid HTTP request" in record.getMessage()]
    assert invalid == [] and len(records) <= 1  # the summed warning, unless one was logged less than 10 s ago
    assert httpx.get(f"{live_server.base_url}/health", timeout=10).status_code == 200
