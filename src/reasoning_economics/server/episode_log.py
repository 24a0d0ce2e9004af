"""The episode log: one JSON line per finished episode, written as soon as it finishes.

Each line holds the questions, the responses, the tokens counted and charged, the verdicts,
the rewards and the timings of one episode (see :meth:`EpisodeRecorder.finish`). The
file is opened once with ``O_APPEND`` and every record goes out in a single ``write``, so
a crash of the server loses nothing already finished and never leaves half a line.

A failed write (disk full, file removed under us) is not silent: it is logged at ERROR,
the bytes written are truncated back so the file stays valid JSONL, the record is kept
and retried with the next one, and the client's final observation says the log failed.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from reasoning_economics.errors import EpisodeLogError
from reasoning_economics.jsonl import json_line

logger = logging.getLogger(__name__)

MAX_PENDING_RECORDS = 10_000
"""Failed records kept in memory for a retry; beyond this the oldest are dropped (and logged)."""


class EpisodeLog:
    """Append-only JSONL file of finished episodes; safe to call from many threads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise EpisodeLogError(
                f"cannot write the episode log {self.path}: {exc.strerror or exc}. "
                "Choose a writable --log-dir or leave it out."
            ) from exc
        self._lock = threading.Lock()
        self._pending: deque[bytes] = deque()
        self.records_written = 0
        self.records_dropped = 0

    def append(self, record: dict[str, Any]) -> str | None:
        """Write ``record`` (and any earlier failed ones) as JSON lines.

        Returns None on success, else the error text (the record stays pending).
        """
        line = json_line(record, separators=(",", ":")).encode("utf-8")
        with self._lock:
            self._pending.append(line)
            while len(self._pending) > MAX_PENDING_RECORDS:
                self._pending.popleft()
                self.records_dropped += 1
                logger.error("episode log %s: dropped the oldest unwritten episode (%d pending)", self.path, MAX_PENDING_RECORDS)
            while self._pending:
                error = self._write(self._pending[0])
                if error is not None:
                    logger.error(
                        "episode log %s: write failed (%s); %d episode(s) kept in memory for a retry",
                        self.path, error, len(self._pending),
                    )  # fmt: skip
                    return error
                self._pending.popleft()
                self.records_written += 1
        return None

    def _write(self, data: bytes) -> str | None:
        start = None
        try:
            start = os.fstat(self._fd).st_size
            written = os.write(self._fd, data)
            if written != len(data):
                raise OSError(28, f"short write ({written} of {len(data)} bytes)")
            return None
        except OSError as exc:
            if start is not None:
                try:  # drop a partial line so every line of the file stays valid JSON
                    os.ftruncate(self._fd, start)
                except OSError:
                    pass
            return exc.strerror or str(exc)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def close(self) -> None:
        with self._lock:
            if self._pending:
                logger.error(
                    "episode log %s: %d finished episode(s) could not be written and are lost",
                    self.path, len(self._pending),
                )  # fmt: skip
            try:
                os.close(self._fd)
            except OSError:
                pass


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).isoformat(timespec="milliseconds")


class EpisodeRecorder:
    """What one session's current episode needs for its log line: responses and wall times.

    The environment keeps tokens, verdicts and rewards in its history; the recorder adds
    what it does not keep (the response texts, the server-side step time).
    """

    __slots__ = ("session_id", "started_at", "steps")

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self.started_at: float | None = None
        self.steps: list[dict[str, Any]] = []

    def on_reset(self) -> None:
        self.started_at = time.time()
        self.steps = []

    def on_step(self, response: str, grading_response: str | None, step_ms: float) -> None:
        entry: dict[str, Any] = {"response": response, "step_ms": round(step_ms, 3)}
        if grading_response is not None:
            entry["grading_response"] = grading_response
        self.steps.append(entry)

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
        ``finished: false`` and ``termination_reason: "abandoned"``."""
        state = env.state
        problems = env.problems
        finished_at = time.time()
        started_at = self.started_at if self.started_at is not None else finished_at
        steps = []
        for entry, extra in zip(env.history, self.steps):
            problem = problems[entry["step_idx"]]
            steps.append({"question": problem.question, **entry, **extra})
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
                for p in problems
            ],  # fmt: skip
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
