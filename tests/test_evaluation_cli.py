"""``ree eval`` on the command line: options the run would not read, ``--resume`` where there
is no run or with fewer ``--episodes`` than the run holds, and a server that refuses the token."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from reasoning_economics.cli import app

SPEC = "oracle:accuracy=0.8,tokens=60"
ARGS = ["eval", "--policy", SPEC, "--questions", "3", "--no-progress"]


def _flat(output: str) -> str:
    return " ".join(output.split())


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--samples", "8"], "--samples does not apply in episode mode: only problem mode reads it"),
        (["--anytime-max-budget", "64"], "--anytime-max-budget does not apply in episode mode"),
        (["--anytime-budgets", "2"], "--anytime-budgets does not apply in episode mode"),
        (["--summaries", "2"], "--summaries does not apply in episode mode"),
        (["--summary-tokens", "20"], "--summary-tokens does not apply in episode mode"),
        (["--mode", "anytime", "--samples", "2"], "--samples does not apply in anytime mode"),
        (["--mode", "problem", "--anytime-max-budget", "64"], "--anytime-max-budget does not apply in problem mode"),
        (["--token", "abc"], "--token is the bearer token for --server; without --server"),
    ],
)
def test_options_the_run_would_not_read_are_refused(extra, message, tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(app, [*ARGS, "--episodes", "1", *extra, "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert f"error: {message}" in _flat(result.output)
    assert "Traceback" not in result.output and not out.exists()


@pytest.mark.parametrize(
    "flag",
    ["--episodes", "--questions", "--budget", "--max-tokens-per-step", "--concurrency", "--samples",
     "--anytime-max-budget", "--anytime-budgets", "--summaries", "--summary-tokens"],
)  # fmt: skip
def test_a_count_below_one_names_its_flag(flag, tmp_path):
    # The error named the setting's field ("anytime_num_budgets must be an integer >= 1").
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["eval", "--policy", SPEC, flag, "0", "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{flag}'" in _flat(result.output) and not out.exists()


def test_options_a_mode_reads_and_an_ambient_token_are_accepted(tmp_path, monkeypatch):
    # REE_TOKEN exported for a server is not a --token given by hand: an in-process run ignores it.
    monkeypatch.setenv("REE_TOKEN", "exported-for-the-server")
    runner = CliRunner()
    problem = runner.invoke(
        app, [*ARGS, "--episodes", "1", "--mode", "problem", "--samples", "2", "--out", str(tmp_path / "p")]
    )
    assert problem.exit_code == 0, problem.output
    assert json.loads((tmp_path / "p" / "run.json").read_text())["samples"] == 2
    episode = runner.invoke(app, [*ARGS, "--episodes", "1", "--out", str(tmp_path / "e")])
    assert episode.exit_code == 0, episode.output


def test_resume_where_there_is_no_run_is_refused_and_creates_nothing(tmp_path):
    runner = CliRunner()
    typo = tmp_path / "e" / "nonexist"
    result = runner.invoke(app, [*ARGS, "--episodes", "1", "--resume", "--out", str(typo)])
    assert result.exit_code == 2, result.output
    assert f"there is nothing to resume in {typo} (no such directory)" in _flat(result.output)
    assert not (tmp_path / "e").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, [*ARGS, "--episodes", "1", "--resume", "--out", str(empty)])
    assert result.exit_code == 2 and "nothing to resume" in result.output, result.output
    assert list(empty.iterdir()) == []


def test_resume_with_fewer_episodes_than_the_run_holds_changes_nothing(tmp_path):
    runner = CliRunner()
    run = tmp_path / "oracle"
    assert runner.invoke(app, [*ARGS, "--episodes", "3", "--out", str(run)]).exit_code == 0
    copy = tmp_path / "o2"
    shutil.copytree(run, copy)
    before = {path.name: path.read_bytes() for path in copy.iterdir()}
    result = runner.invoke(app, [*ARGS, "--episodes", "2", "--resume", "--out", str(copy)])
    assert result.exit_code == 2, result.output
    assert "already holds 3 finished units, up to unit 2, more than --episodes 2" in _flat(result.output)
    assert "pass --episodes 3 or more" in _flat(result.output)
    assert {path.name: path.read_bytes() for path in copy.iterdir()} == before
    # The same number, or more, resumes (and extends) the run as before.
    same = runner.invoke(app, [*ARGS, "--episodes", "3", "--resume", "--out", str(copy)])
    assert same.exit_code == 0, same.output
    more = runner.invoke(app, [*ARGS, "--episodes", "4", "--resume", "--out", str(copy)])
    assert more.exit_code == 0, more.output
    assert json.loads((copy / "run.json").read_text())["episodes"] == 4
    assert len((copy / "results.jsonl").read_text().splitlines()) == 4


def test_a_server_refusing_the_token_says_to_pass_token_not_that_it_is_down(start_server, tmp_path):
    pytest.importorskip("uvicorn")
    server = start_server(token="s3cret")
    runner = CliRunner()
    args = ["eval", "--policy", SPEC, "--no-progress", "--episodes", "1", "--server", server.base_url]
    for extra, status in (([], "401"), (["--token", "wrong"], "403")):
        out = tmp_path / f"refused{status}"
        result = runner.invoke(app, [*args, *extra, "--out", str(out)])
        assert result.exit_code == 2, result.output
        text = _flat(result.output)
        assert f"HTTP {status}" in text and "--token or REE_TOKEN" in text
        assert "run the command again with the server's token (--token TOKEN, or the REE_TOKEN" in text
        assert "once the server is back" not in text
        assert not out.exists()
