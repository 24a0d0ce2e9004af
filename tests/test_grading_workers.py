"""Grading workers that hang before taking an answer, fresh workers, the verdict cache's size,
and what the log says about workers that fail to start: with real worker processes."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import pytest
import sympy

from reasoning_economics import grading
from reasoning_economics.errors import GradingError
from reasoning_economics.grading.cache import DEFAULT_MAX_BYTES, VerdictCache
from reasoning_economics.grading import workers
from reasoning_economics.grading.workers import WorkerPool

# Computes until it has used its CPU seconds (see tests/test_grading.py).
SLOW_ANSWER = "9^{9^{9^{9^{9}}}} - 2^{2^{2^{2^{2^{2^{2}}}}}}"


def _ready_pool(size: int) -> WorkerPool:
    pool = WorkerPool(size)
    assert pool.check("1/2", "0.5", 30) is True
    deadline = time.monotonic() + 60
    while pool.idle_count() < size and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pool.idle_count() == size
    return pool


def test_an_answer_a_hung_worker_never_took_is_graded_by_another():
    # Before, the stopped worker was killed at the deadline and this correct answer graded
    # "timeout" (wrong), though no worker had looked at it.
    pool = _ready_pool(1)
    try:
        (hung,) = pool.pids()
        os.kill(hung, signal.SIGSTOP)
        assert pool.check("x^2+1", "(x+1)^2-2x", 1.0) is True  # by the replacement
        assert hung not in pool.pids() and pool.replaced == 1
    finally:
        pool.shutdown()


def test_an_answer_no_worker_takes_is_refused_not_graded():
    pool = _ready_pool(2)
    stopped = pool.pids()
    for pid in stopped:
        os.kill(pid, signal.SIGSTOP)
    try:
        with pytest.raises(GradingError, match="2 grading workers did not take this answer, or did not work on it, within the 1 s timeout"):
            pool.check("x^2+1", "(x+1)^2-2x", 1.0)
        assert not set(stopped) & set(pool.pids())
    finally:
        for pid in set(stopped) & set(pool.pids()):
            os.kill(pid, signal.SIGCONT)
        pool.shutdown()


def _stop_each_worker_once_it_takes_the_answer(pool: WorkerPool, tries: int) -> list[int]:
    """SIGSTOP the worker of each of the first ``tries`` tries the moment the pool reads its
    acknowledgement: the worker took the answer and is computing, not done. Returns their pids."""
    stopped: list[int] = []
    attempt = pool._attempt

    class StopOnAcknowledgement:
        def __init__(self, worker):
            self.worker, self.connection = worker, worker.from_worker

        def poll(self, timeout=0.0):
            return self.connection.poll(timeout)

        def recv(self):
            message = self.connection.recv()
            if message == workers.STARTED:
                os.kill(self.worker.pid, signal.SIGSTOP)
                stopped.append(self.worker.pid)
            return message

        def close(self):
            self.connection.close()

    def stopping_attempt(worker, *args):
        if len(stopped) < tries:
            worker.from_worker = StopOnAcknowledgement(worker)
        return attempt(worker, *args)

    pool._attempt = stopping_attempt
    return stopped


# Correct, and long enough to grade (about 0.6 CPU seconds) that a worker stopped as it takes it
# has not answered yet.
EXPANDED_POWER = sympy.latex(sympy.expand((sympy.Symbol("x") + sympy.Symbol("y") + 3) ** 8))


def test_an_answer_whose_worker_is_stopped_mid_grade_is_graded_by_another():
    # Before, the stopped worker was killed at the deadline having used almost none of its
    # CPU seconds, and this correct answer was graded "timeout" (wrong) and charged.
    pool = _ready_pool(1)
    try:
        stopped = _stop_each_worker_once_it_takes_the_answer(pool, tries=1)
        assert pool.check(EXPANDED_POWER, "(x+y+3)^{8}", 6.0) is True  # by the replacement
        assert len(stopped) == 1 and stopped[0] not in pool.pids() and pool.replaced == 1
    finally:
        pool.shutdown()


def test_an_answer_two_workers_stall_on_is_refused_not_graded():
    pool = _ready_pool(1)
    try:
        stopped = _stop_each_worker_once_it_takes_the_answer(pool, tries=2)
        with pytest.raises(GradingError, match="2 grading workers did not take this answer, or did not work on it"):
            pool.check(EXPANDED_POWER, "(x+y+3)^{8}", 2.0)
        assert len(stopped) == 2 and not set(stopped) & set(pool.pids())
    finally:
        pool.shutdown()


def test_a_worker_computing_at_the_deadline_still_gives_the_deadline_verdict(monkeypatch):
    # Given as many CPU seconds as the wall-clock timeout, the worker is still computing, and
    # has used its CPU, at the deadline, as one slowed by C code no signal interrupts is:
    # that lateness is the answer's, so it stands and the answer is not tried again.
    # Stalled still means under a sixth of a CPU over the timeout, as it does by default.
    monkeypatch.setattr(workers, "CPU_SHARE_OF_TIMEOUT", 1.0)
    monkeypatch.setattr(workers, "STALLED_CPU_SHARE", 1 / 6, raising=False)
    pool = _ready_pool(1)
    try:
        (computing,) = pool.pids()
        assert pool.check(SLOW_ANSWER, "5", 1.5) == workers.DEADLINE_PASSED
        assert computing not in pool.pids() and pool.replaced == 1
    finally:
        pool.shutdown()


def test_a_cpu_time_out_is_not_cached():
    # A fresh worker's first polynomial once ran out of CPU seconds where a warm one did not,
    # and the cached "timeout" then graded the same correct answer wrong for good.
    from reasoning_economics.grading.grader import _cache

    response, gold = f"\\boxed{{{SLOW_ANSWER}}}", "5"
    first = grading.grade(response, gold, timeout=1.5)
    assert (first.correct, first.reason) == (False, "timeout")
    assert _cache.get(("math_verify", SLOW_ANSWER, gold)) is None


_MODULES_IMPORTED_BY_LATER_GRADES = """
import json, sys
from reasoning_economics.grading import symbolic, worker_main
worker_main.warm_up()
before = set(sys.modules)
answers = [
    (sys.argv[1], "(x+y+1)^{9}"),
    ("\\\\sqrt{3}\\\\cos(\\\\frac{\\\\pi}{6})", "\\\\frac{3}{2}"),
    ("[0,3)", "[0,3)"),
    ("\\\\{1,2\\\\}", "\\\\{2,1\\\\}"),
    ("\\\\begin{pmatrix}1&2\\\\\\\\3&4\\\\end{pmatrix}", "\\\\begin{pmatrix}1&2\\\\\\\\3&4\\\\end{pmatrix}"),
    ("\\\\frac{x^2-1}{x-1}", "x+1"),
    ("\\\\log_2 8", "3"),
]
verdicts = [symbolic.equivalent(predicted, gold, 30) for predicted, gold in answers]
print(json.dumps({"verdicts": verdicts, "imported": sorted(set(sys.modules) - before)}))
"""


def test_a_warmed_up_worker_imports_nothing_more_to_grade_common_answers():
    # Warmed up with 1/2 = 0.5 alone, a worker's first polynomial imported sympy's units and
    # combinatorics (33 modules, 0.4 CPU seconds), so a fresh worker graded a correct
    # (x+y+1)^9 "timeout" where a warm one graded it correct. Counting modules, not seconds,
    # keeps the test independent of the machine's speed.
    import sympy

    x, y = sympy.symbols("x y")
    expanded = sympy.latex(sympy.expand((x + y + 1) ** 9))
    run = subprocess.run(
        [sys.executable, "-c", _MODULES_IMPORTED_BY_LATER_GRADES, expanded],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    found = json.loads(run.stdout.strip().splitlines()[-1])
    assert found["verdicts"] == [True] * 7
    assert found["imported"] == []


def test_the_verdict_cache_is_bounded_by_bytes():
    cache: VerdictCache[tuple[bool, str]] = VerdictCache(max_entries=1_000, max_bytes=100_000)
    long_answer = "\U0001f600" * 1_990
    for number in range(100):
        cache.put(("math_verify", f"{long_answer}{number:08}", "42"), (False, "not_equivalent"))
    assert cache.bytes <= 100_000
    assert 5 < len(cache) < 15  # each entry is about 8.5 KB
    assert cache.get(("math_verify", f"{long_answer}{99:08}", "42")) == (False, "not_equivalent")
    assert cache.get(("math_verify", f"{long_answer}{0:08}", "42")) is None  # least recent went first

    size = cache.bytes
    cache.put(("math_verify", f"{long_answer}{99:08}", "42"), (False, "not_equivalent"))
    assert cache.bytes == size  # putting a key again does not count it twice

    cache.put(("math_verify", "x" * 200_000, "42"), (False, "not_equivalent"))
    assert cache.get(("math_verify", "x" * 200_000, "42")) is None  # larger than the whole cache
    assert len(cache) > 5


def test_the_default_verdict_cache_holds_its_byte_bound_in_real_memory():
    # Bounded only by its 65,536 entries, it held 520 MB of 2,000-emoji answers.
    cache: VerdictCache[tuple[bool, str]] = VerdictCache()
    long_answer = "\U0001f600" * 1_990
    tracemalloc.start()
    try:
        for number in range(20_000):
            cache.put(("math_verify", f"{long_answer}{number:08}", "42"), (False, "not_equivalent"))
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(cache) < 20_000
    assert held <= 1.1 * DEFAULT_MAX_BYTES


def test_a_worker_killed_while_starting_is_logged_as_killed(caplog):
    pool = _ready_pool(1)
    try:
        (idle,) = pool.pids()
        spawner_children = Path(f"/proc/self/task/{pool._spawner.native_id}/children")
        killed: list[int] = []

        def kill_the_next_start():
            deadline = time.monotonic() + 60
            while not killed and time.monotonic() < deadline:
                for pid in {int(p) for p in spawner_children.read_text().split()} - {idle}:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                time.sleep(0.002)

        os.kill(idle, signal.SIGKILL)
        time.sleep(0.2)
        killer = threading.Thread(target=kill_the_next_start)
        killer.start()
        with caplog.at_level(logging.ERROR, logger="reasoning_economics.grading.workers"):
            # Finds the idle worker dead and has it replaced; the replacement is killed
            # starting, and the next start grades the answer.
            assert pool.check("2^{10}", "1024", 60) is True
        killer.join()
        assert len(killed) == 1
        failures = [record.getMessage() for record in caplog.records if "failed to start" in record.getMessage()]
        # It read "failed to start (exit code None)" when logged before the worker was reaped.
        assert failures == ["a grading worker failed to start: it was killed by SIGKILL while starting"]
    finally:
        pool.shutdown()


def test_a_worker_stopped_while_starting_is_replaced_at_once_not_after_the_start_limit(caplog):
    # Before, the single spawner waited WORKER_START_SECONDS (120 s) on a worker stopped while it
    # started, and every symbolic grade of every session waited with it.
    pool = WorkerPool(1)
    caplog.set_level(logging.WARNING, logger="reasoning_economics.grading.workers")
    try:
        pool.start()
        deadline = time.monotonic() + 30
        while pool._starting is None and time.monotonic() < deadline:
            time.sleep(0.001)
        stopped = pool._starting.process
        os.kill(stopped.pid, signal.SIGSTOP)
        stopped.wait(timeout=10)  # killed by the pool within a check slice (0.25 s), not in 120 s
        assert stopped.returncode == -signal.SIGKILL
        assert "it was stopped (SIGSTOP) while starting" in caplog.text
        assert pool.check("x^2+1", "(x+1)^2-2x", 30) is True  # by the worker started next
        assert stopped.pid not in pool.pids()
    finally:
        pool.shutdown()


def test_shutting_the_pool_down_kills_a_worker_still_starting_and_logs_no_failure(caplog):
    pool = WorkerPool(1)
    with caplog.at_level(logging.WARNING, logger="reasoning_economics.grading.workers"):
        pool.start()
        deadline = time.monotonic() + 30
        while pool._starting is None and time.monotonic() < deadline:
            time.sleep(0.001)
        starting = pool._starting.process
        pool.shutdown()
        starting.wait(timeout=10)
        pool._spawner.join(timeout=10)
    assert starting.returncode is not None and not pool._spawner.is_alive()
    # Read as a failed start, it logged an ERROR and a retry on every clean stop of a server
    #: operators alerting on ERROR lines were paged at each deploy.
    assert [record.getMessage() for record in caplog.records] == []
