"""Connections that stall: the request deadline and running out of file descriptors.

Against live servers on 127.0.0.1: in-process ones with a short ``request_timeout_s``, and a
``ree serve`` child whose open-file limit is lowered so a flood of stalled connections
really exhausts it.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import resource
import socket
import sys
import time
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from reasoning_economics.bench.server_process import ServerProcess
from reasoning_economics.server.throttled_log import LOG_INTERVAL_S

DEADLINE_S = 0.5
PARTIAL_REQUEST = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
FULL_REQUEST = PARTIAL_REQUEST + b"\r\n"


def open_connection(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def closed_by_server_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes ``sock`` within ``seconds`` (reading returns end of file)."""
    sock.settimeout(seconds)
    try:
        return sock.recv(65536) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def upgrade_request(extra_headers: bytes = b"") -> bytes:
    return (
        b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: " + base64.b64encode(os.urandom(16)) + b"\r\nSec-WebSocket-Version: 13\r\n"
        + extra_headers + b"\r\n"
    )


def read_until_closed(sock: socket.socket, seconds: float) -> bytes:
    """All the server sends until it closes ``sock``; fails if it has not within ``seconds``."""
    sock.settimeout(seconds)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        raise AssertionError(f"still open after {seconds} s, having sent {data[:200]!r}") from None
    except ConnectionResetError:
        pass
    return data


def open_raw_websocket(port: int) -> socket.socket:
    """A WebSocket connection after its handshake, as a plain socket that reads little: a
    client that writes frames by hand and hardly reads the server's."""
    sock = open_connection(port)
    sock.sendall(upgrade_request())
    assert sock.recv(4096).startswith(b"HTTP/1.1 101")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    return sock


def assert_a_new_session_starts(ws_url: str) -> None:
    with connect(ws_url, open_timeout=10) as ws:
        ws.send(json.dumps({"type": "reset", "data": {"seed": 5, "tokenizer_name": "qwen3"}}))
        assert json.loads(ws.recv(timeout=30))["type"] == "observation"


def read_response(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


@pytest.fixture
def strict_server(start_server):
    return start_server(request_timeout_s=DEADLINE_S, warm_up=False)


@pytest.mark.parametrize("sent", [b"", PARTIAL_REQUEST], ids=["nothing", "half a request"])
def test_a_connection_that_stalls_before_a_complete_request_is_closed_at_the_deadline(strict_server, sent):
    with open_connection(strict_server.port) as stalled:
        stalled.sendall(sent)
        assert not closed_by_server_within(stalled, DEADLINE_S / 2)
        assert closed_by_server_within(stalled, 10)


def test_trickling_bytes_does_not_extend_the_deadline(strict_server):
    # uvicorn's own keep-alive timer restarts on every byte; the request deadline does not.
    with open_connection(strict_server.port) as trickler:
        started = time.monotonic()
        closed = False
        for byte in PARTIAL_REQUEST * 10:
            try:
                trickler.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if closed_by_server_within(trickler, 0.05):
                closed = True
                break
            if time.monotonic() - started > 20:
                break
        assert closed


def test_a_kept_alive_connection_gets_the_whole_deadline_again_after_each_response(strict_server):
    with open_connection(strict_server.port) as kept:
        for _ in range(3):
            time.sleep(DEADLINE_S * 0.6)  # three of these outlast one deadline; each is inside its own
            kept.sendall(FULL_REQUEST)
            reply = read_response(kept)
            assert reply.startswith(b"HTTP/1.1 200"), reply
            assert json.loads(reply.split(b"\r\n\r\n", 1)[1]) == {"status": "healthy"}
        kept.sendall(PARTIAL_REQUEST)
        assert closed_by_server_within(kept, 10)


def test_websocket_sessions_outlive_the_request_deadline(strict_server):
    with connect(strict_server.ws_url, open_timeout=10) as ws:
        ws.send(json.dumps({"type": "reset", "data": {"seed": 5, "tokenizer_name": "qwen3"}}))
        assert json.loads(ws.recv(timeout=30))["type"] == "observation"
        time.sleep(DEADLINE_S * 3)
        ws.send(json.dumps({"type": "step", "data": {"response": "\\boxed{1}"}}))
        reply = json.loads(ws.recv(timeout=30))
        assert reply["type"] == "observation" and reply["data"]["observation"]["step_idx"] == 1


@pytest.mark.parametrize(
    ("header", "status"),
    [
        (b"Sec-WebSocket-Protocol: a\x7f\r\n", b"400"),  # h11 lets DEL through; websockets cannot parse it
        # websockets takes 128 (431); the server's own head limit refuses them first, unparsed
        (b"".join(b"X-Header-%d: 1\r\n" % i for i in range(200)), b"400"),
    ],
    ids=["DEL in a header", "200 headers"],
)
def test_an_upgrade_request_that_websockets_refuses_is_answered_and_closed(live_server, header, status):
    # Before, it got no answer and was never closed (the request deadline stopped at the
    # upgrade): 300 of them held 300 descriptors for as long as the client kept them.
    with open_connection(live_server.port) as refused:
        refused.sendall(upgrade_request(header))
        answer = read_until_closed(refused, 5)  # well within the live server's 10 s deadline
    assert answer.startswith(b"HTTP/1.1 " + status), answer
    assert_a_new_session_starts(live_server.ws_url)


def slow_to_accept_websockets(app):
    """An application that does not answer WebSocket handshakes (``ree serve``'s accepts at once)
    in front of ``app``, which answers everything else."""

    async def slow_to_accept(scope, receive, send):
        if scope["type"] == "websocket":
            while (await receive())["type"] != "websocket.disconnect":
                pass
            return
        await app(scope, receive, send)

    return slow_to_accept


def test_the_request_deadline_lasts_until_the_websocket_handshake_completes(start_server):
    # Before, it stopped as soon as h11 handed the connection to the WebSocket protocol, before
    # websockets had parsed the request or the application had accepted it.
    running = start_server(request_timeout_s=DEADLINE_S, warm_up=False, wrap_app=slow_to_accept_websockets)
    with open_connection(running.port) as waiting:
        waiting.sendall(upgrade_request())
        assert not closed_by_server_within(waiting, DEADLINE_S / 2)
        assert read_until_closed(waiting, 10) == b""


def test_a_body_with_both_content_length_and_chunked_encoding_is_refused_unread(start_server):
    # h11 reads such a body as chunked, whatever its Content-Length says, and the body limit
    # trusted the Content-Length: a 300 MB body got through a 1 MB limit and cost 1 GB of memory.
    server = start_server(max_message_bytes=4096, warm_up=False)
    head = b"POST /reset HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    small = b'{"seed": 3}'
    over_the_limit = b'{"seed": 3, "episode_id": "' + b"e" * 65536
    whole_small_body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(small), small)
    first_chunk_only = b"%x\r\n%s\r\n" % (len(over_the_limit), over_the_limit)  # a server reading it waits for more
    for framing, body in (  # refused whatever the body's size, and without waiting for its end
        (b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n", whole_small_body),
        (b"Transfer-Encoding: chunked\r\nContent-Length: 2\r\n", first_chunk_only),
    ):
        with open_connection(server.port) as client:
            client.sendall(head + framing + b"\r\n" + body)
            answer = read_until_closed(client, 5)
        head_lines = answer.split(b"\r\n\r\n", 1)[0].lower().split(b"\r\n")
        assert head_lines[0] == b"http/1.1 400 bad request", answer
        assert b"connection: close" in head_lines
        assert b"Content-Length and Transfer-Encoding" in answer
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        assert http.post("/reset", json={"seed": 3}).status_code == 200  # either header alone is fine


def test_a_flood_of_stalled_connections_costs_one_log_line_and_the_server_recovers(tmp_path):
    # Before: each refused accept logged a traceback (thousands a second, 335 MB of log in a
    # minute), and stalled connections held their descriptors for ever, so /health never
    # answered again while the flood lasted.
    log_path = tmp_path / "serve.log"
    with ServerProcess(["--no-warm-up", "--request-timeout", "1"], log_path=log_path) as server:
        open_now = len(os.listdir(f"/proc/{server.pid}/fd"))
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.prlimit(server.pid, resource.RLIMIT_NOFILE, (open_now + 30, hard))
        flood = []
        started = time.monotonic()
        try:
            for _ in range(120):
                connection = open_connection(server.port)
                connection.sendall(PARTIAL_REQUEST)
                flood.append(connection)
            time.sleep(2)  # the server has run out of descriptors and tried to accept again
            recovered_at = time.monotonic() + 60
            while not server.healthy() and time.monotonic() < recovered_at:
                time.sleep(0.2)
            assert server.healthy(), server.log_tail()
        finally:
            for connection in flood:
                connection.close()
        log = log_path.read_text()
        elapsed = time.monotonic() - started
    assert "out of file descriptors" in log
    assert log.count("out of file descriptors") <= 1 + elapsed // LOG_INTERVAL_S  # at most one per interval
    assert "Traceback" not in log and "socket.accept()" not in log
    assert "closed connections that sent no complete request within 1 s" in log




def test_a_client_that_pings_without_reading_is_dropped_and_the_others_go_on(live_server):
    # Before, every ping was answered into memory: one such client grew the server by 570 MB in 20 s.
    with open_raw_websocket(live_server.port) as pinger:
        ping = bytes([0x89, 0x80 | 125]) + b"\0\0\0\0" + b"p" * 125  # masked (key 0), 125-byte payload
        pinger.settimeout(1)
        dropped, sent_megabytes, deadline = False, 0, time.monotonic() + 120
        while not dropped and time.monotonic() < deadline:
            try:
                pinger.sendall(ping * 8192)
                sent_megabytes += 1
            except TimeoutError:
                continue  # the server reads more slowly than we write; go on
            except (ConnectionResetError, BrokenPipeError):
                dropped = True
        assert dropped, f"still connected after {sent_megabytes} MB of pings"
    assert_a_new_session_starts(live_server.ws_url)


def test_a_client_that_sends_without_reading_is_held_back(live_server):
    # The server stops reading from a client that reads none of its replies, so what it holds
    # for that client stays bounded: the client's own sends block.
    with open_raw_websocket(live_server.port) as flooder:
        text = json.dumps({"type": "state"}).encode()
        frame = bytes([0x81, 0x80 | len(text)]) + b"\0\0\0\0" + text  # masked (key 0) text frame
        flooder.settimeout(3)
        sent, held_back = 0, False
        while sent < 2_000_000 and not held_back:
            try:
                flooder.sendall(frame * 1000)
                sent += 1000
            except TimeoutError:
                held_back = True
        assert held_back, f"the server read {sent:,} messages from a client that reads nothing"
    assert_a_new_session_starts(live_server.ws_url)


class LimitedServerProcess(ServerProcess):
    """``ree serve`` started with the open-file limits ``(soft, hard)``, as a shell's ulimit would."""

    def __init__(self, limits: tuple[int, int], *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits

    def command(self) -> list[str]:
        soft, hard = self.limits
        start = (
            "import os, resource, sys; "
            f"resource.setrlimit(resource.RLIMIT_NOFILE, ({soft}, {hard})); "
            "os.execv(sys.argv[1], sys.argv[1:])"
        )
        return [sys.executable, "-c", start, *super().command()]


def open_file_limits(pid: int) -> tuple[int, int]:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return int(soft), int(hard)
    raise AssertionError("no open-file limit in /proc")


@pytest.mark.parametrize("hard", [4096, 1024])
def test_ree_serve_raises_a_low_open_file_limit_and_warns_when_it_cannot(tmp_path, hard):
    # 1,024 sessions need up to 2 x 1,024 + 256 = 2,304 descriptors; many systems start
    # processes with a soft limit of 1,024.
    log_path = tmp_path / "serve.log"
    args = ["--no-warm-up", "--max-sessions", "1024"]
    with LimitedServerProcess((256, hard), args, log_path=log_path) as server:
        soft_now, hard_now = open_file_limits(server.pid)
    assert hard_now == hard and soft_now == min(2304, hard)
    warned = "fewer than the 2,304 that 1,024 sessions may need" in log_path.read_text()
    assert warned == (hard < 2304)


def fill_the_servers_buffers(sock: socket.socket, request: bytes) -> None:
    """Send ``request`` over and over without reading a byte back, until the server stops
    reading too (its answers fill the socket buffers and its own write buffer), or drops us."""
    sock.settimeout(3)
    for _ in range(100_000):
        try:
            sock.sendall(request * 100)
        except (TimeoutError, ConnectionResetError, BrokenPipeError):
            return
    raise AssertionError("the server kept reading from a client that reads nothing")


def test_an_http_client_that_stops_reading_its_responses_is_dropped(strict_server, wait_until):
    # Before, a response waiting to be written was never timed out (the request deadline waits
    # for requests, and closing waits for the client to read): pipelining requests and reading
    # nothing held the connection, and its descriptor, for as long as the client liked.
    connections = strict_server.server.server_state.connections
    with open_connection(strict_server.port) as reader_of_nothing:
        reader_of_nothing.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        fill_the_servers_buffers(reader_of_nothing, b"GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert wait_until(lambda: not connections, 30), "the connection is still open"
    assert httpx.get(strict_server.base_url + "/health", timeout=10).status_code == 200


def test_a_websocket_client_that_stops_reading_loses_its_session_and_its_slot(start_server, tmp_path, wait_until):
    # Before, the session waited for ever to write its reply: --session-timeout runs only while
    # a session waits for a message, so with --max-sessions 1 one client that sent messages and
    # read nothing locked every other client out for as long as it stayed connected.
    running = start_server(max_sessions=1, warm_up=False, log_dir=tmp_path, uvicorn_overrides={"ws_ping_timeout": 0.5})
    with open_raw_websocket(running.port) as reader_of_nothing:
        reset = json.dumps({"type": "reset", "data": {"seed": 5, "tokenizer_name": "qwen3"}}).encode()
        step = json.dumps({"type": "step", "data": {"response": "\\boxed{1}"}}).encode()
        state = json.dumps({"type": "state"}).encode()
        reader_of_nothing.sendall(b"".join(bytes([0x81, 0x80 | len(m)]) + b"\0\0\0\0" + m for m in (reset, step)))
        fill_the_servers_buffers(reader_of_nothing, bytes([0x81, 0x80 | len(state)]) + b"\0\0\0\0" + state)
        assert wait_until(lambda: running.sessions.active == 0, 30), "the session still holds its slot"
        assert_a_new_session_starts(running.ws_url)
    # Its answered step is logged, as for a client that vanished.
    (record,) = [json.loads(line) for line in (tmp_path / "episodes.jsonl").read_text().splitlines()]
    assert record["termination_reason"] == "abandoned" and len(record["steps"]) == 1


def test_text_frames_of_invalid_utf8_are_closed_with_1007_and_logged_without_a_traceback_each(live_server, log_records):
    # Before, uvicorn logged each at ERROR with a traceback: 490 KB of log a second from one client.
    with log_records("uvicorn.error", "reasoning_economics.server.connections") as records:
        for _ in range(30):
            with open_raw_websocket(live_server.port) as sender:
                sender.sendall(bytes([0x81, 0x80 | 1]) + b"\0\0\0\0" + b"\xff")  # masked text frame, one byte
                assert read_until_closed(sender, 10) == b"\x88\x02\x03\xef"  # close 1007
    assert not [record for record in records if record.exc_info or record.levelno >= logging.ERROR]
    assert len(records) <= 1  # the summed warning, unless one was logged less than 10 s ago
    assert_a_new_session_starts(live_server.ws_url)


def chunked_reset(pieces: list[bytes]) -> bytes:
    """A POST /reset whose body is sent as one chunk per piece."""
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces)
    return (
        b"POST /reset HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"
    )


def test_a_body_sent_in_thousands_of_tiny_chunks_gets_400_and_a_close(live_server):
    # h11 parses chunk by chunk, ~10 us each however small, and uvicorn pauses reading only
    # once a body is whole: one client's 1-byte chunks held every other session 3-13 s.
    from reasoning_economics.server.connections import FRAME_BURST

    body = json.dumps({"seed": 4, "tokenizer_name": "qwen3"}).encode()
    with open_connection(live_server.port) as sock:  # within the burst: served
        sock.sendall(chunked_reset([body[index : index + 1] for index in range(len(body))]))
        assert read_response(sock).startswith(b"HTTP/1.1 200")
    padded = body[:-1] + b" " * (3 * FRAME_BURST) + b"}"
    with open_connection(live_server.port) as sock:
        sock.sendall(chunked_reset([padded[index : index + 1] for index in range(len(padded))]))
        answer = read_until_closed(sock, 30)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    # The same body in a few large chunks, and many small requests on one connection, are served.
    with httpx.Client(base_url=live_server.base_url, timeout=30) as http:
        pieces = [padded[start : start + 2048] for start in range(0, len(padded), 2048)]
        assert http.post("/reset", content=iter(pieces), headers={"content-type": "application/json"}).status_code == 200
        assert http.post("/reset", json={"seed": 4, "tokenizer_name": "qwen3"}).status_code == 200
    small_request = b"POST /health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}"
    last = b"POST /health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
    with open_connection(live_server.port) as sock:  # pipelined, one piece of body each
        sock.sendall(small_request * (FRAME_BURST + 100) + last)
        answers = read_until_closed(sock, 60)
    assert answers.count(b"HTTP/1.1 405") == FRAME_BURST + 101 and b"HTTP/1.1 400" not in answers
