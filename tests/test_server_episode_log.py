"""The episode log of a live server: one JSON line per finished episode, flushed as it
finishes; an unwritable directory is a clear error at start, a full disk one at write."""

from __future__ import annotations

import json
import os
import time

import pytest
from typer.testing import CliRunner
from websockets.sync.client import connect

from reasoning_economics import tokens
from reasoning_economics.cli import app as cli
from reasoning_economics.errors import EpisodeLogError
from reasoning_economics.server.app import create_server_app
from reasoning_economics.server.episode_log import EpisodeLog
from reasoning_economics.server.settings import ServerSettings

from ws_messages import exchange


def play(ws, seed: int, responses: list[str], budget: int = 100_000) -> dict:
    exchange(ws, {"type": "reset", "data": {"seed": seed, "tokenizer_name": "qwen3", "total_budget": budget}})
    reply = None
    for response in responses:
        reply = exchange(ws, {"type": "step", "data": {"response": response, "metadata": {"grading_response": response[-12:]}}})
        assert reply["type"] == "observation", reply
    return reply


def read_lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_each_finished_episode_is_one_json_line_written_when_it_finishes(start_server, tmp_path):
    server = start_server(log_dir=tmp_path / "logs", warm_up=False)
    log = tmp_path / "logs" / "episodes.jsonl"
    responses = [f"Reasoning about question {k}. " * (k + 1) + f"\\boxed{{{k}}}" for k in range(10)]
    with connect(server.ws_url, open_timeout=30) as ws:
        final = play(ws, seed=21, responses=responses)
        assert final["data"]["done"] is True
        # Written before the final reply was sent: nothing waits for a buffer or for shutdown.
        (record,) = read_lines(log)
        play(ws, seed=22, responses=responses[:3])  # unfinished: logged when the client leaves it
        assert len(read_lines(log)) == 1
        refused = exchange(ws, {"type": "reset", "data": {"seed": -1}})
        assert refused["type"] == "error" and len(read_lines(log)) == 1  # the old episode goes on
        state = exchange(ws, {"type": "reset", "data": {"seed": 23}})
        assert state["type"] == "observation"
        abandoned = read_lines(log)[1]
        assert abandoned["seed"] == 22 and abandoned["finished"] is False
        assert abandoned["termination_reason"] == "abandoned" and abandoned["questions_answered"] == 3
        assert [step["response"] for step in abandoned["steps"]] == responses[:3]
        exchange(ws, {"type": "step", "data": {"response": responses[0]}})
    # The client disconnects mid-episode: its one answered step is logged too.
    deadline = time.monotonic() + 30
    while len(read_lines(log)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    left = read_lines(log)[2]
    assert left["seed"] == 23 and left["finished"] is False and len(left["steps"]) == 1
    assert record["finished"] is True

    assert record["seed"] == 21 and record["tokenizer_name"] == "qwen3" and record["total_budget"] == 100_000
    assert record["num_questions"] == 10 and record["termination_reason"] == "all_answered"
    assert [step["response"] for step in record["steps"]] == responses
    assert [step["grading_response"] for step in record["steps"]] == [r[-12:] for r in responses]
    assert [step["tokens_counted"] for step in record["steps"]] == [tokens.count_tokens(r, "qwen3") for r in responses]
    assert record["spent_budget"] == sum(step["tokens_used"] for step in record["steps"])
    assert record["total_reward"] == pytest.approx(sum(step["reward"] for step in record["steps"]))
    assert record["total_correct"] == sum(step["was_correct"] for step in record["steps"])
    assert record["accuracy"] == pytest.approx(record["total_correct"] / 10)
    history = final["data"]["observation"]["history"]
    assert [step["question_id"] for step in record["steps"]] == [entry["question_id"] for entry in history]
    assert [q["question_id"] for q in record["questions"]] == [entry["question_id"] for entry in history]
    assert all(step["question"] == q["question"] for step, q in zip(record["steps"], record["questions"]))
    assert all(step["step_ms"] >= step["grade_ms"] >= 0 for step in record["steps"])
    assert record["duration_s"] >= 0 and record["finished_at"] >= record["started_at"]


def test_an_unwritable_log_dir_is_a_clear_error_at_start(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(EpisodeLogError, match="cannot write the episode log"):
        create_server_app(ServerSettings(log_dir=blocker / "logs", warm_up=False))
    result = CliRunner().invoke(cli, ["serve", "--log-dir", str(blocker / "logs"), "--port", "1"])
    assert result.exit_code == 2
    assert "cannot write the episode log" in result.output and "--log-dir" in result.output


def test_a_full_disk_is_reported_to_the_client_and_the_record_kept_for_a_retry(start_server, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    os.symlink("/dev/full", logs / "episodes.jsonl")  # every write fails with ENOSPC
    server = start_server(log_dir=logs, warm_up=False)
    with connect(server.ws_url, open_timeout=30) as ws:
        final = play(ws, seed=5, responses=["\\boxed{1}"] * 10)
    assert final["data"]["done"] is True
    assert "No space left on device" in final["data"]["metadata"]["episode_log_error"]
    assert final["data"]["observation"]["metadata"]["episode_log_error"] == final["data"]["metadata"]["episode_log_error"]
    assert server.app.state.episode_log.pending == 1 and server.app.state.episode_log.records_written == 0


def test_line_breaks_json_keeps_raw_are_escaped_so_each_record_stays_one_line(tmp_path):
    # U+2028, U+2029 and U+0085 may stand raw in JSON strings, but str.splitlines() ends a line
    # at each: an answer holding one split its record in two.
    from reasoning_economics.evaluation.results import ResultsWriter, read_results

    text = "a\u2028b\u2029c\x85d é"
    log = EpisodeLog(tmp_path / "episodes.jsonl")
    assert log.append({"response": text}) is None
    log.close()
    with ResultsWriter(tmp_path / "run") as writer:
        writer.append({"index": 0, "response": text})
    for path in (tmp_path / "episodes.jsonl", tmp_path / "run" / "results.jsonl"):
        content = path.read_text(encoding="utf-8")
        assert len(content.splitlines()) == 1 and "é" in content  # other non-ASCII text stays as is
        assert json.loads(content)["response"] == text
    assert read_results(tmp_path / "run") == [{"index": 0, "response": text}]
