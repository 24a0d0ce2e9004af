"""TCP connections: the limits uvicorn leaves to a reverse proxy, for a server that runs without one.

- **A deadline for receiving each HTTP request.** uvicorn times out only idle keep-alive
  connections, and any byte received cancels that timer. A client that opens connections and
  sends a request a byte at a time, or half a request line and then nothing (slowloris), holds
  a file descriptor each for as long as it likes: a few thousand such connections, opened in
  a fraction of a second, used up every descriptor and locked every other client out. Each
  connection now has ``request_timeout_s`` to deliver a complete request (headers and body;
  for ``/ws``, the upgrade request, and the deadline lasts until the handshake completes),
  counted again after each response on a kept-alive connection. A connection that misses it
  is closed. A request being answered, however long it takes, and an open WebSocket session
  are never cut by it.
- **An upgrade request that websockets refuses is answered.** uvicorn neither answered nor
  closed one (a DEL byte in a header value, over 128 headers, a header line over 8 KiB):
  300 such requests held 300 descriptors for as long as the client liked. It now gets the
  ``400``, ``414`` or ``431`` that websockets makes of it, and the connection is closed.
- **A request head of a bounded size.** h11 limits only a head that arrives in pieces; one
  that arrives in a single read is parsed whole, one header at a time. A ``GET /health``
  with 24,000 empty headers (96 KB) held the event loop 90-130 ms, before any token was
  checked, and 33,000 query parameters 40-90 ms: eight clients sending them held every other
  session's replies over a second. A request line over ``MAX_REQUEST_LINE_BYTES``, a head
  over ``MAX_REQUEST_HEAD_BYTES`` or with over ``MAX_HEADER_LINES`` header lines is answered
  ``400`` and the connection closed, before h11 parses any of it. The limits are those of
  the WebSocket handshake (websockets: 128 headers, 8 KiB a line) and h11's own for a head
  in pieces (16 KiB).
- **A peer that stops reading is dropped.** Once the transport has paused writing (the
  client left over 64 KiB of answers unread, on top of the kernel's buffers), nothing ever
  timed the connection out: an HTTP response or WebSocket reply waiting to be written is not
  a request being awaited, the idle timeout only runs while the session waits for a message,
  and uvicorn's ``transport.close()`` waits for the buffer to drain, which it never does. A
  client that pipelined requests (or sent WebSocket messages) and read nothing held its
  connection, and on ``/ws`` its session slot, for as long as it liked: with
  ``--max-sessions 1`` one such client locked every other one out, whatever
  ``--session-timeout`` said. A connection whose writing stays paused for
  ``request_timeout_s`` (HTTP) or the keepalive's ``ws_ping_timeout`` (WebSocket: as long as
  a peer may leave a ping unanswered) is aborted, and its session ends as if it had vanished.
- **A close that the peer does not take is aborted.** Below those 64 KiB the transport never
  pauses, but whenever uvicorn (or the app) gives a connection up it calls
  ``transport.close()``, which waits for the buffer to drain: the request deadline, uvicorn's
  keep-alive timer, the close handshake's timer after ``SESSION_TIMEOUT``, a keepalive ping
  timeout. A peer that read nothing and kept its receive window shut held the descriptor
  for ever that way. Each close now gives the peer ``request_timeout_s`` to take the rest
  (and, on ``/ws``, as long to answer the close frame, uvicorn's ``close_timeout``), then
  aborts (:class:`CloseWithinGrace`). When uvicorn closes a WebSocket connection on its
  own (a keepalive ping timeout, a protocol error), the application's next send is a
  disconnect instead of uvicorn's ``RuntimeError``, which was logged with a traceback.
- **A WebSocket peer that pings without reading is dropped.** uvicorn's WebSocket protocol
  holds back a client's messages until the application has read the previous one, and the
  application waits to send until the client reads (uvicorn 0.53 and later). Pings skip
  both: each is answered at once, and the answers pile up in memory when the client reads
  nothing. One such client grew the server by 570 MB in 20 s, without end. Once the client
  has stopped reading (the transport has paused writing), ``MAX_PINGS_WHILE_UNREAD`` more
  pings drop the connection; its session ends as if it had vanished. A client's keepalive
  pings come every few seconds, so only a flood gets there.
- **Enough file descriptors to begin with.** Many systems start processes with a soft limit
  of 1,024 open files, which the default ``--max-sessions`` alone uses up. ``ree serve`` (and
  ``ree bench``'s load client) raise the soft limit to what they need when the hard limit
  allows (:func:`raise_open_file_limit`), and say so when it does not.
- **A calm log when clients send invalid UTF-8 or invalid HTTP, or are refused.** uvicorn logs
  each text frame of invalid UTF-8 (a client's mistake, answered with close code 1007) at ERROR
  with a traceback: one client opening connections that each send one such byte wrote 490 KB
  of log a second. It logs each request that is not valid HTTP (answered 400) too: 47 KB a
  second from one client, and each request asking to upgrade to h2c (answered as if it had
  not asked): 90 KB a second. These are summed into one warning every ``throttled_log.LOG_INTERVAL_S``
  (:func:`install_calm_client_error_logs`). A WebSocket handshake refused with an HTTP
  answer (401 or 403 without the right token) no longer logs a spurious "ASGI callable
  returned without completing handshake." error for each refused client.
- **A calm log when the process is out of file descriptors.** On ``EMFILE`` asyncio logs one
  traceback per attempt to accept a waiting connection, thousands a second under such a
  flood (335 MB of log in a minute here), and schedules as many retries. Those messages are
  summed into one warning every ``throttled_log.LOG_INTERVAL_S`` that says what to do.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import resource
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from reasoning_economics.server import DEFAULT_REQUEST_TIMEOUT_S
from reasoning_economics.server.throttled_log import ThrottledLog

logger = logging.getLogger(__name__)

# Keepalive pings come every 20 s or so: this many while a client reads nothing is a flood.
MAX_PINGS_WHILE_UNREAD = 1000
# Pings, pongs and a message's fragments a WebSocket client may send, and small pieces of an
# HTTP body (under SMALL_BODY_PIECE_BYTES: 1-byte chunks, or a body trickled in tiny segments):
# a burst, then so many a second. Keepalive pings come every 20 s; a client fragmenting a large
# message or chunking a body sends kilobytes a piece. One client sending empty frames or 1-byte
# chunks at 1.3 MB/s took the event loop, each costing ~10 us to parse however small.
FRAME_BURST = 2000
FRAMES_PER_S = 200
SMALL_BODY_PIECE_BYTES = 1024
# websockets parses every frame of what it is given before uvicorn sees one: a 64 KiB read of
# 6-byte pongs is 10,000 frames, 50-100 ms of the event loop, however early the limit above drops
# the client. It is given at most this much at a time.
READ_SLICE_BYTES = 16 * 1024
OUT_OF_DESCRIPTORS = "socket.accept() out of system resource"  # asyncio's message for EMFILE and kin
# The client still owes us (part of) its request: no request yet, or its body is arriving.
WAITING_FOR_REQUEST = (h11.IDLE, h11.SEND_BODY)
MAX_REQUEST_LINE_BYTES = 8 * 1024
MAX_REQUEST_HEAD_BYTES = 16 * 1024
MAX_HEADER_LINES = 128
# Where h11 ends a request head: a blank line, its CR optional.
_HEAD_END = re.compile(rb"\n\r?\n")


DEFAULT_WRITE_STALL_S = 120.0
"""How long a WebSocket peer may leave the server's writing paused when keepalive is off."""


class Allowance:
    """So many events at once (``burst``), then ``per_s`` a second: a token bucket."""

    def __init__(self, burst: int = FRAME_BURST, per_s: float = FRAMES_PER_S) -> None:
        self.burst, self.per_s = burst, per_s
        self._left, self._at = float(burst), time.monotonic()

    def spend(self) -> bool:
        """Take one event from the allowance; False, taking nothing, when none is left."""
        now = time.monotonic()
        self._left, self._at = min(self.burst, self._left + (now - self._at) * self.per_s), now
        if self._left < 1:
            return False
        self._left -= 1
        return True


def cancel_timer(timer: asyncio.TimerHandle | None) -> None:
    """Cancel ``timer`` if there is one; returns None, for ``self._timer = cancel_timer(self._timer)``."""
    if timer is not None:
        timer.cancel()


_stalled_readers = ThrottledLog(
    logger, "dropped connections that left the server's answers unread too long (clients that stopped reading)"
)


def abort_unread(transport: Any) -> None:
    """Drop a connection whose peer left the server's answers unread too long, counting it in the log."""
    _stalled_readers.happened()
    transport.abort()


class WriteStallLimit:
    """Aborts the connection when its transport stays paused for writing ``write_stall_limit_s()`` seconds.

    Mixed into the protocols below, ahead of uvicorn's: ``pause_writing`` and
    ``resume_writing`` are asyncio's flow-control callbacks. ``abort`` rather than ``close``,
    since ``close`` would wait for the peer to read what is buffered."""

    transport: Any
    loop: asyncio.AbstractEventLoop
    _write_stall: asyncio.TimerHandle | None = None

    def write_stall_limit_s(self) -> float:
        raise NotImplementedError

    def pause_writing(self) -> None:
        super().pause_writing()  # type: ignore[misc]
        if self._write_stall is None:
            self._write_stall = self.loop.call_later(self.write_stall_limit_s(), self._write_stalled)

    def resume_writing(self) -> None:
        self._disarm_write_stall()
        super().resume_writing()  # type: ignore[misc]

    def _disarm_write_stall(self) -> None:
        self._write_stall = cancel_timer(self._write_stall)

    def _write_stalled(self) -> None:
        self._write_stall = None
        abort_unread(self.transport)


class _TransportClosedWithinGrace:
    """An asyncio transport whose ``close()`` turns into ``abort()`` after ``grace_s`` seconds.

    asyncio's ``close()`` waits until the peer has taken everything buffered, which a peer
    that never reads never does. A proxy rather than a hook in each protocol, since uvicorn
    calls ``transport.close()`` from a dozen places; everything but ``close`` is the transport's.
    """

    def __init__(self, transport: Any, loop: asyncio.AbstractEventLoop, grace_s: float) -> None:
        self._transport = transport
        self._loop = loop
        self.grace_s = grace_s
        self._abort_timer: asyncio.TimerHandle | None = None
        self._lost = False

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._transport, name)
        if callable(value):
            setattr(self, name, value)  # write() and friends skip __getattr__ from now on
        return value

    def close(self) -> None:
        self._transport.close()
        if self._abort_timer is None and not self._lost:
            self._abort_timer = self._loop.call_later(self.grace_s, self._unread_at_close)

    def connection_lost(self) -> None:
        """The protocol saw the connection end: nothing to abort (uvicorn closes again after this)."""
        self._lost = True
        self._abort_timer = cancel_timer(self._abort_timer)

    def _unread_at_close(self) -> None:
        self._abort_timer = None
        abort_unread(self._transport)


class CloseWithinGrace:
    """Gives the connection's transport a ``close()`` that aborts after ``close_grace_s()``.

    Mixed into the protocols below, ahead of uvicorn's. A WebSocket protocol upgraded from
    an HTTP one is handed the HTTP protocol's proxy, and keeps it with its grace."""

    transport: Any
    loop: asyncio.AbstractEventLoop

    def close_grace_s(self) -> float:
        raise NotImplementedError

    def connection_made(self, transport: Any) -> None:
        if not isinstance(transport, _TransportClosedWithinGrace):
            transport = _TransportClosedWithinGrace(transport, self.loop, self.close_grace_s())
        super().connection_made(transport)  # type: ignore[misc]

    def connection_lost(self, exc: Exception | None) -> None:
        if isinstance(self.transport, _TransportClosedWithinGrace):
            self.transport.connection_lost()
        super().connection_lost(exc)  # type: ignore[misc]


def request_head_problem(received: bytes) -> str | None:
    """Why the request head at the start of ``received`` (what h11 holds while it waits for
    one) is refused, or None: its request line, whole size or number of header lines over the
    limits. Found by searching bytes, without parsing a header."""
    end = _HEAD_END.search(received, 0, MAX_REQUEST_HEAD_BYTES + 3)
    if end is None and len(received) > MAX_REQUEST_HEAD_BYTES:
        return f"request head over {MAX_REQUEST_HEAD_BYTES:,} bytes"
    head_size = len(received) if end is None else end.start()
    line_end = received.find(b"\n", 0, head_size)
    if (head_size if line_end < 0 else line_end) > MAX_REQUEST_LINE_BYTES:
        return f"request line over {MAX_REQUEST_LINE_BYTES:,} bytes"
    if received.count(b"\n", 0, head_size) > MAX_HEADER_LINES:
        return f"more than {MAX_HEADER_LINES} header lines"
    return None


def http_protocol_with_deadline(request_timeout: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol, closing connections that do not deliver a complete request in time.

    Pass it as ``uvicorn.Config(http=...)``. ``h11`` rather than uvicorn's ``auto`` choice:
    the deadline reads h11's connection state, and only the WebSocket handshake and the
    stateless routes go through this protocol, so httptools' speed would not show in steps.
    """
    if not request_timeout > 0:
        raise ValueError(f"the request timeout must be positive, got {request_timeout}")
    stalled = ThrottledLog(
        logger,
        f"closed connections that sent no complete request within {request_timeout:g} s "
        "(slow or stalled clients; ree serve --request-timeout sets the limit)"
    )

    class RequestDeadlineProtocol(CloseWithinGrace, WriteStallLimit, H11Protocol):
        request_timeout_s: ClassVar[float] = request_timeout
        _deadline: asyncio.TimerHandle | None = None

        def write_stall_limit_s(self) -> float:
            return self.request_timeout_s

        def close_grace_s(self) -> float:
            return self.request_timeout_s

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm_deadline()
            # uvicorn reads events from h11 one by one, each small body piece among them, until
            # the read is used up: a piece over the allowance is made a protocol error, which
            # uvicorn answers with 400 and a close. A request's first piece is not counted: a
            # client sending many small requests on one connection sends one piece each.
            small_pieces, next_event = Allowance(), self.conn.next_event
            pieces_of_request = 0

            def next_event_within_allowance() -> Any:
                nonlocal pieces_of_request
                if self.conn.their_state is h11.IDLE:
                    problem = request_head_problem(self.conn.trailing_data[0])
                    if problem is not None:
                        _oversized_heads.happened()
                        raise h11.RemoteProtocolError(problem)
                event = next_event()
                if type(event) is h11.Request:
                    pieces_of_request = 0
                elif type(event) is h11.Data and len(event.data) < SMALL_BODY_PIECE_BYTES:
                    pieces_of_request += 1
                    if pieces_of_request > 1 and not small_pieces.spend():
                        _small_body_pieces.happened()
                        raise h11.RemoteProtocolError("too many small pieces of a request body")
                return event

            self.conn.next_event = next_event_within_allowance  # type: ignore[method-assign]

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm_deadline()

        def handle_websocket_upgrade(self, event: h11.Request) -> None:
            # Nothing else times a WebSocket connection out before its handshake completes
            # (keepalive pings and the session's idle timeout start after it), so the deadline
            # carries over to the WebSocket protocol; not kept here, as this timer would keep
            # this object alive with it.
            deadline = None if self._deadline is None else self._deadline.when()
            self._disarm_deadline()
            self._disarm_write_stall()
            super().handle_websocket_upgrade(event)
            websocket = self.transport.get_protocol()
            if deadline is not None and isinstance(websocket, UnreadPingLimitProtocol):
                websocket.complete_handshake_by(deadline, stalled.happened)
            # uvicorn hands the WebSocket protocol the upgrade request only; what the client sent
            # after it in the same read stays in h11's buffer. Frames sent along with the
            # handshake (without waiting for the 101) were dropped: no reply, no close, and every
            # later reply answered the wrong message. They go where a later read's bytes go.
            early, _ = self.conn.trailing_data
            if early and websocket is not self and not self.transport.is_closing():
                websocket.data_received(early)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_deadline()
            self._disarm_write_stall()
            super().connection_lost(exc)

        def _arm_deadline(self) -> None:
            self._disarm_deadline()
            if not self.transport.is_closing():
                self._deadline = self.loop.call_later(self.request_timeout_s, self._deadline_passed)

        def _disarm_deadline(self) -> None:
            self._deadline = cancel_timer(self._deadline)

        def _deadline_passed(self) -> None:
            self._deadline = None
            if self.transport.is_closing() or self.transport.get_protocol() is not self:
                return  # closed already, or now a WebSocket session with its own timeout
            if self.conn.their_state in WAITING_FOR_REQUEST:
                stalled.happened()
                self.transport.close()

    return RequestDeadlineProtocol


# For ``uvicorn reasoning_economics.server.app:app --http reasoning_economics.server.connections:DeadlineH11Protocol
# --ws reasoning_economics.server.connections:UnreadPingLimitProtocol``: the deadline covers the
# WebSocket handshake with that ``--ws`` only.
DeadlineH11Protocol = http_protocol_with_deadline(DEFAULT_REQUEST_TIMEOUT_S)

_unread_pongs = ThrottledLog(
    logger, f"dropped WebSocket clients that sent over {MAX_PINGS_WHILE_UNREAD} pings while reading nothing back"
)
_oversized_heads = ThrottledLog(
    logger,
    f"answered 400 and closed HTTP connections whose request line passed {MAX_REQUEST_LINE_BYTES:,} bytes, "
    f"or whose head passed {MAX_REQUEST_HEAD_BYTES:,} bytes or {MAX_HEADER_LINES} header lines"
)
_small_body_pieces = ThrottledLog(
    logger,
    f"answered 400 and closed HTTP connections that sent a body in pieces under {SMALL_BODY_PIECE_BYTES} bytes "
    f"faster than {FRAMES_PER_S} a second after a burst of {FRAME_BURST}"
)
_frame_floods = ThrottledLog(
    logger,
    f"closed WebSocket connections (1008) that sent pings, pongs or message fragments faster than "
    f"{FRAMES_PER_S} a second after a burst of {FRAME_BURST}"
)


class UnreadPingLimitProtocol(CloseWithinGrace, WriteStallLimit, WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol, dropping a peer that pings while reading nothing back or
    stops reading altogether, aborting a close the peer does not take, answering upgrade
    requests that websockets refuses, and holding the request deadline until the handshake
    completes (see the module docstring)."""

    _pings_while_unread = 0
    _handshake_deadline: asyncio.TimerHandle | None = None
    _app_sent_close = False
    _before_handshake: bytearray | None = None

    def write_stall_limit_s(self) -> float:
        return self.ping_timeout or DEFAULT_WRITE_STALL_S

    def close_grace_s(self) -> float:
        return DEFAULT_REQUEST_TIMEOUT_S  # not upgraded from our HTTP protocol: no --request-timeout to go by

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # uvicorn's close handshake waits 10 s for the peer's close frame, then closes; one
        # grace for both keeps a dropped connection's lifetime to what --request-timeout says.
        self.close_timeout = self.transport.grace_s
        self._frames = Allowance()

    async def send(self, message: Any) -> None:
        kind = message["type"]
        if kind in ("websocket.send", "websocket.close") and self.close_sent and not self._app_sent_close:
            if self.initial_response is None and self.handshake_complete:
                # uvicorn closed the connection itself (keepalive ping timeout, protocol error)
                # without telling the application, then answers its next send with a
                # RuntimeError ("Unexpected ASGI message ... after sending 'websocket.close'"),
                # logged with a traceback. For the application the client is gone.
                raise ClientDisconnected()
        if kind == "websocket.close":
            self._app_sent_close = True
        await super().send(message)
        if kind == "websocket.http.response.body" and self.close_sent:
            # uvicorn sends a denial response (a 401 or 403 without the right token) but,
            # unlike its own 403, leaves the handshake marked incomplete: when the application
            # then returns it logs "ASGI callable returned without completing handshake." at
            # ERROR, once per refused client (13,000 lines in 10 s from one unauthenticated client).
            self.handshake_complete = True
        if kind == "websocket.accept" and self._before_handshake is not None and self.handshake_complete:
            early, self._before_handshake = bytes(self._before_handshake), None
            self.data_received(early)
            if not self.read_paused and not self.transport.is_closing():
                self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        if self.handshake_initiated and not self.handshake_complete:
            # Frames a client sends without waiting for the 101 (RFC 6455 forbids it, some
            # clients do it; see RequestDeadlineProtocol.handle_websocket_upgrade). websockets
            # would parse them now, and uvicorn answer them before the handshake: a pong ahead
            # of the 101, an AssertionError for a protocol error, an InvalidState traceback for
            # invalid UTF-8. They wait, and reading with them, until the application accepts
            # (at once; the request deadline bounds the wait), then are read as if just arrived.
            # An upgrade the application refuses discards them with the connection.
            if self._before_handshake is None:
                self._before_handshake = bytearray()
            self._before_handshake += data
            self.transport.pause_reading()
            return
        if self.handshake_complete and len(data) > READ_SLICE_BYTES:
            view = memoryview(data)
            for start in range(0, len(data), READ_SLICE_BYTES):
                if self.transport.is_closing():
                    return
                super().data_received(bytes(view[start : start + READ_SLICE_BYTES]))
            return
        super().data_received(data)
        if self.conn.handshake_exc is not None and not self.handshake_initiated:
            self._refuse_handshake()

    def _refuse_handshake(self) -> None:
        # websockets refused the upgrade request before making a Request event of it. It then
        # queues its answer (431 or 414; for a request it cannot parse, only the end of the
        # stream) and emits no event, while uvicorn acts on events and ``parser_exc`` only: it
        # wrote nothing and never closed the connection.
        output = [chunk for chunk in self.conn.data_to_send() if chunk]  # b"": end of stream
        if not output:
            text = f"Failed to open a WebSocket connection: {self.conn.handshake_exc}.\n"
            output = [self.conn.reject(HTTPStatus.BAD_REQUEST, text).serialize()]
        self.handshake_complete = self.close_sent = True  # as uvicorn's own refusals: no 500 at shutdown
        self.transport.write(b"".join(output))
        self.transport.close()

    def complete_handshake_by(self, when: float, missed: Callable[[], None]) -> None:
        """Close the connection, and call ``missed``, if its handshake has not completed at
        loop time ``when`` (the request deadline of the HTTP connection it was upgraded from)."""
        if not self.handshake_complete and not self.transport.is_closing():
            self._handshake_deadline = self.loop.call_at(when, self._handshake_deadline_passed, missed)

    def _handshake_deadline_passed(self, missed: Callable[[], None]) -> None:
        self._handshake_deadline = None
        if not self.handshake_complete and not self.transport.is_closing():
            missed()
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._handshake_deadline = cancel_timer(self._handshake_deadline)
        self._disarm_write_stall()
        super().connection_lost(exc)

    def resume_writing(self) -> None:
        self._pings_while_unread = 0
        super().resume_writing()

    def _frame_allowed(self) -> bool:
        """Whether another ping, pong or fragment is within FRAME_BURST and FRAMES_PER_S; when
        not, the connection is closed with 1008. uvicorn pauses reading only after a whole
        message, so nothing else bounds what these frames cost the event loop."""
        if self.transport.is_closing() or self.close_sent:
            return False  # closed by an earlier frame of the same read
        if self._frames.spend():
            return True
        _frame_floods.happened()
        self.conn.send_close(1008, "too many pings, pongs or message fragments")
        self.handle_parser_exception()  # uvicorn's way out: tell the application, send the close, close
        return False

    def handle_pong(self, event: Any) -> None:
        if self._frame_allowed():
            super().handle_pong(event)

    def handle_cont(self, event: Any) -> None:
        if not self._frame_allowed():
            return
        # uvicorn keeps each fragment as its own bytes object, about 55 bytes of memory on top of
        # its data: one client's 8 million 1-byte fragments held 430 MB. They are joined as they come.
        if len(self.frames) == 1 and isinstance(self.frames[0], bytearray):
            self.frames[0] += event.data
        else:
            self.frames = [bytearray(b"".join(self.frames)) + event.data]
        if event.fin:
            self.frames = [bytes(self.frames[0])]
            self.send_receive_event_to_app()

    def handle_ping(self) -> None:
        if not self._frame_allowed():
            return
        if not self.writable.is_set():  # the transport paused writing: the peer reads nothing
            self._pings_while_unread += 1
            if self._pings_while_unread > MAX_PINGS_WHILE_UNREAD:
                _unread_pongs.happened()
                self.transport.abort()  # close() would wait to send what the peer does not read
                return
        super().handle_ping()


def descriptors_needed(sessions: int) -> int:
    """Open files a server of ``sessions`` WebSocket sessions may need: one per session, as many
    again for connections being opened, answered or refused, and 256 for the rest (grading
    workers' pipes, logs, files read at start)."""
    return 2 * sessions + 256


def raise_open_file_limit(needed: int) -> float:
    """Raise this process's soft open-file limit to ``needed`` if the hard limit allows (it is
    never lowered), and return the soft limit now in force (``math.inf`` when unlimited)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return math.inf
    if soft >= needed:
        return soft
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if target <= soft:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as exc:  # macOS caps the soft limit below an unlimited hard one
        logger.warning("could not raise the open-file limit from %d to %d: %s", soft, target, exc)
        return soft
    return target


UVICORN_INVALID_UTF8 = "Invalid UTF-8 sequence received from client."  # uvicorn's message, with a traceback
UVICORN_INVALID_HTTP = "Invalid HTTP request received."  # uvicorn's message, once per bad request
UVICORN_UNSUPPORTED_UPGRADE = "Unsupported upgrade request."  # uvicorn's message, once per request asking for h2c and kin


class _ClientErrorsSummed(logging.Filter):
    """Drops uvicorn's per-frame invalid UTF-8, per-request invalid HTTP and unsupported-upgrade
    records, counting them in throttled warnings."""

    def __init__(self) -> None:
        super().__init__()
        self.invalid_utf8 = ThrottledLog(logger, "closed WebSocket connections that sent text of invalid UTF-8 (code 1007)")
        self.invalid_http = ThrottledLog(logger, "answered 400 to requests that are not valid HTTP/1.1")
        self.unsupported_upgrade = ThrottledLog(
            logger,
            "answered requests asking to upgrade to a protocol other than WebSocket (h2c and kin) without upgrading"
        )

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == UVICORN_INVALID_UTF8:
            self.invalid_utf8.happened()
            return False
        if record.msg == UVICORN_INVALID_HTTP:
            self.invalid_http.happened()
            return False
        if record.msg == UVICORN_UNSUPPORTED_UPGRADE:
            self.unsupported_upgrade.happened()
            return False
        return True


_client_errors_summed = _ClientErrorsSummed()


def install_calm_client_error_logs() -> None:
    """Sum up uvicorn's log records of clients' invalid UTF-8, invalid HTTP requests and unsupported
    upgrades (once per process, however many servers)."""
    uvicorn_errors = logging.getLogger("uvicorn.error")
    if _client_errors_summed not in uvicorn_errors.filters:
        uvicorn_errors.addFilter(_client_errors_summed)


def install_calm_accept_errors(loop: asyncio.AbstractEventLoop) -> None:
    """Make ``loop`` sum up its out-of-descriptors accept errors instead of logging each one."""
    out_of_descriptors = ThrottledLog(
        logger,
        lambda: f"out of file descriptors (this process may open {resource.getrlimit(resource.RLIMIT_NOFILE)[0]:,}): "
        "new connections wait until others close. Raise the limit (ulimit -n) or lower --max-sessions"
    )
    previous = loop.get_exception_handler()

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") == OUT_OF_DESCRIPTORS:
            out_of_descriptors.happened()
        elif previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handle)
