"""``ree eval --policy openai:<model> --base-url`` against a small OpenAI-shaped server on 127.0.0.1.

The server answers every chat completion with the same text and logs the requests, so the test
sees exactly what the runner asked for: the environment's prompt and its per-step token limit.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from typer.testing import CliRunner

pytest.importorskip("httpx")

from reasoning_economics import tokens  # noqa: E402
from reasoning_economics.cli import app  # noqa: E402
from reasoning_economics.env.prompt import SYSTEM_PROMPT  # noqa: E402
from reasoning_economics.evaluation.results import read_results  # noqa: E402

ANSWER = "Two and two make four. The answer is \\boxed{4}."


@pytest.fixture
def endpoint():
    requests: list[dict] = []
    answer = {"text": ANSWER}  # what every completion says; a test may change it

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            requests.append(body)
            count = tokens.get_counter("qwen3").count(answer["text"])
            reply = {
                "id": "cmpl-1", "object": "chat.completion", "created": 0, "model": body["model"],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer["text"]},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 10, "completion_tokens": count, "total_tokens": 10 + count},
            }
            data = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", requests, answer
    server.shutdown()
    server.server_close()


def test_eval_with_an_openai_compatible_endpoint(endpoint, tmp_path):
    base_url, requests, _ = endpoint
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        ["eval", "--policy", "openai:Qwen/Qwen2.5-0.5B-Instruct", "--base-url", base_url, "--episodes", "2",
         "--questions", "3", "--max-tokens-per-step", "100", "--no-progress", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    units = read_results(out)
    steps = [step for unit in units for step in unit["steps"]]
    assert len(steps) == 6 and len(requests) == 6
    # the model name maps to the built-in Qwen vocabulary, which the environment counts with
    assert {unit["tokenizer_name"] for unit in units} == {"qwen3"}
    counted = tokens.get_counter("qwen3").count(ANSWER)
    by_question = {step["question"]: step for step in steps}
    for body in requests:
        system, user = body["messages"]
        assert system == {"role": "system", "content": SYSTEM_PROMPT}
        question = next(q for q in by_question if q in user["content"])
        step = by_question[question]
        assert body["max_tokens"] == step["step_token_limit"] <= 100
        assert f"at most {step['step_token_limit']} for this answer" in user["content"]
    for step in steps:
        assert step["extracted"] == "4"
        assert step["tokens_counted"] == step["completion_tokens"] == counted
        assert step["correct"] == (step["gold"].strip() == "4")


@pytest.mark.parametrize("mode", ["episode", "problem"])
def test_an_endpoint_ignoring_max_tokens_is_cut_at_the_limit(endpoint, tmp_path, mode):
    # 300 tokens of working, then the right answer, from an endpoint asked for at most 50: the
    # answer lies past the limit, so it is not graded (it was, as correct, and charged only
    # what was left of the budget in hard mode).
    base_url, requests, answer = endpoint
    answer["text"] = "step " * 300 + "so \\boxed{4}"
    dataset = tmp_path / "sums.jsonl"
    dataset.write_text("".join(json.dumps({"question": f"What is {k} + {4 - k}?", "answer": "4"}) + "\n"
                               for k in range(5)))  # fmt: skip
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        ["eval", "--policy", "openai:Qwen/Qwen2.5-0.5B-Instruct", "--base-url", base_url, "--mode", mode,
         "--episodes", "1", "--questions", "2", "--dataset", f"file:{dataset}", "--max-tokens-per-step", "50", "--no-progress",
         "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (unit,) = read_results(out)
    answers = unit["steps"] if mode == "episode" else [s for p in unit["problems"] for s in p["samples"]]
    assert answers and all(body["max_tokens"] <= 50 for body in requests)
    counter = tokens.get_counter("qwen3")
    for answer in answers:
        assert answer["finish_reason"] == "length"
        assert counter.count(answer["response"]) <= 50
        assert answer["response"].startswith("step step")
        assert not answer["correct"]
