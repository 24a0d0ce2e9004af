"""A tokenizer name the operator has not allowed tells a client nothing about the server's
file system: ``/reset`` with a path answered 403 when that directory existed and 200 (counted
with the built-in vocabulary its last part names) when it did not."""

from __future__ import annotations

import httpx
import pytest

from reasoning_economics.env import ReasonBudgetEnvironment
from reasoning_economics.errors import TokenizerNotAllowedError, describe

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
