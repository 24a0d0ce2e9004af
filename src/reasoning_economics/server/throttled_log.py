"""Log lines a client can cause, summed: at most one per interval, saying how often it happened.

A hostile or broken client can make the same thing happen thousands of times a second (bad
frames, stalled connections, failed episode-log writes); a line for each filled the server's
log at up to 90 KB a second.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

LOG_INTERVAL_S = 10.0


class ThrottledLog:
    """A log line written at most once per ``interval_s`` to ``log``, saying how often it happened
    meanwhile; the first occurrence is written at once.

    ``text`` may be a function, called each time the line is written, for a text that states the
    situation at that moment."""

    def __init__(
        self,
        log: logging.Logger,
        text: str | Callable[[], str],
        *,
        level: int = logging.WARNING,
        interval_s: float = LOG_INTERVAL_S,
    ) -> None:
        self.log = log
        self.text = text
        self.level = level
        self.interval_s = interval_s
        self.unreported = 0
        self.last_logged: float | None = None

    def happened(self) -> None:
        self.unreported += 1
        now = time.monotonic()
        if self.last_logged is None or now - self.last_logged >= self.interval_s:
            text = self.text() if callable(self.text) else self.text
            self.log.log(self.level, "%s [%d since the last report]", text, self.unreported)
            self.unreported, self.last_logged = 0, now
