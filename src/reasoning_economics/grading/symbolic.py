"""math-verify equivalence, as run inside a grading worker process.

Only math-verify's LaTeX extraction is used: its plain-expression extraction goes through
``sympy.parse_expr``, which evaluates Python, and a model's answer must stay data. Both
sides are wrapped in ``\\boxed{}`` because that is how math-verify expects a bare answer
(gold included) to be marked.

math-verify's own time limits are switched off. They are ``signal.alarm`` wall-clock
seconds, so on a busy machine a worker that waited for a core ran out of them on easy
answers, and math-verify then answers False: a correct ``(x+34)^2`` was graded wrong, and
that verdict cached. Instead the whole check gets a budget of *CPU* seconds
(:func:`cpu_time_limit`), which waiting does not use. The worker's caller still kills it at
a wall-clock deadline, for C code that no signal interrupts.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from functools import lru_cache

_CONFIG = None


class CpuTimeExceeded(BaseException):
    """The check used its CPU seconds. A BaseException so that math-verify's ``except Exception``
    blocks, which turn errors into a False verdict, let it through."""


@contextlib.contextmanager
def cpu_time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`CpuTimeExceeded` in the block once this process has used ``seconds`` of CPU
    time in it (main thread only, like every signal handler)."""

    def exceeded(signum: int, frame: object) -> None:
        raise CpuTimeExceeded(f"used {seconds:g} s of CPU time")

    previous = signal.signal(signal.SIGPROF, exceeded)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def _latex_config():
    global _CONFIG
    if _CONFIG is None:
        from math_verify import LatexExtractionConfig

        _CONFIG = [LatexExtractionConfig(boxed_match_priority=0, try_extract_without_anchor=True)]
    return _CONFIG


@lru_cache(maxsize=4096)
def _parse(answer: str):
    from math_verify import parse

    return parse(f"\\boxed{{{answer}}}", extraction_config=_latex_config(), parsing_timeout=None)


def equivalent(predicted: str, gold: str, cpu_seconds: float) -> bool:
    """Whether math-verify judges ``predicted`` equal to ``gold`` (both bare answers).

    Raises :class:`CpuTimeExceeded` when deciding takes more than ``cpu_seconds`` of CPU time.
    """
    from math_verify import verify

    with cpu_time_limit(cpu_seconds):
        gold_parsed = _parse(gold)
        if not gold_parsed:
            return predicted.strip() == gold.strip()
        predicted_parsed = _parse(predicted)
        if not predicted_parsed:
            return False
        return bool(verify(gold_parsed, predicted_parsed, timeout_seconds=None))
