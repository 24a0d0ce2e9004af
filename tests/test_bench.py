"""The benchmark harness itself: statistics, bounds, config checks, workload, JSON output.

The benchmark's numbers are never asserted here (speed is not a test); what is checked is
that the harness measures what it says it measures.
"""

from __future__ import annotations

import json
import math
import os
import runpy
import random
import re
import stat
from pathlib import Path

import pytest

from reasoning_economics import tokens
from reasoning_economics.bench.config import BenchConfig
from reasoning_economics.bench.report import document
from reasoning_economics.jsonl import write_json
from reasoning_economics.bench.results import SectionResult, Target
from reasoning_economics.bench.stats import LatencySummary, bounded, percentile
from reasoning_economics.bench.workload import episode_scripts, realistic_response, wrong_answer
from reasoning_economics.problems import Problem, create_source, sample_episode

QWEN = tokens.get_counter("qwen3")


def test_percentile_interpolates_between_ranks():
    values = [10.0, 20.0, 30.0, 40.0, 50.0]
    assert percentile(values, 0) == 10.0
    assert percentile(values, 100) == 50.0
    assert percentile(values, 50) == 30.0
    # rank (5-1)*0.99 = 3.96: 40 + 0.96*(50-40)
    assert percentile(values, 99) == pytest.approx(49.6)
    assert percentile(list(reversed(values)), 25) == 20.0
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError):
        percentile(values, 101)


def test_latency_summary_reports_milliseconds():
    summary = LatencySummary.of_seconds([0.001, 0.002, 0.003, 0.010])
    assert summary.count == 4
    assert summary.mean_ms == pytest.approx(4.0)
    assert summary.p50_ms == pytest.approx(2.5)
    assert summary.max_ms == pytest.approx(10.0)
    assert LatencySummary.of_seconds([]).count == 0


def test_bounded_stops_at_the_count_and_at_the_deadline():
    assert list(bounded(5, seconds=3600)) == [0, 1, 2, 3, 4]
    # A deadline already past still lets one iteration run, so every loop measures something.
    assert list(bounded(1000, seconds=1e-12)) == [0]


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"sections": ("tokens", "nope")}, "unknown"),
        ({"sections": ()}, "unknown or no sections"),
        ({"env_steps": 0}, "env_steps"),
        ({"long_episodes": 0}, "long_episodes"),
        ({"concurrency": (1, 0)}, "concurrency"),
        ({"ws_seconds_per_level": 0}, "ws_seconds_per_level"),
    ],
)
def test_config_rejects_bad_sizes(overrides, message):
    with pytest.raises(ValueError, match=message):
        BenchConfig.full(**overrides)


@pytest.mark.parametrize(
    "url, expected",
    [
        ("http://127.0.0.1:8001", "ws://127.0.0.1:8001/ws"),
        ("https://localhost:8443/", "wss://localhost:8443/ws"),
        ("ws://[::1]:9000/ws", "ws://[::1]:9000/ws"),
        ("ws://127.0.0.2:9000/env/ws", "ws://127.0.0.2:9000/env/ws"),
    ],
)
def test_server_url_is_normalised_to_a_loopback_websocket(url, expected):
    assert BenchConfig.quick(sections=("websocket",), server_url=url).server_url == expected


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"server_url": "http://10.0.0.5:8000"}, "loopback"),
        ({"server_url": "http://example.com:8000"}, "loopback"),
        ({"server_url": "127.0.0.1:8000"}, "must look like"),
        ({"server_url": "ftp://127.0.0.1"}, "must look like"),
        ({"server_pid": 1}, "give both"),
        ({"server_url": "http://127.0.0.1:1", "server_pid": 2**22 + 1}, "no running process"),
    ],
)
def test_server_url_and_pid_are_checked(overrides, message):
    with pytest.raises(ValueError, match=message):
        BenchConfig.quick(sections=("websocket",), **overrides)


def test_quick_config_is_smaller_than_full_in_every_bound():
    quick, full = BenchConfig.quick(), BenchConfig.full()
    assert quick.concurrency == full.concurrency == (1, 16, 64, 256, 1024)
    assert full.env_steps >= 2000
    names = ("token_passes", "grading_pairs", "env_steps", "long_episodes", "ws_steps_per_level", "idle_sessions")
    for name in names:
        assert getattr(quick, name) < getattr(full, name), name


def test_wrong_answer_differs_from_gold():
    rng = random.Random(0)
    for gold in ["0", "-3", "42", "\\frac{3}{4}", "x = 2", "-0.6944, 0.0"]:
        for _ in range(20):
            assert wrong_answer(gold, rng) != gold


def test_realistic_responses_have_the_asked_length_and_a_boxed_answer():
    problem = Problem(id="t/1", question="What is 6*7?", answer="42", source="test", problem_type="t", difficulty=0.2)
    rng = random.Random(7)
    responses = [realistic_response(problem, rng, QWEN) for _ in range(300)]
    lengths = [QWEN.count(text) for text in responses]
    longest_sentence = 40
    assert min(lengths) >= 50 - longest_sentence and max(lengths) <= 400 + longest_sentence
    assert sum(lengths) / len(lengths) == pytest.approx(225, rel=0.2)
    boxed = [re.findall(r"\\boxed\{([^}]*)\}", text)[-1] for text in responses]
    correct_share = sum(answer == "42" for answer in boxed) / len(boxed)
    assert 0.6 < correct_share < 0.8
    thinking = sum(text.startswith("<think>") for text in responses) / len(responses)
    assert 0.2 < thinking < 0.4


def test_scripts_hold_the_questions_the_environment_asks_for_each_seed():
    scripts = episode_scripts([3, 4], QWEN, num_questions=5)
    source = create_source("builtin")
    for script in scripts:
        assert list(script.problems) == sample_episode(source, 5, script.seed)
        assert len(script.responses) == 5
    again = episode_scripts([3, 4], QWEN, num_questions=5)
    assert [s.responses for s in again] == [s.responses for s in scripts], "the workload is deterministic"


def test_json_document_has_machine_targets_and_no_nan(tmp_path):
    section = SectionResult(name="env", title="t", columns=("a",), rows=[("x",)], data={"p50": math.nan})
    section.targets = [
        Target("reset p50", 1.0, 5.0, "ms"),
        Target("steps/s", 400.0, 500.0, "steps/s", True),
        Target("memory", math.nan, 100.0, "KB"),  # not measured: not a miss
    ]
    machine = {"cpu_model": "cpu", "usable_cores": 2}
    path = write_json(tmp_path / "out" / "bench.json", document([section], machine, {"mode": "quick"}, "ree bench"))
    payload = json.loads(path.read_text())
    assert payload["machine"] == machine and payload["command"] == "ree bench"
    assert payload["sections"]["env"]["data"] == {"p50": None}
    assert [(t["name"], t["met"]) for t in payload["targets"]] == [
        ("reset p50", True), ("steps/s", False), ("memory", None)
    ]
    assert not list((tmp_path / "out").glob("*.tmp"))


def test_machine_description_names_cpu_cores_python_and_packages():
    from reasoning_economics.bench.machine import describe_machine

    machine = describe_machine()
    assert machine["usable_cores"] >= 1 and machine["cpu_model"]
    load = machine["load_average_at_start"]  # Linux has one: three non-negative numbers
    assert len(load) == 3 and all(value >= 0 for value in load)
    assert re.fullmatch(r"3\.\d+\.\d+", machine["python"])
    assert machine["packages"]["reasoning-economics"] is not None
    assert machine["packages"]["quicktok-v1"] is not None


def test_symbolic_answers_are_equivalent_forms_that_only_a_math_verify_worker_decides():
    from reasoning_economics import grading
    from reasoning_economics.bench.env_inprocess import WORKER_REASONS
    from reasoning_economics.bench.workload import SYMBOLIC_FORMS

    problem = Problem(id="t/2", question="What is 6*7?", answer="42", source="test", problem_type="t", difficulty=0.2)
    rng = random.Random(3)
    responses = [realistic_response(problem, rng, QWEN, correct_rate=1.0, symbolic_share=1.0) for _ in range(20)]
    boxed = {re.findall(r"\\boxed\{(.*)\}\$", text)[-1] for text in responses}
    assert boxed == {form.format(answer="42") for form in SYMBOLIC_FORMS}
    for answer in sorted(boxed):
        verdict = grading.grade(f"\\boxed{{{answer}}}", "42", timeout=30)
        assert verdict.correct and verdict.reason in WORKER_REASONS, verdict


def test_an_episode_script_does_not_depend_on_the_other_seeds_scripted_with_it():
    together = episode_scripts([5, 6], QWEN, num_questions=3)
    alone = episode_scripts([6], QWEN, num_questions=3)
    assert together[1] == alone[0]


def test_errors_at_a_level_sum_over_the_runs_that_reached_it():
    from reasoning_economics.bench.env_websocket import errors_at
    from reasoning_economics.bench.ws_load import LoadResult

    saturating = {1024: LoadResult(sessions=1024, errors=2)}
    paced = {1024: LoadResult(sessions=1024, errors=3), 64: LoadResult(sessions=64, errors=7)}
    assert errors_at(1024, saturating, paced) == 5.0
    assert errors_at(64, saturating, paced) == 7.0
    assert math.isnan(errors_at(256, saturating, paced)), "a level never run is not 'no errors'"


def test_a_failed_section_reports_its_error_instead_of_losing_the_run():
    from reasoning_economics.bench.suite import failed_section

    try:
        raise ConnectionRefusedError("ree serve is not running")
    except ConnectionRefusedError as error:
        section = failed_section("websocket", error)
    assert section.data["error"] == "ConnectionRefusedError: ree serve is not running"
    assert "raise ConnectionRefusedError" in section.data["traceback"]
    assert section.rows == [("ConnectionRefusedError: ree serve is not running",)]


def test_env_section_replays_the_scripted_questions_and_sends_symbolic_answers_to_workers():
    # A tiny real run: the numbers are not checked, what the harness counts is.
    from reasoning_economics.bench.context import BenchContext
    from reasoning_economics.bench.env_inprocess import run

    config = BenchConfig.quick(sections=("env",), env_steps=20, env_seconds=60, long_episodes=1)
    section = run(BenchContext(config))
    for workload in ("builtin", "champ"):
        data = section.data[workload]
        assert data["episodes_whose_questions_differed_from_script"] == 0
        # The second pass times the same steps through the environment and as bare calls.
        assert data["steps"] == data["step"]["count"] == data["step_second_pass"]["count"] >= 2
        assert data["bare_count_and_grade"]["count"] == data["steps"]
        assert data["episodes"] == data["reset_fresh_problems"]["count"] == data["reset_problems_built"]["count"] == 2
    assert section.data["builtin"]["graded_by_math_verify_worker"] == 0, "builtin problems use reasoning-gym"
    assert section.data["champ"]["graded_by_math_verify_worker"] > 0
    long = section.data["long_episodes"]
    assert long["questions"] == 100 and long["step_every_observation_kept"]["count"] == 100
    assert [target.name for target in section.targets][:2] == [
        "in-process reset p50 (builtin, fresh problems, source not warmed)",  # quick: the goal's condition unmet
        "in-process step p50 (math-verify grading)",
    ]


def test_the_load_client_drives_a_real_server_through_whole_episodes(tmp_path):
    import asyncio

    from reasoning_economics.bench.server_process import ServerProcess
    from reasoning_economics.bench.ws_load import run_load

    scripts = episode_scripts([0, 1], QWEN, num_questions=10)
    with ServerProcess(("--max-sessions", "8"), log_path=tmp_path / "serve.log") as server:
        result = asyncio.run(
            run_load(server.ws_url, 2, scripts, total_steps=30, seconds=60, tokenizer="Qwen/Qwen3-0.6B")
        )
    assert result.errors == 0, result.error_samples
    assert result.steps == len(result.step_latencies) == 30
    # 15 steps per session cross an episode boundary (10 questions, or fewer when the budget
    # runs out), so each session reset again at least once, timed.
    assert result.resets == len(result.reset_latencies) >= 2


STOCK_OPENENV_SERVER = """
import sys
import uvicorn
from openenv.core.env_server import create_app
from reasoning_economics.env import (
    ReasonBudgetAction, ReasonBudgetEnvironment, ReasonBudgetObservation, ReasonBudgetState,
)
app = create_app(
    ReasonBudgetEnvironment, ReasonBudgetAction, ReasonBudgetObservation,
    max_concurrent_envs=32, state_cls=ReasonBudgetState,
)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def test_the_websocket_section_loads_a_server_started_elsewhere(tmp_path):
    # OpenEnv's stock create_app and /ws, as the reference environment serves itself: the
    # side-by-side run loads such a server with the same workload, and `ree serve` is not started.
    import sys

    from reasoning_economics.bench.context import BenchContext
    from reasoning_economics.bench.env_websocket import run
    from reasoning_economics.bench.server_process import ServerProcess, free_loopback_port

    class StockOpenEnvServer(ServerProcess):
        def command(self) -> list[str]:
            return [sys.executable, "-c", STOCK_OPENENV_SERVER, str(self.port)]

    # It prints no banner naming the port it bound, so it gets one.
    with StockOpenEnvServer(log_path=tmp_path / "stock.log", start_seconds=90, port=free_loopback_port()) as server:
        config = BenchConfig.quick(
            sections=("websocket",), concurrency=(1, 4), paced_sessions=(4,), paced_interval_s=0.5,
            ws_steps_per_level=24, ws_seconds_per_level=5.0, idle_sessions=40, workload_episodes=4,
            server_url=server.base_url, server_pid=server.pid,
        )  # fmt: skip
        section = run(BenchContext(config))
    port = server.port
    assert section.data["server_url"] == f"ws://127.0.0.1:{port}/ws"
    assert f"ws://127.0.0.1:{port}/ws" in section.title
    for level in ("saturating_1", "saturating_4", "paced_4"):
        data = section.data[level]
        assert data["errors"] == 0, data["error_samples"]
        assert data["step"]["count"] == data["steps"] > 0
        # Read from the pid in clock ticks (10 ms): 24 fast steps may take less than one.
        assert data["server_cpu_seconds"] >= 0
    assert sum(section.data[level]["server_cpu_seconds"] for level in ("saturating_1", "saturating_4", "paced_4")) > 0
    assert section.data["saturating_1"]["steps"] == section.data["saturating_4"]["steps"] == 24
    # 24 steps over 4 sessions cross no episode boundary; one session alone crosses two.
    assert section.data["saturating_1"]["resets"] >= 2
    memory = section.data["idle_memory"]
    # The stock server holds 32 sessions: the 8 it refuses are errors and are not divided by.
    assert (memory["sessions"], memory["sessions_open"], memory["errors"]) == (40, 32, 8)
    assert math.isfinite(memory["kb_per_idle_session"])


@pytest.mark.parametrize(
    "args, message",
    [
        (["--only", "env", "--server-url", "http://127.0.0.1:8001"], "--only websocket"),
        (["--only", "websocket", "--server-url", "http://192.0.2.1:8001"], "loopback"),
        (["--only", "websocket", "--server-pid", "1"], "give both"),
        # Both were a traceback and exit 1: urlsplit keeps a bad port until it is read.
        (["--only", "websocket", "--server-url", "http://127.0.0.1:99999"], "bad port (Port out of range"),
        (["--server-url", "ws://127.0.0.1:abc/ws"], "bad port (Port could not be cast"),
    ],
)
def test_bench_command_refuses_a_server_it_cannot_load(args, message):
    from typer.testing import CliRunner

    from reasoning_economics.cli import app

    result = CliRunner().invoke(app, ["bench", "--quick", *args])
    assert result.exit_code == 2
    assert message in " ".join(result.output.replace("│", " ").split())  # rich wraps the message in a box


def test_a_server_url_where_nothing_listens_is_one_line_and_exit_2_before_measuring(tmp_path):
    # It was a 172-line traceback from the load client's first session, then exit 1.
    from typer.testing import CliRunner

    from reasoning_economics.bench.server_process import free_loopback_port
    from reasoning_economics.cli import app

    port, output = free_loopback_port(), tmp_path / "out.json"
    args = ["bench", "--quick", "--only", "websocket", "--server-url", f"http://127.0.0.1:{port}", "-o", str(output)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"nothing answers at 127.0.0.1:{port}" in " ".join(result.output.replace("│", " ").split())
    assert not output.exists()


def test_an_output_file_that_cannot_be_written_is_refused_before_anything_is_measured(tmp_path):
    # Before, the run went through every section, then ended in a FileNotFoundError traceback.
    from typer.testing import CliRunner

    from reasoning_economics.cli import app

    afile = tmp_path / "afile"
    afile.write_text("")
    for output, message in [
        (afile / "bench.json", f"--output {str(afile)!r} exists and is not a directory"),
        (tmp_path, f"--output {str(tmp_path)!r} is a directory; name a JSON file"),
        # It named the temporary probe file, in its folder.
        (Path("/proc/bench.json"), "--output '/proc/bench.json': cannot write it (No such file or directory)"),
    ]:
        # Wide enough that rich does not break the temporary path (longer under pytest-xdist).
        result = CliRunner().invoke(
            app, ["bench", "--quick", "--only", "tokens", "-o", str(output)], env={"COLUMNS": "400"}
        )
        shown = " ".join(result.output.replace("│", " ").split())  # rich wraps the message in a box
        assert result.exit_code == 2 and message in shown, shown
        assert "Bare cost" not in shown  # nothing was measured
    written = tmp_path / "new" / "bench.json"
    result = CliRunner().invoke(app, ["bench", "--quick", "--only", "tokens", "-o", str(written)])
    payload = json.loads(written.read_text())
    assert result.exit_code == 0 and payload["sections"]["tokens"]
    assert payload["seconds"] >= payload["sections"]["tokens"]["seconds"] > 0 and len(payload["load_average_at_end"]) == 3
    assert sorted(p.name for p in written.parent.iterdir()) == ["bench.json"]  # no probe left behind

    full = tmp_path / "full.json"
    full.symlink_to("/dev/full")  # writable, so accepted at the start; every write fails with ENOSPC
    result = CliRunner().invoke(app, ["bench", "--quick", "--only", "tokens", "-o", str(full)], env={"COLUMNS": "400"})
    assert result.exit_code == 2 and f"ree bench: --output {str(full)!r}: cannot write it (No space left on device)" in result.output
    assert full.is_symlink() and stat.S_ISCHR(os.stat("/dev/full").st_mode)  # the link was replaced by a file, and it said "wrote"


def test_a_server_url_nothing_answers_fails_the_section_at_once():
    from reasoning_economics.bench.context import BenchContext
    from reasoning_economics.bench.env_websocket import run
    from reasoning_economics.bench.server_process import free_loopback_port

    url = f"ws://127.0.0.1:{free_loopback_port()}/ws"
    config = BenchConfig.quick(sections=("websocket",), server_url=url)
    with pytest.raises(ConnectionError, match=f"no WebSocket server answers at {url}"):
        run(BenchContext(config))


def test_the_websocket_section_starts_ree_serve_with_its_log_in_the_cache_folder(tmp_path):
    # Not a new temporary folder per run, left behind: one log, overwritten by the next run.
    from reasoning_economics.bench.context import BenchContext
    from reasoning_economics.bench.env_websocket import run

    (tmp_path / "serve.log").write_text("a previous run's log\n")
    config = BenchConfig.quick(
        sections=("websocket",), concurrency=(2,), paced_sessions=(2,), paced_interval_s=0.2,
        ws_steps_per_level=12, ws_seconds_per_level=5.0, idle_sessions=4, workload_episodes=2,
        cache_dir=tmp_path,
    )  # fmt: skip
    section = run(BenchContext(config))
    assert section.data["saturating_2"]["errors"] == 0 and section.data["saturating_2"]["steps"] == 12
    log = (tmp_path / "serve.log").read_text()
    assert "a previous run's log" not in log
    assert "ree serve" in log and "listening on  http://127.0.0.1:" in log


def test_error_text_in_the_tables_and_notes_is_printed_as_written():
    # A failed section's error and the load's error samples are text: rich would drop
    # "[bold]" as a style and raise on "[/x]" as a closing tag that matches nothing.
    import io

    from rich.console import Console

    from reasoning_economics.bench.report import render

    section = SectionResult(
        name="websocket", title="server at ws://127.0.0.1:1/[ws]", columns=("error",),
        rows=[("KeyError: [bold] and a message long enough to hold the title on one line",)],
        notes=["errors, e.g. [/x] closed"],
    )  # fmt: skip
    machine = {"cpu_model": "CPU [x86]", "usable_cores": 2, "python": "3.11", "platform": "linux"}
    output = io.StringIO()
    render(Console(file=output, width=200), [section], machine)
    text = output.getvalue()
    for written in ("ws://127.0.0.1:1/[ws]", "KeyError: [bold]", "errors, e.g. [/x] closed", "CPU [x86]"):
        assert written in text


def test_the_grading_under_attack_script_times_a_worker_graded_episode_during_an_attack(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "grading_under_attack.py"
    output = tmp_path / "attack.json"
    run = subprocess.run(
        [sys.executable, str(script), "--attackers", "3", "--warm-up", "2", "--questions", "3", "--json", str(output)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads(output.read_text())
    assert result["attackers"] == 3 and len(result["steps"]) == 3 and result["all_correct"]
    assert {step["reason"] for step in result["steps"]} == {"equivalent"}  # each decided by a worker
    # The attack ran: towers were answered (on a loaded machine the first may take past the warm-up).
    assert result["towers_graded_in_warm_up"] + result["towers_graded_during_episode"] >= 1
    assert result["step_max_s"] >= result["step_p50_s"] > 0
    assert "measured episode" in run.stdout


@pytest.mark.parametrize(
    ("script_name", "chars", "figure", "shown"),
    [("hostile_extraction.py", (900_000, 1_000_080), "best_ms", "8 unclosed boxes, then letters"),
     ("hostile_answers.py", (1_900, 2_000), "worst_ms", "no-break spaces")],
)  # fmt: skip
def test_the_hostile_text_scripts_time_every_shape(tmp_path, script_name, chars, figure, shown):
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[1] / "benchmarks" / script_name
    output = tmp_path / "hostile.json"
    run = subprocess.run([sys.executable, str(script), "--repeat", "1", "--json", str(output)],
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads(output.read_text())
    assert set(result["shapes"]) == set(runpy.run_path(str(script))["shapes"]()) and result["machine"]["usable_cores"] >= 1
    assert all(chars[0] < shape["chars"] <= chars[1] and shape[figure] > 0 for shape in result["shapes"].values())
    assert shown in run.stdout
    if script_name == "hostile_answers.py":  # and which reader took longest
        readers = {shape["worst_in"] for shape in result["shapes"].values()}
        assert all(reader == "before a worker" or reader.startswith("builtin ") for reader in readers)
    refused = subprocess.run([sys.executable, str(script), "--repeat", "0"], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "--repeat" in refused.stderr


def test_the_http_reset_flood_script_refuses_resets_over_the_limit_and_times_a_session(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "http_reset_flood.py"
    output = tmp_path / "flood.json"
    run = subprocess.run(
        [sys.executable, str(script), "--burst", "100", "--rounds", "1", "--interval", "0.002", "--json", str(output),
         "--", "--max-http-resets", "1", "--no-warm-up"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads(output.read_text())
    replies = result["replies"]
    # Every reset got an answer: 200 while the one slot was free, 503 at once otherwise.
    assert set(replies) <= {"200", "503"} and sum(replies.values()) == 100
    assert replies.get("200", 0) >= 1 and replies.get("503", 0) >= 1
    assert result["healthy_afterwards"] and result["server_args"] == ["--max-http-resets", "1", "--no-warm-up"]
    state = result["state_during_flood_ms"]
    assert state["count"] >= 1 and state["max"] >= state["p50"] > 0 and result["load"].startswith("100 resets")
    refused = subprocess.run([sys.executable, str(script), "--rounds", "0"], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "--rounds" in refused.stderr


def test_a_level_with_no_timed_reset_shows_a_dash_not_nan():
    from reasoning_economics.bench.env_websocket import level_row
    from reasoning_economics.bench.ws_load import LoadResult

    short = LoadResult(sessions=4, steps=8, connect_seconds=0.5, window_seconds=2.0, step_latencies=[0.001, 0.003] * 4,
                       server_cpu_seconds=0.02, client_cpu_seconds=0.01)  # fmt: skip
    row = level_row("saturating", short)
    assert row[:4] == ("saturating", 4, 8, "4") and row[4:6] == ("2.0", "3.0") and row[6:8] == ("-", "-")
    assert "nan" not in " ".join(map(str, row))
    timed = LoadResult(sessions=1, steps=2, window_seconds=1.0, step_latencies=[0.001, 0.001], reset_latencies=[0.004])
    assert level_row("paced", timed)[6:8] == ("4.0", "4.0")


def test_a_partial_or_external_run_does_not_replace_the_published_results():
    # ree bench --only tokens replaced benchmarks/results/bench-full.json, which docs/performance.md's tables come from.
    from reasoning_economics.bench.command import default_output, sections_to_run
    from reasoning_economics.bench.config import SECTIONS, BenchConfig

    assert default_output(BenchConfig.full()) == Path("benchmarks/results/bench-full.json")
    assert default_output(BenchConfig.quick(sections=("tokens", "env"))) == Path("benchmarks/results/bench-quick-tokens-env.json")
    external = BenchConfig.quick(sections=("websocket",), server_url="http://127.0.0.1:8001")
    assert default_output(external) == Path("benchmarks/results/bench-quick-websocket-external.json")
    # Another server is loaded by the websocket section only; --only twice runs a section once.
    assert sections_to_run(None, None) == SECTIONS
    assert sections_to_run(None, "http://127.0.0.1:8001") == ("websocket",)
    assert sections_to_run(["env", "tokens", "env"], None) == ("env", "tokens")


def test_the_targets_table_writes_numbers_plainly_and_says_what_was_not_measured():
    import io

    from rich.console import Console

    from reasoning_economics.bench.report import readable, render

    assert [readable(v) for v in (2751.0, 476.4, 50.8, 1.48, 0.284, 0.0)] == ["2,751", "476", "50.8", "1.48", "0.284", "0"]
    section = SectionResult(name="websocket", title="t", columns=("a",))
    section.targets = [Target("steps/s at 64", 2751.0, 500.0, "steps/s", True), Target("memory", math.nan, 100.0, "KB")]
    output = io.StringIO()
    machine = {"cpu_model": "cpu", "usable_cores": 2, "python": "3", "platform": "linux"}
    render(Console(file=output, width=200), [section], machine)
    text = output.getvalue()
    assert "2,751 steps/s" in text and "e+03" not in text
    assert "not measured" in text and text.count(" no ") == 0
    # Issue 7 words the latency goal as "p99 < 50 ms": exactly 50 misses it, and the goal says "<".
    at_limit = Target("step p99", 50.0, 50.0, "ms", strict=True)
    assert at_limit.met is False and at_limit.as_dict()["comparison"] == "<"
    assert Target("step p99", 49.9, 50.0, "ms", strict=True).met and Target("reset p50", 5.0, 5.0, "ms").met


def test_a_measured_value_that_rounds_to_its_limit_is_shown_with_the_digits_that_decide():
    from reasoning_economics.bench.report import measured_text

    # It printed "1.5 x | <= 1.5 x | no" for 1.5006, and "50 ms | < 50 ms | yes" for 49.996.
    assert measured_text(Target("ratio", 1.5006, 1.5, "x")) == "1.5006"
    assert measured_text(Target("p99", 49.996, 50.0, "ms", strict=True)) == "49.996"
    assert measured_text(Target("steps/s", 499.7, 500.0, "steps/s", higher_is_better=True)) == "499.7"
    assert [measured_text(Target("t", v, 1.5, "x")) for v in (1.5, 1.48, 1.53)] == ["1.5", "1.48", "1.53"]


def test_a_server_url_that_is_not_a_websocket_server_is_refused_before_measuring(tmp_path):
    # Only TCP was checked: a listener that is no WebSocket server failed the section after the
    # other sections' minutes. A real HTTP server on 127.0.0.1 that answers every request with 404.
    import http.server
    import threading

    from typer.testing import CliRunner

    from reasoning_economics.cli import app

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port, output = server.server_address[1], tmp_path / "out.json"
        args = ["bench", "--quick", "--server-url", f"http://127.0.0.1:{port}", "-o", str(output)]
        result = CliRunner().invoke(app, args, env={"COLUMNS": "400"})
    finally:
        server.shutdown()
        server.server_close()
    shown = " ".join(result.output.replace("│", " ").split())
    assert result.exit_code == 2 and f"no WebSocket server answers at ws://127.0.0.1:{port}/ws" in shown, shown
    assert "Bare cost" not in shown and not output.exists()
