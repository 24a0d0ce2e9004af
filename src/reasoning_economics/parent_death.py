"""Linux's parent-death signal, so that a child process never outlives the one that started it."""

from __future__ import annotations

import functools
import signal
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG = 1


def parent_death_setter() -> Callable[[], object] | None:
    """A function that makes the process calling it get SIGKILL when its parent dies
    (``prctl(PR_SET_PDEATHSIG)``); None where the system has no such signal (not Linux).

    libc is loaded here, so the function only makes the call: safe to run in a child
    between fork and exec, as a ``Popen`` ``preexec_fn``.
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    return functools.partial(ctypes.CDLL("libc.so.6", use_errno=True).prctl, PR_SET_PDEATHSIG, signal.SIGKILL)
