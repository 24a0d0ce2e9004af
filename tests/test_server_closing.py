"""Closing connections whose client reads nothing, with under 64 KiB left unread.

Below asyncio's 64 KiB high-water mark the transport never pauses writing, so the write stall
limit never starts; uvicorn's ``transport.close()`` then waited for the client to read, for
ever when it never did. Against live servers on 127.0.0.1, with clients that shrink their
receive window (and their maximum segment size, which keeps the server's kernel send buffer
to tens of KB instead of megabytes on loopback) and read nothing.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import time


HIGH_WATER = 64 * 1024  # asyncio's default: above it the transport pauses writing
LEFT_UNREAD = 16_000


def reader_of_nothing(port: int) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    return sock


def open_websocket(port: int) -> socket.socket:
    sock = reader_of_nothing(port)
    key = base64.b64encode(os.urandom(16))
    sock.sendall(
        b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    assert sock.recv(4096).startswith(b"HTTP/1.1 101")
    return sock


STATE_MESSAGE = json.dumps({"type": "state"}).encode()
STATE_FRAME = bytes([0x81, 0x80 | len(STATE_MESSAGE)]) + b"\0\0\0\0" + STATE_MESSAGE  # masked with key 0
HEALTH_REQUEST = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def unwritten(connections) -> int:
    return max((connection.transport.get_write_buffer_size() for connection in list(connections)), default=0)


def leave_answers_unread(sock: socket.socket, message: bytes, connections) -> None:
    """Send ``message`` a few at a time, reading nothing, until the server holds ``LEFT_UNREAD``
    bytes it cannot write; few enough at a time that it stays under the high-water mark."""
    give_up_at = time.monotonic() + 60
    while unwritten(connections) < LEFT_UNREAD:
        assert time.monotonic() < give_up_at, "the server's write buffer did not fill"
        sock.sendall(message * 5)
        time.sleep(0.01)
    # The messages already sent are still being answered: let that settle before checking.
    before = -1
    while (now := unwritten(connections)) != before:
        before = now
        time.sleep(0.3)
    assert 0 < now < HIGH_WATER, f"{now} bytes unwritten: not the case under test"


def test_a_websocket_session_that_times_out_unread_is_aborted_after_its_close(start_server, wait_until):
    # Before, SESSION_TIMEOUT's close frame waited 10 s for the client's answer, and uvicorn's
    # close() then for the client to read: the descriptor was held for ever.
    running = start_server(request_timeout_s=0.5, session_timeout_s=0.5, warm_up=False)
    connections = running.server.server_state.connections
    with open_websocket(running.port) as sock:
        leave_answers_unread(sock, STATE_FRAME, connections)
        assert wait_until(lambda: running.sessions.active == 0, 30)
        assert wait_until(lambda: not connections, 30), f"still held, {unwritten(connections)} bytes unwritten"


def test_an_http_connection_closed_with_responses_unread_is_aborted(start_server, wait_until):
    # Before, the request deadline's close() (as uvicorn's keep-alive timer's) waited for the
    # client to read its pipelined responses, for ever.
    running = start_server(request_timeout_s=0.5, warm_up=False)
    connections = running.server.server_state.connections
    with reader_of_nothing(running.port) as sock:
        leave_answers_unread(sock, HEALTH_REQUEST, connections)
        assert wait_until(lambda: not connections, 30), f"still held, {unwritten(connections)} bytes unwritten"


def test_a_session_whose_keepalive_timed_out_ends_without_a_traceback(start_server, wait_until, log_records):
    # uvicorn's keepalive timeout closes the connection without telling the application; its
    # close waits on the unread buffer, so the session is still there when its idle timeout
    # sends SESSION_TIMEOUT. Before, uvicorn answered that send with a RuntimeError, logged
    # as "Exception in ASGI application" with a traceback. (The grace, --request-timeout,
    # outlasts the session timeout here, so the send does come while the close is pending.)
    running = start_server(
        request_timeout_s=30, session_timeout_s=3, warm_up=False,
        uvicorn_overrides={"ws_ping_interval": 1.5, "ws_ping_timeout": 0.5},
    )  # fmt: skip
    # Records are kept from after uvicorn's start, which sets up its loggers anew.
    with log_records("uvicorn.error", "reasoning_economics") as records, open_websocket(running.port) as sock:
        leave_answers_unread(sock, STATE_FRAME, running.server.server_state.connections)
        assert wait_until(lambda: running.sessions.timed_out == 1, 30)
        assert wait_until(lambda: running.sessions.active == 0, 30)
    problems = [record for record in records if record.exc_info or record.levelno >= logging.ERROR]
    assert not problems, [record.getMessage() for record in problems]
