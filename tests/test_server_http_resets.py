"""Stateless HTTP ``/reset`` calls are bounded, so a flood of them cannot starve the sessions.

They are no sessions (``--max-sessions`` does not count them), yet run on the sessions' thread
pool: 500 at once kept another session's ``state`` waiting 2-4 s. Beyond ``max_http_resets``
in flight a reset is refused at once with 503 ``CAPACITY_REACHED``.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx


def test_http_resets_beyond_the_limit_get_a_typed_503_and_the_slot_comes_back(start_server, wait_until):
    server = start_server(max_http_resets=1, step_threads=1, warm_up=False)
    resets = server.app.state.http_resets
    release = threading.Event()
    # The pool's only thread is busy, so the first reset stays in flight until it is released.
    server.sessions.executor.submit(release.wait, 20)
    with httpx.Client(base_url=server.base_url, timeout=60) as http, ThreadPoolExecutor(1) as client:
        try:
            first = client.submit(http.post, "/reset", json={"seed": 1, "tokenizer_name": "qwen3"})
            assert wait_until(lambda: resets.in_flight == 1, 30)
            refused = http.post("/reset", json={"seed": 2, "tokenizer_name": "qwen3"})
        finally:
            release.set()
        assert first.result().status_code == 200
        assert refused.status_code == 503, refused.text
        body = refused.json()
        assert body["code"] == "CAPACITY_REACHED" and set(body) == {"detail", "code"}
        assert refused.headers["retry-after"] == "1"
        assert resets.refused == 1
        assert wait_until(lambda: resets.in_flight == 0, 30)
        again = http.post("/reset", json={"seed": 2, "tokenizer_name": "qwen3"})
        assert again.status_code == 200 and again.json()["observation"]["step_idx"] == 0


def test_the_limit_takes_what_ree_serve_and_the_environment_give():
    from reasoning_economics.server import DEFAULT_MAX_HTTP_RESETS
    from reasoning_economics.server.app import settings_from_environ
    from reasoning_economics.server.settings import ServerSettings

    assert ServerSettings().max_http_resets == DEFAULT_MAX_HTTP_RESETS
    assert settings_from_environ({"REE_MAX_HTTP_RESETS": "9"}).max_http_resets == 9
