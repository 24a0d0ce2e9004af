"""A real ``ree serve`` in a child process on 127.0.0.1, for benchmarks and fault injection.

Only loopback addresses are used. The child is stopped (SIGTERM, then SIGKILL) when the
context exits or its start fails or is interrupted, and its output goes to a log file so a
failed start can be explained. On Linux the child also gets SIGKILL when the process that
started it dies (a parent-death signal, as the grading workers have), so a benchmark killed
by a signal it does not handle (SIGTERM from ``timeout``, a CI cancel) leaves no server behind.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from reasoning_economics.parent_death import parent_death_setter

LOOPBACK = "127.0.0.1"
_BANNER_PORT = re.compile(rb"listening on  http://127\.0\.0\.1:(\d+)")


def _parent_death_signal():
    """A ``preexec_fn`` that makes the child receive SIGKILL when its parent dies, on Linux
    (``prctl(PR_SET_PDEATHSIG)``); ``None`` elsewhere, where no such signal exists (the child
    is then stopped only by :meth:`ServerProcess.stop`).

    libc is loaded here, in the parent, so the child runs only the ``prctl`` call between
    fork and exec. The signal follows the parent *thread* that starts the child: start the
    server from a thread that lives as long as it should.
    """
    set_signal = parent_death_setter()
    if set_signal is None:
        return None
    parent = os.getpid()

    def die_with_parent() -> None:
        set_signal()
        if os.getppid() != parent:  # the parent died before the signal was set
            os.kill(os.getpid(), signal.SIGKILL)

    return die_with_parent


class ServerStartError(RuntimeError):
    """``ree serve`` exited or did not answer /health in time; the message holds its log tail."""


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


class ServerProcess:
    """``ree serve --host 127.0.0.1 --port <port> <extra args>`` for the life of a ``with`` block.

    Without ``port`` the server binds port 0 and ``port`` becomes the one its banner names:
    a port probed free beforehand could be taken by another process before the server binds it.
    Started again, it binds the same port.
    """

    def __init__(
        self,
        extra_args: Sequence[str] = (),
        *,
        log_path: Path,
        start_seconds: float = 60.0,
        port: int | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = port or 0
        self.extra_args = list(extra_args)
        self.log_path = log_path
        self.start_seconds = start_seconds
        self.env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{LOOPBACK}:{self.port}/ws"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("server not started")
        return self.process.pid

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "reasoning_economics.cli", "serve",
            "--host", LOOPBACK, "--port", str(self.port), *self.extra_args,
        ]  # fmt: skip

    def start(self) -> "ServerProcess":
        """Start the server and wait until it answers /health. The server is stopped again
        if it does not, or if anything (an exception, KeyboardInterrupt) interrupts the wait:
        ``__exit__`` does not run when ``__enter__`` raises."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log_start = log.tell()
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, env=self.env, preexec_fn=_parent_death_signal()
            )
        try:
            return self._wait_until_healthy(log_start)
        except BaseException:
            self.stop()
            raise

    def _wait_until_healthy(self, log_start: int) -> "ServerProcess":
        deadline = time.monotonic() + self.start_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerStartError(f"ree serve exited with {self.process.returncode}:\n{self.log_tail()}")
            if self.port == 0:
                self.port = self._announced_port(log_start)
            if self.port and self.healthy():
                return self
            time.sleep(0.1)
        raise ServerStartError(f"ree serve did not answer /health within {self.start_seconds} s:\n{self.log_tail()}")

    def _announced_port(self, log_start: int) -> int:
        """The port named by the banner written after ``log_start`` in the log, or 0 before it is."""
        with self.log_path.open("rb") as log:
            log.seek(log_start)
            found = _BANNER_PORT.search(log.read())
        return int(found.group(1)) if found else 0

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/health", timeout=2) as reply:
                return reply.status == 200 and bool(json.loads(reply.read() or b"{}") is not None)
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.is_file():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
