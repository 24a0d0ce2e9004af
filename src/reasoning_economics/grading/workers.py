"""Supervised grading worker processes with a hard timeout.

A check is bounded by a CPU-time signal (see ``symbolic``), which only works in a process's
main thread, and some inputs (exponent towers) spend minutes inside C code that no signal
can interrupt. So each symbolic check runs in a worker process, and the caller waits at most
``timeout`` seconds: a worker that overruns is killed and replaced in the background, and
the verdict is "timeout". Idle workers go to waiting answers by least recent use of the
account each is charged to (``fair_share``). A worker that dies on its own is replaced and
the request is retried once on another worker; a second death raises :class:`GradingError`.
A worker acknowledges each request before computing, so one that was already dying when it
was handed the request (killed while idle) costs the answer no attempt, and one that does not
acknowledge it within the timeout (stopped, or starved of CPU) is replaced and the answer
tried once more on another worker: a worker that never took the answer says nothing about it,
so that is no "timeout" verdict. Likewise one that took the answer but is still at it at the
deadline having used under half its CPU seconds (:data:`STALLED_CPU_SHARE`) was stopped or
starved, not slow on this answer: it too is replaced and the answer tried once more, and only
a worker that spent its CPU seconds gives the deadline verdict. A worker that fails to start
(killed while starting, say) is started again, backing off, so the pool never shrinks for good.

Workers are fresh interpreters (``python -m reasoning_economics.grading.worker_main``)
talking over a pair of pipes: unlike multiprocessing's spawn they never re-import the
caller's ``__main__``, so a user's unguarded script works, and forking a threaded server is
avoided. They are tied to their parent's life: on Linux they get SIGKILL when it dies, and
everywhere they exit on a closed pipe.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass
from multiprocessing.connection import Connection

from reasoning_economics import proc_stats
from reasoning_economics.errors import ConfigError, GradingError
from reasoning_economics.grading.fair_share import FairHandOut, current_account

logger = logging.getLogger(__name__)

TIMED_OUT = "timeout"
"""The worker used its CPU seconds on the answer: a verdict about the answer."""
DEADLINE_PASSED = "deadline"
"""The worker had not answered by the wall-clock deadline and was killed: on a busy machine
that can happen to any answer, so it says nothing certain about this one."""
CPU_SHARE_OF_TIMEOUT = 1 / 3
"""A worker stops deciding an answer after this share of the grading timeout in CPU seconds
and answers :data:`TIMED_OUT`; the rest of the timeout, in wall-clock seconds, is for waiting on
a busy machine before the worker is killed. A third gives towers of exponents about the CPU
time math-verify's own limits gave them (1 s per phase at the default 5 s), with room for a
machine loaded three times over before a worker is killed (and a new one started, which
costs more CPU)."""
WORKER_START_SECONDS = 120.0
RESTART_DELAYS = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
"""Seconds to wait before each new attempt after a failed start; the last repeats."""
STARVED_AFTER_FAILED_STARTS = 3
"""With no worker alive and this many starts failed in a row, a grade is refused at once
instead of waiting: every waiting grade holds a server thread, and fast-path steps of other
sessions would queue behind them."""
STARVATION_CHECK_SECONDS = 0.25
WORKERS_ENV = "REE_GRADING_WORKERS"
WORKER_MEMORY_ENV = "REE_GRADING_WORKER_MEMORY_MB"
DEFAULT_WORKER_MEMORY_MB = 1024
"""Address space a worker may use. math-verify on a real answer stays near 100 MB; a hostile
one such as ``(x+y+z+1)^{300}`` grew a worker to 1.3 GB in 10 CPU seconds (a 30 s timeout)
and would go on, so more workers and longer timeouts could exhaust the machine's memory.
Past the limit the check fails with MemoryError, which grades the answer wrong."""
STARTED = "started"
"""A worker's reply on taking a request, before computing: one that dies before sending it
died of something other than that answer (killed while idle, say)."""
MAX_LOST_BEFORE_START = 8
"""How many workers may die before taking one answer (a kill storm) before it is refused."""
MAX_UNACKNOWLEDGED = 1
"""How many workers may fail to acknowledge one answer, or stall on it, within the timeout before
it is refused: each such try costs a whole timeout of waiting, so one retry, not the kill-storm
allowance."""
STALLED_CPU_SHARE = 1 / 2
"""A worker still grading at the wall-clock deadline that has used less than this share of its
CPU seconds on the answer was stopped or starved of CPU, so its lateness says nothing about the
answer. A worker SIGSTOPped 0.4 s into a correct (x+y+k)^10 was killed at the 5 s deadline and
the answer graded "timeout", wrong, and charged; it took 1.7 s unpaused."""
_LOST_BEFORE_START, _NEVER_ACKNOWLEDGED, _DIED_MID_GRADE = object(), object(), object()
_STALLED_MID_GRADE = object()
"""Outcomes of one try after which the answer goes to another worker."""


@dataclass
class _Worker:
    process: subprocess.Popen
    to_worker: Connection
    from_worker: Connection

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            logger.error("grading worker %d did not exit after SIGKILL", self.pid)
        self.to_worker.close()
        self.from_worker.close()


def _cpu_seconds(pid: int) -> float | None:
    """CPU time (user and system) process ``pid`` has used, from /proc: Linux only. ``None``
    elsewhere or if it cannot be read; the caller then treats every worker as having used its
    CPU seconds, as before."""
    try:
        return proc_stats.cpu_seconds(pid)
    except (OSError, IndexError, ValueError):
        return None


def _is_stopped(pid: int) -> bool:
    try:
        return proc_stats.is_stopped(pid)
    except (OSError, ValueError, IndexError):  # gone, or no /proc: not known to be stopped
        return False


def _why_not_ready(process: subprocess.Popen) -> str:
    # Its pipe closes as it dies, a moment before it can be reaped: polling at once read
    # "exit code None" for workers killed while starting.
    try:
        code = process.wait(timeout=1)
    except subprocess.TimeoutExpired:
        return f"it did not say it was ready within {WORKER_START_SECONDS:.0f} s"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"it was killed by {name} while starting"
    return f"it exited with code {code} while starting (see its stderr above)"


def _whole_number_from_env(name: str, what: str, minimum: int) -> int | None:
    configured = os.environ.get(name, "").strip()
    if not configured:
        return None
    if not configured.isdigit() or int(configured) < minimum:
        raise ConfigError(f"{name} must be a whole number of {what}, at least {minimum}; got {configured!r}")
    return int(configured)


def default_worker_count() -> int:
    """``REE_GRADING_WORKERS`` if set, else 2 to 4 workers depending on the cores."""
    configured = _whole_number_from_env(WORKERS_ENV, "workers", 1)
    return configured if configured is not None else max(2, min(4, os.cpu_count() or 2))


def default_worker_memory_mb() -> int:
    """``REE_GRADING_WORKER_MEMORY_MB`` if set, else :data:`DEFAULT_WORKER_MEMORY_MB`."""
    configured = _whole_number_from_env(WORKER_MEMORY_ENV, "megabytes", 256)
    return configured if configured is not None else DEFAULT_WORKER_MEMORY_MB


class WorkerPool:
    """A fixed number of grading workers shared by every thread of the process."""

    def __init__(self, size: int | None = None, memory_mb: int | None = None) -> None:
        self.size = size or default_worker_count()
        self.memory_mb = memory_mb or default_worker_memory_mb()
        self._idle: FairHandOut[_Worker] = FairHandOut()
        self._spawn_requests: queue.Queue[None] = queue.Queue()
        self._live: dict[int, _Worker] = {}
        self._lock = threading.Lock()
        self._started = False
        self._closed = False
        self._spawner: threading.Thread | None = None
        self._starting: _Worker | None = None
        self.replaced = 0
        self.failed_starts = 0
        """Worker starts that failed in a row (0 once one succeeds)."""

    def _spawn(self) -> _Worker | None:
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        process = subprocess.Popen(
            [
                sys.executable, "-m", "reasoning_economics.grading.worker_main",
                str(request_read), str(reply_write), str(self.memory_mb),
            ],  # fmt: skip
            pass_fds=(request_read, reply_write),
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # a terminal's Ctrl-C goes to the parent, which decides
        )
        os.close(request_read)
        os.close(reply_write)
        worker = _Worker(process, Connection(request_write, readable=False), Connection(reply_read, writable=False))
        self._starting = worker
        try:
            why_not = self._wait_until_ready(worker)
        finally:
            self._starting = None
        if why_not is not None:
            worker.kill()
            if not self._closed:  # killed by shutdown() while it started: nothing failed
                logger.error("a grading worker failed to start: %s", why_not)
            return None
        return worker

    def _wait_until_ready(self, worker: _Worker) -> str | None:
        """None once ``worker`` says it is ready; else why it will not be.

        Checked a slice at a time: one worker stopped while starting held the single spawner
        for WORKER_START_SECONDS (120 s), and with it every replacement, while every symbolic
        grade of every session waited for a worker.
        """
        deadline = time.monotonic() + WORKER_START_SECONDS
        try:
            while (remaining := deadline - time.monotonic()) > 0:
                if worker.from_worker.poll(min(remaining, STARVATION_CHECK_SECONDS)):
                    if worker.from_worker.recv() == "ready":
                        return None
                    break
                if self._closed:
                    return "the pool shut down while it started"
                if _is_stopped(worker.pid):
                    return "it was stopped (SIGSTOP) while starting"
        except (EOFError, OSError):
            pass
        return _why_not_ready(worker.process)

    def _add_worker(self) -> None:
        while (worker := self._spawn()) is None:
            if self._closed:
                return
            # Giving up would leave the pool a worker short for good, and with none left
            # every symbolic grade would wait for a worker that never comes.
            delay = RESTART_DELAYS[min(self.failed_starts, len(RESTART_DELAYS) - 1)]
            self.failed_starts += 1
            logger.warning("starting a grading worker again in %.1f s (failed starts: %d)", delay, self.failed_starts)
            time.sleep(delay)
            if self._closed:
                return
        self.failed_starts = 0
        with self._lock:
            closed = self._closed
        if closed:
            worker.kill()
            return
        self._live[worker.pid] = worker
        self._idle.put(worker)

    def _spawn_forever(self) -> None:
        # One long-lived thread starts every worker: Linux's parent-death signal fires when
        # the *thread* that forked the worker exits, so a short-lived thread would kill it.
        while True:
            self._spawn_requests.get()
            if self._closed:
                return
            self._add_worker()

    def _replace_in_background(self) -> None:
        self.replaced += 1
        self._spawn_requests.put(None)

    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
        self._spawner = threading.Thread(target=self._spawn_forever, name="ree-grading-spawner", daemon=True)
        self._spawner.start()
        for _ in range(self.size):
            self._spawn_requests.put(None)

    def pids(self) -> list[int]:
        """Process ids of the live workers, idle or busy (for diagnostics and fault injection)."""
        return list(self._live)

    def idle_count(self) -> int:
        return self._idle.idle_count()

    def _retire(self, worker: _Worker) -> None:
        self._live.pop(worker.pid, None)
        worker.kill()
        self._replace_in_background()

    def _next_idle_worker(self, wait: float, account: Hashable) -> _Worker:
        deadline = time.monotonic() + wait
        ticket = self._idle.ticket(account)
        try:
            while True:
                if self._closed:
                    raise GradingError("the grading pool is shut down")
                if not self._live and self.failed_starts >= STARVED_AFTER_FAILED_STARTS:
                    raise GradingError(
                        f"no grading worker is running: the last {self.failed_starts} starts failed "
                        "(see the log); the pool keeps trying"
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise GradingError(f"no grading worker became free within {wait:.0f} s: the pool is saturated")
                worker = self._idle.wait(ticket, min(remaining, STARVATION_CHECK_SECONDS))
                if worker is not None:
                    return worker
        except BaseException:
            self._idle.cancel(ticket)
            raise

    def check(self, predicted: str, gold: str, timeout: float) -> bool | str:
        """math-verify's verdict on the pair, ``TIMED_OUT`` or ``DEADLINE_PASSED``; raises GradingError
        on repeated crashes.

        Only a worker that dies after taking the request (it answers :data:`STARTED` first)
        counts against the answer. One that died before, killed while idle and not yet
        exited, say, is replaced and the request goes to the next worker, up to
        :data:`MAX_LOST_BEFORE_START` times. One that does not take it within ``timeout`` is
        replaced too, and the request goes to another worker with a fresh ``timeout``, up to
        :data:`MAX_UNACKNOWLEDGED` times, and so is one that took it but at the deadline had used
        under :data:`STALLED_CPU_SHARE` of its CPU seconds (the two share that allowance); so
        the wait can reach twice the timeout plus a worker's start before GradingError.
        """
        if self._closed:
            raise GradingError("the grading pool is shut down")
        self.start()
        cpu_seconds = timeout * CPU_SHARE_OF_TIMEOUT
        account = current_account()
        deaths = lost_before_start = stalled = 0
        while deaths < 2:
            if lost_before_start > MAX_LOST_BEFORE_START:
                raise GradingError(
                    f"{lost_before_start} grading workers died before taking this answer; it was not graded"
                )
            worker = self._next_idle_worker(WORKER_START_SECONDS + timeout, account)
            if worker.process.poll() is not None:
                logger.warning("grading worker %d had died while idle; replacing it", worker.pid)
                self._retire(worker)
                lost_before_start += 1
                continue
            started = time.monotonic()
            try:
                outcome = self._attempt(worker, predicted, gold, cpu_seconds, timeout)
            except BaseException:
                # Anything _attempt does not handle (an interrupt, a wait the OS refuses) leaves the
                # worker neither idle nor retired, and a pool that lost each worker so hung every grade.
                self._retire(worker)
                raise
            finally:
                self._idle.charge(account, time.monotonic() - started)
            if outcome is _LOST_BEFORE_START:
                lost_before_start += 1
            elif outcome is _NEVER_ACKNOWLEDGED or outcome is _STALLED_MID_GRADE:
                stalled += 1
                if stalled > MAX_UNACKNOWLEDGED:
                    raise GradingError(
                        f"{stalled} grading workers did not take this answer, or did not work on it, within "
                        f"the {timeout:g} s timeout (stopped, or starved of CPU); it was not graded"
                    )
            elif outcome is _DIED_MID_GRADE:
                if self._closed:
                    raise GradingError("the grading pool is shut down")
                deaths += 1
                logger.warning("grading worker %d died mid-grade (attempt %d); replacing it", worker.pid, deaths)
            else:
                return outcome
        raise GradingError("grading workers died twice on this answer; it was not graded")

    def _attempt(self, worker: _Worker, predicted: str, gold: str, cpu_seconds: float, timeout: float):
        """One try of the pair on ``worker``: the verdict, ``TIMED_OUT``, ``DEADLINE_PASSED``, or why
        it must be tried on another worker."""
        deadline = time.monotonic() + timeout
        cpu_before = _cpu_seconds(worker.pid)  # idle until it reads the request
        try:
            worker.to_worker.send((predicted, gold, cpu_seconds))
            taken = worker.from_worker.poll(max(0.0, deadline - time.monotonic())) and worker.from_worker.recv()
        except (EOFError, OSError):
            logger.warning("grading worker %d died before taking the request; replacing it", worker.pid)
            self._retire(worker)
            return _LOST_BEFORE_START
        if taken != STARTED:
            # It never started on the answer, so running out of time says nothing about the
            # answer: grading it "timeout" charged a correct answer as wrong.
            logger.warning(
                "grading worker %d did not take the request within %.1f s (stopped or starved?); "
                "replacing it and trying another", worker.pid, timeout,
            )  # fmt: skip
            self._retire(worker)
            return _NEVER_ACKNOWLEDGED
        try:
            if not worker.from_worker.poll(max(0.0, deadline - time.monotonic())):
                cpu_after = _cpu_seconds(worker.pid)
                self._retire(worker)
                if cpu_before is not None and cpu_after is not None:
                    used = cpu_after - cpu_before
                    if used < STALLED_CPU_SHARE * cpu_seconds:
                        # Paused or starved mid-grade: the deadline verdict graded a correct
                        # answer "timeout" and charged it.
                        logger.warning(
                            "grading worker %d used %.2f of its %.2f CPU seconds by the %.1f s deadline "
                            "(stopped or starved?); replaced it and trying another",
                            worker.pid, used, cpu_seconds, timeout,
                        )  # fmt: skip
                        return _STALLED_MID_GRADE
                logger.warning("grading timed out after %.1f s; replacing worker %d", timeout, worker.pid)
                return DEADLINE_PASSED
            reply = worker.from_worker.recv()
        except (EOFError, OSError):
            self._retire(worker)
            return _DIED_MID_GRADE
        self._idle.put(worker)
        if reply == TIMED_OUT:
            return TIMED_OUT
        if isinstance(reply, str):
            return False
        return bool(reply)

    def shutdown(self) -> None:
        """Stop every worker. Grades waiting for one, or being computed, raise GradingError
        within :data:`STARVATION_CHECK_SECONDS` instead of running on."""
        with self._lock:
            self._closed = True
        self._spawn_requests.put(None)
        for worker in self._idle.take_idle():
            try:
                worker.to_worker.send(None)
            except OSError:
                pass
            self._live.pop(worker.pid, None)
            worker.kill()
        for worker in list(self._live.values()):
            # Busy: its caller sees the pipe close, retires it and finds the pool shut down.
            if worker.process.poll() is None:
                worker.process.kill()
        starting = self._starting
        if starting is not None and starting.process.poll() is None:
            # One stopped before it asked for its parent's death signal would outlive the server.
            starting.process.kill()


_pool: WorkerPool | None = None
_pool_lock = threading.Lock()


def shutdown_pool() -> None:
    """Shut the process-wide pool down, if one was started (``ree serve`` does as it stops)."""
    with _pool_lock:
        pool = _pool
    if pool is not None:
        pool.shutdown()


def get_pool() -> WorkerPool:
    """The process-wide pool, created on first use."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool._closed:
            _pool = WorkerPool()
            atexit.register(_pool.shutdown)
        return _pool
