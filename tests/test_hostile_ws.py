"""Hostile clients against a live ``ree serve`` on 127.0.0.1: the WebSocket message space.

Invariants: the server never crashes, every bad message gets one typed error reply (or,
for frames the protocol itself forbids, a close with a WebSocket close code), the episode
is unchanged by a rejected message, and the budget is never double-counted.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from ws_messages import exchange, state_of

RECV_TIMEOUT = 60


@pytest.fixture(scope="module")
def ws_url(live_server) -> str:
    return live_server.ws_url


def assert_typed_error(reply: dict) -> None:
    assert reply["type"] == "error", reply
    code = reply["data"].get("code")
    assert isinstance(code, str) and code.isupper(), reply
    assert isinstance(reply["data"].get("message"), str) and reply["data"]["message"], reply


def good_step(text: str = "The answer is \\boxed{1}.") -> dict:
    return {"type": "step", "data": {"response": text, "metadata": {"tokenizer_name": "qwen3"}}}


@pytest.fixture
def session(ws_url):
    with connect(ws_url, max_size=None, open_timeout=30) as ws:
        reply = exchange(ws, {"type": "reset", "data": {"seed": 11, "tokenizer_name": "qwen3", "total_budget": 5000}})
        assert reply["type"] == "observation", reply
        yield ws


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
# Messages the protocol must reject: every field a client sends, with wrong types or values.
bad_messages = st.one_of(
    json_values.filter(lambda v: not isinstance(v, dict)),
    st.dictionaries(st.text(max_size=10).filter(lambda k: k != "type"), json_values, max_size=4),
    st.builds(lambda t, d: {"type": t, "data": d}, st.text(max_size=12).filter(
        lambda t: t not in ("reset", "step", "state", "close", "mcp")), json_values),
    st.builds(lambda t: {"type": t}, st.integers() | st.none() | st.lists(st.text(max_size=3), max_size=2)),
    st.builds(lambda d: {"type": "step", "data": d}, json_values.filter(lambda v: not isinstance(v, dict))),
    st.builds(lambda r: {"type": "step", "data": {"response": r}}, json_values.filter(lambda v: not isinstance(v, str))),
    st.builds(lambda m: {"type": "step", "data": {"response": "\\boxed{1}", "metadata": m}},
              json_values.filter(lambda v: not isinstance(v, dict))),
    st.builds(lambda k, v: {"type": "step", "data": {"response": "\\boxed{1}", "metadata": {k: v}}},
              st.sampled_from(["tokenizer_name", "grading_response"]),
              json_values.filter(lambda v: v is not None and not isinstance(v, str))),
    st.builds(lambda name: {"type": "step", "data": {"response": "x", "metadata": {"tokenizer_name": name}}},
              st.text(min_size=1, max_size=40).filter(lambda n: n not in ("qwen3", "llama3", "cl100k_base", "o200k_base"))
              .map(lambda n: "no-such/" + n)),
    st.builds(lambda kw: {"type": "reset", "data": kw}, st.fixed_dictionaries({}, optional={
        "seed": st.integers(max_value=-1) | st.text(max_size=5) | st.floats(allow_nan=False) | st.booleans(),
        "total_budget": st.integers(max_value=0) | st.text(max_size=5) | st.integers(min_value=10**12),
        "tokenizer_name": st.integers() | st.just("no-such/tokenizer"),
        "episode_id": st.integers() | st.text(min_size=300, max_size=400),
    }).filter(bool)),
)  # fmt: skip


@given(message=bad_messages)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_bad_messages_get_typed_errors_and_leave_the_episode_unchanged(session, message):
    before = state_of(session)
    assert_typed_error(exchange(session, message))
    assert state_of(session) == before


def test_wrong_json_and_deep_nesting_get_typed_errors(session):
    before = state_of(session)
    for raw in ["", "{", "not json", '{"type": "step", "data": ', "[" * 100_000 + "]" * 100_000,
                json.dumps({"type": "step", "data": {"response": "x", "metadata": {"a": [[[[[[[[[[[]]]]]]]]]]]}}})[:-5]]:  # fmt: skip
        assert_typed_error(exchange(session, raw))
    # 50,000 nested objects (written as text: json.dumps itself refuses such depth).
    depth = 50_000
    nested = '{"response": "\\\\boxed{1}", "metadata": {"extra": ' * depth + '{"response": "x"}' + "}}" * depth
    assert_typed_error(exchange(session, '{"type": "step", "data": ' + nested + "}"))
    assert state_of(session) == before
    # The session still works afterwards.
    assert exchange(session, good_step())["type"] == "observation"


def test_an_error_names_a_huge_unknown_key_in_short_not_whole(session):
    # A 1 MB key came back whole in the error's location: a reply of a megabyte.
    key = "k" * 1_000_000
    before = state_of(session)
    for message in ({"type": "reset", "data": {key: 1}}, {"type": "step", "data": {"response": "x", key: 1}}):
        raw = json.dumps(message)
        session.send(raw)
        reply_text = session.recv(timeout=30)
        reply = json.loads(reply_text)
        assert_typed_error(reply)
        assert len(reply_text) < 5_000
    assert "(1,000,000 characters)" in reply_text  # the step's, named in its error's location
    assert state_of(session) == before


def test_interleaved_messages_are_answered_in_order_one_reply_each(session):
    messages = [good_step(), {"type": "nope"}, {"type": "state"}, good_step("\\boxed{2}"), "{", {"type": "state"}]
    for message in messages:
        session.send(message if isinstance(message, str) else json.dumps(message))
    replies = [json.loads(session.recv(timeout=RECV_TIMEOUT)) for _ in messages]
    assert [reply["type"] for reply in replies] == ["observation", "error", "state", "observation", "error", "state"]
    assert replies[2]["data"]["questions_answered"] == 1 and replies[5]["data"]["questions_answered"] == 2
    history = replies[3]["data"]["observation"]["history"]
    assert replies[5]["data"]["spent_budget"] == sum(entry["tokens_used"] for entry in history)


def test_steps_after_done_are_rejected_without_charging(ws_url):
    with connect(ws_url, open_timeout=30) as ws:
        exchange(ws, {"type": "reset", "data": {"seed": 5, "tokenizer_name": "qwen3", "total_budget": 100000}})
        reply = None
        for _ in range(50):
            reply = exchange(ws, good_step())
            assert reply["type"] == "observation", reply
            if reply["data"]["done"]:
                break
        assert reply["data"]["done"]
        final = state_of(ws)
        for _ in range(3):
            error = exchange(ws, good_step())
            assert_typed_error(error)
            assert error["data"]["code"] == "EPISODE_FINISHED"
        assert state_of(ws) == final
        assert final["spent_budget"] == sum(e["tokens_used"] for e in reply["data"]["observation"]["history"])
        # A new episode starts cleanly on the same connection.
        assert exchange(ws, {"type": "reset", "data": {"seed": 6}})["type"] == "observation"
        assert state_of(ws)["questions_answered"] == 0


def test_step_before_reset_is_a_typed_error(ws_url):
    with connect(ws_url, open_timeout=30) as ws:
        assert_typed_error(exchange(ws, good_step()))
        assert exchange(ws, {"type": "reset", "data": {"seed": 1}})["type"] == "observation"


def test_binary_frames_and_invalid_utf8_never_take_the_server_down(ws_url):
    with connect(ws_url, open_timeout=30) as ws:
        exchange(ws, {"type": "reset", "data": {"seed": 2}})
        ws.send(b"\x00\xff binary")
        try:
            reply = json.loads(ws.recv(timeout=RECV_TIMEOUT))
        except ConnectionClosed as closed:  # a server may refuse binary frames at the protocol level
            assert closed.rcvd is not None and closed.rcvd.code in (1003, 1007, 1008), closed
        else:
            assert_typed_error(reply)
    with connect(ws_url, open_timeout=30) as ws:
        ws.send(b'{"type": "state", "x": "\xff\xfe"}', text=True)  # a text frame that is not UTF-8
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=RECV_TIMEOUT)
        assert closed.value.rcvd is None or closed.value.rcvd.code in (1007, 1002), closed.value
    with connect(ws_url, open_timeout=30) as ws:  # the server still serves new sessions
        assert exchange(ws, {"type": "reset", "data": {"seed": 3}})["type"] == "observation"


def test_a_huge_response_is_refused_by_the_size_limit(session):
    before = state_of(session)
    huge = "x " * 5_000_000 + "\\boxed{1}"  # 10 MB
    try:
        reply = exchange(session, good_step(huge))
    except ConnectionClosed as closed:  # refused by the frame size limit
        assert closed.rcvd is not None and closed.rcvd.code == 1009, closed
        return
    assert_typed_error(reply)
    assert state_of(session) == before


def test_a_message_sent_in_a_thousand_fragments_is_read_whole(session):
    from reasoning_economics import tokens

    response = "The answer is \\boxed{1}. " + "Some reasoning, spelled out. " * 100
    text = json.dumps(good_step(response))
    session.send(iter([text[start : start + 3] for start in range(0, len(text), 3)]))  # one fragment each
    reply = json.loads(session.recv(timeout=RECV_TIMEOUT))
    assert reply["type"] == "observation", reply
    assert reply["data"]["observation"]["history"][-1]["tokens_counted"] == tokens.get_counter("qwen3").count(response)


def _send_frames(ws, flood: str, count: int) -> None:
    if flood == "fragments":
        ws.send(iter(['{"type": "state"'] + [" "] * (count - 2) + ["}"]))  # a state request in `count` fragments
    else:
        for _ in range(count):
            ws.pong(b"") if flood == "pongs" else ws.ping()


@pytest.mark.parametrize("flood", ["pongs", "pings", "fragments"])
def test_a_flood_of_pings_pongs_or_fragments_is_closed_with_1008_and_other_sessions_go_on(ws_url, flood):
    # Empty frames cost the server ~10 us each to parse and uvicorn pauses reading only after a
    # whole message: one client sending them at 1.3 MB/s held every other session for seconds,
    # and 8 million 1-byte fragments of one message held 430 MB.
    from reasoning_economics.server.connections import FRAME_BURST

    with connect(ws_url, max_size=None, open_timeout=30) as other:
        assert exchange(other, {"type": "reset", "data": {"seed": 3, "tokenizer_name": "qwen3"}})["type"] == "observation"
        before = state_of(other)
        with connect(ws_url, max_size=None, open_timeout=30, ping_interval=None) as flooder:
            _send_frames(flooder, flood, FRAME_BURST // 2)  # within the burst: the client is served
            if flood == "fragments":
                assert json.loads(flooder.recv(timeout=RECV_TIMEOUT))["type"] == "error"  # state before reset
            assert exchange(flooder, {"type": "state"})["type"] == "error"
            with pytest.raises(ConnectionClosed) as closed:
                _send_frames(flooder, flood, 3 * FRAME_BURST)
                flooder.recv(timeout=RECV_TIMEOUT)
        # The close frame is lost when the server closes with frames still unread (a TCP reset).
        assert closed.value.rcvd is None or closed.value.rcvd.code == 1008, closed.value
        assert state_of(other) == before
