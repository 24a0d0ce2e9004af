"""WebSocket frames a client sends in the same packet as its upgrade request, before the 101,
against a live ``ree serve``: answered after the handshake, in order."""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import struct


def no_tracebacks(records: list[logging.LogRecord]) -> list[logging.LogRecord]:
    return [record for record in records if record.exc_info or record.levelno >= logging.ERROR]


def frame(opcode: int, payload: bytes) -> bytes:
    """One masked client frame (payloads under 126 bytes)."""
    mask = os.urandom(4)
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def upgrade_request() -> bytes:
    key = base64.b64encode(os.urandom(16))
    return (
        b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )


class RawFrames:
    """Reads the server's (unmasked) frames from a plain socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        sock.settimeout(10)
        while b"\r\n\r\n" not in self.buffer:
            chunk = sock.recv(65536)
            assert chunk, f"closed during the handshake after {self.buffer!r}"
            self.buffer += chunk
        self.head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")

    def _take(self, size: int) -> bytes:
        while len(self.buffer) < size:
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                raise AssertionError("no reply within 10 s") from None
            assert chunk, "closed by the server"
            self.buffer += chunk
        taken, self.buffer = self.buffer[:size], self.buffer[size:]
        return taken

    def next(self) -> tuple[int, bytes]:
        first, second = self._take(2)
        size = second & 0x7F
        if size == 126:
            size = struct.unpack("!H", self._take(2))[0]
        elif size == 127:
            size = struct.unpack("!Q", self._take(8))[0]
        return first & 0x0F, self._take(size)

    def reply(self) -> dict:
        while True:
            opcode, payload = self.next()
            if opcode == 1:
                return json.loads(payload)
            assert opcode == 10, (opcode, payload)  # only pongs may come between replies


def test_frames_sent_along_with_the_handshake_are_answered_after_it(live_server, log_records):
    # Before: uvicorn handed the WebSocket protocol the upgrade request only, and the frames
    # behind it in the same packet were lost: no reply, no close, every later reply one off.
    # Handed over as they were, uvicorn would answer them before the 101 (a pong ahead of it)
    # or fail with a traceback (an AssertionError on a protocol error, InvalidState on bad UTF-8).
    with log_records("asyncio", "uvicorn.error", "reasoning_economics.server.sessions") as records:
        with socket.create_connection(("127.0.0.1", live_server.port), timeout=10) as sock:
            sock.sendall(
                upgrade_request()
                + frame(9, b"early ping")
                + frame(1, json.dumps({"type": "reset", "data": {"seed": 4, "tokenizer_name": "qwen3"}}).encode())
                + frame(1, b'{"type": "state"}')
            )
            frames = RawFrames(sock)
            assert frames.head.startswith(b"HTTP/1.1 101"), frames.head
            assert frames.next() == (10, b"early ping")  # after the 101, not before it
            observation = frames.reply()
            assert observation["type"] == "observation", observation
            state = frames.reply()
            assert state["type"] == "state" and state["data"]["episode_id"] == observation["data"]["observation"]["episode_id"]
            sock.sendall(frame(1, b'{"type": "close"}'))
            assert frames.next()[0] == 8
        for early, close_code in ((b"\xff", 1007), (b"\x83\x80\0\0\0\0", 1002)):  # invalid UTF-8; a reserved opcode
            with socket.create_connection(("127.0.0.1", live_server.port), timeout=10) as sock:
                sock.sendall(upgrade_request() + (frame(1, early) if close_code == 1007 else early))
                frames = RawFrames(sock)
                assert frames.head.startswith(b"HTTP/1.1 101"), frames.head
                opcode, payload = frames.next()
                assert opcode == 8 and struct.unpack("!H", payload[:2])[0] == close_code, (opcode, payload)
    assert not no_tracebacks(records)
