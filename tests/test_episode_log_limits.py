"""What a client cannot make the episode log do: keep megabytes per response, grow its memory
without bound while the disk is full, hold later records behind one that does not fit, write
into a file rotated away, or log every question of an episode for one short step; and what
it still does at shutdown: write what it kept once the disk has room again."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap

import pytest
from websockets.sync.client import connect

from reasoning_economics.errors import EpisodeLogError
from reasoning_economics.server.episode_log import EpisodeLog, EpisodeRecorder

from ws_messages import exchange


def read_lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def run_with_file_size_limit(body: str) -> dict:
    """Run ``body`` in a fresh Python whose file-size limit stands in for a disk that fills
    up (``disk_holds(n)``: writes past n bytes fail) and is freed (``disk_freed()``; the two in
    turn around appends: ``appended_while_full(log, n, records)``); it
    prints one JSON object, returned here. A subprocess, so the limit binds nothing of pytest's."""
    prelude = textwrap.dedent("""
        import json, resource, signal
        from pathlib import Path
        from reasoning_economics.server.episode_log import EpisodeLog

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails (EFBIG)
        _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)

        def disk_holds(size):
            resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))

        def disk_freed():
            resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))

        def appended_while_full(log, holds, records):
            # Append while the disk holds `holds` bytes, then free it: the errors, and how many
            # records were pending before the disk was freed.
            disk_holds(holds)
            errors = [log.append(record) for record in records]
            pending = log.pending
            disk_freed()
            return errors, pending
    """)
    completed = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(body)], capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_records_that_failed_are_written_first_once_the_disk_has_room_again(tmp_path):
    path = tmp_path / "episodes.jsonl"
    outcome = run_with_file_size_limit(f"""
        log = EpisodeLog(Path({str(path)!r}))
        errors, pending_while_full = appended_while_full(log, 0, [{{"n": 1}}, {{"n": 2}}])
        errors.append(log.append({{"n": 3}}))
        print(json.dumps({{"errors": errors, "pending_while_full": pending_while_full,
                          "pending": log.pending, "written": log.records_written}}))
        log.close()
    """)
    assert outcome["errors"][0] is not None and outcome["errors"][1] is not None
    assert outcome["pending_while_full"] == 2
    assert outcome["errors"][2] is None  # room again: the backlog goes first, in order
    assert read_lines(path) == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert outcome["pending"] == 0 and outcome["written"] == 3


def test_a_record_that_does_not_fit_does_not_hold_back_the_shorter_ones_after_it(tmp_path):
    path = tmp_path / "episodes.jsonl"
    outcome = run_with_file_size_limit(f"""
        log = EpisodeLog(Path({str(path)!r}))
        errors, pending_while_full = appended_while_full(log, 2000, [{{"n": 1, "text": "x" * 5000}}, {{"n": 2}}, {{"n": 3}}])
        errors.append(log.append({{"n": 4}}))
        print(json.dumps({{"errors": errors, "pending_while_full": pending_while_full, "pending": log.pending}}))
        log.close()
    """)
    first, second, third, fourth = outcome["errors"]
    assert second is None and third is None  # written although the long one before them was not
    assert "No space left on device" in first
    assert outcome["pending_while_full"] == 1
    assert fourth is None and outcome["pending"] == 0  # room again: the long one goes out too
    assert [record["n"] for record in read_lines(path)] == [2, 3, 1, 4]


def test_close_writes_what_it_kept_once_the_disk_has_room_again(tmp_path):
    path = tmp_path / "episodes.jsonl"
    outcome = run_with_file_size_limit(f"""
        log = EpisodeLog(Path({str(path)!r}))
        errors, pending = appended_while_full(log, 0, [{{"n": 1}}, {{"n": 2}}])
        log.close()  # no episode came after the disk was freed: the shutdown is the last chance
        print(json.dumps({{"errors": errors, "pending": pending}}))
    """)
    assert all(error is not None for error in outcome["errors"]) and outcome["pending"] == 2
    assert read_lines(path) == [{"n": 1}, {"n": 2}]


def test_records_kept_for_a_retry_are_bounded_in_bytes_as_well_as_in_number(tmp_path):
    os.symlink("/dev/full", tmp_path / "episodes.jsonl")  # every write fails with ENOSPC
    log = EpisodeLog(tmp_path / "episodes.jsonl", max_pending_bytes=10_000)
    for n in range(50):
        assert "No space left on device" in log.append({"n": n, "text": "y" * 1000})
    assert log.pending_bytes <= 10_000 and log.pending == 9
    assert log.records_dropped == 41
    kept = [json.loads(line) for line in log._pending]
    assert [record["n"] for record in kept] == list(range(41, 50))  # the newest stay
    error = log.append({"n": 50, "text": "z" * 20_000})  # alone beyond the bound: not kept
    assert "No space left on device" in error and "lost" in error
    assert log.pending_bytes <= 10_000 and log.records_dropped == 42 + 9
    log.close()


def test_failed_writes_and_drops_are_logged_once_then_summed_not_once_per_episode(tmp_path, caplog):
    # A line per failing episode filled stderr at a client's pace: 306 lines in 10 s from one
    # client on a full disk.
    import logging

    caplog.set_level(logging.ERROR, logger="reasoning_economics.server.episode_log")
    os.symlink("/dev/full", tmp_path / "episodes.jsonl")  # every write fails with ENOSPC
    log = EpisodeLog(tmp_path / "episodes.jsonl", max_pending_records=5)
    for n in range(200):
        assert "No space left on device" in log.append({"n": n})
    failures = [record.getMessage() for record in caplog.records if "write failed" in record.getMessage()]
    drops = [record.getMessage() for record in caplog.records if "dropped the oldest" in record.getMessage()]
    assert len(failures) == 1 and "1 episode(s)" in failures[0] and "[1 since the last report]" in failures[0]
    assert len(drops) == 1 and "1 in all" in drops[0]
    assert log.records_dropped == 195 and log.pending == 5  # counted, though not each logged
    log._failed_writes.last_logged -= log._failed_writes.interval_s  # the interval has passed
    log.append({"n": 200})
    latest = [record.getMessage() for record in caplog.records if "write failed" in record.getMessage()][-1]
    assert "5 episode(s)" in latest and "[200 since the last report]" in latest
    log.close()


def test_a_log_rotated_away_and_deleted_is_created_again_at_its_path(tmp_path):
    path = tmp_path / "episodes.jsonl"
    log = EpisodeLog(path)
    assert log.append({"n": 1}) is None
    path.rename(tmp_path / "episodes.rotated")
    assert log.append({"n": 2}) is None
    assert read_lines(path) == [{"n": 2}]  # moved away: the next record starts a new file
    assert read_lines(tmp_path / "episodes.rotated") == [{"n": 1}]
    (tmp_path / "episodes.rotated").unlink()
    path.rename(tmp_path / "episodes.rotated")
    (tmp_path / "episodes.rotated").unlink()  # moved, then deleted: the open file is gone
    assert log.append({"n": 3}) is None
    assert read_lines(path) == [{"n": 3}]
    log.close()


def test_a_log_whose_directory_is_gone_reports_the_error_and_keeps_the_record(tmp_path):
    folder = tmp_path / "logs"
    log = EpisodeLog(folder / "episodes.jsonl")
    (folder / "episodes.jsonl").unlink()
    folder.rmdir()
    error = log.append({"n": 1})
    assert error is not None and "cannot be opened again" in error and log.pending == 1
    folder.mkdir()
    assert log.append({"n": 2}) is None
    assert read_lines(folder / "episodes.jsonl") == [{"n": 1}, {"n": 2}]
    log.close()


def test_a_log_path_that_is_a_pipe_is_refused_at_start_not_waited_on(tmp_path):
    # Opening a FIFO with no reader blocked: `ree serve` hung before it listened, deaf to SIGTERM.
    path = tmp_path / "episodes.jsonl"
    os.mkfifo(path)
    with pytest.raises(EpisodeLogError, match="pipe or a socket"):
        EpisodeLog(path)
    with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb"):  # with a reader it is still refused
        with pytest.raises(EpisodeLogError, match="pipe or a socket"):
            EpisodeLog(path)


def test_a_log_replaced_by_a_pipe_reports_the_error_and_keeps_the_record(tmp_path):
    # The thread writing the record blocked on the FIFO holding the log's lock: every session's
    # last step waited for ever, and so did the shutdown.
    path = tmp_path / "episodes.jsonl"
    log = EpisodeLog(path)
    assert log.append({"n": 1}) is None
    path.rename(tmp_path / "episodes.rotated")
    os.mkfifo(path)
    error = log.append({"n": 2})
    assert error is not None and "pipe or a socket" in error and log.pending == 1
    path.unlink()
    assert log.append({"n": 3}) is None
    assert read_lines(path) == [{"n": 2}, {"n": 3}]
    log.close()


def test_text_that_is_not_utf8_still_makes_a_json_line(tmp_path):
    # A lone surrogate ("\ud800" in JSON) has no UTF-8 form; the line carries it escaped.
    log = EpisodeLog(tmp_path / "episodes.jsonl")
    assert log.append({"question": "a\ud800b"}) is None
    log.close()
    assert read_lines(tmp_path / "episodes.jsonl") == [{"question": "a\ud800b"}]


def test_the_recorder_keeps_only_the_head_and_tail_of_a_long_response():
    recorder = EpisodeRecorder("s", max_response_chars=100)
    whole = "\U0001f600" * 1_000_000
    recorder.on_step(whole, "\\boxed{1}", 12.5)
    (step,) = recorder.steps
    # What an idle session holds is what the log will write, not the megabytes sent.
    assert len(step["response"]) < 200 and step["grading_response"] == "\\boxed{1}"
    assert step["response_truncated"] == {
        "chars": 1_000_000,
        "sha256": hashlib.sha256(whole.encode()).hexdigest(),
        "head_chars": 50,
        "tail_chars": 50,
        "omitted_chars": 999_900,
    }
    assert "grading_response_truncated" not in step


def test_a_served_episode_logs_long_responses_as_head_and_tail_and_counted_whole(start_server, tmp_path):
    from reasoning_economics import tokens

    server = start_server(log_dir=tmp_path, log_max_response_chars=1000, warm_up=False)
    responses = [f"Step {k}: " + "é\u2028" * 3000 + f" so the answer is \\boxed{{{k}}}" for k in range(10)]
    with connect(server.ws_url, open_timeout=30, max_size=None) as ws:
        exchange(ws, {"type": "reset", "data": {"seed": 3, "tokenizer_name": "qwen3", "total_budget": 10_000_000}})
        for response in responses:
            reply = exchange(ws, {"type": "step", "data": {"response": response, "metadata": {"grading_response": response[-30:]}}})
            assert reply["type"] == "observation", reply
    assert reply["data"]["done"] is True and "episode_log_error" not in reply["data"]["metadata"]
    content = (tmp_path / "episodes.jsonl").read_text(encoding="utf-8")
    assert len(content.splitlines()) == 1  # U+2028 stays escaped
    (record,) = read_lines(tmp_path / "episodes.jsonl")
    for step, response in zip(record["steps"], responses):
        kept = step["response"]
        assert kept.startswith(response[:500]) and kept.endswith(response[-500:])
        assert f"[... {len(response) - 1000:,} of {len(response):,} characters omitted by the episode log ...]" in kept
        assert step["response_truncated"]["chars"] == len(response)
        assert step["response_truncated"]["sha256"] == hashlib.sha256(response.encode()).hexdigest()
        assert step["grading_response"] == response[-30:] and "grading_response_truncated" not in step
        assert step["tokens_counted"] == tokens.count_tokens(response, "qwen3")  # the budget saw all of it
    assert record["questions_omitted"] == 0 and len(record["questions"]) == 10


def test_an_abandoned_episode_lists_only_the_questions_its_client_was_shown(start_server, tmp_path):
    server = start_server(log_dir=tmp_path, warm_up=False)
    reset = {"type": "reset", "data": {"seed": 8, "tokenizer_name": "qwen3", "total_budget": 100_000}}
    with connect(server.ws_url, open_timeout=30) as ws:
        shown = exchange(ws, reset)["data"]["observation"]["question"]
        exchange(ws, reset)  # no step: nothing to log
        exchange(ws, {"type": "step", "data": {"response": "\\boxed{1}"}})
        second = exchange(ws, {"type": "step", "data": {"response": "\\boxed{2}"}})["data"]["observation"]["question"]
        exchange(ws, reset)
    (record,) = read_lines(tmp_path / "episodes.jsonl")
    assert record["finished"] is False and record["num_questions"] == 10 and len(record["steps"]) == 2
    # The two answered and the one left on screen; the seven never shown are counted, not listed.
    assert len(record["questions"]) == 3 and record["questions_omitted"] == 7
    assert record["questions"][0]["question"] == shown and record["questions"][2]["question"] == second
    assert [step["question_id"] for step in record["steps"]] == [q["question_id"] for q in record["questions"][:2]]


def test_ree_serve_passes_its_response_limit_to_the_episode_log(tmp_path):
    from typer.testing import CliRunner

    from reasoning_economics.cli import app as cli
    from reasoning_economics.server.command import _build

    settings, app = _build(
        host="127.0.0.1", port=8001, max_sessions=4, session_timeout=60, request_timeout=10, max_http_resets=4,
        token=None, config=None, log_dir=tmp_path, log_max_response_chars=500, allow_tokenizer=[],
        trust_remote_code=False, grading_timeout=None, max_message_bytes=1 << 20, warm_up=False,
    )  # fmt: skip
    assert settings.log_max_response_chars == 500 and app.state.episode_log.max_response_chars == 500
    app.state.episode_log.close()
    result = CliRunner().invoke(cli, ["serve", "--log-max-response-chars", "0", "--port", "1"])
    assert result.exit_code == 2 and "--log-max-response-chars" in result.output


def test_the_log_rotates_before_a_record_would_take_it_past_its_size_and_keeps_five_older_files(tmp_path):
    # Clients set the log's growth (95 MB in 10 s from two): bounded, it takes
    # six sizes at most, and no record is split or lost to a rotation.
    path = tmp_path / "episodes.jsonl"
    log = EpisodeLog(path, max_bytes=1_000)
    for n in range(60):
        assert log.append({"n": n, "text": "y" * 200}) is None  # about 230 bytes a line: four a file
    log.close()
    files = [path] + [tmp_path / f"episodes.{number}.jsonl" for number in range(1, 6)]
    assert sorted(tmp_path.iterdir()) == sorted(files)
    assert all(0 < file.stat().st_size <= 1_000 for file in files)
    kept = [record["n"] for file in reversed(files) for record in read_lines(file)]
    assert kept == list(range(60 - len(kept), 60)) and len(kept) == 24  # the newest, in order
    assert log.records_written == 60


def test_a_log_that_cannot_rotate_writes_on_in_the_same_file(tmp_path, caplog):
    import logging

    caplog.set_level(logging.ERROR, logger="reasoning_economics.server.episode_log")
    path = tmp_path / ("x" * 248 + ".jsonl")  # 254 bytes: its rotated name "x…x.1.jsonl" is too long to exist
    log = EpisodeLog(path, max_bytes=100)
    assert log.append({"n": 0, "text": "y" * 80}) is None
    assert log.append({"n": 1, "text": "y" * 80}) is None
    log.close()
    assert [record["n"] for record in read_lines(path)] == [0, 1] and list(tmp_path.iterdir()) == [path]
    assert "cannot rotate it (File name too long)" in caplog.text


def test_ree_serve_passes_its_log_size_to_the_episode_log(tmp_path):
    from reasoning_economics.server.command import _build

    settings, app = _build(
        host="127.0.0.1", port=0, max_sessions=4, session_timeout=60, request_timeout=10, max_http_resets=8,
        token=None, config=None, log_dir=tmp_path, allow_tokenizer=[], trust_remote_code=False,
        grading_timeout=None, max_message_bytes=1 << 20, warm_up=False, log_max_mb=3,
    )  # fmt: skip
    assert settings.log_max_mb == 3
