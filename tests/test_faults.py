"""Fault injection against a real ``ree serve`` child process on 127.0.0.1.

- every grading worker killed, one mid-grade: the request is retried once, the server goes on;
- a client that vanishes mid-episode (stops talking without closing): its session is
  reclaimed after the idle timeout, which frees its slot for a new client;
- the server restarted: a connected client gets a clear error and can start anew.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from reasoning_economics.bench.server_process import ServerProcess
from reasoning_economics.proc_stats import child_pids, cpu_seconds

from ws_messages import exchange

RECV_TIMEOUT = 60
# An answer math-verify cannot settle quickly: its worker computes until it has used a third of
# the grading timeout in CPU seconds.
SLOW_ANSWER = "\\boxed{9^{9^{9^{9^{9}}}} - 2^{2^{2^{2^{2^{2^{2}}}}}}}"


def reset(ws, seed: int = 1) -> dict:
    reply = exchange(ws, {"type": "reset", "data": {"seed": seed, "tokenizer_name": "qwen3", "total_budget": 100000}})
    assert reply["type"] == "observation", reply
    return reply


def step(ws, text: str = "\\boxed{1}") -> dict:
    return exchange(ws, {"type": "step", "data": {"response": text}})


def grading_worker_pids(server: ServerProcess) -> list[int]:
    """The server's grading workers: its child processes running the worker entry point."""
    pids = []
    for pid in child_pids(server.pid):
        try:
            command = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
        except FileNotFoundError:
            continue
        if "grading.worker_main" in command:
            pids.append(pid)
    return pids


def cpu_growth(pids: list[int], seconds: float) -> dict[int, float]:
    """CPU seconds each of ``pids`` used over the next ``seconds``."""
    before = {pid: cpu_seconds(pid) for pid in pids}
    time.sleep(seconds)
    return {pid: cpu_seconds(pid) - used for pid, used in before.items()}


def idle_grading_workers(server: ServerProcess) -> list[int]:
    """The grading workers, once all have started and none is computing; else []."""
    pids = grading_worker_pids(server)
    if not pids or max(cpu_growth(pids, 0.3).values()) >= 0.02 or grading_worker_pids(server) != pids:
        return []
    return pids


@pytest.fixture(scope="module")
def server(tmp_path_factory, symbolic_problems_config):
    # One server for the worker-kill and vanished-client tests (each leaves it healthy with
    # its only session free): a child ``ree serve`` takes seconds to import and start.
    directory = tmp_path_factory.mktemp("faults")
    with ServerProcess(
        ["--max-sessions", "1", "--session-timeout", "2", "--grading-timeout", "9",
         "--config", str(symbolic_problems_config(directory, questions=5))],
        log_path=directory / "serve.log",
    ) as running:
        yield running


def test_killing_every_grading_worker_mid_grade_retries_the_answer_and_the_server_goes_on(server, wait_until):
    # Started by the server's warm-up, the workers may still be warming up themselves (about a
    # CPU second each): waited for inside the session, they outlasted its 2 s idle timeout.
    assert wait_until(lambda: idle_grading_workers(server), 60), "no idle grading workers"
    with connect(server.ws_url, open_timeout=30) as ws:
        reset(ws)
        assert step(ws)["type"] == "observation"  # the pool is up
        workers = wait_until(lambda: idle_grading_workers(server), 30)
        assert workers, "the server runs no idle grading worker processes"
        ws.send(json.dumps({"type": "step", "data": {"response": SLOW_ANSWER}}))
        # A fifth of a CPU over 0.1 s: under a loaded CI run (two xdist workers on two cores)
        # a worker computing got less than the 60% the former test asked, and was not seen.
        busy = wait_until(lambda: [pid for pid, used in cpu_growth(workers, 0.1).items() if used >= 0.02], 10)
        assert busy, "no worker took the slow grade"
        # The idle ones first: the retry then takes one killed but perhaps not yet exited,
        # which died before acknowledging the request and so costs the answer no attempt.
        for pid in sorted(workers, key=lambda pid: pid in busy):
            os.kill(pid, signal.SIGKILL)
        reply = json.loads(ws.recv(timeout=RECV_TIMEOUT))
        assert reply["type"] == "observation", reply  # retried once, on a new worker
        assert reply["data"]["observation"]["history"][-1]["was_correct"] is False
        after = step(ws)
        assert after["type"] == "observation", after
        assert set(grading_worker_pids(server)).isdisjoint(workers), "dead workers were replaced"
    assert server.healthy()


def test_a_second_worker_death_on_one_answer_is_a_typed_error_that_changes_nothing(server, wait_until):
    # The previous test's replacements may still be warming up (see above).
    assert wait_until(lambda: idle_grading_workers(server), 60), "no idle grading workers"
    with connect(server.ws_url, open_timeout=30) as ws:
        reset(ws)
        assert step(ws)["type"] == "observation"
        before = exchange(ws, {"type": "state"})["data"]
        workers = wait_until(lambda: idle_grading_workers(server), 30)
        assert len(workers) >= 2, "the server runs fewer than two idle grading workers"
        killed: list[int] = []
        # Not SLOW_ANSWER: the server caches verdicts, and the test above graded it for this question.
        another_slow_answer = "\\boxed{8^{8^{8^{8^{8}}}} - 3^{3^{3^{3^{3^{3^{3}}}}}}}"
        ws.send(json.dumps({"type": "step", "data": {"response": another_slow_answer}}))
        for attempt in (1, 2):
            # The retry takes the other idle worker: its replacement of the first is still starting.
            def grading_worker():
                candidates = [pid for pid in workers if pid not in killed]
                return [pid for pid, used in cpu_growth(candidates, 0.05).items() if used >= 0.03]

            busy = wait_until(grading_worker, 10, interval=0.02)
            assert busy, f"no worker took attempt {attempt}"
            os.kill(busy[0], signal.SIGKILL)
            killed.append(busy[0])
        reply = json.loads(ws.recv(timeout=RECV_TIMEOUT))
        assert reply["type"] == "error" and reply["data"]["code"] == "GRADING_ERROR", reply
        assert exchange(ws, {"type": "state"})["data"] == before, "a failed grade must not advance or charge the episode"
        assert step(ws)["type"] == "observation"
    assert server.healthy()


def test_a_vanished_client_is_reclaimed_after_the_session_timeout(server, tmp_path, wait_until):
    # A client in another process opens the only session, steps once, then freezes:
    # its socket stays open but it never speaks again (a half-dead peer).
    script = tmp_path / "client.py"
    script.write_text(
        "import json, sys, time\n"
        "from websockets.sync.client import connect\n"
        f"ws = connect({server.ws_url!r}, open_timeout=30)\n"
        "ws.send(json.dumps({'type': 'reset', 'data': {'seed': 3}})); ws.recv(timeout=60)\n"
        "ws.send(json.dumps({'type': 'step', 'data': {'response': '\\\\boxed{1}'}})); ws.recv(timeout=60)\n"
        "print('ready', flush=True)\n"
        "time.sleep(3600)\n"
    )
    client = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert client.stdout.readline().strip() == "ready"
        client.send_signal(signal.SIGSTOP)

        def new_session_opens() -> bool:
            try:
                with connect(server.ws_url, open_timeout=10) as ws:
                    return reset(ws)["type"] == "observation"
            except (AssertionError, ConnectionClosed, KeyError):
                return False

        # --max-sessions 1: a new session can only start once the frozen one is reclaimed.
        assert wait_until(new_session_opens, seconds=30, interval=0.5)
    finally:
        client.kill()
        client.wait(10)
    assert server.healthy()


def test_a_server_restart_gives_connected_clients_a_clear_error_and_they_can_start_anew(tmp_path):
    first = ServerProcess([], log_path=tmp_path / "serve.log").start()
    port = first.port
    banner = first.log_tail()  # ree serve says where it listens and what it serves
    assert f"http://127.0.0.1:{port}" in banner and f"ws://127.0.0.1:{port}/ws" in banner
    assert "dataset=builtin" in banner and "at most 1024" in banner
    try:
        ws = connect(first.ws_url, open_timeout=30)
        reset(ws)
        assert step(ws)["type"] == "observation"
    finally:
        first.stop()
    with pytest.raises(ConnectionClosed):
        step(ws)
    ws.close()
    with ServerProcess([], log_path=tmp_path / "serve.log", port=port) as second:
        with connect(second.ws_url, open_timeout=30) as fresh:
            observation = reset(fresh)
            assert observation["data"]["observation"]["step_idx"] == 0
            assert step(fresh)["type"] == "observation"


def test_stopping_the_server_ends_steps_waiting_on_grading_workers_at_once(tmp_path, symbolic_problems_config, wait_until):
    # Before, uvicorn's graceful shutdown waited 5 s for these steps, then cancelled them and
    # logged a traceback for each; the episodes end with the process, so they now end at once.
    server = ServerProcess(
        ["--grading-timeout", "9", "--config", str(symbolic_problems_config(tmp_path))],
        log_path=tmp_path / "serve.log",
        env={"REE_GRADING_WORKERS": "1"},
    ).start()
    sessions = []
    try:
        for index in range(6):
            ws = connect(server.ws_url, open_timeout=30)
            sessions.append(ws)
            reset(ws, seed=index)
            # Each its own (no verdict cache), and each computed on for the whole CPU allowance.
            tower = "9^{9^{9^{9^{%d}} - 2^{2^{2^{2^{2^{2^{2}}}}}}}}" % (index + 2)
            ws.send(json.dumps({"type": "step", "data": {"response": tower}}))
        assert wait_until(lambda: any(cpu_growth(grading_worker_pids(server), 0.2).values()), 30)
    finally:
        server.stop()
    for ws in sessions:
        try:
            reply = json.loads(ws.recv(timeout=RECV_TIMEOUT))
            assert reply["type"] == "error" and reply["data"]["code"] == "GRADING_ERROR", reply
        except ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 1012  # "service restart"
        ws.close()
    log = (tmp_path / "serve.log").read_text()
    assert "graceful shutdown exceeded" not in log and "Traceback" not in log, log[-3000:]


def test_a_hang_up_shuts_the_server_down_as_sigterm_does(tmp_path):
    # A closed terminal (SIGHUP) killed `ree serve` outright: clients saw 1006 instead of 1012,
    # and the answered steps of open episodes never reached the episode log.
    logs = tmp_path / "logs"
    server = ServerProcess(["--log-dir", str(logs)], log_path=tmp_path / "serve.log").start()
    try:
        with connect(server.ws_url, open_timeout=30) as ws:
            reset(ws)
            assert step(ws)["type"] == "observation"
            server.process.send_signal(signal.SIGHUP)
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=RECV_TIMEOUT)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012  # "service restart"
        assert server.process.wait(timeout=30) == -signal.SIGTERM  # shut down, then ended as by SIGTERM
    finally:
        server.stop()
    records = [json.loads(line) for line in (logs / "episodes.jsonl").read_text().splitlines()]
    assert [(record["termination_reason"], len(record["steps"])) for record in records] == [("abandoned", 1)]
