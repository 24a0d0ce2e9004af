"""The episode log: one JSON line per finished episode, written as soon as it finishes.

Each line holds the questions, the responses, the tokens counted and charged, the verdicts,
the rewards and the timings of one episode (see :meth:`EpisodeRecorder.finish`). The
file is opened once with ``O_APPEND`` and every record goes out in a single ``write``, so
a crash of the server loses nothing already finished and never leaves half a line.

What one record may hold is bounded, whatever the clients send: a response longer than
``max_response_chars`` is logged as its head and tail around a marker, with its length and
sha256 beside it, so a record's size, the memory a session holds for its unfinished episode
and the time spent writing a record stay small.

A failed write (disk full, file unwritable) is not silent: it is logged at ERROR (at once, then
summed once every ``throttled_log.LOG_INTERVAL_S``), the bytes
written are truncated back so the file stays valid JSONL, the record is kept in memory (up to
``MAX_PENDING_RECORDS`` and ``MAX_PENDING_BYTES``) and retried with the next one and at close,
and the client's final observation says the log failed. A log file moved or removed under the
server (log rotation) is noticed before the next write, which goes to a new file at the path.

A record that would take the file past ``max_bytes`` (``ree serve --log-max-mb``, 1,024 MB)
first rotates it: ``episodes.jsonl`` becomes ``episodes.1.jsonl`` and so on up to
``LOG_BACKUPS``, so the log takes six times that on disk at most, whatever clients send.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
import threading
import time
from collections import deque
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from reasoning_economics.errors import EpisodeLogError
from reasoning_economics.jsonl import json_line
from reasoning_economics.server.throttled_log import ThrottledLog

logger = logging.getLogger(__name__)

DEFAULT_MAX_LOGGED_RESPONSE_CHARS = 32_000
"""Longer responses (and grading responses) are logged as head and tail (``ree serve --log-max-response-chars``)."""
DEFAULT_MAX_LOG_MB = 1024
"""The log is rotated when a record would take it past this size (``ree serve --log-max-mb``; 0: never)."""
LOG_BACKUPS = 5
"""Rotated files kept: ``episodes.1.jsonl`` (the newest) to ``episodes.5.jsonl``; an older one is deleted."""
MAX_PENDING_RECORDS = 10_000
"""Failed records kept in memory for a retry; beyond this the oldest are dropped (and logged)."""
MAX_PENDING_BYTES = 64 * 1024 * 1024
"""Bytes of failed records kept in memory for a retry; beyond this the oldest are dropped (and logged)."""

# O_NONBLOCK: opening a FIFO put at the log's path would otherwise wait for a reader, holding
# the log's lock, every session's last step, and the shutdown. No effect on regular files.
_OPEN_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK
# After one of these a shorter record may still fit, so the retry goes on past it.
_OUT_OF_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def _open_log_file(path: Path) -> int:
    """A descriptor to append to ``path``; OSError if it cannot be opened or is a pipe or socket,
    whose writes block as soon as nobody reads them."""
    not_a_file = OSError(errno.EINVAL, "it is a pipe or a socket, not a file")
    try:
        fd = os.open(path, _OPEN_FLAGS, 0o644)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # what a non-blocking open of a FIFO with no reader gives
            raise not_a_file from exc
        raise
    mode = os.fstat(fd).st_mode
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        os.close(fd)
        raise not_a_file
    return fd


class EpisodeLog:
    """Append-only JSONL file of finished episodes; safe to call from many threads."""

    def __init__(
        self,
        path: Path,
        *,
        max_response_chars: int = DEFAULT_MAX_LOGGED_RESPONSE_CHARS,
        max_bytes: int = DEFAULT_MAX_LOG_MB * 1024 * 1024,
        max_pending_records: int = MAX_PENDING_RECORDS,
        max_pending_bytes: int = MAX_PENDING_BYTES,
    ) -> None:
        self.path = Path(path)
        self.max_response_chars = max_response_chars
        self.max_bytes = max_bytes
        self.max_pending_records = max_pending_records
        self.max_pending_bytes = max_pending_bytes
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = _open_log_file(self.path)
        except OSError as exc:
            raise EpisodeLogError(
                f"cannot write the episode log {self.path}: {exc.strerror or exc}. "
                "Choose a writable --log-dir or leave it out."
            ) from exc
        self._lock = threading.Lock()
        self._pending: deque[bytes] = deque()
        self._pending_bytes = 0
        self.records_written = 0
        self.records_dropped = 0
        self._last_error: str | None = None
        # Once per failing episode, these filled stderr at a client's pace (a line per episode
        # on a full disk); summed, they say how often it happened meanwhile.
        self._failed_writes = ThrottledLog(
            logger,
            lambda: (
                f"episode log {self.path}: write failed ({self._last_error}); {len(self._pending)} episode(s) "
                f"({self._pending_bytes} bytes) kept in memory for a retry"
            ),
            level=logging.ERROR,
        )
        self._rotation_error: str | None = None
        self._failed_rotations = ThrottledLog(
            logger,
            lambda: f"episode log {self.path}: cannot rotate it ({self._rotation_error}); writing on past --log-max-mb",
            level=logging.ERROR,
        )
        self._drops = ThrottledLog(
            logger,
            lambda: (
                f"episode log {self.path}: dropped the oldest unwritten episodes, {self.records_dropped} in all: "
                f"at most {self.max_pending_records} episodes and {self.max_pending_bytes} bytes are kept"
            ),
            level=logging.ERROR,
        )

    def recorder(self, session_id: str) -> EpisodeRecorder:
        """A recorder for one session's episodes, keeping what this log keeps of each response."""
        return EpisodeRecorder(session_id, max_response_chars=self.max_response_chars)

    def append(self, record: dict[str, Any]) -> str | None:
        """Write ``record`` (and any earlier failed ones) as JSON lines.

        Returns None once ``record`` is written, else the error text (the record stays
        pending, unless it alone is beyond what is kept).
        """
        # A lone surrogate cannot be UTF-8; backslashreplace writes it as "\udXXX", the
        # JSON escape of that same string, where "strict" would raise.
        line = json_line(record, separators=(",", ":")).encode("utf-8", "backslashreplace")
        with self._lock:
            kept_from_failures = len(self._pending)
            self._pending.append(line)
            self._pending_bytes += len(line)
            error = self._write_pending()
            newest_unwritten = bool(self._pending) and self._pending[-1] is line
            dropped_newest = self._drop_beyond_bounds(line)
            if error is not None:
                self._last_error = error
                self._failed_writes.happened()
            elif kept_from_failures:
                logger.warning(
                    "episode log %s: writing works again; the %d episode(s) kept from failed writes are written",
                    self.path, kept_from_failures,
                )  # fmt: skip
        if not newest_unwritten:
            return None
        if dropped_newest:
            return f"{error}; the episode is lost (too large to keep in memory for a retry)"
        return error

    def _write_pending(self) -> str | None:
        """Write the pending records, oldest first. Returns the last error (None: all written).

        A record that did not fit does not hold back the rest: a shorter one may fit still."""
        reopen_error = self._reopen_if_moved()
        if reopen_error is not None:
            return reopen_error
        unwritten: deque[bytes] = deque()
        error: OSError | None = None
        smallest_failed = 0
        for line in self._pending:
            if error is not None and (error.errno not in _OUT_OF_SPACE or len(line) >= smallest_failed):
                unwritten.append(line)
                continue
            failure = self._write(line)
            if failure is None:
                self._pending_bytes -= len(line)
                self.records_written += 1
            else:
                unwritten.append(line)
                error = failure
                smallest_failed = len(line) if smallest_failed == 0 else min(smallest_failed, len(line))
        self._pending = unwritten
        return None if error is None else (error.strerror or str(error))

    def _drop_beyond_bounds(self, newest: bytes) -> bool:
        """Drop the oldest pending records beyond the bounds; returns whether ``newest`` went too."""
        dropped = 0
        dropped_newest = False
        while self._pending and (
            len(self._pending) > self.max_pending_records or self._pending_bytes > self.max_pending_bytes
        ):
            line = self._pending.popleft()
            self._pending_bytes -= len(line)
            dropped_newest = line is newest
            dropped += 1
        if dropped:
            self.records_dropped += dropped
            self._drops.happened()
        return dropped_newest

    def _reopen_if_moved(self) -> str | None:
        """Open the path anew if the file open is no longer there (moved or removed, as log
        rotation does), as logging's WatchedFileHandler does; returns the error if that fails."""
        try:
            on_path = os.stat(self.path)
        except FileNotFoundError:
            on_path = None
        except OSError as exc:
            return f"cannot look at {self.path}: {exc.strerror or exc}"
        if on_path is not None:
            try:
                opened = os.fstat(self._fd)
            except OSError:
                opened = None
            if opened is not None and (opened.st_dev, opened.st_ino) == (on_path.st_dev, on_path.st_ino):
                return None
        try:
            fd = _open_log_file(self.path)
        except OSError as exc:
            return f"{self.path} was moved, removed or replaced, and cannot be opened again: {exc.strerror or exc}"
        try:
            os.close(self._fd)
        except OSError:
            pass
        self._fd = fd
        logger.warning("episode log %s was moved or removed; writing on in a new file at that path", self.path)
        return None

    def _rotate(self) -> None:
        """``episodes.jsonl`` becomes ``episodes.1.jsonl``, each older one the next number up to
        LOG_BACKUPS (the oldest is deleted), and writing goes on in a new file at the path. If
        that fails, writing goes on in the same file: a record is never lost to rotation."""
        backups = [self.path.with_name(f"{self.path.stem}.{number}{self.path.suffix}") for number in range(1, LOG_BACKUPS + 1)]
        try:
            for index in reversed(range(len(backups) - 1)):
                if backups[index].exists():
                    os.replace(backups[index], backups[index + 1])
            os.replace(self.path, backups[0])
            fd = _open_log_file(self.path)
        except OSError as exc:
            self._rotation_error = exc.strerror or str(exc)
            self._failed_rotations.happened()
            return
        try:
            os.close(self._fd)
        except OSError:
            pass
        self._fd = fd
        logger.info("episode log %s reached %d bytes: rotated to %s", self.path, self.max_bytes, backups[0].name)

    def _write(self, data: bytes) -> OSError | None:
        start = None
        try:
            start = os.fstat(self._fd).st_size
            if self.max_bytes and start and start + len(data) > self.max_bytes:
                # A client sets the log's growth (65 KB a step with 32 KB responses: 95 MB in
                # 10 s from two clients): rotated, it takes LOG_BACKUPS + 1 sizes at most.
                self._rotate()
                start = os.fstat(self._fd).st_size
            written = os.write(self._fd, data)
            if written != len(data):
                # A file ends short of a record when the disk (or a size limit) has no room for it all.
                raise OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)} (only {written} of {len(data)} bytes written)")
            return None
        except OSError as exc:
            if start is not None:
                try:  # drop a partial line so every line of the file stays valid JSON
                    os.ftruncate(self._fd, start)
                except OSError:
                    pass
            return exc

    @property
    def pending(self) -> int:
        return len(self._pending)

    @property
    def pending_bytes(self) -> int:
        return self._pending_bytes

    def close(self) -> None:
        """Write what is pending (space may have been freed since), then close the file."""
        with self._lock:
            kept_from_failures = len(self._pending)
            if kept_from_failures:
                error = self._write_pending()
                if self._pending:
                    logger.error(
                        "episode log %s: %d finished episode(s) could not be written (%s) and are lost",
                        self.path, len(self._pending), error,
                    )  # fmt: skip
                else:
                    logger.warning(
                        "episode log %s: the %d episode(s) kept from failed writes are written at shutdown",
                        self.path, kept_from_failures,
                    )  # fmt: skip
            try:
                os.close(self._fd)
            except OSError:
                pass


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).isoformat(timespec="milliseconds")


def bounded_text(text: str, max_chars: int) -> tuple[str, dict[str, Any] | None]:
    """``text`` as the log keeps it, and None; or, when longer than ``max_chars``, its head and
    tail (``max_chars`` in all) around a marker, and what describes the whole: its length in
    characters and the sha256 of its UTF-8 bytes."""
    if len(text) <= max_chars:
        return text, None
    head_chars = (max_chars + 1) // 2
    tail_chars = max_chars - head_chars
    omitted = len(text) - max_chars
    whole = {
        "chars": len(text),
        "sha256": hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(),
        "head_chars": head_chars,
        "tail_chars": tail_chars,
        "omitted_chars": omitted,
    }
    marker = f"\n[... {omitted:,} of {len(text):,} characters omitted by the episode log ...]\n"
    return text[:head_chars] + marker + text[len(text) - tail_chars :], whole


class EpisodeRecorder:
    """What one session's current episode needs for its log line: responses and wall times.

    The environment keeps tokens, verdicts and rewards in its history; the recorder adds
    what it does not keep (the response texts, bounded as the log keeps them, and the
    server-side step time).
    """

    __slots__ = ("session_id", "max_response_chars", "started_at", "steps")

    def __init__(self, session_id: str, *, max_response_chars: int = DEFAULT_MAX_LOGGED_RESPONSE_CHARS) -> None:
        self.session_id = session_id
        self.max_response_chars = max_response_chars
        self.started_at: float | None = None
        self.steps: list[dict[str, Any]] = []

    def on_reset(self) -> None:
        self.started_at = time.time()
        self.steps = []

    def on_step(self, response: str, grading_response: str | None, step_ms: float) -> None:
        # Cut here, not when the record is written: an idle session holds only what is logged.
        entry: dict[str, Any] = {}
        self._put_text(entry, "response", response)
        entry["step_ms"] = round(step_ms, 3)
        if grading_response is not None:
            self._put_text(entry, "grading_response", grading_response)
        self.steps.append(entry)

    def _put_text(self, entry: dict[str, Any], key: str, text: str) -> None:
        kept, whole = bounded_text(text, self.max_response_chars)
        entry[key] = kept
        if whole is not None:
            entry[f"{key}_truncated"] = whole

    @property
    def has_unlogged_steps(self) -> bool:
        return bool(self.steps)

    def finish(self, env: Any) -> dict[str, Any]:
        """:meth:`record` of the episode that just ended, after which the recorder starts empty."""
        record = self.record(env)
        self.steps = []
        self.started_at = None
        return record

    def record(self, env: Any, *, abandoned: bool = False) -> dict[str, Any]:
        """The log record of the environment's current episode: ended (``done``), or
        ``abandoned`` by its client (disconnected, timed out, or reset mid-episode) with
        ``finished: false`` and ``termination_reason: "abandoned"``.

        An abandoned episode lists only the questions its client was shown (those answered
        and the one it left), and ``questions_omitted`` counts the rest: a client resetting
        after every step would otherwise have each short step logged with every question of
        its episode."""
        state = env.state
        problems = env.problems
        history = env.history
        finished_at = time.time()
        started_at = self.started_at if self.started_at is not None else finished_at
        steps = []
        for entry, extra in zip(history, self.steps):
            problem = problems[entry["step_idx"]]
            steps.append({"question": problem.question, **entry, **extra})
        listed = problems[: len(history) + 1] if abandoned else problems
        record = {
            "episode_id": state.episode_id,
            "session_id": self.session_id,
            "seed": state.seed,
            "tokenizer_name": state.tokenizer_name,
            "total_budget": state.total_budget,
            "budget_source": state.budget_source,
            "num_questions": state.num_questions,
            "questions": [
                {"question_id": p.id, "question": p.question, "problem_type": p.problem_type,
                 "difficulty": p.difficulty, "gold_answer": p.answer}
                for p in listed
            ],  # fmt: skip
            "questions_omitted": len(problems) - len(listed),
            "steps": steps,
            "questions_answered": state.questions_answered,
            "total_correct": state.total_correct,
            "accuracy": state.total_correct / state.num_questions if state.num_questions else 0.0,
            "spent_budget": state.spent_budget,
            "remaining_budget": state.remaining_budget,
            "total_reward": state.total_reward,
            "finished": not abandoned,
            "termination_reason": "abandoned" if abandoned else state.termination_reason,
            "started_at": _iso(started_at),
            "finished_at": _iso(finished_at),
            "duration_s": round(finished_at - started_at, 6),
            "config": {
                "hard_cap_mode": env.config.hard_cap_mode,
                "dataset": env.config.dataset,
                "grading_timeout": env.config.grading_timeout,
            },
        }
        return record
