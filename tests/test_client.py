"""``ReasonBudgetClient`` against a live server: sync and async episodes, typed errors,
connection errors, the token header, and done/reward read from either place."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest

from reasoning_economics import tokens
from reasoning_economics.client import ReasonBudgetClient, error_from_reply
from reasoning_economics.env import ReasonBudgetAction, ReasonBudgetObservation, ReasonBudgetState
from reasoning_economics.errors import (
    ConfigError,
    EpisodeFinishedError,
    EpisodeNotStartedError,
    InvalidActionError,
    ServerCapacityError,
    ServerConnectionError,
    ServerError,
    SessionTimeoutError,
    TokenizerNotAllowedError,
)


def test_a_sync_client_plays_an_episode_to_done(live_server):
    with ReasonBudgetClient(base_url=live_server.base_url) as client:
        result = client.reset(seed=8, tokenizer_name="qwen3", total_budget=4000)
        assert isinstance(result.observation, ReasonBudgetObservation)
        assert result.done is False and result.reward is None and result.observation.questions_remaining == 10
        assert result.observation.prompt and result.observation.question in result.observation.prompt
        spent, steps = 0, 0
        while not result.done:
            response = f"Step {steps}: \\boxed{{{steps}}}"
            result = client.step(ReasonBudgetAction(response=response, metadata={"tokenizer_name": "qwen3"}))
            spent += tokens.count_tokens(response, "qwen3")
            steps += 1
            assert result.observation.done == result.done
            assert result.observation.reward == result.reward and isinstance(result.reward, float)
        assert steps == 10
        state = client.state()
        assert isinstance(state, ReasonBudgetState)
        assert state.spent_budget == spent and state.questions_answered == 10 and state.done
        with pytest.raises(EpisodeFinishedError, match="finished"):
            client.step(ReasonBudgetAction(response="again"))
        # A new episode on the same connection.
        assert client.reset(seed=9).observation.step_idx == 0


def test_an_async_client_and_typed_errors(live_server):
    async def run() -> None:
        async with ReasonBudgetClient(base_url=live_server.base_url) as client:
            with pytest.raises(EpisodeNotStartedError):
                await client.step(ReasonBudgetAction(response="x"))
            with pytest.raises(ConfigError, match="seed"):
                await client.reset(seed=-3)
            with pytest.raises(TokenizerNotAllowedError):
                await client.reset(tokenizer_name="someone/private-model")
            result = await client.reset(seed=8, tokenizer_name="qwen3", total_budget=4000)
            assert result.observation.remaining_budget == 4000
            result = await client.step(ReasonBudgetAction(response="\\boxed{3}"))
            assert result.observation.step_idx == 1 and result.done is False
            assert (await client.state()).questions_answered == 1

    asyncio.run(run())


def test_calls_made_at_once_on_one_client_take_turns_and_each_reads_its_own_reply(live_server):
    # Before, the second of two calls made at once failed with websockets' ConcurrencyError,
    # its reply still coming: each later call read the reply of the call before it.
    async def run() -> None:
        async with ReasonBudgetClient(base_url=live_server.base_url) as client:
            await client.reset(seed=3, tokenizer_name="qwen3")
            first, state, second = await asyncio.gather(
                client.step(ReasonBudgetAction(response="\\boxed{1}")),
                client.state(),
                client.step(ReasonBudgetAction(response="\\boxed{22}")),
            )
            assert (first.observation.step_idx, state.questions_answered, second.observation.step_idx) == (1, 1, 2)
            third = await client.step(ReasonBudgetAction(response="\\boxed{333}"))
            assert third.observation.step_idx == 3 and (await client.state()).questions_answered == 3
            counted = [record["tokens_counted"] for record in third.observation.history]
            assert counted == [tokens.count_tokens(f"\\boxed{{{n}}}", "qwen3") for n in (1, 22, 333)]

    asyncio.run(run())


def test_step_takes_what_the_environment_takes_and_names_anything_else(live_server):
    # A dict, as the in-process environment's step() takes, raised AttributeError ("'dict'
    # object has no attribute 'response'"), and so did None.
    with ReasonBudgetClient(base_url=live_server.base_url) as client:
        client.reset(seed=2)
        assert client.step({"response": "\\boxed{1}", "metadata": {"tokenizer_name": "qwen3"}}).observation.step_idx == 1
        for action, message in (({"respons": "x"}, "respons: Extra inputs"), (None, "got NoneType"), (5, "got int")):
            with pytest.raises(InvalidActionError, match=message):
                client.step(action)
        assert client.step("\\boxed{2}").observation.step_idx == 2  # the refused ones sent nothing


def test_sync_and_async_clients_see_the_same_episode_for_the_same_seed(live_server):
    with ReasonBudgetClient(base_url=live_server.base_url) as client:
        sync_question = client.reset(seed=31).observation.question

    async def run() -> str:
        async with ReasonBudgetClient(base_url=live_server.base_url) as client:
            return (await client.reset(seed=31)).observation.question

    assert asyncio.run(run()) == sync_question


def test_an_unreachable_server_is_a_clear_connection_error():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = ReasonBudgetClient(base_url=f"http://127.0.0.1:{port}", connect_timeout_s=5)
    with pytest.raises(ServerConnectionError, match=rf"cannot connect to ws://127.0.0.1:{port}/ws"):
        client.reset(seed=1)


def test_the_sessions_address_the_server_prints_is_read_as_its_base_url(live_server):
    # ree serve prints "WebSocket sessions: ws://host:port/ws"; given that, the client connected
    # to /ws/ws, which answered 403 and was reported as a refused token.
    host_port = live_server.base_url.split("://", 1)[1]
    for url in (f"ws://{host_port}/ws", f"ws://{host_port}/ws/", f"{live_server.base_url}/"):
        with ReasonBudgetClient(base_url=url) as client:
            assert client.reset(seed=1).observation.step_idx == 0
    for url in (f"{live_server.base_url}/?x=1", f"{live_server.base_url}#top", f"ftp://{host_port}"):
        with pytest.raises(ConfigError, match="base_url must be"):
            ReasonBudgetClient(base_url=url)


def test_the_token_is_sent_and_a_missing_one_is_a_clear_error(start_server):
    server = start_server(token="tok-123", warm_up=False)
    with pytest.raises(ServerConnectionError, match="HTTP 401.*pass token="):
        ReasonBudgetClient(base_url=server.base_url).reset(seed=1)
    with pytest.raises(ServerConnectionError, match="HTTP 403"):
        ReasonBudgetClient(base_url=server.base_url, token="wrong").reset(seed=1)
    with ReasonBudgetClient(base_url=server.base_url, token="tok-123") as client:
        assert client.reset(seed=1).observation.step_idx == 0


def test_a_token_no_header_can_carry_is_a_config_error_that_does_not_quote_it():
    # websockets refused the header with the whole token in its message ("invalid Authorization
    # header: Bearer ..."), reported as a server that was not running; a blank token reached the
    # server as none and was answered "pass token=".
    for token, reason in (("s3cret\n", "ends with whitespace"), ("s3cret-токен", "outside ASCII"), ("", "empty")):
        with pytest.raises(ConfigError, match=f"^token .*{reason}") as refused:
            ReasonBudgetClient(base_url="http://127.0.0.1:9", token=token)
        assert "s3cret" not in str(refused.value)


def test_capacity_a_server_going_away_and_coming_back(start_server):
    server = start_server(max_sessions=1, warm_up=False)
    with ReasonBudgetClient(base_url=server.base_url) as first:
        first.reset(seed=1)
        with pytest.raises(ServerCapacityError) as full:
            ReasonBudgetClient(base_url=server.base_url).reset(seed=2)
        assert full.value.code == "CAPACITY_REACHED" and full.value.details["max_sessions"] == 1
        server.stop()
        with pytest.raises(ServerConnectionError, match="closed the connection.*episode is lost"):
            first.step(ReasonBudgetAction(response="\\boxed{1}"))
        with pytest.raises(ServerConnectionError, match="cannot connect"):
            first.reset(seed=1)
        start_server(port=server.port, max_sessions=1, warm_up=False)  # the server comes back
        assert first.reset(seed=1).observation.step_idx == 0  # the same client starts anew
        assert first.step(ReasonBudgetAction(response="\\boxed{1}")).observation.step_idx == 1


def test_an_idle_session_closed_by_the_server_is_a_session_timeout_on_every_call_until_reset(start_server):
    import time

    # The server sends SESSION_TIMEOUT, then closes. The client raised a plain connection error,
    # and its next calls opened fresh sessions and failed with EPISODE_NOT_STARTED.
    server = start_server(session_timeout_s=1, warm_up=False)
    with ReasonBudgetClient(base_url=server.base_url) as client:
        client.reset(seed=1)
        time.sleep(2.0)
        for call in (lambda: client.step(ReasonBudgetAction(response="\\boxed{1}")), client.state, client.state):
            with pytest.raises(SessionTimeoutError, match="no message for 1 s"):
                call()
        assert server.app.state.sessions.active == 0  # those calls opened no session
        assert client.reset(seed=1).observation.step_idx == 0
        assert client.step(ReasonBudgetAction(response="\\boxed{1}")).observation.step_idx == 1


def test_after_the_server_goes_away_every_call_says_so_until_reset(start_server):
    server = start_server(warm_up=False)
    with ReasonBudgetClient(base_url=server.base_url) as client:
        client.reset(seed=1)
        server.stop()
        for _ in range(2):
            with pytest.raises(ServerConnectionError, match="closed the connection.*episode is lost"):
                client.step(ReasonBudgetAction(response="\\boxed{1}"))


def test_the_client_waits_for_a_reply_as_long_as_a_saturated_server_may_take_to_answer():
    # A step waits up to 2 minutes plus the grading timeout for a free grading worker, twice at
    # most, before the server answers GRADING_ERROR and the episode goes on. The client gave up
    # at 120 s, dropped the connection and lost the episode.
    from reasoning_economics.env import EnvConfig
    from reasoning_economics.grading.workers import WORKER_START_SECONDS

    client = ReasonBudgetClient(base_url="http://127.0.0.1:9")
    assert client._message_timeout >= 2 * (WORKER_START_SECONDS + EnvConfig().grading_timeout)
    assert ReasonBudgetClient(base_url="http://127.0.0.1:9", message_timeout_s=5)._message_timeout == 5


def test_a_lost_connection_says_what_its_close_code_means(start_server):
    server = start_server(warm_up=False)
    with ReasonBudgetClient(base_url=server.base_url) as client:
        client.reset(seed=1)
        server.stop()  # uvicorn closes open WebSockets with 1012, "service restart"
        with pytest.raises(ServerConnectionError, match=r"code 1012: the server is restarting\)"):
            client.step(ReasonBudgetAction(response="\\boxed{1}"))


def test_replies_of_another_protocol_are_typed_errors():
    import threading

    from websockets.sync.server import serve

    replies = iter(['<html>not json</html>', '[1, 2]', '{"type": "error", "data": "boom"}',
                    '{"type": "observation", "data": {"observation": {"question": "q", "remaining_budget": 1, '
                    '"questions_remaining": 1, "step_idx": "many", "history": []}, "done": false}}'])  # fmt: skip

    def answer(ws):
        for message in ws:
            if '"reset"' in message:  # not the client's closing message
                ws.send(next(replies))

    with serve(answer, "127.0.0.1", 0) as stub:
        threading.Thread(target=stub.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{stub.socket.getsockname()[1]}"
        for expected in ("not JSON", "not an object", "boom", "invalid ReasonBudgetObservation"):
            with ReasonBudgetClient(base_url=url) as client:
                with pytest.raises(ServerError, match=expected):
                    client.reset(seed=1)
        stub.shutdown()


@pytest.mark.parametrize(
    ("call", "reply", "expected"),
    [
        ("reset", '{"type": "observation", "data": "not an object"}', "data is not an object"),
        ("reset", '{"type": "observation", "data": null}', "data is not an object"),
        ("reset", '{"type": "observation", "data": {"observation": [1, 2]}}', "without an observation object"),
        ("reset", '{"type": "observation", "data": {"observation": "ab"}}', "without an observation object"),
        ("reset", '{"type": "observation"}', "data is not an object"),
        ("reset", '{"type": "state", "data": {"total_budget": 5}}', "type 'state' to a 'reset' message"),
        ("reset", '{"data": {"observation": {}}}', "without a type"),
        ("reset", "[" * 100_000 + "]" * 100_000, "not JSON"),
        ("state", '{"type": "state", "data": [1]}', "data is not an object"),
        ("state", '{"type": "observation", "data": {"observation": {}}}', "type 'observation' to a 'state' message"),
    ],
)  # fmt: skip
def test_replies_of_the_wrong_shape_are_typed_errors_not_crashes_or_empty_results(call, reply, expected):
    # Before: AttributeError, TypeError, ValueError or RecursionError, or, for a reply of another
    # type or without data, an empty observation with done False that a trainer would step on.
    import threading

    from websockets.sync.server import serve

    def answer(ws):
        for message in ws:
            if '"close"' not in message:
                ws.send(reply)

    with serve(answer, "127.0.0.1", 0) as stub:
        threading.Thread(target=stub.serve_forever, daemon=True).start()
        with ReasonBudgetClient(base_url=f"http://127.0.0.1:{stub.socket.getsockname()[1]}") as client:
            with pytest.raises(ServerError, match=expected) as raised:
                client.reset(seed=1) if call == "reset" else client.state()
        assert raised.value.code == "INVALID_REPLY"
        stub.shutdown()


def test_done_and_reward_are_read_from_an_openenv_payload_that_moved_them_out():
    # What OpenEnv's serializer (and so the reference server) sends: no done/reward inside.
    payload = {
        "observation": {"question": "", "remaining_budget": 3, "questions_remaining": 0, "step_idx": 10,
                        "budget_per_remaining": 0.0, "accuracy_so_far": 0.5, "history": [], "metadata": {},
                        "a_field_from_a_newer_server": 1},
        "reward": 0.75,
        "done": True,
    }  # fmt: skip
    result = ReasonBudgetClient(base_url="http://127.0.0.1:1")._parse_result(payload)
    assert result.done is True and result.reward == 0.75
    assert result.observation.done is True and result.observation.reward == 0.75
    assert result.observation.accuracy_so_far == 0.5


def test_server_error_codes_map_to_the_local_error_classes():
    assert isinstance(error_from_reply({"code": "EPISODE_FINISHED", "message": "m"}), EpisodeFinishedError)
    assert isinstance(error_from_reply({"code": "CONFIG_ERROR", "message": "m"}), ConfigError)
    unknown = error_from_reply({"code": "INVALID_JSON", "message": "bad", "errors": [1]})
    assert type(unknown) is ServerError and unknown.code == "INVALID_JSON" and unknown.details == {"errors": [1]}


def _observation(step_idx=0, questions_remaining=3, history=(), done=False, reward=None, **fields):
    observation = {"question": "What is 1 + 1?", "remaining_budget": 300, "questions_remaining": questions_remaining,
                   "step_idx": step_idx, "budget_per_remaining": 100.0, "accuracy_so_far": 0.0,
                   "history": list(history), "step_token_limit": 100, "metadata": {"num_questions": 3}, **fields}
    return json.dumps({"type": "observation", "data": {"observation": observation, "done": done, "reward": reward}})


RECORD = {"step_idx": 0, "question_id": "q0", "was_correct": True, "tokens_used": 5, "tokens_counted": 5, "reward": 1.0}


@pytest.mark.parametrize(
    ("step_reply", "expected"),
    [
        # done "false" read as true ended every episode at once, with nothing answered
        (_observation(1, 2, [RECORD]).replace('"done": false', '"done": "false"'), "'done' that is not true or false"),
        (_observation(1, 2, [RECORD], reward="1e300"), "a reward that is not a finite number"),
        (_observation(1, 2, [RECORD]).replace('"reward": null', '"reward": NaN'), "a reward that is not a finite number"),
        (_observation(1, 2, [{**RECORD, "was_correct": "no"}]), "was_correct is 'no'"),  # recorded as right
        (_observation(1, 2, [{**RECORD, "tokens_used": -1000}]), "tokens_used is -1000, not a token count"),
        (_observation(1, 2, [RECORD], step_token_limit=10**12), "step_token_limit of 1000000000000"),  # asked an LLM for it
        (_observation(1, 2, [RECORD], metadata={"num_questions": 10**9}), "metadata.num_questions of 1000000000"),
        (_observation(1, 2, [RECORD], metadata={"num_questions": "3"}), "metadata.num_questions of '3'"),
        (_observation(1, 2, [RECORD] * 5), "5 history records for 1 questions answered"),
        (_observation(1, 2, [RECORD], budget_per_remaining=float("inf")), "budget_per_remaining is not finite"),
        (_observation(1, 2, [RECORD], step_token_limit=True), "invalid ReasonBudgetObservation"),
        # the same question again, done never true: ree eval and ree train stepped forever
        (_observation(0, 3), "did not move the episode on by one question"),
        (_observation(1, 3, [RECORD]), "did not move the episode on by one question"),
        (json.dumps({"type": "observation", "data": {"observation": {"step_idx": 1}, "done": False}}),
         "an observation without question, remaining_budget, questions_remaining, history"),
    ],
)  # fmt: skip
def test_a_server_reply_no_environment_sends_is_refused_not_recorded(step_reply, expected):
    import threading

    from websockets.sync.server import serve

    def answer(ws):
        for message in ws:
            kind = json.loads(message).get("type")
            if kind == "reset":
                ws.send(_observation())
            elif kind == "step":
                ws.send(step_reply)

    with serve(answer, "127.0.0.1", 0) as stub:
        threading.Thread(target=stub.serve_forever, daemon=True).start()
        with ReasonBudgetClient(base_url=f"http://127.0.0.1:{stub.socket.getsockname()[1]}") as client:
            assert client.reset(seed=1).observation.step_idx == 0
            with pytest.raises(ServerError, match=expected) as raised:
                client.step(ReasonBudgetAction(response="\\boxed{2}"))
        assert raised.value.code == "INVALID_REPLY"
        stub.shutdown()


def test_a_well_behaved_stub_episode_is_read_to_its_end():
    # The checks above leave a reply every environment sends alone, to the episode's last step.
    import threading

    from websockets.sync.server import serve

    replies = iter([_observation(), _observation(1, 2, [RECORD], reward=1.0),
                    _observation(2, 0, [RECORD, RECORD], done=True, reward=-0.1)])  # fmt: skip

    def answer(ws):
        for message in ws:
            if json.loads(message).get("type") in ("reset", "step"):
                ws.send(next(replies))

    with serve(answer, "127.0.0.1", 0) as stub:
        threading.Thread(target=stub.serve_forever, daemon=True).start()
        with ReasonBudgetClient(base_url=f"http://127.0.0.1:{stub.socket.getsockname()[1]}") as client:
            client.reset(seed=1)
            assert client.step(ReasonBudgetAction(response="a")).reward == 1.0
            last = client.step(ReasonBudgetAction(response="b"))
            assert (last.done, last.reward, last.observation.step_idx) == (True, -0.1, 2)
        stub.shutdown()


def test_server_error_text_is_cut_and_escaped_and_local_error_codes_are_not_taken():
    huge = error_from_reply({"code": "EPISODE_FINISHED", "message": "x" * 20_000_000})
    assert isinstance(huge, EpisodeFinishedError) and len(str(huge)) < 2_100
    escaped = error_from_reply({"code": "EPISODE_FINISHED", "message": "done\x1b]0;pwned\x07"})
    assert "\x1b" not in str(escaped) and "\\x1b]0;pwned" in str(escaped)
    # A server naming a policy or a missing-extra error: ree eval blamed the user's model endpoint.
    for code in ("POLICY_ENDPOINT_ERROR", "POLICY_ERROR", "MISSING_EXTRA", "CONNECTION_ERROR"):
        relayed = error_from_reply({"code": code, "message": "the server lies"})
        assert type(relayed) is ServerError and relayed.code == code


def test_a_refused_handshakes_body_is_cut_and_escaped_like_an_error_reply():
    # The body of a 403 went into the error as it came: terminal escapes and all.
    import threading
    from http import HTTPStatus

    from websockets.sync.server import serve

    def refuse(connection, request):
        return connection.respond(HTTPStatus.FORBIDDEN, "no\x1b]0;pwned\x07\x1b[2J" + "x" * 10_000)

    with serve(lambda ws: None, "127.0.0.1", 0, process_request=refuse) as stub:
        threading.Thread(target=stub.serve_forever, daemon=True).start()
        with pytest.raises(ServerConnectionError, match="HTTP 403") as refused:
            ReasonBudgetClient(base_url=f"http://127.0.0.1:{stub.socket.getsockname()[1]}").reset(seed=1)
        stub.shutdown()
    assert "\x1b" not in str(refused.value) and "no\\x1b]0;pwned\\x07" in str(refused.value)
    assert len(str(refused.value)) < 1_000


def test_a_reply_over_the_clients_limit_is_named_as_such():
    # A 17 MB frame (OpenEnv's client read up to 100 MB; 90 MB of empty history records took
    # 4.8 GB to parse): refused at 16 MB, and said so rather than blamed on the network.
    import threading

    from websockets.sync.server import serve

    def answer(ws):
        for message in ws:
            if json.loads(message).get("type") == "reset":
                ws.send('{"type": "observation", "data": {"observation": {"history": [' + "{}," * 6_000_000 + "{}]}}}")

    with serve(answer, "127.0.0.1", 0, max_size=None) as stub:
        threading.Thread(target=stub.serve_forever, daemon=True).start()
        with ReasonBudgetClient(base_url=f"http://127.0.0.1:{stub.socket.getsockname()[1]}") as client:
            with pytest.raises(ServerConnectionError, match=r"a reply larger than this client reads \(16 MB"):
                client.reset(seed=1)
        stub.shutdown()
