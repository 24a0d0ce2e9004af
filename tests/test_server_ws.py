"""``/ws`` against a live uvicorn on 127.0.0.1: reference-shaped episodes, isolation of
concurrent sessions, capacity, idle timeout, size limits and every typed error."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect as async_connect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from reasoning_economics import tokens
from reasoning_economics.env import EnvConfig, ReasonBudgetEnvironment

from ws_messages import exchange

RECV_TIMEOUT = 60
REFERENCE_FIELDS = {
    "question": str, "remaining_budget": int, "questions_remaining": int, "step_idx": int,
    "budget_per_remaining": (int, float), "accuracy_so_far": (int, float), "history": list, "done": bool,
}  # fmt: skip


def error_code(reply: dict) -> str:
    assert reply["type"] == "error", reply
    assert reply["data"]["message"], reply
    return reply["data"]["code"]


def gold_answers(seed: int, tokenizer: str = "qwen3") -> list[str]:
    """The episode's gold answers, from an in-process environment (same seed, same questions)."""
    env = ReasonBudgetEnvironment(EnvConfig())
    env.reset(seed=seed, tokenizer_name=tokenizer)
    return [problem.answer for problem in env.problems]


def test_a_reference_client_runs_an_episode_to_done_with_raw_websocket_json(live_server):
    # Exactly what the reference trainer sends: reset with a hub tokenizer name and no seed,
    # steps with response + metadata {tokenizer_name, grading_response}; it reads the
    # reference fields and the evaluator loops until observation["done"].
    tokenizer = "Qwen/Qwen3-0.6B"
    with connect(live_server.ws_url, open_timeout=30) as ws:
        reply = exchange(ws, {"type": "reset", "data": {"tokenizer_name": tokenizer}})
        assert reply["type"] == "observation"
        observation = reply["data"]["observation"]
        for name, kind in REFERENCE_FIELDS.items():
            assert isinstance(observation[name], kind), (name, observation[name])
        assert observation["reward"] is None and observation["done"] is False
        assert observation["step_idx"] == 0 and observation["questions_remaining"] == 10
        assert observation["metadata"]["budget_source"] == "tokenizer_native"
        assert observation["metadata"]["tokenizer_name"] == "qwen3"  # the hub id maps to the built-in vocabulary
        budget = observation["metadata"]["total_budget"]
        assert observation["remaining_budget"] == budget
        assert observation["budget_per_remaining"] == pytest.approx(budget / 10)
        steps = 0
        while not observation["done"]:
            response = f"<think>step {steps}: thinking it over</think> The answer is \\boxed{{{steps}}}."
            visible = f"The answer is \\boxed{{{steps}}}."
            reply = exchange(ws, {"type": "step", "data": {
                "response": response, "metadata": {"tokenizer_name": tokenizer, "grading_response": visible}}})  # fmt: skip
            assert reply["type"] == "observation", reply
            steps += 1
            observation = reply["data"]["observation"]
            # done and reward are inside the observation and beside it, and agree.
            assert observation["done"] == reply["data"]["done"]
            assert observation["reward"] == reply["data"]["reward"] and isinstance(observation["reward"], float)
            charged = tokens.count_tokens(response, "qwen3")
            assert observation["history"][-1]["tokens_used"] == charged  # the full response is charged
            assert observation["history"][-1]["extracted_answer"] == str(steps - 1)  # only the visible part is graded
            assert observation["step_idx"] == steps
            assert steps <= 10
        assert steps == 10 and observation["questions_remaining"] == 0 and observation["question"] == ""
        assert observation["remaining_budget"] == budget - sum(h["tokens_used"] for h in observation["history"])


def test_rewards_and_budget_over_the_wire_match_the_hand_computed_formula(live_server):
    seed, budget = 7, 5000
    answers = gold_answers(seed)
    with connect(live_server.ws_url, open_timeout=30) as ws:
        first = exchange(ws, {"type": "reset", "data": {"seed": seed, "tokenizer_name": "qwen3", "total_budget": budget}})
        assert first["data"]["observation"]["metadata"]["budget_source"] == "client"
        right = f"\\boxed{{{answers[0]}}}"
        reply = exchange(ws, {"type": "step", "data": {"response": right}})
        used = tokens.count_tokens(right, "qwen3")
        fair = budget / 10
        # correct: 1 + gamma * (1 - used / fair), gamma = 0.1; no cost penalty below the fair share.
        assert reply["data"]["reward"] == pytest.approx(1 + 0.1 * (1 - used / fair))
        assert reply["data"]["observation"]["history"][0]["was_correct"] is True
        wrong = "\\boxed{not a number}"
        reply = exchange(ws, {"type": "step", "data": {"response": wrong}})
        assert reply["data"]["reward"] == pytest.approx(-0.1)  # wrong: -0.1, no bonus, no penalty
        state = exchange(ws, {"type": "state"})["data"]
        assert state["spent_budget"] == used + tokens.count_tokens(wrong, "qwen3")
        assert state["questions_answered"] == 2 and state["total_correct"] == 1
        assert state["current_accuracy"] == pytest.approx(0.5)
        assert reply["data"]["observation"]["accuracy_so_far"] == pytest.approx(0.5)


def test_concurrent_sessions_are_isolated_and_same_seeds_give_same_questions(live_server):
    async def session(index: int) -> dict:
        seed = 100 + index % 4  # pairs of sessions share a seed
        async with async_connect(live_server.ws_url, open_timeout=30) as ws:
            await ws.send(json.dumps({"type": "reset", "data": {"seed": seed, "tokenizer_name": "qwen3",
                                                                "total_budget": 10_000 + index}}))  # fmt: skip
            questions = [json.loads(await ws.recv())["data"]["observation"]["question"]]
            sent = 0
            for step in range(index % 3 + 1):  # sessions step different numbers of times
                response = f"session {index} step {step} " + "word " * (index * 5) + "\\boxed{0}"
                await ws.send(json.dumps({"type": "step", "data": {"response": response}}))
                reply = json.loads(await ws.recv())
                assert reply["type"] == "observation", reply
                questions.append(reply["data"]["observation"]["question"])
                sent += tokens.count_tokens(response, "qwen3")
                await asyncio.sleep(0)
            await ws.send(json.dumps({"type": "state"}))
            state = json.loads(await ws.recv())["data"]
            return {"index": index, "seed": seed, "questions": questions, "sent": sent, "state": state}

    async def run_all() -> list[dict]:
        return await asyncio.gather(*(session(index) for index in range(12)))

    results = asyncio.run(run_all())
    for result in results:
        index, state = result["index"], result["state"]
        assert state["total_budget"] == 10_000 + index
        assert state["questions_answered"] == index % 3 + 1
        assert state["spent_budget"] == result["sent"]  # only its own steps were charged
    for a in results:
        for b in results:
            if a["seed"] == b["seed"]:
                shared = min(len(a["questions"]), len(b["questions"]))
                assert a["questions"][:shared] == b["questions"][:shared]
    assert results[0]["questions"][0] != results[1]["questions"][0]  # different seeds, different episodes


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("{", "INVALID_JSON"),
        ("[" * 10_000 + "]" * 10_000, "INVALID_JSON"),
        ('"just a string"', "VALIDATION_ERROR"),
        ({"type": "jump"}, "UNKNOWN_TYPE"),
        ({"data": {}}, "UNKNOWN_TYPE"),
        ({"type": "step"}, "VALIDATION_ERROR"),
        ({"type": "step", "data": {"response": 42}}, "VALIDATION_ERROR"),
        ({"type": "step", "data": {"response": "x", "tokens": [1, 2]}}, "VALIDATION_ERROR"),
        ({"type": "step", "data": {"response": "x", "metadata": {"grading_response": 3}}}, "INVALID_ACTION"),
        ({"type": "step", "data": {"response": "x", "metadata": {"tokenizer_name": "someone/private-model"}}},
         "TOKENIZER_NOT_ALLOWED"),
        ({"type": "reset", "data": {"seed": "7"}}, "CONFIG_ERROR"),
        ({"type": "reset", "data": {"seed": -1}}, "CONFIG_ERROR"),
        ({"type": "reset", "data": {"total_budget": True}}, "CONFIG_ERROR"),
        ({"type": "reset", "data": {"total_budget": 0}}, "CONFIG_ERROR"),
        ({"type": "reset", "data": {"total_budget": 10**400}}, "CONFIG_ERROR"),  # was INTERNAL_ERROR: no float holds it
        ({"type": "reset", "data": {"total_budget": -(10**4000)}}, "CONFIG_ERROR"),
        ({"type": "reset", "data": {"temperature": 0.7}}, "CONFIG_ERROR"),
        ({"type": "reset", "data": {"tokenizer_name": "someone/private-model"}}, "TOKENIZER_NOT_ALLOWED"),
        ({"type": "state", "data": {"x": 1}}, "VALIDATION_ERROR"),
    ],
)  # fmt: skip
def test_each_bad_message_gets_its_typed_error_and_the_episode_is_unchanged(live_server, message, code):
    with connect(live_server.ws_url, open_timeout=30) as ws:
        exchange(ws, {"type": "reset", "data": {"seed": 3, "tokenizer_name": "qwen3", "total_budget": 3000}})
        exchange(ws, {"type": "step", "data": {"response": "\\boxed{1}"}})
        before = exchange(ws, {"type": "state"})
        assert error_code(exchange(ws, message)) == code
        assert exchange(ws, {"type": "state"}) == before
        assert exchange(ws, {"type": "step", "data": {"response": "\\boxed{2}"}})["type"] == "observation"


def test_step_before_reset_and_after_done_are_typed_errors(live_server):
    with connect(live_server.ws_url, open_timeout=30) as ws:
        assert error_code(exchange(ws, {"type": "step", "data": {"response": "x"}})) == "EPISODE_NOT_STARTED"
        assert error_code(exchange(ws, {"type": "state"})) == "EPISODE_NOT_STARTED"
        # A budget of 12 tokens ends a hard-mode episode as soon as fewer than 10 remain.
        exchange(ws, {"type": "reset", "data": {"seed": 1, "tokenizer_name": "qwen3", "total_budget": 12}})
        response = "one two three four five six seven"
        assert tokens.count_tokens(response, "qwen3") == 7  # one token per word
        reply = exchange(ws, {"type": "step", "data": {"response": response}})
        assert reply["data"]["done"] is True and reply["data"]["observation"]["done"] is True
        assert reply["data"]["observation"]["metadata"]["termination_reason"] == "budget_exhausted"
        assert reply["data"]["observation"]["remaining_budget"] == 12 - 7
        final = exchange(ws, {"type": "state"})
        assert error_code(exchange(ws, {"type": "step", "data": {"response": "more"}})) == "EPISODE_FINISHED"
        assert exchange(ws, {"type": "state"}) == final


def test_binary_frames_and_mcp_messages_get_typed_replies(live_server):
    with connect(live_server.ws_url, open_timeout=30) as ws:
        assert error_code(exchange(ws, b'{"type": "state"}')) == "BINARY_FRAME"
        reply = exchange(ws, {"type": "mcp", "data": {"jsonrpc": "2.0", "id": 5, "method": "tools/list"}})
        assert reply == {"type": "mcp", "data": {"jsonrpc": "2.0", "id": 5, "error": {
            "code": -32601, "message": "this environment exposes no MCP tools; use reset/step/state"}}}  # fmt: skip
        # An id JSON-RPC does not allow, or one that cannot be written back, is answered as null.
        for request_id in ({"a": 1}, "\ud800", True):
            reply = exchange(ws, {"type": "mcp", "data": {"jsonrpc": "2.0", "id": request_id, "method": "tools/list"}})
            assert reply["type"] == "mcp" and reply["data"]["id"] is None and reply["data"]["error"]["code"] == -32601
        # Reset arguments named like the method's own parameters once collided with them (INTERNAL_ERROR).
        before = exchange(ws, {"type": "state"})
        for name in ("self", "func", "kwargs"):
            assert error_code(exchange(ws, {"type": "reset", "data": {"seed": 1, name: 1}})) == "CONFIG_ERROR"
        assert exchange(ws, {"type": "state"}) == before
        assert exchange(ws, {"type": "reset", "data": {"seed": 1}})["type"] == "observation"


def test_the_response_limit_is_one_million_characters_and_a_larger_one_leaves_the_episode_intact(live_server):
    with connect(live_server.ws_url, open_timeout=30, max_size=None) as ws:
        exchange(ws, {"type": "reset", "data": {"seed": 4, "tokenizer_name": "qwen3", "total_budget": 10_000_000}})
        before = exchange(ws, {"type": "state"})
        too_long = "a" * 1_000_001
        assert error_code(exchange(ws, {"type": "step", "data": {"response": too_long}})) == "RESPONSE_TOO_LARGE"
        visible_too_long = {"response": "\\boxed{1}", "metadata": {"grading_response": too_long}}
        assert error_code(exchange(ws, {"type": "step", "data": visible_too_long})) == "RESPONSE_TOO_LARGE"
        assert exchange(ws, {"type": "state"}) == before
        at_limit = "a " * 499_995 + "\\boxed{1}."  # 1,000,000 characters
        assert len(at_limit) == 1_000_000
        reply = exchange(ws, {"type": "step", "data": {"response": at_limit}})
        assert reply["type"] == "observation"
        assert reply["data"]["observation"]["history"][0]["tokens_used"] == tokens.count_tokens(at_limit, "qwen3")


def test_messages_over_the_limit_get_a_typed_error_and_frames_far_over_it_are_refused(start_server):
    server = start_server(max_message_bytes=64 * 1024, warm_up=False)
    with connect(server.ws_url, open_timeout=30, max_size=None) as ws:
        exchange(ws, {"type": "reset", "data": {"seed": 4}})
        before = exchange(ws, {"type": "state"})
        big = {"type": "step", "data": {"response": "x" * 100_000}}
        assert error_code(exchange(ws, big)) == "MESSAGE_TOO_LARGE"
        # The limit is in bytes: 20,000 four-byte characters are 80,000 bytes (counted as
        # characters, they passed, and so did 33 MB against the default 16 MiB).
        wide = json.dumps({"type": "step", "data": {"response": "\U0001F600" * 20_000}}, ensure_ascii=False)
        assert len(wide) < 64 * 1024 < len(wide.encode())
        reply = exchange(ws, wide)
        assert error_code(reply) == "MESSAGE_TOO_LARGE" and "bytes" in reply["data"]["message"], reply
        assert exchange(ws, {"type": "state"}) == before
        ws.send(json.dumps({"type": "step", "data": {"response": "x" * 200_000}}))  # over 2 x 64 KiB
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=RECV_TIMEOUT)
        assert closed.value.rcvd.code == 1009  # message too big
    with connect(server.ws_url, open_timeout=30) as ws:
        assert exchange(ws, {"type": "reset", "data": {"seed": 4}})["type"] == "observation"


def test_at_capacity_a_new_session_gets_a_typed_error_and_a_freed_slot_is_reused(start_server):
    server = start_server(max_sessions=2, warm_up=False)
    first = connect(server.ws_url, open_timeout=30)
    second = connect(server.ws_url, open_timeout=30)
    try:
        for ws in (first, second):
            assert exchange(ws, {"type": "reset", "data": {"seed": 1}})["type"] == "observation"
        with connect(server.ws_url, open_timeout=30) as third:
            reply = json.loads(third.recv(timeout=RECV_TIMEOUT))
            assert error_code(reply) == "CAPACITY_REACHED"
            assert reply["data"]["max_sessions"] == 2 and reply["data"]["active_sessions"] == 2
            with pytest.raises(ConnectionClosed) as closed:
                third.recv(timeout=RECV_TIMEOUT)
            assert closed.value.rcvd.code == 1013
        first.send(json.dumps({"type": "close"}))
        with pytest.raises(ConnectionClosed) as closed:
            first.recv(timeout=RECV_TIMEOUT)
        assert closed.value.rcvd.code == 1000
        with connect(server.ws_url, open_timeout=30) as fourth:
            assert exchange(fourth, {"type": "reset", "data": {"seed": 2}})["type"] == "observation"
        # The other sessions were never disturbed.
        assert exchange(second, {"type": "state"})["data"]["seed"] == 1
    finally:
        first.close()
        second.close()


def test_a_silent_session_gets_a_timeout_error_and_its_slot_is_freed(start_server):
    server = start_server(max_sessions=1, session_timeout_s=0.5, warm_up=False)
    with connect(server.ws_url, open_timeout=30) as ws:
        assert exchange(ws, {"type": "reset", "data": {"seed": 1}})["type"] == "observation"
        reply = json.loads(ws.recv(timeout=RECV_TIMEOUT))  # say nothing and wait
        assert error_code(reply) == "SESSION_TIMEOUT"
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=RECV_TIMEOUT)
        assert closed.value.rcvd.code == 4408
    with connect(server.ws_url, open_timeout=30) as ws:  # the only slot is free again
        assert exchange(ws, {"type": "reset", "data": {"seed": 2}})["type"] == "observation"
    assert server.sessions.timed_out == 1


def test_replies_are_json_that_keeps_non_ascii_text_and_writes_unencodable_details_as_text():
    from pathlib import Path

    from reasoning_economics.env import ReasonBudgetAction
    from reasoning_economics.server import protocol

    reply = json.loads(protocol.error_reply("X", "é ∑ 中 \\boxed{½}", where=Path("/tmp/a"), limit=3))
    assert reply == {"type": "error", "data": {"code": "X", "message": "é ∑ 中 \\boxed{½}", "where": "/tmp/a", "limit": 3}}
    env = ReasonBudgetEnvironment(EnvConfig(num_questions=2))
    env.reset(seed=5, total_budget=500)
    observation = env.step(ReasonBudgetAction(response="Das Ergebnis ist ½, also \\boxed{0.5} ✓"))
    sent = json.loads(protocol.observation_reply(observation))["data"]
    assert sent["observation"] == json.loads(observation.model_dump_json())
    assert sent["observation"]["history"][0]["extracted_answer"] == "0.5"
    assert (sent["reward"], sent["done"]) == (observation.reward, observation.done)
    assert json.loads(protocol.state_reply(env.state))["data"] == json.loads(env.state.model_dump_json())
