"""Tokenizers from a hub this machine cannot reach: a fast, remembered failure, and no other
name held up meanwhile (an allowed hub id took ~50 s per reset, one reset at
a time, and a reset naming a built-in vocabulary not yet loaded waited behind them for 143 s).

Each case runs in a fresh interpreter whose hub endpoint is a socket on 127.0.0.1, so that the
hub client reads it at import and no earlier load is cached.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("transformers")

# The hub: a listening socket that accepts connections and never answers (a hub that hangs),
# or, with CLOSED, a port that refuses them (no network).
HUB = textwrap.dedent(
    """
    import json, os, socket, threading, time
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    accepted, held = threading.Event(), []
    def accept():
        while True:
            held.append(listener.accept()[0])
            accepted.set()
    threading.Thread(target=accept, daemon=True).start()
    port = 9 if os.environ.get("CLOSED") else listener.getsockname()[1]
    os.environ["HF_ENDPOINT"] = f"http://127.0.0.1:{port}"
    from reasoning_economics import tokens
    from reasoning_economics.errors import UnknownTokenizerError
    def failure(name):
        try:
            tokens.get_counter(name)
        except UnknownTokenizerError as error:
            return str(error)
        return None
    """
)


def _run(script: str, tmp_path, **env: str) -> dict:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("HF_")}
    environment.update(HF_HOME=str(tmp_path / "hf_home"), **env)  # an empty hub cache
    # The old code retried the hub for ~50 s per name: the timeout is the test's bound.
    result = subprocess.run(
        [sys.executable, "-c", HUB + textwrap.dedent(script)], capture_output=True, text=True, env=environment,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_hub_id_the_hub_cannot_serve_fails_fast_and_its_failure_is_remembered(tmp_path):
    outcome = _run(
        """
        print(json.dumps({"first": failure("someorg/some-model"), "again": failure("someorg/some-model")}))
        """,
        tmp_path,
        CLOSED="1",
    )
    assert "could not load tokenizer 'someorg/some-model' (the hub cannot serve it" in outcome["first"]
    assert "the local cache has no copy" in outcome["first"] and "Available offline: qwen3" in outcome["first"]
    # Refused at once, without asking the hub again, and saying when it will be asked.
    assert outcome["again"].startswith(outcome["first"])
    assert "it is tried again 300 s after a failure" in outcome["again"]


def test_a_slow_hub_holds_up_only_the_name_being_loaded(tmp_path):
    outcome = _run(
        """
        slow = threading.Thread(target=failure, args=("someorg/slow-model",), daemon=True)
        slow.start()
        assert accepted.wait(30), "the load never reached the hub"
        counter = tokens.get_counter("llama3")  # a built-in vocabulary this process has not loaded
        print(json.dumps({"count": counter.count("hello world"), "slow_still_loading": slow.is_alive()}))
        """,
        tmp_path,
    )
    assert outcome == {"count": 2, "slow_still_loading": True}


def test_ree_serve_refuses_to_start_with_an_allowed_tokenizer_it_cannot_load(tmp_path):
    environment = {key: value for key, value in os.environ.items() if not key.startswith("HF_")}
    environment.update(HF_HOME=str(tmp_path / "hf_home"), HF_ENDPOINT="http://127.0.0.1:9")
    result = subprocess.run(
        [sys.executable, "-m", "reasoning_economics.cli", "serve", "--port", "0", "--no-warm-up",
         "--allow-tokenizer", "someorg/some-model"],
        capture_output=True, text=True, env=environment, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert "allowed tokenizer 'someorg/some-model' cannot be loaded" in result.stderr
    assert "the hub cannot serve it" in result.stderr and "listening on" not in result.stdout
