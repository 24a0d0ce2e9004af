"""Entry point of one grading worker process: ``python -m reasoning_economics.grading.worker_main R W MB``.

On Linux, limits its address space to MB megabytes, so a hostile answer fails with
MemoryError instead of taking the machine's memory.

Reads ``(predicted, gold, cpu_seconds)`` tuples from file descriptor R and, for each, writes
:data:`STARTED` and then math-verify's verdict to W, until R closes: a bool, :data:`TIMED_OUT`
when deciding took more than ``cpu_seconds`` of CPU time, or an ``"error: ..."`` string for a
failed parse.
"""

from __future__ import annotations

import logging
import sys
from multiprocessing.connection import Connection
from typing import Any

from reasoning_economics.grading.workers import STARTED, TIMED_OUT
from reasoning_economics.parent_death import parent_death_setter


def _die_with_parent() -> None:
    die_with_parent = parent_death_setter()
    if die_with_parent is not None:
        die_with_parent()


def _limit_memory(megabytes: int) -> None:
    # Only Linux enforces RLIMIT_AS (macOS accepts some values and ignores them, refuses others).
    if not sys.platform.startswith("linux"):
        return
    import resource

    limit = megabytes * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


WARM_UP_PAIRS = (
    ("\\frac{1}{2}", "0.5"),
    ("(x+1)^{3}", "x^{3}+3x^{2}+3x+1"),
    ("\\sqrt{2}\\sin(\\frac{\\pi}{4})", "1"),
    ("(1,2]", "(1,2]"),
)
"""Pairs a worker grades before it says it is ready, one of each kind whose first grade in a
process is slow. A number alone left the first polynomial to import sympy's units and
combinatorics (from simplify), 0.4 CPU seconds more than the next on 2 cores: a fresh
worker graded a correct (x+y+1)^9 "timeout" against a 3 s grading timeout's 1 CPU second,
and a warm one graded it correct. Trigonometry and intervals import a little more."""
WARM_UP_CPU_SECONDS = 30.0


def warm_up() -> None:
    """Import and exercise math-verify and the sympy paths answers take, so that a worker's
    first real grade costs what later ones do."""
    from reasoning_economics.grading import symbolic

    for predicted, gold in WARM_UP_PAIRS:
        symbolic.equivalent(predicted, gold, WARM_UP_CPU_SECONDS)


def serve(requests: Connection, replies: Connection) -> None:
    from reasoning_economics.grading import symbolic

    # Our CPU-time limit replaces math-verify's timeouts, which it warns about once per process.
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    warm_up()
    replies.send("ready")
    while True:
        try:
            message = requests.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        predicted, gold, cpu_seconds = message
        replies.send(STARTED)
        try:
            reply: Any = symbolic.equivalent(predicted, gold, cpu_seconds)
        except symbolic.CpuTimeExceeded:
            reply = TIMED_OUT
        except Exception as error:  # a parse failure is a wrong answer, not a crash
            reply = f"error: {type(error).__name__}"
        replies.send(reply)


if __name__ == "__main__":
    _die_with_parent()
    _limit_memory(int(sys.argv[3]))
    try:
        serve(Connection(int(sys.argv[1]), writable=False), Connection(int(sys.argv[2]), readable=False))
    except (BrokenPipeError, EOFError, ConnectionResetError):
        pass  # the parent went away (it exited before this worker was ready): nothing to answer
