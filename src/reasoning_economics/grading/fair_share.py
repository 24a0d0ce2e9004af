"""Fair hand-out of idle grading workers: the least recent user goes first.

Each answer that needs a worker is charged to an *account* (``ree serve`` uses one per
session; in-process callers share one). When a worker comes free it goes to the waiting
answer whose account has used the workers least lately, with worker-seconds decaying by
half every :data:`USAGE_HALF_LIFE_S`. Accounts with equal use go first come, first served.

A new account starts as if it had just used :data:`NEW_ACCOUNT_USAGE_S`. Otherwise a client
could open a fresh session for each slow answer and always go first; this way sessions that
have been using the workers lightly go ahead of new ones.

Why not first come, first served for all: a session sending answers that take seconds to
grade (exponent towers) keeps one in the queue at all times, so with 40 such sessions every
other session's symbolic answer waited behind 40 of them (17.8 s per step p50, 85 s at worst,
with two workers: the table in docs/deployment.md). Least-recent-use puts it behind at most the grades already running,
and it is work-conserving: no worker idles while an answer waits.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import threading
import time
from collections import deque
from collections.abc import Hashable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Generic, TypeVar

USAGE_HALF_LIFE_S = 30.0
"""Worker-seconds used this long ago count half."""
NEW_ACCOUNT_USAGE_S = 1.0
"""The worker-seconds an account is first seen with: more than a session answering plainly
uses in a while (a symbolic grade takes milliseconds), less than one slow answer."""

_account: ContextVar[Hashable] = ContextVar("grading_account", default=None)

Item = TypeVar("Item")


@contextlib.contextmanager
def charged_to(account: Hashable) -> Iterator[None]:
    """Charge the worker time of grades made inside this block to ``account``."""
    token = _account.set(account)
    try:
        yield
    finally:
        _account.reset(token)


def current_account() -> Hashable:
    """The account the calling context's grades are charged to (None outside :func:`charged_to`)."""
    return _account.get()


class WorkerUsage:
    """Recent worker-seconds per account, decaying by half every ``half_life_s`` seconds; an
    account is first seen with ``new_account_s``.

    Not thread-safe on its own: :class:`FairHandOut` calls it under its lock.
    """

    def __init__(
        self, half_life_s: float = USAGE_HALF_LIFE_S, new_account_s: float = NEW_ACCOUNT_USAGE_S, clock=time.monotonic
    ) -> None:
        if half_life_s <= 0:
            raise ValueError(f"half_life_s must be positive, got {half_life_s}")
        if new_account_s < 0:
            raise ValueError(f"new_account_s must be >= 0, got {new_account_s}")
        self.half_life_s = half_life_s
        self.new_account_s = new_account_s
        self._clock = clock
        self._used: dict[Hashable, tuple[float, float]] = {}  # account -> (seconds, as of)
        self._last_sweep = clock()

    def of(self, account: Hashable) -> float:
        now = self._clock()
        if account not in self._used:
            self._sweep_now_and_then(now)
            self._used[account] = (self.new_account_s, now)
        seconds, as_of = self._used[account]
        return seconds * 0.5 ** ((now - as_of) / self.half_life_s)

    def charge(self, account: Hashable, seconds: float) -> None:
        self._used[account] = (self.of(account) + max(0.0, seconds), self._clock())

    def _sweep_now_and_then(self, now: float) -> None:
        # Sessions come and go: forget accounts whose use has decayed to nothing.
        if now - self._last_sweep > self.half_life_s:
            self._last_sweep = now
            for account in [a for a in self._used if self.of(a) < 1e-4]:
                del self._used[account]

    def __len__(self) -> int:
        return len(self._used)


@dataclass(order=True)
class Ticket(Generic[Item]):
    """A place in line for a worker; :meth:`FairHandOut.wait` fills ``item`` when one is handed over."""

    priority: tuple[float, int]
    ready: threading.Event = field(default_factory=threading.Event, compare=False)
    item: Item | None = field(default=None, compare=False)


class FairHandOut(Generic[Item]):
    """Idle items (workers), each handed to the waiting ticket of the least-used account.

    A caller takes a :meth:`ticket`, then :meth:`wait` s on it as often as it likes (its place
    in line is kept between waits), and either receives an item or :meth:`cancel` s. Items are
    returned with :meth:`put`, and the time they were used is booked with :meth:`charge`.
    """

    def __init__(self, usage: WorkerUsage | None = None) -> None:
        self.usage = usage if usage is not None else WorkerUsage()  # an empty one is falsy
        self._lock = threading.Lock()
        self._idle: deque[Item] = deque()
        self._line: list[Ticket[Item]] = []
        self._order = itertools.count()

    def ticket(self, account: Hashable) -> Ticket[Item]:
        """A place in line for ``account``; already served when an item is idle and nobody waits."""
        with self._lock:
            ticket: Ticket[Item] = Ticket((self.usage.of(account), next(self._order)))
            if self._idle and not self._line:
                ticket.item = self._idle.popleft()
                ticket.ready.set()
            else:
                heapq.heappush(self._line, ticket)
        return ticket

    @staticmethod
    def wait(ticket: Ticket[Item], timeout: float) -> Item | None:
        """The item handed to ``ticket``, or None if none came within ``timeout`` seconds."""
        if ticket.ready.wait(timeout):
            return ticket.item
        return None

    def cancel(self, ticket: Ticket[Item]) -> None:
        """Leave the line; an item handed over meanwhile goes to the next in line."""
        with self._lock:
            handed = ticket.item
            if handed is None:
                self._line.remove(ticket)
                heapq.heapify(self._line)
                return
            ticket.item = None
        self.put(handed)

    def put(self, item: Item) -> None:
        """Return an idle item: to the first ticket in line, or to the idle set."""
        with self._lock:
            if self._line:
                ticket = heapq.heappop(self._line)
                ticket.item = item
                ticket.ready.set()
            else:
                self._idle.append(item)

    def charge(self, account: Hashable, seconds: float) -> None:
        with self._lock:
            self.usage.charge(account, seconds)

    def take_idle(self) -> list[Item]:
        """Remove and return every idle item (for shutting down)."""
        with self._lock:
            items = list(self._idle)
            self._idle.clear()
        return items

    def idle_count(self) -> int:
        return len(self._idle)

    def waiting_count(self) -> int:
        return len(self._line)
