"""Hostile clients, round twelve: numbers of thousands of digits in long messages.

Python converts a JSON integer in time quadratic in its digits, and 4,299 digits is the most
it reads: 3,700 such integers in one 16 MB message passed the 100,000-value cap and held the
event loop ~0.55 s per message, so every other session waited that long for each reply. They
are now refused unparsed, like messages holding too many values.
"""

from __future__ import annotations

import json

import httpx
import pytest
from websockets.sync.client import connect

from reasoning_economics.server.protocol import MAX_JSON_VALUES, holds_a_long_number

from http_bodies import post_declared_and_chunked
from ws_messages import exchange, state_of

LONG_INTEGER = "7" * 4_299  # the longest integer Python's json reads


def padded_with_long_integers(prefix: str, suffix: str) -> str:
    # Past MAX_JSON_VALUES characters (shorter messages cannot hold enough to matter), few values.
    integers = ",".join([LONG_INTEGER] * (MAX_JSON_VALUES // len(LONG_INTEGER) + 5))
    return f"{prefix}[{integers}]{suffix}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"seed": ' + "1" * 101 + "}", True),
        ('{"seed": ' + "1" * 100 + "}", False),
        ('{"x": -' + "9" * 150 + ".5}", True),
        ('{"x": 1e' + "9" * 150 + "}", True),
        ('{"response": "' + "1" * 5_000 + '"}', False),  # digits in a string are text
        ('{"a": "x\\\\", "b": ' + "2" * 200 + "}", True),  # an escaped backslash ends no string
        ('{"a": "x\\" ' + "2" * 200 + '"}', False),  # an escaped quote ends no string
    ],
)
def test_a_long_number_is_found_outside_strings_only(text, expected):
    assert holds_a_long_number(text) is expected
    assert holds_a_long_number(text.encode()) is expected


def test_messages_holding_integers_of_thousands_of_digits_are_refused_unparsed(live_server):
    with connect(live_server.ws_url, max_size=None, open_timeout=30) as ws:
        assert exchange(ws, {"type": "reset", "data": {"seed": 12, "tokenizer_name": "qwen3"}})["type"] == "observation"
        before = state_of(ws)
        for message in (
            padded_with_long_integers('{"type": "state", "pad": ', "}"),
            padded_with_long_integers('{"type": "step", "data": {"response": "\\\\boxed{1}", "metadata": {"pad": ', "}}}"),
        ):
            reply = exchange(ws, message)
            assert reply["type"] == "error" and reply["data"]["code"] == "INVALID_JSON", reply
            assert "more than 100 digits" in reply["data"]["message"]
        assert state_of(ws) == before  # the refused step was neither graded nor charged
        # Digits in a string are text, however many: such a step is answered.
        response = "1" * 300_000 + " \\boxed{1}"
        reply = exchange(ws, {"type": "step", "data": {"response": response, "metadata": {"grading_response": "\\boxed{1}"}}})
        assert reply["type"] == "observation", reply
        assert state_of(ws)["questions_answered"] == before["questions_answered"] + 1


def test_http_bodies_holding_integers_of_thousands_of_digits_get_400_unparsed(live_server):
    body = padded_with_long_integers('{"seed": 1, "pad": ', "}").encode()
    with httpx.Client(base_url=live_server.base_url, timeout=60) as http:
        for path in ("/reset", "/step"):
            for response in post_declared_and_chunked(http, path, body):
                assert response.status_code == 400, response.text
                assert response.json()["code"] == "INVALID_JSON" and "100 digits" in response.json()["detail"]
        # Digits in a string are text: the step is read (and refused only for want of an episode).
        step = http.post("/step", content=json.dumps({"action": {"response": "1" * 200_000}}).encode(),
                         headers={"content-type": "application/json"})
        assert step.status_code == 409 and step.json()["code"] == "EPISODE_NOT_STARTED", step.text
