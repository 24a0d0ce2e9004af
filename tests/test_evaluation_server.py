"""``ree eval --server``: the same episodes on a live ``ree serve`` (uvicorn on 127.0.0.1) as in-process."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

pytest.importorskip("uvicorn")

from reasoning_economics.cli import app  # noqa: E402
from reasoning_economics.env import EnvConfig  # noqa: E402
from reasoning_economics.evaluation.config import EvalConfig  # noqa: E402
from reasoning_economics.evaluation.results import read_results  # noqa: E402
from reasoning_economics.evaluation.runner import run_evaluation  # noqa: E402

SPEC = "oracle:accuracy=0.6,tokens=40,tokens_per_difficulty=80"


def _comparable(units):
    # env_config_digest fingerprints each environment's whole EnvConfig (the server's has its own defaults).
    return [{k: v for k, v in unit.items() if k not in ("episode_id", "env_config_digest")} for unit in units]


@pytest.mark.parametrize("budget", [500, 120])
def test_remote_episodes_equal_in_process_episodes(start_server, tmp_path, budget):
    server = start_server(env_config=EnvConfig(num_questions=3, max_tokens_per_step=100))
    # No questions or max_tokens_per_step with a server: the server's own (3 and 100 here) apply.
    remote = EvalConfig(policy=SPEC, episodes=3, budget=budget, server=server.base_url, concurrency=2)
    remote_summary = run_evaluation(remote, tmp_path / "remote", show_progress=False)
    local = EvalConfig(policy=SPEC, episodes=3, questions=3, max_tokens_per_step=100, budget=budget, concurrency=2)
    local_summary = run_evaluation(local, tmp_path / "local", show_progress=False)
    remote_units, local_units = read_results(tmp_path / "remote"), read_results(tmp_path / "local")
    # same questions, answers, charges, rewards and terminations, step by step
    assert _comparable(remote_units) == _comparable(local_units)
    assert remote_summary["accuracy"] == local_summary["accuracy"]
    assert remote_summary["budget"] == local_summary["budget"]
    assert all(unit["total_budget"] == budget for unit in remote_units)
    # The questions the budget never reached are rebuilt from the seed on the client's side, as
    # the environment holds them in-process (equal units above), and counted in their tiers.
    unanswered = sum(len(unit["unanswered"]) for unit in remote_units)
    assert unanswered == sum(3 - len(unit["steps"]) for unit in remote_units)
    assert (unanswered > 0) == (budget == 120)
    assert remote_summary["by_difficulty"] == local_summary["by_difficulty"]


def test_cli_against_a_server_with_a_token(start_server, tmp_path):
    server = start_server(token="s3cret", env_config=EnvConfig(num_questions=2))
    runner = CliRunner()
    args = ["eval", "--policy", SPEC, "--episodes", "2", "--server", server.base_url, "--no-progress"]
    refused = runner.invoke(app, [*args, "--out", str(tmp_path / "refused")])
    assert refused.exit_code == 2
    assert "401" in refused.output or "token" in refused.output.lower()
    assert not (tmp_path / "refused").exists()  # refused before the run folder is made
    unreachable = runner.invoke(
        app, ["eval", "--policy", SPEC, "--episodes", "1", "--server", "http://127.0.0.1:9", "--no-progress",
              "--out", str(tmp_path / "unreachable")],
    )  # fmt: skip
    assert unreachable.exit_code == 2 and "cannot connect to ws://127.0.0.1:9/ws" in unreachable.output
    assert not (tmp_path / "unreachable").exists()
    accepted = runner.invoke(app, [*args, "--token", "s3cret", "--out", str(tmp_path / "ok")])
    assert accepted.exit_code == 0, accepted.output
    units = read_results(tmp_path / "ok")
    assert [len(u["steps"]) for u in units] == [2, 2]


@pytest.mark.parametrize(
    ("metadata", "record", "expected"),
    [
        ({}, {}, "answered a reset without metadata num_questions, total_budget"),
        ({"num_questions": 1, "total_budget": 100}, {"step_idx": 0, "was_correct": True},
         "answered episode 0's step without the history record ree eval records \\(missing: question_id"),
    ],
)  # fmt: skip
def test_a_server_without_the_fields_ree_eval_records_is_an_error_line(metadata, record, expected, tmp_path):
    # A reply of another server (the fields are ree serve's): KeyError and IndexError tracebacks before.
    import json
    import threading

    from websockets.sync.server import serve

    from reasoning_economics.problems import create_source, sample_episode

    question = sample_episode(create_source("builtin"), 1, 0)[0].question  # what the oracle can answer

    def observation(step_idx, history, done):
        return json.dumps({"type": "observation", "data": {"done": done, "reward": 1.0 if done else None, "observation": {
            "question": "" if done else question, "remaining_budget": 100, "questions_remaining": 0 if done else 1,
            "step_idx": step_idx, "history": history, "step_token_limit": 0 if done else 50, "prompt": question,
            "metadata": metadata}}})  # fmt: skip

    def answer(ws):
        for message in ws:
            kind = json.loads(message).get("type")
            if kind in ("reset", "step"):
                ws.send(observation(0, [], False) if kind == "reset" else observation(1, [record], True))

    with serve(answer, "127.0.0.1", 0) as stub:
        threading.Thread(target=stub.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{stub.socket.getsockname()[1]}"
        result = CliRunner().invoke(
            app, ["eval", "--policy", SPEC, "--episodes", "1", "--server", url, "--no-progress", "--out", str(tmp_path / "run")]
        )
        stub.shutdown()
    assert result.exit_code == 2, result.output
    assert "error:" in result.output and re.search(expected, " ".join(result.output.split()))
