"""Hostile clients, round six: what earlier rounds left open, against a live ``ree serve``.

- a tokenizer name the file system refuses to look up (a path component over 255 bytes);
- WebSocket frames sent in the same packet as the upgrade request, before the 101;
- messages and HTTP bodies within the size limit that hold millions of JSON values.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import struct

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.sync.client import connect

from reasoning_economics.server.protocol import too_many_json_values

from http_bodies import post_declared_and_chunked
from ws_messages import exchange, state_of

RECV_TIMEOUT = 30
LONG_NAME = "x" * 300  # one path component over NAME_MAX (255): os.stat raises ENAMETOOLONG


def no_tracebacks(records: list[logging.LogRecord]) -> list[logging.LogRecord]:
    return [record for record in records if record.exc_info or record.levelno >= logging.ERROR]


# ----------------------------------------------------------------- tokenizer names


def test_a_tokenizer_name_the_file_system_cannot_look_up_is_a_typed_error_not_a_500(live_server, log_records):
    # Before: OSError [Errno 36] from Path.is_dir in tokens.builtin_vocabulary_for, so HTTP
    # /reset answered 500 and /ws INTERNAL_ERROR, each with a traceback in the log. Now it is
    # a name like any other that is neither built in nor allowed by the operator.
    with log_records("reasoning_economics.server.sessions", "uvicorn.error") as records:
        with httpx.Client(base_url=live_server.base_url, timeout=30) as http:
            for name in (LONG_NAME, f"/tmp/{LONG_NAME}"):
                response = http.post("/reset", json={"tokenizer_name": name})
                assert response.status_code == 403, response.text
                assert response.json()["code"] == "TOKENIZER_NOT_ALLOWED"
        with connect(live_server.ws_url, open_timeout=30) as ws:
            reply = exchange(ws, {"type": "reset", "data": {"seed": 3, "tokenizer_name": LONG_NAME}})
            assert reply["type"] == "error" and reply["data"]["code"] == "TOKENIZER_NOT_ALLOWED", reply
            assert exchange(ws, {"type": "reset", "data": {"seed": 3}})["type"] == "observation"
            before = state_of(ws)
            step = {"type": "step", "data": {"response": "\\boxed{1}", "metadata": {"tokenizer_name": LONG_NAME}}}
            reply = exchange(ws, step)
            assert reply["type"] == "error" and reply["data"]["code"] == "TOKENIZER_NOT_ALLOWED", reply
            assert state_of(ws) == before
    assert not no_tracebacks(records)


# ------------------------------------------------------- frames sent with the handshake


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


# ------------------------------------------------------------- many JSON values


def wide(count: int) -> str:
    return "[" + ",".join(["{}"] * count) + "]"


def test_messages_holding_too_many_json_values_are_refused_unparsed(live_server):
    # Before: within the 16 MB limit, 16 MB of [{},{},...] parsed into 5.3 million dicts on the
    # event loop (1-1.5 s during which no session was served, ~400 MB held while the step was
    # graded). A step carrying them in its metadata was graded and charged.
    hostile = '{"type": "step", "data": {"response": "\\\\boxed{1}", "metadata": {"extra": ' + wide(300_000) + "}}}"
    with connect(live_server.ws_url, max_size=None, open_timeout=30) as ws:
        assert exchange(ws, {"type": "reset", "data": {"seed": 6, "tokenizer_name": "qwen3"}})["type"] == "observation"
        before = state_of(ws)
        for message in (hostile, '{"type": "state", "data": ' + wide(300_000) + "}"):
            reply = exchange(ws, message)
            assert reply["type"] == "error" and reply["data"]["code"] == "INVALID_JSON", reply
            assert "100,000 values" in reply["data"]["message"]
        assert state_of(ws) == before
        # Commas and brackets inside strings are text, however many: such a step is answered.
        text = "a, [b], {c}; " * 70_000 + "\\boxed{1}"
        reply = exchange(ws, {"type": "step", "data": {"response": text, "metadata": {"grading_response": "\\boxed{1}"}}})
        assert reply["type"] == "observation", reply
        assert state_of(ws)["questions_answered"] == before["questions_answered"] + 1


def test_http_bodies_holding_too_many_json_values_get_400_unparsed(live_server):
    body = ('{"action": {"response": "x", "metadata": {"extra": ' + wide(300_000) + "}}}").encode()
    with httpx.Client(base_url=live_server.base_url, timeout=60) as http:
        for path in ("/step", "/reset"):
            for response in post_declared_and_chunked(http, path, body):
                assert response.status_code == 400, response.text
                assert response.json()["code"] == "INVALID_JSON"
        # In UTF-16, which Starlette's json.loads also reads, U+0122 is the bytes 22 01: its
        # '"' byte hid 300,000 values from the count, and the body was parsed on the event loop.
        hidden = ('{"seed": 1, "tokenizer_name": "\u0122", "extra": ' + wide(300_000) + "}").encode("utf-16-le")
        for path in ("/reset", "/step"):
            response = http.post(path, content=hidden, headers={"content-type": "application/json"})
            assert response.status_code == 400 and response.json()["code"] == "INVALID_JSON", response.text
            assert "UTF-8" in response.json()["detail"]
        # Long text is not many values: a padded reset and a long response are served.
        padded = json.dumps({"seed": 1, "tokenizer_name": "qwen3"}).encode() + b" " * 200_000
        assert http.post("/reset", content=padded, headers={"content-type": "application/json"}).status_code == 200
        step = http.post("/step", json={"action": {"response": "a, [b], {c}; " * 70_000}})
        assert step.status_code == 409 and step.json()["code"] == "EPISODE_NOT_STARTED"
        assert http.get("/health").status_code == 200


def containers_and_strings(value) -> tuple[int, int]:
    """What too_many_json_values counts in ``json.dumps(value)``, worked out from the value:
    each container counts its elements (at least 1: its opening bracket), and each string
    and key is one string."""
    if isinstance(value, list):
        counts = [containers_and_strings(item) for item in value]
        return max(len(value), 1) + sum(c for c, _ in counts), sum(s for _, s in counts)
    if isinstance(value, dict):
        counts = [containers_and_strings(item) for item in value.values()]
        return max(len(value), 1) + sum(c for c, _ in counts), len(value) + sum(s for _, s in counts)
    return 0, int(isinstance(value, str))


json_texts = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='ab,[]{}"\\ \n', max_size=8),
    lambda children: st.lists(children, max_size=6) | st.dictionaries(st.text(alphabet='k,"\\[', max_size=4), children, max_size=6),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None)
@given(value=json_texts, limit=st.integers(0, 30), ascii_only=st.booleans())
def test_json_values_are_counted_outside_strings_only(value, limit, ascii_only):
    # Commas and brackets inside strings (escaped quotes and backslashes included) never count.
    text = json.dumps(value, ensure_ascii=ascii_only)
    structural, strings = containers_and_strings(value)
    for given_text in (text, text.encode()):
        refused = too_many_json_values(given_text, limit)
        if len(text) > limit and structural > limit:
            assert refused
        elif structural <= limit and strings <= limit:
            assert not refused
        # else: more strings (keys included) than the limit in fewer containers; either answer is "about" right


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
