"""A tokenizer name the operator has not allowed tells a client nothing about the server's
file system: ``/reset`` with a path answered 403 when that directory existed and 200 (counted
with the built-in vocabulary its last part names) when it did not. A name the file system
refuses to look up is refused like any other."""

from __future__ import annotations

import logging

import httpx
import pytest
from websockets.sync.client import connect

from reasoning_economics.env import ReasonBudgetEnvironment
from reasoning_economics.errors import TokenizerNotAllowedError, describe

from ws_messages import exchange, state_of

LONG_NAME = "x" * 300  # one path component over NAME_MAX (255): os.stat raises ENAMETOOLONG
SHAPES = ("{root}/Qwen3-probe", "{root}/x/../Qwen3-probe", "{root}/meta-llama/Llama-3.1-8B-Instruct")


def _present_and_absent(tmp_path, shape):
    present = shape.format(root=tmp_path / "present")
    absent = shape.format(root=tmp_path / "absent")
    (tmp_path / "present" / "x").mkdir(parents=True)
    (tmp_path / "present" / "Qwen3-probe").mkdir()
    (tmp_path / "present" / "meta-llama" / "Llama-3.1-8B-Instruct").mkdir(parents=True)
    return present, absent


@pytest.mark.parametrize("shape", SHAPES)
def test_http_reset_answers_a_path_the_same_whether_or_not_it_exists(live_server, tmp_path, shape):
    present, absent = _present_and_absent(tmp_path, shape)
    answers = []
    with httpx.Client(base_url=live_server.base_url, timeout=30) as http:
        for name in (present, absent):
            response = http.post("/reset", json={"tokenizer_name": name, "seed": 1})
            body = response.json()
            answers.append((response.status_code, body["code"], body["detail"].replace(describe(name), "NAME")))
    assert answers[0] == answers[1]
    assert answers[0][:2] == (403, "TOKENIZER_NOT_ALLOWED")


@pytest.mark.parametrize("shape", SHAPES)
def test_environment_reset_answers_a_path_the_same_whether_or_not_it_exists(tmp_path, shape):
    present, absent = _present_and_absent(tmp_path, shape)
    env = ReasonBudgetEnvironment(num_questions=2, allowed_tokenizers=())  # what a server runs with
    for name in (present, absent):
        with pytest.raises(TokenizerNotAllowedError, match="not allowed"):
            env.reset(seed=1, tokenizer_name=name)
    assert env.reset(seed=1, tokenizer_name="Qwen/Qwen2.5-0.5B-Instruct").metadata["tokenizer_name"] == "qwen3"


def test_a_tokenizer_name_the_file_system_cannot_look_up_is_a_typed_error_not_a_500(live_server, log_records):
    # Before: OSError [Errno 36] from Path.is_dir in tokens.builtin_vocabulary_for, so HTTP
    # /reset answered 500 and /ws INTERNAL_ERROR, each with a traceback in the log. Now it is
    # a name like any other that is neither built in nor allowed by the operator.
    with log_records("reasoning_economics.server.sessions", "uvicorn.error") as records:
        with httpx.Client(base_url=live_server.base_url, timeout=30) as http:
            for name in (LONG_NAME, f"/tmp/{LONG_NAME}"):
                response = http.post("/reset", json={"tokenizer_name": name})
                assert response.status_code == 403, response.text
                assert response.json()["code"] == "TOKENIZER_NOT_ALLOWED"
        with connect(live_server.ws_url, open_timeout=30) as ws:
            reply = exchange(ws, {"type": "reset", "data": {"seed": 3, "tokenizer_name": LONG_NAME}})
            assert reply["type"] == "error" and reply["data"]["code"] == "TOKENIZER_NOT_ALLOWED", reply
            assert exchange(ws, {"type": "reset", "data": {"seed": 3}})["type"] == "observation"
            before = state_of(ws)
            step = {"type": "step", "data": {"response": "\\boxed{1}", "metadata": {"tokenizer_name": LONG_NAME}}}
            reply = exchange(ws, step)
            assert reply["type"] == "error" and reply["data"]["code"] == "TOKENIZER_NOT_ALLOWED", reply
            assert state_of(ws) == before
    assert [record for record in records if record.exc_info or record.levelno >= logging.ERROR] == []
