"""Shared fixtures: a real uvicorn serving ``ree serve``'s application on 127.0.0.1.

The server runs in a background thread of the test process, on a socket bound to a free
loopback port before it starts (no port race), with the same uvicorn options as
``ree serve``. ``live_server`` is one default server for the whole session; ``start_server``
starts servers with other settings (token, capacity, timeout, log directory) for one test.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

LOOPBACK = "127.0.0.1"


@dataclass
class LiveServer:
    """A running server: its URLs, its FastAPI app (``app.state`` holds sessions and the log)."""

    app: Any
    port: int
    server: Any = field(repr=False)
    thread: threading.Thread = field(repr=False)

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{LOOPBACK}:{self.port}/ws"

    @property
    def sessions(self) -> Any:
        return self.app.state.sessions

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def start_live_server(
    port: int = 0,
    *,
    uvicorn_overrides: dict[str, Any] | None = None,
    wrap_app: Callable[[Any], Any] | None = None,
    **settings: Any,
) -> LiveServer:
    """Start the application of ``ServerSettings(**settings)`` on ``port`` (0: a free loopback port).

    ``uvicorn_overrides`` go on top of ``ree serve``'s uvicorn options (a shorter keepalive);
    ``wrap_app(app)`` is served in place of the application (one that misbehaves in front of it),
    while ``LiveServer.app`` stays the application itself.
    """
    import uvicorn

    from reasoning_economics.server.app import create_server_app, uvicorn_options
    from reasoning_economics.server.settings import ServerSettings

    settings.setdefault("host", LOOPBACK)
    config = ServerSettings.build(**settings)
    app = create_server_app(config)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((LOOPBACK, port))
    port = listener.getsockname()[1]
    served = app if wrap_app is None else wrap_app(app)
    server = uvicorn.Server(uvicorn.Config(served, **{**uvicorn_options(config), **(uvicorn_overrides or {})}))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[listener])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    return LiveServer(app=app, port=port, server=server, thread=thread)


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    """One default server (no token, default limits) shared by the whole test session."""
    running = start_live_server()
    yield running
    running.stop()


@pytest.fixture
def start_server() -> Iterator[Any]:
    """``start_server(**settings)`` starts a server with other settings; all stop after the test."""
    started: list[LiveServer] = []

    def start(port: int = 0, **options: Any) -> LiveServer:
        running = start_live_server(port, **options)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The tiny offline causal LM (``build_tiny_model``: a byte-level BPE tokenizer with a ChatML
    template and a small model), built once per test module that asks for it."""
    pytest.importorskip("transformers")
    from reasoning_economics.training.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def one_torch_thread():
    """torch on one CPU thread for a module, restored afterwards (``usefixtures`` it).

    The models in these tests are tiny: torch's thread pool costs more than it saves, and on
    a shared 2-core machine its spinning threads make generation ~10x slower."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def symbolic_problems_config():
    """Writes an EnvConfig file whose problems only a math-verify worker grades, for tests and
    fixtures of any scope (:func:`reasoning_economics.bench.symbolic_problems.write_symbolic_problems_config`)."""
    from reasoning_economics.bench.symbolic_problems import write_symbolic_problems_config

    return write_symbolic_problems_config


@pytest.fixture
def wait_until() -> Callable[..., Any]:
    """``wait_until(condition, seconds, interval=0.05)`` polls ``condition`` until it returns a
    truthy value or ``seconds`` pass, and returns its last value."""

    def poll(condition: Callable[[], Any], seconds: float, interval: float = 0.05) -> Any:
        give_up_at = time.monotonic() + seconds
        value = condition()
        while not value and time.monotonic() < give_up_at:
            time.sleep(interval)
            value = condition()
        return value

    return poll


@pytest.fixture
def log_records() -> Callable[..., Any]:
    """``with log_records("uvicorn.error", ...) as records:`` keeps what those loggers emit.

    caplog cannot: uvicorn's loggers do not propagate to the root. Enter it after the server
    has started, since uvicorn's start sets its loggers up anew."""

    @contextmanager
    def keep(*names: str) -> Iterator[list[logging.LogRecord]]:
        records: list[logging.LogRecord] = []
        handler = logging.Handler()
        handler.emit = records.append  # type: ignore[method-assign]
        loggers = [logging.getLogger(name) for name in names]
        for logger in loggers:
            logger.addHandler(handler)
        try:
            yield records
        finally:
            for logger in loggers:
                logger.removeHandler(handler)

    return keep
