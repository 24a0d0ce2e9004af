"""Request heads of a bounded size, against a live ``ree serve``: h11 parsed a head that arrived
in one read whole, one header at a time. A ``GET /health`` with 24,000 empty headers held the
event loop 90-130 ms before any token was checked; now such a head is answered 400 and its
connection closed before any of it is parsed."""

from __future__ import annotations

import socket

import httpx
import pytest
from websockets.sync.client import connect

from reasoning_economics.server.connections import (
    MAX_HEADER_LINES,
    MAX_REQUEST_HEAD_BYTES,
    MAX_REQUEST_LINE_BYTES,
    request_head_problem,
)


def answer_to(port: int, request: bytes) -> bytes:
    """Everything the server sends back until it closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def get(path: str, headers: int = 0, value: bytes = b"") -> bytes:
    """A GET with ``headers`` header lines after Host, the last with ``value``, closing after the answer."""
    lines = [b"x-pad: " + value] if headers else []
    lines = [b"a:"] * (headers - len(lines)) + lines
    return b"\r\n".join([b"GET " + path.encode() + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close", *lines]) + b"\r\n\r\n"


@pytest.mark.parametrize(
    ("request_bytes", "problem"),
    [
        (get("/health", headers=24_000), "head over"),  # 96 KB of empty headers, in one read
        (get("/health", headers=MAX_HEADER_LINES - 1), "header lines"),  # Host and Connection make it 129
        (get("/health?" + "a=&" * 3_000), "request line"),
        (get("/health", headers=1, value=b"v" * MAX_REQUEST_HEAD_BYTES), "head over"),
    ],
)
def test_an_oversized_request_head_is_answered_400_unparsed(live_server, request_bytes, problem):
    assert problem in request_head_problem(request_bytes)
    answer = answer_to(live_server.port, request_bytes)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert httpx.get(f"{live_server.base_url}/health", timeout=10).status_code == 200


def test_heads_within_the_limits_are_served(live_server):
    for request_bytes in (
        get("/health", headers=MAX_HEADER_LINES - 2),  # 128 header lines with Host and Connection
        get("/health?" + "a" * (MAX_REQUEST_LINE_BYTES - 40)),
        get("/health", headers=1, value=b"v" * (MAX_REQUEST_HEAD_BYTES - 200)),
    ):
        assert request_head_problem(request_bytes) is None
        assert answer_to(live_server.port, request_bytes).startswith(b"HTTP/1.1 200"), request_bytes[:60]
    # Pipelined requests are each a head of their own, however many arrive in one read.
    pipelined = get("/health").replace(b"Connection: close", b"x: y") * 200 + get("/health")
    assert answer_to(live_server.port, pipelined).count(b"HTTP/1.1 200 OK") == 201


def test_a_head_arriving_in_pieces_is_refused_once_it_passes_a_limit():
    # The refusal comes as soon as the bytes received so far pass a limit, before the head ends.
    assert request_head_problem(b"GET / HTTP/1.1\r\n" + b"a:\r\n" * (MAX_HEADER_LINES + 1)) is not None
    assert request_head_problem(b"GET / HTTP/1.1\r\n" + b"a:\r\n" * 10) is None
    assert request_head_problem(b"GET /" + b"a" * (MAX_REQUEST_LINE_BYTES + 1)) is not None
    assert request_head_problem(b"GET / HTTP/1.1\r\nx: " + b"v" * MAX_REQUEST_HEAD_BYTES) is not None
    # h11 ends a head at a blank line with or without its CR; what follows is a body or the next request.
    assert request_head_problem(b"GET / HTTP/1.1\nHost: x\n\n" + b"\n" * 10_000) is None


def test_a_websocket_handshake_with_too_many_headers_is_refused(live_server):
    headers = {f"x-pad-{i}": "1" for i in range(MAX_HEADER_LINES)}
    with pytest.raises(Exception) as refused:
        connect(live_server.ws_url, additional_headers=headers, open_timeout=30)
    assert "400" in str(refused.value)
    with connect(live_server.ws_url, open_timeout=30) as ws:
        ws.send('{"type": "reset", "data": {"seed": 1}}')
        assert '"observation"' in ws.recv(timeout=30)
