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
    answer = {"text": ANSWER}  # what every completion says, and its status; a test may change them

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
            if answer.get("status", 200) != 200:  # a test's failing endpoint
                reply = {"error": {"message": "model is overloaded"}}
            data = json.dumps(reply).encode()
            self.send_response(answer.get("status", 200))
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


def test_policy_options_reach_the_endpoint(endpoint, tmp_path):
    # openai:<model> takes the model after the colon, so its options come as --policy-option.
    base_url, requests, _ = endpoint
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        ["eval", "--policy", "openai:Qwen/Qwen2.5-0.5B-Instruct", "--base-url", base_url, "--episodes", "1",
         "--questions", "2", "-P", "temperature=0.7", "--policy-option", "max_tokens_field=max_completion_tokens",
         "-P", "top_p=0.9", "--no-progress", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(requests) == 2
    for body in requests:
        assert (body["temperature"], body["top_p"]) == (0.7, 0.9)
        assert "max_completion_tokens" in body and "max_tokens" not in body
    stored = json.loads((out / "run.json").read_text())
    assert stored["policy_options"] == {
        "temperature": 0.7, "max_tokens_field": "max_completion_tokens", "top_p": 0.9, "base_url": base_url
    }


@pytest.mark.parametrize(
    "flags, message",
    [(["-P", "temperature"], "--policy-option 'temperature' is not of the form key=value"),
     (["-P", "timeout=1", "-P", "timeout=2"], "--policy-option 'timeout' is given twice"),
     (["-P", "base_url=http://127.0.0.1:9/v1"], "both as --base-url and as --policy-option"),
     (["-P", "temprature=0.7"], "unknown option(s) ['temprature']")],
)
def test_bad_policy_options_are_refused_before_the_run_starts(endpoint, tmp_path, flags, message):
    base_url, requests, _ = endpoint
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        ["eval", "--policy", "openai:m", "--base-url", base_url, "--episodes", "1", *flags, "--no-progress",
         "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 2
    assert message in result.output
    assert not requests and not out.exists()


def test_an_endpoint_failing_mid_run_says_how_to_resume(endpoint, tmp_path):
    base_url, requests, answer = endpoint
    out = tmp_path / "run"
    args = ["eval", "--policy", "openai:Qwen/Qwen2.5-0.5B-Instruct", "--base-url", base_url, "--questions", "1",
            "-c", "1", "-P", "max_retries=0", "--no-progress", "--out", str(out)]  # fmt: skip
    assert CliRunner().invoke(app, [*args, "--episodes", "1"]).exit_code == 0
    answer["status"] = 400
    failed = CliRunner().invoke(app, [*args, "--episodes", "2", "--resume"])
    assert failed.exit_code == 2
    assert "HTTP 400: model is overloaded" in failed.output
    assert "continue with the same command plus --resume" in failed.output
    answer["status"] = 200
    assert CliRunner().invoke(app, [*args, "--episodes", "2", "--resume"]).exit_code == 0
    assert [unit["index"] for unit in read_results(out)] == [0, 1]


def test_resume_may_change_how_requests_reach_the_model_but_not_what_it_is_asked(endpoint, tmp_path):
    base_url, requests, _ = endpoint
    out = tmp_path / "run"
    common = ["eval", "--policy", "openai:Qwen/Qwen2.5-0.5B-Instruct", "--questions", "2", "--no-progress", "--out", str(out)]
    first = CliRunner().invoke(app, [*common, "--base-url", base_url, "--episodes", "1", "-P", "api_key=sk-secret-1",
                                     "-P", "timeout=5"])  # fmt: skip
    assert first.exit_code == 0, first.output
    stored = json.loads((out / "run.json").read_text())
    assert stored["policy_options"] == {"base_url": base_url, "timeout": 5}  # the key is never written
    assert "sk-secret-1" not in (out / "run.json").read_text() + (out / "results.jsonl").read_text()

    # Another address for the same server, other time-outs and retries, another key: the same run.
    same_server = base_url.replace("127.0.0.1", "localhost")
    resumed = CliRunner().invoke(app, [*common, "--resume", "--base-url", same_server, "--episodes", "2",
                                       "-P", "timeout=30", "-P", "max_retries=1", "-P", "backoff=0.1"])  # fmt: skip
    assert resumed.exit_code == 0, resumed.output
    assert [unit["index"] for unit in read_results(out)] == [0, 1] and len(requests) == 4

    hotter = CliRunner().invoke(app, [*common, "--resume", "--base-url", base_url, "--episodes", "3",
                                      "-P", "temperature=0.7"])  # fmt: skip
    assert hotter.exit_code == 2 and "was made with other settings (policy_options: stored {}, now {'temperature': 0.7})" in hotter.output
    assert len(requests) == 4
