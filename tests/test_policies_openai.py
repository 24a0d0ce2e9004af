"""The OpenAI-compatible policy against a real HTTP server on 127.0.0.1 that speaks the API's
shape (``POST /v1/chat/completions`` and ``/v1/completions`` with ``usage`` and ``finish_reason``).

The fake server answers deterministically from the request: the reply is the last message's
words reversed, cut to ``max_tokens`` words (one word = one token in its accounting), so every
expected value below is worked out from the request alone.
"""

from __future__ import annotations

import json
import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytest.importorskip("httpx")

from reasoning_economics.errors import ConfigError, PolicyEndpointError, PolicyTimeoutError  # noqa: E402
from reasoning_economics.policies import GenerationRequest, Policy, create_policy  # noqa: E402


class FakeServer:
    """A ThreadingHTTPServer with a programmable queue of failures and a request log."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.headers: list[dict] = []
        self.failures: list[int] = []  # statuses to answer before succeeding, consumed in order
        self.delay = 0.0
        self.barrier: threading.Barrier | None = None
        self.in_flight = 0
        self.max_in_flight = 0
        self.no_usage = False
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.bodies.append(body)
                    server.headers.append(dict(self.headers))
                    failure = server.failures.pop(0) if server.failures else None
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    if failure is not None:
                        return self._send(failure, {"error": {"message": f"scripted failure {failure}"}},
                                          {"Retry-After": "0"} if failure == 429 else {})
                    if server.barrier is not None:
                        server.barrier.wait(timeout=20)
                    if server.delay:
                        time.sleep(server.delay)
                    if self.path == "/v1/chat/completions":
                        return self._send(200, server.chat(body))
                    if self.path == "/v1/completions":
                        return self._send(200, server.completion(body))
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                finally:
                    with server.lock:
                        server.in_flight -= 1

            def _send(self, status, payload, headers=None):
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in (headers or {}).items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @staticmethod
    def reply_words(text: str, limit: int) -> tuple[list[str], str]:
        words = text.split()[::-1]
        return (words[:limit], "length") if len(words) > limit else (words, "stop")

    def usage(self, completion: int) -> dict:
        return {} if self.no_usage else {"usage": {"prompt_tokens": 7, "completion_tokens": completion, "total_tokens": 7 + completion}}

    def chat(self, body: dict) -> dict:
        limit = body.get("max_tokens", body.get("max_completion_tokens"))
        words, finish = self.reply_words(body["messages"][-1]["content"], limit)
        choice = {"index": 0, "message": {"role": "assistant", "content": " ".join(words)}, "finish_reason": finish}
        if body.get("logprobs"):
            choice["logprobs"] = {"content": [{"token": w, "logprob": -0.5 * (i + 1)} for i, w in enumerate(words)]}
        return {"id": "chatcmpl-1", "object": "chat.completion", "model": body["model"], "choices": [choice], **self.usage(len(words))}

    def completion(self, body: dict) -> dict:
        words, finish = self.reply_words(body["prompt"], body["max_tokens"])
        choice = {"index": 0, "text": " ".join(words), "finish_reason": finish}
        if body.get("logprobs"):
            choice["logprobs"] = {"tokens": words, "token_logprobs": [-1.0] * len(words)}
        return {"id": "cmpl-1", "object": "text_completion", "model": body["model"], "choices": [choice], **self.usage(len(words))}

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    fake = FakeServer()
    yield fake
    fake.close()


def chat(text: str, max_tokens: int = 10, **kwargs) -> GenerationRequest:
    return GenerationRequest(max_tokens=max_tokens, messages=[{"role": "user", "content": text}], **kwargs)


def make(server, **options):
    options.setdefault("backoff", 0.01)
    return create_policy("openai:test-model", base_url=server.url, **options)


def test_chat_completion_text_usage_and_finish_reason(server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("REE_API_KEY", "sekrit")
    policy = make(server, temperature=0.7, seed=5)
    assert isinstance(policy, Policy) and policy.name == "openai:test-model"
    short, cut = policy.generate([chat("one two three"), chat("a b c d e f", max_tokens=4, logprobs=True)])
    assert (short.text, short.completion_tokens, short.finish_reason, short.logprobs) == ("three two one", 3, "stop", None)
    assert (cut.text, cut.completion_tokens, cut.finish_reason) == ("f e d c", 4, "length")
    assert cut.logprobs == (-0.5, -1.0, -1.5, -2.0)
    first = next(b for b in server.bodies if b["messages"][-1]["content"] == "one two three")
    assert first == {"model": "test-model", "max_tokens": 10, "temperature": 0.7, "seed": 5,
                     "messages": [{"role": "user", "content": "one two three"}]}
    assert all(h["Authorization"] == "Bearer sekrit" for h in server.headers)
    policy.close()
    policy.close()
    with pytest.raises(ConfigError, match="closed"):
        policy.generate([chat("x")])


def test_prefix_is_a_final_assistant_message_continued_the_vllm_way(server):
    policy = make(server)
    assert policy.supports_prefix
    [result] = policy.generate([chat("x y", prefix="<think>partial", seed=11)])
    body = server.bodies[-1]
    assert body["messages"][-1] == {"role": "assistant", "content": "<think>partial"}
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False
    assert body["seed"] == 11
    assert result.text == "<think>partial"  # the fake reverses the last message's words
    no_prefix = make(server, prefix_continuation=False)
    assert not no_prefix.supports_prefix
    with pytest.raises(ConfigError, match="prefix_continuation"):
        no_prefix.generate([chat("x", prefix="a")])
    policy.close()
    no_prefix.close()


def test_raw_prompts_use_the_completions_endpoint(server):
    policy = make(server, max_tokens_field="max_tokens", extra_body={"top_k": 3})
    [result] = policy.generate([GenerationRequest(max_tokens=5, prompt="alpha beta", prefix=" gamma", logprobs=True)])
    assert (result.text, result.completion_tokens, result.finish_reason) == ("gamma beta alpha", 3, "stop")
    assert result.logprobs == (-1.0, -1.0, -1.0)
    assert server.bodies[-1]["prompt"] == "alpha beta gamma" and server.bodies[-1]["top_k"] == 3
    policy.close()


def test_retries_503_and_429_then_succeeds(server):
    server.failures = [503, 429, 502]
    policy = make(server, max_retries=3)
    [result] = policy.generate([chat("p q")])
    assert result.text == "q p"
    assert len(server.bodies) == 4  # three failures, then the answer
    policy.close()


def test_gives_up_after_the_retries_with_the_servers_message(server):
    server.failures = [503] * 3
    policy = make(server, max_retries=2)
    with pytest.raises(PolicyEndpointError, match="HTTP 503: scripted failure 503 \\(after 3 attempts\\)") as caught:
        policy.generate([chat("p q")])
    assert caught.value.status == 503 and len(server.bodies) == 3
    policy.close()


def test_client_errors_fail_at_once(server):
    server.failures = [400]
    policy = make(server, max_retries=5)
    with pytest.raises(PolicyEndpointError, match="HTTP 400") as caught:
        policy.generate([chat("p")])
    assert caught.value.status == 400 and len(server.bodies) == 1
    server.failures = [401]
    with pytest.raises(PolicyEndpointError, match="REE_API_KEY"):
        policy.generate([chat("p")])
    policy.close()


def test_timeout_is_a_typed_error_after_retries(server):
    server.delay = 2.0
    policy = make(server, timeout=0.2, max_retries=1)
    with pytest.raises(PolicyTimeoutError, match="no answer within 0.2 s") as caught:
        policy.generate([chat("slow")])
    assert caught.value.code == "POLICY_TIMEOUT" and len(server.bodies) == 2
    policy.close()


def test_connection_refused_is_an_endpoint_error():
    policy = create_policy("openai:m", base_url="http://127.0.0.1:9/v1", max_retries=1, backoff=0.01)
    with pytest.raises(PolicyEndpointError, match="connection failed"):
        policy.generate([chat("x")])
    policy.close()


def test_concurrency_keeps_exactly_that_many_requests_in_flight(server):
    # The server holds each request at a barrier of 4: it passes only when 4 are in flight at
    # once, so fewer than 4 concurrent requests would time out, and more would show in the count.
    server.barrier = threading.Barrier(4)
    policy = make(server, concurrency=4, max_retries=0)
    requests = [chat(f"w{i} v{i}") for i in range(8)]
    results = policy.generate(requests)
    assert [r.text for r in results] == [f"v{i} w{i}" for i in range(8)]  # order kept
    assert server.max_in_flight == 4
    policy.close()


def test_partial_results_survive_a_failed_request(server):
    server.failures = [400]
    policy = make(server, concurrency=1, max_retries=0)
    with pytest.raises(PolicyEndpointError) as caught:
        policy.generate([chat("a b"), chat("c d")])
    assert [r.text if r else None for r in caught.value.partial_results] == [None, "d c"]
    policy.close()


def test_missing_usage_needs_a_tokenizer_to_count(server):
    server.no_usage = True
    policy = make(server)
    with pytest.raises(PolicyEndpointError, match="usage.completion_tokens"):
        policy.generate([chat("a b")])
    counted = make(server, tokenizer="qwen3")
    [result] = counted.generate([chat("hello world again")])
    assert result.completion_tokens == 3 and counted.tokenizer_name == "qwen3"
    policy.close()
    counted.close()


def test_zero_max_tokens_sends_nothing(server):
    policy = make(server)
    assert policy.generate([chat("x", max_tokens=0)]) == [policy.generate([chat("x", max_tokens=0)])[0]]
    assert policy.generate([chat("x", max_tokens=0)])[0].finish_reason == "length"
    assert server.bodies == []
    policy.close()


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"concurrency": 0}, "concurrency"),
        ({"timeout": 0}, "timeout"),
        ({"base_url": "ftp://x"}, "base_url"),
        ({"max_tokens_field": "tokens"}, "max_tokens_field"),
        ({"top_p": 0}, "top_p"),
        ({"timeout": math.nan}, "timeout"),
        ({"timeout": math.inf}, "timeout"),
        ({"temperature": math.nan}, "temperature"),
        ({"backoff": math.inf}, "backoff"),
        ({"max_backoff": math.nan}, "max_backoff"),
        # Accepted, then an OverflowError from the thread's wait at the first retry.
        ({"backoff": 1e308, "max_backoff": 1e308}, r"backoff must be at most 86400 seconds \(a day\), got 1e\+308"),
        ({"timeout": 1e9}, "timeout must be at most 86400 seconds"),
        # Accepted, then a bare ValueError ("Invalid IPv6 URL") from the HTTP client at the first request.
        ({"base_url": "http://[::1/v1"}, r"base_url is not a valid URL \(Invalid IPv6 URL\)"),
        ({"base_url": "http:///v1"}, "base_url names no host"),
    ],
)
def test_bad_options_are_config_errors(options, match):
    with pytest.raises(ConfigError, match=match):
        create_policy("openai:m", **options)
