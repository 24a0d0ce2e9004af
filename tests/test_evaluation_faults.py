"""``ree eval`` when the world around it fails: a server restarted with other settings under a
resumed run, grading workers that cannot start, a full disk, a server that goes away.

Everything here is real: ``ree serve``'s application on 127.0.0.1, grading worker processes
that fail to start because their interpreter cannot (``PYTHONHOME`` pointing nowhere is
inherited by each new worker, never by this process), and files on a device that is full.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("uvicorn")

from reasoning_economics.cli import app  # noqa: E402
from reasoning_economics.env import EnvConfig  # noqa: E402
from reasoning_economics.evaluation.config import EvalConfig  # noqa: E402
from reasoning_economics.evaluation.modes import base as mode_base  # noqa: E402
from reasoning_economics.evaluation.results import read_results  # noqa: E402
from reasoning_economics.evaluation.runner import run_evaluation  # noqa: E402
from reasoning_economics.grading.workers import shutdown_pool  # noqa: E402
from reasoning_economics.problems import create_source, sample_episode  # noqa: E402

SPEC = "oracle:accuracy=0.6,tokens=40,tokens_per_difficulty=80"
WRONG_EVERY_TIME = "oracle:accuracy=0,tokens=30"


def _files(run: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(run.iterdir())}


def _eval_args(server_url: str, out: Path, *more: str) -> list[str]:
    return ["eval", "--policy", SPEC, "--server", server_url, "--out", str(out), "--no-progress", *more]


# ----------------------------------------------------------------------------- resume


def _two_episodes_against(server, out: Path) -> CliRunner:
    """Run two episodes of ``SPEC`` against ``server`` into ``out``; the runner, to resume with."""
    runner = CliRunner()
    made = runner.invoke(app, _eval_args(server.base_url, out, "--episodes", "2"))
    assert made.exit_code == 0, made.output
    return runner


def _assert_resume_refused(runner: CliRunner, args: list[str], out: Path, *says: str) -> None:
    """``ree eval <args>`` exits 2 saying each of ``says`` and leaves every file of ``out`` as it was."""
    before = _files(out)
    resumed = runner.invoke(app, args)
    assert resumed.exit_code == 2, resumed.output
    assert all(part in resumed.output for part in says), resumed.output
    assert _files(out) == before  # nothing appended, run.json not rewritten


def test_resume_against_a_server_restarted_with_other_settings_is_refused(start_server, tmp_path):
    first = start_server(env_config=EnvConfig(num_questions=3))
    out = tmp_path / "run"
    runner = _two_episodes_against(first, out)
    run_json = json.loads((out / "run.json").read_text())
    # what the server served, not the command line's default of 4
    assert run_json["questions"] == 3 and run_json["first_episode"]["num_questions"] == 3
    first.stop()
    restarted = start_server(first.port, env_config=EnvConfig(num_questions=2))
    resume = _eval_args(restarted.base_url, out, "--episodes", "5", "--resume")
    _assert_resume_refused(runner, resume, out, "other settings", "questions")


def test_resume_checks_the_units_on_disk_not_only_run_json(start_server, tmp_path):
    # A run.json as versions before this check wrote it against a server: the command line's
    # --questions (4) where the server served 3, and no first_episode.
    first = start_server(env_config=EnvConfig(num_questions=3))
    out = tmp_path / "run"
    runner = _two_episodes_against(first, out)
    stored = json.loads((out / "run.json").read_text())
    stored.pop("first_episode", None)
    stored["questions"] = 4
    (out / "run.json").write_text(json.dumps(stored))
    first.stop()
    restarted = start_server(first.port, env_config=EnvConfig(num_questions=4))
    resume = _eval_args(restarted.base_url, out, "--episodes", "5", "--resume")
    _assert_resume_refused(runner, resume, out, "holds 3 questions per episode, but this run's episodes have 4")


def test_a_server_run_resumed_in_process_is_refused(start_server, tmp_path):
    server = start_server(env_config=EnvConfig(num_questions=4))
    out = tmp_path / "run"
    runner = _two_episodes_against(server, out)
    in_process = ["eval", "--policy", SPEC, "--out", str(out), "--no-progress", "--episodes", "4", "--resume"]
    _assert_resume_refused(runner, in_process, out, "server: stored")


def test_resume_against_the_same_server_settings_finishes_the_run(start_server, tmp_path):
    first = start_server(env_config=EnvConfig(num_questions=3))
    out = tmp_path / "run"
    runner = _two_episodes_against(first, out)
    first.stop()
    again = start_server(first.port, env_config=EnvConfig(num_questions=3))
    resumed = runner.invoke(app, _eval_args(again.base_url, out, "--episodes", "4", "--resume"))
    assert resumed.exit_code == 0, resumed.output
    assert [(u["index"], u["num_questions"]) for u in read_results(out)] == [(i, 3) for i in range(4)]


# ----------------------------------------------------------------------------- grading errors


@pytest.fixture
def grading_workers_cannot_start(monkeypatch, tmp_path):
    """A fresh grading pool whose workers fail to start until ``PYTHONHOME`` is unset again
    (``monkeypatch.delenv("PYTHONHOME")``); the pool is shut down afterwards, so later tests
    get a working one."""
    shutdown_pool()
    monkeypatch.setenv("PYTHONHOME", str(tmp_path / "no-python-here"))
    yield
    shutdown_pool()


def _symbolic_problems(path: Path, count: int = 6, numeric: int = 0) -> Path:
    """Questions only a grading worker can decide a wrong answer to, with golds no other test
    graded (the verdict cache would answer those without a worker); the first ``numeric`` have
    a number for gold, which is graded in-process."""
    # Under 5,000: the wrong answer to a numeric gold is gold + 1, which the in-process fast path
    # settles only while 1 / gold is over its 1e-4 gap (a gold over 10,000 went to a worker).
    salt = uuid.uuid4().int % 4_900 + 100
    lines = []
    for k in range(count):
        if k < numeric:
            lines.append({"question": f"What is {k} + {salt}?", "answer": str(k + salt), "type": "arithmetic"})
        else:
            lines.append({"question": f"Expand $(x+{k})(x+{salt})$.", "answer": f"x^2 + {k + salt}x + {k * salt}",
                          "type": "algebra"})  # fmt: skip
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


class _RetryLog(logging.Handler):
    """Keeps the runner's retry lines and, at the first, lets grading workers start again."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.monkeypatch = monkeypatch

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
        self.monkeypatch.delenv("PYTHONHOME", raising=False)


@pytest.mark.parametrize("where", ["in-process", "server"])
def test_a_grading_error_is_retried_with_the_same_answer(where, grading_workers_cannot_start, monkeypatch,
                                                         start_server, tmp_path):  # fmt: skip
    problems = _symbolic_problems(tmp_path / "problems.jsonl")
    dataset = f"file:{problems}"
    server = None
    if where == "server":
        server = start_server(env_config=EnvConfig(num_questions=2, dataset=dataset)).base_url
    # Generous waits: on a loaded machine a new worker takes seconds to import its libraries.
    monkeypatch.setattr(mode_base, "GRADING_RETRY_DELAYS", (0.5, 1.0, 2.0, 4.0, 8.0, 8.0))
    retries = _RetryLog(monkeypatch)
    logger = logging.getLogger(mode_base.__name__)
    logger.addHandler(retries)
    try:
        # With a server its own number of questions (2) applies, and none may be given.
        config = EvalConfig(policy=WRONG_EVERY_TIME, dataset=dataset, episodes=2, concurrency=1, server=server,
                            **({} if server else {"questions": 2}))  # fmt: skip
        run_evaluation(config, tmp_path / "run", show_progress=False)
    finally:
        logger.removeHandler(retries)
    assert retries.lines and "sending the same answer again" in retries.lines[0]
    assert "no grading worker is running" in retries.lines[0]
    units = read_results(tmp_path / "run")
    assert [(u["index"], len(u["steps"])) for u in units] == [(0, 2), (1, 2)]
    assert all(step["response"].endswith("\\boxed{-98765}.") and not step["correct"] for u in units for step in u["steps"])


def test_grading_that_keeps_failing_stops_the_run_with_how_to_resume(grading_workers_cannot_start, monkeypatch,
                                                                    tmp_path):  # fmt: skip
    problems = _symbolic_problems(tmp_path / "problems.jsonl", count=8, numeric=4)
    dataset = f"file:{problems}"
    source = create_source(dataset)
    graded_in_process = [sample_episode(source, 1, seed)[0].answer.isdigit() for seed in range(12)]
    first_symbolic = graded_in_process.index(False)
    monkeypatch.setattr(mode_base, "GRADING_RETRY_DELAYS", (0.1, 0.2))
    out = tmp_path / "run"
    args = ["eval", "--policy", WRONG_EVERY_TIME, "--dataset", dataset, "--questions", "1", "--episodes", "12",
            "--concurrency", "1", "--out", str(out), "--no-progress"]  # fmt: skip
    stopped = CliRunner().invoke(app, args)
    assert stopped.exit_code == 2, stopped.output
    assert "failed 3 times" in stopped.output and "no grading worker is running" in stopped.output
    assert f"continue with the same command plus --resume --out {out}" in stopped.output
    # every episode before the one that could not be graded is on disk
    assert [u["index"] for u in read_results(out)] == list(range(first_symbolic))
    monkeypatch.delenv("PYTHONHOME")
    monkeypatch.setattr(mode_base, "GRADING_RETRY_DELAYS", (0.5, 1.0, 2.0, 4.0, 8.0, 8.0))
    resumed = CliRunner().invoke(app, [*args, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert [u["index"] for u in read_results(out)] == list(range(12))


# ----------------------------------------------------------------------------- a full disk


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_is_a_clear_error_that_says_to_resume(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    os.symlink("/dev/full", out / "results.jsonl")
    result = CliRunner().invoke(app, ["eval", "--policy", SPEC, "--episodes", "2", "--questions", "2",
                                      "--out", str(out), "--no-progress"])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "cannot write results.jsonl (No space left on device)" in result.output
    assert "rerun with --resume" in result.output


def test_a_file_size_limit_leaves_no_partial_line_and_resume_finishes(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "run"
    command = [sys.executable, "-m", "reasoning_economics.cli", "eval", "--policy", SPEC, "--episodes", "6",
               "--questions", "3", "--out", str(out), "--no-progress"]  # fmt: skip
    limited = subprocess.run(
        ["bash", "-c", 'ulimit -f 8 && exec "$@"', "bash", *command],  # 8 blocks of 512 bytes: 4 KiB
        capture_output=True, text=True, timeout=300,
    )
    assert limited.returncode == 2, limited.stdout + limited.stderr
    assert "cannot write results.jsonl (File too large)" in limited.stderr
    assert "Traceback" not in limited.stderr
    written = (out / "results.jsonl").read_bytes()
    assert written == b"" or written.endswith(b"\n")  # the line that did not fit was cut off
    saved = len(read_results(out))
    assert saved < 6
    resumed = subprocess.run([*command, "--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert [u["index"] for u in read_results(out)] == list(range(6))


# ----------------------------------------------------------------------------- a lost server


def test_a_server_that_goes_away_mid_run_says_what_happened_and_to_resume(start_server, wait_until, tmp_path):
    import threading

    server = start_server(env_config=EnvConfig(num_questions=2), warm_up=False)
    out = tmp_path / "run"

    def stop_after_the_first_episode() -> None:
        wait_until(lambda: (out / "results.jsonl").is_file() and (out / "results.jsonl").read_bytes().count(b"\n"), 120)
        server.stop()

    stopper = threading.Thread(target=stop_after_the_first_episode)
    stopper.start()
    try:
        result = CliRunner().invoke(app, _eval_args(server.base_url, out, "--episodes", "400", "--concurrency", "1"))
    finally:
        stopper.join()
    assert result.exit_code == 2, result.output
    # a step on the open connection (closed with code 1012), or a new episode that cannot connect
    assert "code 1012: the server is restarting" in result.output or "cannot connect" in result.output
    assert f"once the server is back, continue with the same command plus --resume --out {out}" in result.output
    saved = read_results(out)
    assert saved and [u["index"] for u in saved] == list(range(len(saved)))
