"""``ree serve``: run the environment as an OpenEnv server (HTTP + WebSocket sessions)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import typer

from reasoning_economics.grading.grader import MAX_TIMEOUT_S, MIN_TIMEOUT_S
from reasoning_economics.server import (
    DEFAULT_MAX_HTTP_RESETS,
    DEFAULT_MAX_SESSIONS,
    DEFAULT_REQUEST_TIMEOUT_S,
    DEFAULT_SESSION_TIMEOUT_S,
    MAX_SESSIONS,
)
from reasoning_economics.server.episode_log import DEFAULT_MAX_LOG_MB, DEFAULT_MAX_LOGGED_RESPONSE_CHARS, LOG_BACKUPS


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind; 0.0.0.0 exposes the server to the network."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="TCP port; 0 lets the system choose a free one, which the banner names."),
    max_sessions: int = typer.Option(
        DEFAULT_MAX_SESSIONS, "--max-sessions", min=1, max=MAX_SESSIONS, envvar="REE_MAX_SESSIONS", help="Most concurrent WebSocket sessions; more get CAPACITY_REACHED."
    ),
    session_timeout: float = typer.Option(
        DEFAULT_SESSION_TIMEOUT_S, "--session-timeout", min=0.001, envvar="REE_SESSION_TIMEOUT",
        help="Seconds a session may stay silent before it is closed (SESSION_TIMEOUT) and its slot freed.",
    ),
    request_timeout: float = typer.Option(
        DEFAULT_REQUEST_TIMEOUT_S, "--request-timeout", min=0.001,
        help=(
            "Seconds a connection has to deliver a complete HTTP request or WebSocket upgrade (again after "
            "each response) before it is closed, so stalled clients cannot hold connections; also how long an HTTP client may "
            "leave a response unread once the buffers are full, and how long a connection being closed waits for its "
            "client to read the rest before it is aborted. Open sessions are not affected."
        ),
    ),
    max_http_resets: int = typer.Option(
        DEFAULT_MAX_HTTP_RESETS, "--max-http-resets", min=1, max=4096, envvar="REE_MAX_HTTP_RESETS",
        help=(
            "Most stateless HTTP POST /reset calls worked on at once; more get 503 CAPACITY_REACHED (Retry-After: 1). "
            "They share the thread pool of the WebSocket sessions, which this keeps responsive under a flood."
        ),
    ),
    token: str = typer.Option(
        None, "--token", envvar="REE_TOKEN", show_envvar=True,
        help="Require 'Authorization: Bearer <token>' on every request except GET /health.",
    ),
    config: Path = typer.Option(
        None, "--config", exists=True, dir_okay=False, readable=True, envvar="REE_CONFIG",
        help="TOML, YAML or JSON file of EnvConfig defaults (num_questions, budget_ratio, dataset, ...).",
    ),
    log_dir: Path = typer.Option(
        None, "--log-dir", file_okay=False, envvar="REE_LOG_DIR",
        help="Append every finished or abandoned episode (a client gone mid-episode) to LOG_DIR/episodes.jsonl (one JSON line each, flushed per episode).",
    ),
    log_max_response_chars: int = typer.Option(
        DEFAULT_MAX_LOGGED_RESPONSE_CHARS, "--log-max-response-chars", min=1,
        help="The episode log keeps a longer response (or grading_response) as its head and tail, marked, with its length and sha256.",
    ),
    log_max_mb: int = typer.Option(
        DEFAULT_MAX_LOG_MB, "--log-max-mb", min=0, envvar="REE_LOG_MAX_MB",
        help=f"Rotate the episode log when it would pass this many MB: episodes.jsonl becomes episodes.1.jsonl, and so on up to {LOG_BACKUPS} files, the oldest deleted (0: never rotate).",
    ),
    allow_tokenizer: list[str] = typer.Option(
        None, "--allow-tokenizer",
        help=(
            "Hub id or local directory of a tokenizer clients may name, besides the built-in vocabularies "
            "(repeatable; REE_ALLOW_TOKENIZERS adds a comma-separated list)."
        ),
    ),
    trust_remote_code: bool = typer.Option(
        False, "--trust-remote-code", help="Let allowed tokenizers run their own code (transformers). Off by default."
    ),
    grading_timeout: float = typer.Option(
        None, "--grading-timeout", min=MIN_TIMEOUT_S, max=MAX_TIMEOUT_S, help="Wall-clock limit per grade, in seconds, after which the worker is killed (it stops deciding after a third of it in CPU seconds); by default the config's grading_timeout, 5."
    ),
    max_message_mb: float = typer.Option(
        16.0, "--max-message-mb", min=0.001, max=4096.0, help="Larger WebSocket messages get MESSAGE_TOO_LARGE without being parsed; larger HTTP request bodies get 413."
    ),
    warm_up: bool = typer.Option(True, "--warm-up/--no-warm-up", help="Run one step at start so the first client does not pay."),
) -> None:
    """Serve the shared-token-budget environment over OpenEnv's HTTP and WebSocket protocol.

    Trainers connect to ws://HOST:PORT/ws (one episode per connection at a time); clients written for the reference ReasoningEconomicsEnv work unchanged. Errors are typed JSON messages, never a dropped connection. Stop with Ctrl-C.
    """  # fmt: skip
    import logging

    from rich.console import Console

    from reasoning_economics import __version__
    from reasoning_economics.errors import ReasoningEconomicsError
    from reasoning_economics.server.settings import listed_in_variable, token_from_variable

    console, errors = Console(soft_wrap=True), Console(stderr=True, soft_wrap=True)
    variable = os.environ.get("REE_TOKEN")
    if token in (None, variable):  # the token came from REE_TOKEN, or none came: click reads "" as unset
        try:
            token = token_from_variable(variable)
        except ReasoningEconomicsError as exc:
            errors.print(f"ree serve: {exc}", style="red", markup=False)
            raise typer.Exit(2) from exc
    # The details follow once the port is bound; until then (seconds of imports and warm-up) say what is happening.
    console.print(f"[bold]ree serve[/bold] {__version__}: the shared-token-budget environment (OpenEnv), starting...")
    address_problem = _address_problem(host, port)
    if address_problem is not None:  # found now, not after the imports, the warm-up and uvicorn's start-up
        errors.print(f"ree serve: {address_problem}", style="red", markup=False)
        raise typer.Exit(2)
    try:
        settings, app = _build(
            host=host, port=port, max_sessions=max_sessions, session_timeout=session_timeout,
            request_timeout=request_timeout, max_http_resets=max_http_resets, token=token,
            config=config, log_dir=log_dir, log_max_response_chars=log_max_response_chars, log_max_mb=log_max_mb,
            allow_tokenizer=[*(allow_tokenizer or []), *listed_in_variable(os.environ.get("REE_ALLOW_TOKENIZERS"))],
            trust_remote_code=trust_remote_code, grading_timeout=grading_timeout,
            max_message_bytes=int(max_message_mb * 1024 * 1024), warm_up=warm_up,
        )  # fmt: skip
    except ReasoningEconomicsError as exc:
        errors.print(f"ree serve: {exc}", style="red", markup=False)
        raise typer.Exit(2) from exc

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from reasoning_economics.server.connections import descriptors_needed, raise_open_file_limit

    open_files = raise_open_file_limit(descriptors_needed(settings.max_sessions))
    announce = partial(_print_banner, console, settings, app, open_files)
    if not _serve_until_stopped(app, settings, announce=announce, stopped=lambda: console.print("ree serve: stopped")):
        raise typer.Exit(3)  # uvicorn logged why: the address is taken, say


def _address_problem(host: str, port: int) -> str | None:
    """Why uvicorn could not listen on ``host:port``, or None. uvicorn says so only after the
    start-up (a log line and exit code 3); the port may still be taken in between, which that covers.
    Port 0 is checked too: the system picks a free one, but the host may name no interface."""
    import errno
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError) as exc:
        return f"cannot listen on --host {host!r}: {getattr(exc, 'strerror', None) or exc}"
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: a port in TIME_WAIT is free
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"{host}:{port} is already in use (another server?); choose another --port, or --port 0 for a free one"
            return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    return None


def _serve_until_stopped(app, settings, announce, stopped) -> bool:
    """Run uvicorn as ``uvicorn.run`` does and call ``announce`` once the port is bound (after
    the warm-up), so the banner never says "listening" for a server that failed to start, and
    ``stopped`` once a started server has shut down (before uvicorn raises SIGTERM again to exit).
    Returns whether the server started."""
    import uvicorn

    from reasoning_economics.server.app import uvicorn_options

    class AnnouncingServer(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            # uvicorn shuts down gracefully on SIGINT and SIGTERM only. A hang-up (the terminal
            # closed, an ssh session dropped) killed the process outright: clients saw 1006
            # rather than 1012, and the answered steps of open episodes never reached the log.
            if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGHUP"):
                with super().capture_signals():
                    yield
                return
            previous = signal.signal(signal.SIGHUP, lambda _sig, frame: self.handle_exit(signal.SIGTERM, frame))
            try:
                with super().capture_signals():
                    yield
            finally:
                signal.signal(signal.SIGHUP, previous)

        def handle_exit(self, sig: int, frame) -> None:
            # uvicorn makes a second Ctrl-C a forced exit, which cancelled the lifespan task
            # mid-shutdown and printed a 44-line traceback. The shutdown is bounded anyway
            # (timeout_graceful_shutdown, and the grading workers are stopped first).
            if self.should_exit and sig == signal.SIGINT:
                return
            super().handle_exit(sig, frame)

        async def startup(self, sockets=None) -> None:
            await super().startup(sockets)
            if self.started and not self.should_exit:  # a signal during the warm-up: it is stopping
                # With --port 0 the system chose the port: the banner names the one bound.
                announce(port=self.servers[0].sockets[0].getsockname()[1])

        async def shutdown(self, sockets=None) -> None:
            # Episodes end with the process, so a grade still waiting or running is of no use
            # to anyone: stop the workers first, and those steps end at once (their GRADING_ERROR
            # reply usually meets a connection already closed with 1012) instead of holding the
            # graceful shutdown until uvicorn cancels them (a traceback each).
            from reasoning_economics.grading.workers import shutdown_pool

            await asyncio.to_thread(shutdown_pool)
            await super().shutdown(sockets)
            if self.started:
                stopped()

    server = AnnouncingServer(uvicorn.Config(app, host=settings.host, port=settings.port, **uvicorn_options(settings)))
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    return server.started


def _build(*, allow_tokenizer: list[str], config: Path | None, trust_remote_code: bool, grading_timeout: float | None,
           max_message_bytes: int, log_max_response_chars: int = DEFAULT_MAX_LOGGED_RESPONSE_CHARS,
           log_max_mb: int = DEFAULT_MAX_LOG_MB, **options):  # fmt: skip
    from reasoning_economics.grading.workers import default_worker_count, default_worker_memory_mb
    from reasoning_economics.server.app import create_server_app
    from reasoning_economics.server.settings import ServerSettings, load_env_config

    # Bad worker settings are refused here, not at the first grade.
    default_worker_count()
    default_worker_memory_mb()
    env_config = load_env_config(config, grading_timeout=grading_timeout)
    allowed = tuple(dict.fromkeys([*(env_config.allowed_tokenizers or ()), *allow_tokenizer]))
    env_config = env_config.model_copy(
        update={"allowed_tokenizers": allowed, "trust_remote_code": trust_remote_code or env_config.trust_remote_code}
    )
    settings = ServerSettings.build(
        host=options["host"], port=options["port"], max_sessions=options["max_sessions"],
        session_timeout_s=options["session_timeout"], request_timeout_s=options["request_timeout"],
        max_http_resets=options["max_http_resets"], token=options["token"], log_dir=options["log_dir"],
        max_message_bytes=max_message_bytes, warm_up=options["warm_up"], env_config=env_config,
        log_max_response_chars=log_max_response_chars, log_max_mb=log_max_mb,
    )  # fmt: skip
    return settings, create_server_app(settings)


def _print_banner(console, settings, app, open_files: float | None = None, *, port: int) -> None:
    """What ``ree serve`` serves, and how, on the bound ``port``; ``open_files`` is the
    process's open-file limit, which the banner warns about when it is below what the
    sessions may need."""
    from rich.markup import escape

    from reasoning_economics import tokens
    from reasoning_economics.server.connections import descriptors_needed

    env_config = app.state.env_config
    host = f"[{settings.host}]" if ":" in settings.host else settings.host  # an IPv6 address, as URLs write it
    base = f"http://{host}:{port}"
    ws = f"ws://{host}:{port}/ws"
    allowed = escape(", ".join(env_config.allowed_tokenizers) or "none")
    console.print(f"  listening on  {escape(base)}   WebSocket sessions: {escape(ws)}")
    console.print("  endpoints     /ws  /health  /metadata  /schema  /reset  /step  /state  /mcp  /docs")
    console.print(
        f"  environment   dataset={escape(env_config.dataset)}  questions={env_config.num_questions}  "
        f"budget_ratio={env_config.budget_ratio:g}  mode={'hard' if env_config.hard_cap_mode else 'soft'}  "
        f"grading_timeout={env_config.grading_timeout:g}s  max_response_chars={env_config.max_response_chars:,}"
    )
    console.print(f"  tokenizers    built-in {', '.join(tokens.available_tokenizers())}; allowed extra: {allowed}")
    console.print(
        f"  sessions      at most {settings.max_sessions}, closed after {settings.session_timeout_s:g} s of silence; "
        f"requests must arrive within {settings.request_timeout_s:g} s; "
        f"at most {settings.max_http_resets} HTTP /reset at once"
    )
    console.print(f"  auth          {'Bearer token required (GET /health is open)' if settings.token else 'none'}")
    if settings.episode_log_path is not None:
        console.print(f"  episode log   {escape(str(settings.episode_log_path))}")
    needed = descriptors_needed(settings.max_sessions)
    if open_files is not None and open_files < needed:
        console.print(
            f"[yellow]  warning: this process may open {open_files:,} files (its hard limit), fewer than the "
            f"{needed:,} that {settings.max_sessions:,} sessions may need; raise the hard limit (ulimit -Hn) "
            "or lower --max-sessions[/yellow]"
        )
    if settings.token is None and not settings.is_loopback:
        console.print(f"[yellow]  warning: {escape(settings.host)} is reachable from the network and no --token is set[/yellow]")

