"""The OpenAI-compatible policy against a misbehaving server on 127.0.0.1.

Each test scripts the server's answer as raw bytes on the socket (a wrong Content-Encoding, a
body that drips or never ends, a gzip bomb, a redirect, a silent server, NaN in the JSON), and
checks that the policy ends with a typed error, in bounded time and memory, or reads the answer
as documented. Timeouts are short so every test takes well under a few seconds.
"""

from __future__ import annotations

import gzip
import json
import signal
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytest.importorskip("httpx")

from reasoning_economics.errors import ConfigError, PolicyEndpointError, PolicyTimeoutError  # noqa: E402
from reasoning_economics.policies import GenerationRequest, create_policy  # noqa: E402

SERVER_GIVES_UP_S = 8.0
"""The longest any scripted answer keeps writing, so a client that never stops reading (the
defects these tests guard against) shows up as a slow test, not a hung one."""


def completion(finish_reason: object = "stop", **choice_fields: object) -> dict:
    choice = {"index": 0, "message": {"role": "assistant", "content": "\\boxed{4}"}, **choice_fields}
    if finish_reason is not None:
        choice["finish_reason"] = finish_reason
    return {"choices": [choice], "usage": {"completion_tokens": 3}}


class HostileServer:
    """A ThreadingHTTPServer whose answers are scripted per test: ``answers`` is a queue of
    functions, one per request (the last one repeats), each writing the raw response."""

    def __init__(self) -> None:
        self.answers: list[Callable[[BaseHTTPRequestHandler], None]] = []
        self.requests = 0
        self.stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                server.requests += 1
                answer = server.answers.pop(0) if len(server.answers) > 1 else server.answers[0]
                try:
                    answer(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading, as it should
                self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    hostile = HostileServer()
    yield hostile
    hostile.close()


def send(status: int, body: bytes | dict, **headers: str) -> Callable[[BaseHTTPRequestHandler], None]:
    """An answer with a Content-Length, ``body`` as given (a dict is sent as JSON)."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body

    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            handler.send_header(key.replace("_", "-"), value)
        handler.end_headers()
        handler.wfile.write(data)

    return answer


def stream(status: int, pieces: Callable[[], bytes], *, pause: float = 0.0) -> Callable[[BaseHTTPRequestHandler], None]:
    """A chunked answer that writes ``pieces()`` again and again, ``pause`` seconds apart, until
    the client hangs up or SERVER_GIVES_UP_S pass; it never ends the body properly."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        started = time.monotonic()
        while time.monotonic() - started < SERVER_GIVES_UP_S:
            piece = pieces()
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            if pause:
                time.sleep(pause)

    return answer


def chat(**kwargs) -> GenerationRequest:
    return GenerationRequest(max_tokens=8, messages=({"role": "user", "content": "2+2?"},), **kwargs)


def make(server: HostileServer, **options):
    options = {"timeout": 1.0, "max_retries": 0, "backoff": 0.0, **options}
    return create_policy("openai:test-model", base_url=server.url, **options)


def generate_error(server: HostileServer, **options) -> tuple[PolicyEndpointError, float]:
    """The error one generate() call raises, and how long the call took."""
    policy = make(server, **options)
    started = time.monotonic()
    try:
        with pytest.raises(PolicyEndpointError) as caught:
            policy.generate([chat()])
    finally:
        policy.close()
    return caught.value, time.monotonic() - started


# ------------------------------------------------------------------ bodies that cannot be read
@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_body_that_does_not_match_its_content_encoding_is_an_endpoint_error(server, encoding):
    server.answers = [send(200, b"this is not compressed", Content_Encoding=encoding)]
    error, _ = generate_error(server)
    assert f"Content-Encoding {encoding!r}" in str(error) and error.status == 200


def test_error_answer_with_an_undecodable_body_keeps_its_status_and_is_retried(server):
    server.answers = [send(503, b"not gzip", Content_Encoding="gzip")]
    error, _ = generate_error(server, max_retries=1)
    assert error.status == 503 and server.requests == 2
    assert "HTTP 503" in str(error) and "Content-Encoding 'gzip'" in str(error)


def test_json_nested_too_deeply_is_an_endpoint_error(server):
    deep = b'{"choices":' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    server.answers = [send(200, deep)]
    error, _ = generate_error(server)
    assert "not JSON" in str(error) and "nested too deeply" in str(error) and error.status == 200


def test_error_answer_nested_too_deeply_keeps_the_api_key_hint(server):
    server.answers = [send(401, b'{"error":' + b"[" * 200_000 + b"]" * 200_000 + b"}")]
    error, _ = generate_error(server)
    assert error.status == 401 and "HTTP 401" in str(error) and "REE_API_KEY" in str(error)


# ------------------------------------------------------------------ time and memory bounds
def test_a_dripping_body_times_out_after_timeout_not_per_byte(server):
    # One byte every 0.1 s never trips httpx's per-read timeout of 0.5 s; the attempt's own
    # deadline must end it after about 0.5 s (at most one more read timeout), for both attempts.
    server.answers = [stream(200, lambda: b" ", pause=0.1)]
    error, took = generate_error(server, timeout=0.5, max_retries=1)
    assert isinstance(error, PolicyTimeoutError) and "within 0.5 s" in str(error)
    assert server.requests == 2 and took < 3.0


def test_a_body_that_never_ends_stops_at_max_response_bytes(server):
    server.answers = [stream(200, lambda: b" " * 65536)]
    error, took = generate_error(server, timeout=5.0, max_response_bytes=1_000_000)
    assert "max_response_bytes=1000000" in str(error) and not isinstance(error, PolicyTimeoutError)
    assert server.requests == 1 and took < 3.0  # not retried: the same answer would come again


def test_a_gzip_bomb_is_counted_after_decompression(server):
    bomb = gzip.compress(b'{"choices":[{"message":{"content":"' + b" " * 50_000_000 + b'"}}]}')
    assert len(bomb) < 100_000
    server.answers = [send(200, bomb, Content_Encoding="gzip")]
    error, _ = generate_error(server, max_response_bytes=1_000_000)
    assert "max_response_bytes" in str(error)


def test_an_error_body_is_read_only_as_far_as_its_message(server):
    # A 500 whose body never ends: the policy reads its first 64 KiB and reports the status.
    server.answers = [stream(500, lambda: b"E" * 65536)]
    error, took = generate_error(server, timeout=5.0)
    assert error.status == 500 and "HTTP 500: EEEE" in str(error) and took < 3.0


def test_a_normal_answer_fits_the_default_limit(server):
    server.answers = [send(200, completion())]
    policy = make(server)
    assert policy.config.max_response_bytes == 64 * 1024 * 1024
    [result] = policy.generate([chat()])
    assert (result.text, result.completion_tokens, result.finish_reason) == ("\\boxed{4}", 3, "stop")
    policy.close()


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "big"])
def test_max_response_bytes_must_be_a_positive_integer(value):
    with pytest.raises(ConfigError, match="max_response_bytes must be an integer >= 1"):
        create_policy("openai:m", max_response_bytes=value)


# ------------------------------------------------------------------ close() while a request hangs
def close_during_generate(
    server: HostileServer, requests_first: int = 1, **options
) -> tuple[float, float, BaseException | None]:
    """Start generate() in a thread, close the policy once the server has had ``requests_first``
    requests (and 0.3 s more); return how long close() took, how long generate() went on after
    close() began, and what generate() raised."""
    policy = make(server, **options)
    raised: list[BaseException | None] = []

    def run() -> None:
        try:
            policy.generate([chat(), chat()])
            raised.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the test's assertions
            raised.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    # Polled, not a fixed sleep: on a loaded machine the second request came after 0.3 s.
    deadline = time.monotonic() + 10
    while server.requests < requests_first and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)
    started = time.monotonic()
    closer = threading.Thread(target=policy.close, daemon=True)
    closer.start()
    closer.join(5)
    close_took = time.monotonic() - started
    worker.join(5)
    return close_took, time.monotonic() - started, raised[0] if raised else None


def test_close_stops_a_request_the_server_never_answers(server):
    server.answers = [lambda handler: server.stopping.wait(SERVER_GIVES_UP_S)]
    close_took, generate_took, raised = close_during_generate(server, timeout=4.0, max_retries=0, concurrency=1)
    assert close_took < 1.0 and generate_took < 1.0
    assert isinstance(raised, PolicyEndpointError) and "closed" in str(raised)
    assert server.requests == 1  # the second request was never sent


def test_close_stops_a_retry_wait(server):
    server.answers = [send(503, {"error": {"message": "busy"}})]
    close_took, generate_took, raised = close_during_generate(
        server, requests_first=2, max_retries=3, backoff=10.0, max_backoff=10.0
    )
    assert close_took < 1.0 and generate_took < 1.0
    assert isinstance(raised, PolicyEndpointError) and "closed" in str(raised)
    assert server.requests == 2  # both requests failed once; neither was retried after close()


@pytest.mark.skipif(signal.getsignal(signal.SIGINT) is not signal.default_int_handler,
                    reason="needs Python's own Ctrl-C handler")
def test_ctrl_c_during_generate_leaves_at_once(server):
    # Ctrl-C while generate() waits for its requests must not wait for the others to end first.
    server.answers = [lambda handler: server.stopping.wait(SERVER_GIVES_UP_S)]
    policy = make(server, timeout=3.0, concurrency=2)
    ctrl_c = threading.Timer(0.3, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT))
    started = time.monotonic()
    ctrl_c.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            policy.generate([chat(), chat()])
        interrupted_after = time.monotonic() - started
    finally:
        ctrl_c.cancel()
        policy.close()
    assert interrupted_after < 1.5


# ------------------------------------------------------------------ answers read as documented
@pytest.mark.parametrize("retry_after", ["NaN", "-5", "inf"])
def test_a_meaningless_retry_after_falls_back_to_the_backoff(server, retry_after):
    server.answers = [send(429, {"error": "slow down"}, Retry_After=retry_after), send(200, completion())]
    policy = make(server, max_retries=1, backoff=0.4, max_backoff=2.0)
    started = time.monotonic()
    [result] = policy.generate([chat()])
    took = time.monotonic() - started
    policy.close()
    assert result.text == "\\boxed{4}" and server.requests == 2
    assert 0.3 <= took < 1.5  # backoff * uniform(0.75, 1): no instant retry, no max_backoff wait


@pytest.mark.parametrize("status", [301, 302, 307])
def test_a_redirect_is_an_error_naming_its_location(server, status):
    server.answers = [send(status, completion(), Location="http://elsewhere.example/v1/chat/completions")]
    error, _ = generate_error(server, max_retries=2)
    assert error.status == status and server.requests == 1
    assert f"HTTP {status}" in str(error) and "http://elsewhere.example/v1/chat/completions" in str(error)


@pytest.mark.parametrize(
    ("sent", "reported"),
    [
        ("stop", "stop"),
        ("eos", "stop"),
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("tool_calls", "stop"),
        ("length", "length"),
        ("max_tokens", "length"),
        (None, None),  # the key is missing
        ("content_filter", None),
        ("abort", None),
        ({"a": [1]}, None),
    ],
)
def test_finish_reason_is_reported_only_when_known(server, sent, reported):
    server.answers = [send(200, completion(finish_reason=sent))]
    policy = make(server)
    [result] = policy.generate([chat()])
    policy.close()
    assert result.finish_reason == reported


def test_a_null_finish_reason_is_none(server):
    server.answers = [send(200, {"choices": [{"message": {"content": "x"}, "finish_reason": None}],
                                 "usage": {"completion_tokens": 1}})]
    policy = make(server)
    assert policy.generate([chat()])[0].finish_reason is None
    policy.close()


@pytest.mark.parametrize("logprob", ["NaN", "Infinity", "-Infinity", '"-1e999"', "-1" + "0" * 400])
def test_non_finite_logprobs_are_dropped(server, logprob):
    body = ('{"choices":[{"message":{"content":"a b"},"finish_reason":"stop","logprobs":{"content":'
            '[{"token":"a","logprob":-0.5},{"token":"b","logprob":%s}]}}],"usage":{"completion_tokens":2}}' % logprob)
    server.answers = [send(200, body.encode())]
    policy = make(server)
    [result] = policy.generate([chat(logprobs=True)])
    policy.close()
    assert result.text == "a b" and result.logprobs is None


@pytest.mark.parametrize("count", ["1" + "0" * 30, "1000001", "-1", "2.5", "1e30", "true", '"3"', "null"])
def test_an_implausible_token_count_is_not_taken(server, count):
    body = '{"choices":[{"message":{"content":"hello world again"},"finish_reason":"stop"}],"usage":{"completion_tokens":%s}}'
    server.answers = [send(200, (body % count).encode())]
    error, _ = generate_error(server)
    assert "no usable usage.completion_tokens (got " in str(error) and "pass tokenizer=<name>" in str(error)
    policy = make(server, tokenizer="qwen3")  # counts the text instead
    [result] = policy.generate([chat()])
    policy.close()
    assert result.completion_tokens == 3


def test_the_largest_plausible_token_count_is_taken(server):
    server.answers = [send(200, {"choices": [{"message": {"content": "x"}, "finish_reason": "length"}],
                                 "usage": {"completion_tokens": 1_000_000}})]
    policy = make(server)
    assert policy.generate([chat()])[0].completion_tokens == 1_000_000
    policy.close()
