"""Messages and HTTP bodies within the size limit that would hold the event loop while they
are parsed, against a live ``ree serve``: refused unparsed with ``INVALID_JSON``.

- Millions of JSON values: 16 MB of ``[{},{},...]`` parsed into 5.3 million dicts, 1-1.5 s
  during which no session was served.
- Numbers of thousands of digits: Python converts a JSON integer in time quadratic in its
  digits, and 4,299 digits is the most it reads. 3,700 such integers in one 16 MB message
  passed the 100,000-value cap and held the event loop ~0.55 s per message.
"""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.sync.client import connect

from reasoning_economics.server.protocol import MAX_JSON_VALUES, holds_a_long_number, too_many_json_values

from http_bodies import post_declared_and_chunked
from ws_messages import exchange, state_of


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
            assert f"{MAX_JSON_VALUES:,} values" in reply["data"]["message"]
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


# ------------------------------------------------------------- long numbers


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


# ------------------------------------------------------------- many unknown keys


def many_keys(count: int) -> dict:
    return {f"k{i}": 0 for i in range(count)}


def test_unknown_keys_are_counted_not_each_listed(live_server):
    # Pydantic made one error of each unknown key, and listing 49,000 of them (a 500 KB message,
    # under the value cap of the day) took ~0.2 s of the event loop, to report ten. Now one error
    # names the count and a few.
    with connect(live_server.ws_url, max_size=None, open_timeout=30) as ws:
        assert exchange(ws, {"type": "reset", "data": {"seed": 13, "tokenizer_name": "qwen3"}})["type"] == "observation"
        before = state_of(ws)
        for message in (
            {"type": "step", "data": {"response": "\\boxed{1}", **many_keys(4_900)}},
            {"type": "step", "data": {"response": "\\boxed{1}"}, **many_keys(4_900)},
            {"type": "reset", "data": many_keys(4_900)},
            {"type": "state", **many_keys(4_900)},
        ):
            reply = exchange(ws, message)
            assert reply["type"] == "error" and reply["data"]["code"] in ("VALIDATION_ERROR", "CONFIG_ERROR"), reply
            text = json.dumps(reply)
            assert "4,900 unknown fields ('k0', 'k1', 'k2', ...)" in text and len(text) < 2_000, text[:500]
        assert state_of(ws) == before
        # A few unknown keys are each named, as pydantic names them.
        reply = exchange(ws, {"type": "step", "data": {"response": "1", "colour": "red"}})
        assert reply["type"] == "error" and "colour" in reply["data"]["message"], reply
    with httpx.Client(base_url=live_server.base_url, timeout=60) as http:
        for path, body in (("/step", {"action": {"response": "1", **many_keys(4_900)}}), ("/reset", many_keys(4_900))):
            response = http.post(path, json=body)
            assert response.status_code == 422, response.text
            assert "4,900 unknown fields" in response.text and len(response.text) < 2_000, response.text[:500]


def test_in_process_the_action_names_the_count_of_unknown_fields():
    from reasoning_economics.env import ReasonBudgetEnvironment
    from reasoning_economics.errors import InvalidActionError

    env = ReasonBudgetEnvironment(num_questions=1)
    env.reset(seed=1)
    with pytest.raises(InvalidActionError, match="4,900 unknown fields") as refused:
        env.step({"response": "1", **many_keys(4_900)})
    assert len(str(refused.value)) < 2_000


# ------------------------------------------------------------- bytes, not characters


def test_the_message_limit_counts_utf8_bytes_exactly():
    from reasoning_economics.server.protocol import MESSAGE_TOO_LARGE, ProtocolError, parse_message, utf8_size

    limit = 3 * (1 << 20)  # three of the megabytes of characters counted at a time
    head, tail = '{"type": "state", "pad": "', '"}'
    fill = limit - len(head) - len(tail)
    text = head + "\u00e9" * (fill // 2) + "a" * (fill % 2) + tail  # two bytes a character
    assert utf8_size(text, limit) == len(text.encode()) == limit
    assert parse_message(text, limit)[0] == "state"
    with pytest.raises(ProtocolError) as refused:
        parse_message(text + " ", limit)
    assert refused.value.code == MESSAGE_TOO_LARGE and "at least" in refused.value.message
    # The count stops once it passes the limit: one megabyte of characters, not the whole text.
    assert utf8_size("\U0001F600" * (3 << 20), 10) == 4 << 20
