"""The OpenEnv application of ``ree serve``.

Built on OpenEnv's :func:`create_app` so ``/health``, ``/metadata``, ``/schema``,
``/reset``, ``/step``, ``/state``, ``/mcp`` and the OpenAPI documents behave as every
OpenEnv client expects. What we change, and why:

- ``/ws`` is ours (:class:`~.sessions.WebSocketSessions`): typed error codes, message and
  response size limits, an idle timeout that frees the slot, ``done``/``reward`` kept in
  the observation, the episode log, and one shared thread pool, which grows to a thread for
  each session with a step in flight, instead of an executor per session (1,024 idle
  sessions must stay cheap);
- environment errors on the stateless HTTP routes become 4xx JSON with a ``code`` instead
  of a 500 (``/step`` and ``/state`` over HTTP have no episode: use ``/ws``), and so do
  invalid bodies and actions, whose errors never echo the input;
- ``POST /reset`` keeps ``done`` and ``reward`` inside the observation too, as ``/ws`` does,
  and at most ``max_http_resets`` are worked on at once (more get 503 ``CAPACITY_REACHED``):
  they are not sessions, yet run on the sessions' thread pool, and 500 at once kept a
  session's ``state`` waiting seconds for the event loop;
- OpenEnv's Task API routes are removed: this environment is no TaskProvider, and they
  would answer 501;
- ``GET /schema`` answers from OpenEnv's first answer, built once (:mod:`.cached_response`):
  OpenEnv rebuilt every model's JSON schema on each call, ~15 ms of event loop apiece;
- ``HEAD /health`` answers 200 as ``GET`` does, without a body: uptime monitors and some
  load balancers probe with ``HEAD``, which FastAPI answers 405;
- ``POST /mcp`` answers "no MCP tools" without creating anything, and OpenEnv's WebSocket
  ``/mcp`` is removed: its sessions escaped ``--max-sessions`` and ``--session-timeout``;
- HTTP request bodies are limited as WebSocket messages are (:mod:`.body_limit`);
- with a token, :class:`~.auth.BearerTokenMiddleware` guards everything but ``/health``;
- :mod:`.connections` closes connections that stall before sending a complete request, drops
  WebSocket peers that ping without reading, and sums up asyncio's out-of-descriptors errors
  (``uvicorn_options`` and the start-up hook).

``uvicorn reasoning_economics.server.app:app`` also works (OpenEnv's convention); that
``app`` reads its settings from ``REE_*`` environment variables (see :func:`settings_from_environ`).
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from fastapi import Body, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from openenv.core.env_server import create_app
from openenv.core.env_server.types import ResetRequest, ResetResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from reasoning_economics import tokens
from reasoning_economics.env import EnvConfig, ReasonBudgetAction, ReasonBudgetObservation, ReasonBudgetState
from reasoning_economics.errors import (
    ConfigError,
    EpisodeFinishedError,
    EpisodeNotStartedError,
    GradingError,
    ReasoningEconomicsError,
    TokenizerNotAllowedError,
    UnknownTokenizerError,
)
from reasoning_economics.server.auth import BearerTokenMiddleware
from reasoning_economics.server.body_limit import BodySizeLimitMiddleware
from reasoning_economics.server.cached_response import cache_get_route
from reasoning_economics.server.connections import (
    UnreadPingLimitProtocol,
    http_protocol_with_deadline,
    install_calm_accept_errors,
    install_calm_client_error_logs,
)
from reasoning_economics.server.docs_pages import FASTAPI_DOCS_PATHS, add_offline_docs
from reasoning_economics.server.environment import ServedEnvironment
from reasoning_economics.server.episode_log import EpisodeLog
from reasoning_economics.server.protocol import (
    CAPACITY_REACHED,
    INVALID_JSON,
    MAX_ERROR_TEXT,
    MCP_PARSE_ERROR,
    VALIDATION_ERROR,
    error_entries,
    mcp_error,
    observation_payload,
)
from reasoning_economics.server.sessions import WebSocketSessions
from reasoning_economics.server.settings import ServerSettings, listed_in_variable, load_env_config, token_from_variable

logger = logging.getLogger(__name__)

ENV_NAME = "reasoning_economics"
WARM_UP_TOKENIZER = "qwen3"

HTTP_STATUS_OF_ERROR: tuple[tuple[type[ReasoningEconomicsError], int], ...] = (
    (TokenizerNotAllowedError, 403),
    (EpisodeNotStartedError, 409),
    (EpisodeFinishedError, 409),
    (GradingError, 503),
)


def load_allowed_tokenizers(env_config: EnvConfig) -> None:
    """Load every tokenizer the operator allows, so that one that cannot be loaded (a typo, a
    missing directory, a hub this machine cannot reach) is an error at start, and no client's
    reset waits on a download (a hub id the hub cannot serve took 50 s per reset).

    Raises:
        ConfigError: naming the tokenizer and why it cannot be loaded.
    """
    allowed = env_config.allowed_tokenizers or ()
    for name in allowed:
        try:
            tokens.get_counter(name, allowed_external=allowed, trust_remote_code=env_config.trust_remote_code)
        except UnknownTokenizerError as exc:
            raise ConfigError(f"allowed tokenizer {name!r} cannot be loaded: {exc}") from exc


def http_status_of(error: ReasoningEconomicsError) -> int:
    for kind, status in HTTP_STATUS_OF_ERROR:
        if isinstance(error, kind):
            return status
    return 422  # every other typed error is a bad value in the request


def create_server_app(settings: ServerSettings | None = None) -> FastAPI:
    """The FastAPI application serving :class:`ServedEnvironment` under ``settings``.

    Raises:
        EpisodeLogError: ``settings.log_dir`` is set but its log file cannot be opened.
        ConfigError: ``settings.env_config`` is not an EnvConfig, an allowed tokenizer
            cannot be loaded (see :func:`load_allowed_tokenizers`), or the configuration's
            own reset fails (a tokenizer it does not allow, too few distinct problems).
    """
    settings = settings or ServerSettings()
    env_config = settings.env_config if settings.env_config is not None else EnvConfig(allowed_tokenizers=())
    if not isinstance(env_config, EnvConfig):
        raise ConfigError(f"env_config must be an EnvConfig, got {type(env_config).__name__}")
    if env_config.allowed_tokenizers is None:
        # A network client may name built-in vocabularies only, unless the operator allows more.
        env_config = env_config.model_copy(update={"allowed_tokenizers": ()})
    load_allowed_tokenizers(env_config)

    def make_env() -> ServedEnvironment:
        return ServedEnvironment(env_config)

    make_env.__name__ = "ServedEnvironment"
    _check_serves_an_episode(make_env)
    episode_log = None
    if settings.episode_log_path is not None:
        episode_log = EpisodeLog(
            settings.episode_log_path,
            max_response_chars=settings.log_max_response_chars,
            max_bytes=settings.log_max_mb * 1024 * 1024,
        )

    app = create_app(
        make_env,
        ReasonBudgetAction,
        ReasonBudgetObservation,
        env_name=ENV_NAME,
        max_concurrent_envs=settings.max_sessions,
        state_cls=ReasonBudgetState,
    )
    app.title = "reasoning-economics: shared-token-budget math environment (OpenEnv)"
    _drop_routes(
        app, websocket_paths={"/ws", "/mcp"}, http_paths={"/reset", "/mcp", *FASTAPI_DOCS_PATHS}, tags={"Task API"}
    )
    add_offline_docs(app)
    _add_http_mcp(app)
    _add_health_head(app)
    # The schemas never change while the server runs: build OpenEnv's answer once, as FastAPI
    # builds /openapi.json once. Rebuilt per request it cost ~15 ms of event loop each, and 32
    # clients polling /schema held another session's p99 step at 1.1-1.3 s.
    schema_cache = cache_get_route(app, "/schema")

    executor = ThreadPoolExecutor(max_workers=settings.step_thread_count, thread_name_prefix="ree-step")
    http_resets = _add_http_reset(app, make_env, executor, settings.max_http_resets)
    sessions = WebSocketSessions(
        make_env,
        max_sessions=settings.max_sessions,
        session_timeout_s=settings.session_timeout_s,
        max_message_bytes=settings.max_message_bytes,
        executor=executor,
        episode_log=episode_log,
    )
    app.add_api_websocket_route("/ws", sessions)
    app.state.settings = settings
    app.state.env_config = env_config
    app.state.sessions = sessions
    app.state.http_resets = http_resets
    app.state.schema_cache = schema_cache
    app.state.episode_log = episode_log

    @app.exception_handler(ReasoningEconomicsError)
    async def typed_error(request: Request, exc: ReasoningEconomicsError) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "code": exc.code}, status_code=http_status_of(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own handler echoes each bad input back, and an input such as 1e400 (inf)
        # cannot be written as JSON: it became a 500. Report where and why, never the input.
        return JSONResponse({"detail": error_entries(exc.errors()), "code": VALIDATION_ERROR}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 422 and isinstance(exc.detail, list):
            # OpenEnv's /step puts pydantic's errors, inputs included, in the detail: an
            # action with 1e400 in it became a 500 as above.
            return JSONResponse({"detail": error_entries(exc.detail), "code": VALIDATION_ERROR}, status_code=422)
        if exc.status_code == 400 and isinstance(exc.__cause__, (RecursionError, ValueError)):
            # FastAPI's "There was an error parsing the body": JSON nested too deeply, or an
            # integer of more than 4,300 digits, which Python refuses to convert.
            reason = "nested too deeply" if isinstance(exc.__cause__, RecursionError) else str(exc.__cause__)
            return JSONResponse({"detail": f"invalid JSON: {reason}"[:MAX_ERROR_TEXT], "code": INVALID_JSON}, status_code=400)
        return await http_exception_handler(request, exc)

    async def start_up() -> None:
        loop = asyncio.get_running_loop()
        install_calm_accept_errors(loop)
        install_calm_client_error_logs()
        if settings.warm_up:
            await loop.run_in_executor(executor, _warm_up, make_env, env_config)
        _calm_garbage_collector()

    async def shut_down() -> None:
        executor.shutdown(wait=False, cancel_futures=True)
        if episode_log is not None:
            episode_log.close()

    app.router.on_startup.append(start_up)
    app.router.on_shutdown.append(shut_down)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_message_bytes)
    if settings.token is not None:  # added last, so it runs first: no body is read before the token is
        app.add_middleware(BearerTokenMiddleware, token=settings.token)
    return app


TRANSPORT_MARGIN_BYTES = 1 << 20
"""How far past ``--max-message-mb`` a WebSocket frame is still read, to be answered MESSAGE_TOO_LARGE."""


def uvicorn_options(settings: ServerSettings) -> dict[str, Any]:
    """The uvicorn settings ``ree serve`` runs with (tests run a live server with the same)."""
    return {
        "log_level": "warning",
        "access_log": False,
        "http": http_protocol_with_deadline(settings.request_timeout_s),
        "ws": UnreadPingLimitProtocol,
        # Frames a little over the message limit get MESSAGE_TOO_LARGE and the session goes on;
        # larger ones are refused by the transport (close 1009). Twice the limit, the margin
        # once characters were counted, let 32 MB frames be buffered, decoded and refused.
        "ws_max_size": settings.max_message_bytes + min(settings.max_message_bytes, TRANSPORT_MARGIN_BYTES),
        # Compression costs CPU on every step, and observations are small JSON.
        "ws_per_message_deflate": False,
        # A trainer's event loop may be busy for seconds: be patient before dropping it.
        "ws_ping_interval": 30.0,
        "ws_ping_timeout": 120.0,
        "backlog": 4096,
        "timeout_graceful_shutdown": 5,
    }


class HttpResets:
    """How many stateless ``POST /reset`` calls are being worked on, and how many were refused."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0
        self.refused = 0


def _add_http_reset(app: FastAPI, make_env: Any, executor: ThreadPoolExecutor, limit: int) -> HttpResets:
    """OpenEnv's stateless ``POST /reset`` (a fresh environment per request), with the
    observation serialized as on ``/ws``, and at most ``limit`` worked on at once.

    Each reset draws an episode of problems (about 1 ms once the problem pools are built, 10 ms
    before) on the sessions' thread pool. Unbounded, 500 concurrent ones started hundreds of
    threads that all wanted the GIL, and the event loop that serves every session waited
    behind them: another session's ``state`` took 2-4 s. Over the limit a request is refused
    at once, before any work, rather than queued: a queue would only move the wait."""
    resets = HttpResets(limit)

    @app.post(
        "/reset",
        response_model=ResetResponse,
        tags=["Environment Control"],
        summary="Reset the environment",
        description=(
            "Start an episode on a fresh environment and return its first observation. Accepts "
            "seed, episode_id, tokenizer_name and total_budget. HTTP is stateless: play episodes on /ws. "
            f"At most {limit} are worked on at once; more get 503 with code CAPACITY_REACHED."
        ),
        responses={503: {"description": "CAPACITY_REACHED: too many HTTP resets at once; retry later"}},
    )
    async def reset(http_request: Request, request: ResetRequest = Body(default_factory=ResetRequest)) -> Any:
        if resets.in_flight >= resets.limit:  # one event loop: no lock between the check and the count
            resets.refused += 1
            return JSONResponse(
                {
                    "detail": f"the server is working on its maximum of {resets.limit} HTTP resets; retry later "
                    "(episodes are played on /ws)",
                    "code": CAPACITY_REACHED,
                },
                status_code=503,
                headers={"Retry-After": "1"},
            )
        # The body as sent, not as ResetRequest coerced it (true or 1.0 became seed 1): the
        # environment checks its types strictly, as it does on /ws. FastAPI has read it already.
        kwargs = json.loads(await http_request.body() or b"{}")  # ResetRequest refused any body but an object

        def fresh_reset() -> Any:  # in the pool: building and resetting may wait on locks and files
            env = make_env()
            try:
                return env.reset(**kwargs)
            finally:
                env.close()

        resets.in_flight += 1
        try:
            observation = await asyncio.get_running_loop().run_in_executor(executor, fresh_reset)
        finally:
            resets.in_flight -= 1
        return ResetResponse(**observation_payload(observation))

    return resets


def _add_http_mcp(app: FastAPI) -> None:
    """``POST /mcp`` answering every JSON-RPC request with "no MCP tools", creating nothing.

    OpenEnv's own ``/mcp`` routes built an environment per ``openenv/session/create`` in a
    table of their own, outside ``--max-sessions`` and ``--session-timeout`` and never freed,
    and answered 500 to a list as ``session_id`` or a lone surrogate as ``id``. This
    environment has no tools, so nothing is lost; ``openenv validate`` only needs a JSON-RPC
    answer here. MCP messages on ``/ws`` get the same answer.
    """

    @app.post(
        "/mcp",
        tags=["MCP"],
        summary="MCP JSON-RPC (no tools)",
        description="Every request gets a JSON-RPC error: this environment exposes no MCP tools; use /ws.",
    )
    async def mcp(request: Request) -> JSONResponse:
        try:
            body = json.loads(await request.body())
        except (ValueError, RecursionError):
            return JSONResponse(mcp_error(None, MCP_PARSE_ERROR, "Parse error"))
        return JSONResponse(mcp_error(body.get("id") if isinstance(body, dict) else None))


def _add_health_head(app: FastAPI) -> None:
    # FastAPI, unlike Starlette's own routes, does not answer HEAD for a GET route.
    @app.head("/health", include_in_schema=False)
    async def health_head() -> Response:
        return Response(status_code=200, media_type="application/json")


def _drop_routes(app: FastAPI, *, websocket_paths: set[str], http_paths: set[str], tags: set[str]) -> None:
    from starlette.routing import WebSocketRoute

    kept = []
    for route in app.router.routes:
        if isinstance(route, WebSocketRoute) and route.path in websocket_paths:
            continue
        if not isinstance(route, WebSocketRoute) and route.path in http_paths:
            continue
        if tags.intersection(getattr(route, "tags", None) or ()):
            continue
        kept.append(route)
    app.router.routes[:] = kept
    app.openapi_schema = None


FULL_COLLECTION_EVERY = 100
"""Generation-1 collections between two full ones (CPython's default is 10)."""


def _calm_garbage_collector() -> None:
    """Keep full garbage collections from stalling every session.

    A full collection walks every tracked object, and while it runs no session is served. At
    start the process holds about 500,000 that live as long as it does (modules, vocabularies,
    warmed problem pools), so each full collection took 190-280 ms, and the p99 step at 1,024
    paced sessions read 220-300 ms. They are frozen once the server is ready (after a full
    collection: reference counting still frees a frozen object, only a cycle among them would
    stay), and full collections run a tenth as often: what they walk then is the sessions'
    own objects (about 300 each), 80-150 ms at 1,024 open sessions.
    """
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)


def _check_serves_an_episode(make_env: Any) -> None:
    """Raise ``ConfigError`` unless the configuration's own reset works. A config naming a
    tokenizer the server does not allow, or asking for more questions than its source has
    distinct problems, started and answered /health while every reset failed."""
    env = make_env()
    config = env.config
    # Without a tokenizer of its own the config's reset takes the config budget and warns that
    # no client named one: at start that misled, and used up the once-per-process warning the
    # first such client should get. The same budget given here checks all the rest.
    budget = None if config.tokenizer_name is not None else min(max(1, config.config_budget), config.max_total_budget)
    try:
        env.reset(seed=0, total_budget=budget)
    except ReasoningEconomicsError as exc:
        raise ConfigError(f"this configuration cannot serve an episode: {exc}") from exc
    finally:
        env.close()


def _warm_up(make_env: Any, env_config: EnvConfig) -> None:
    """One reset and one step, so problem pools, the tokenizer and the grading workers are up
    before the first client arrives (the bench and trainers would otherwise pay for it)."""
    from reasoning_economics.grading.workers import get_pool

    get_pool().start()  # math-verify workers start in the background; the first symbolic grade need not wait
    env = make_env()
    tokenizer = env_config.tokenizer_name or WARM_UP_TOKENIZER
    try:
        env.reset(seed=0, tokenizer_name=tokenizer)
        env.step(ReasonBudgetAction(response="\\boxed{0}"))
    except ReasoningEconomicsError as exc:  # a warm-up failure is not fatal: the first client would see it typed
        logger.warning("warm-up step failed: %s", exc)
    finally:
        env.close()


def settings_from_environ(environ: dict[str, str] | None = None) -> ServerSettings:
    """Settings for ``uvicorn reasoning_economics.server.app:app``: ``REE_TOKEN``, ``REE_CONFIG``
    (an EnvConfig file), ``REE_LOG_DIR``, ``REE_LOG_MAX_MB``, ``REE_MAX_SESSIONS``, ``REE_SESSION_TIMEOUT``,
    ``REE_MAX_HTTP_RESETS``, ``REE_ALLOW_TOKENIZERS`` (comma-separated)."""
    environ = dict(os.environ if environ is None else environ)
    allowed = listed_in_variable(environ.get("REE_ALLOW_TOKENIZERS"))
    config_path = environ.get("REE_CONFIG")
    env_config = load_env_config(Path(config_path) if config_path else None)
    env_config = env_config.model_copy(
        update={"allowed_tokenizers": tuple(env_config.allowed_tokenizers or ()) + allowed}
    )
    values: dict[str, Any] = {"env_config": env_config, "token": token_from_variable(environ.get("REE_TOKEN"))}
    if environ.get("REE_LOG_DIR"):
        values["log_dir"] = Path(environ["REE_LOG_DIR"])
    if environ.get("REE_LOG_MAX_MB"):
        values["log_max_mb"] = environ["REE_LOG_MAX_MB"]
    if environ.get("REE_MAX_SESSIONS"):
        values["max_sessions"] = environ["REE_MAX_SESSIONS"]
    if environ.get("REE_SESSION_TIMEOUT"):
        values["session_timeout_s"] = environ["REE_SESSION_TIMEOUT"]
    if environ.get("REE_MAX_HTTP_RESETS"):
        values["max_http_resets"] = environ["REE_MAX_HTTP_RESETS"]
    return ServerSettings.build(**values)


def __getattr__(name: str) -> Any:
    # ``app`` is built on first access, so importing this module stays side-effect free.
    if name == "app":
        application = create_server_app(settings_from_environ())
        globals()["app"] = application
        return application
    raise AttributeError(name)


def main() -> None:
    """``python -m reasoning_economics.server.app``: the same as ``ree serve``."""
    import sys

    from reasoning_economics.cli import app as cli

    cli(["serve", *sys.argv[1:]])


if __name__ == "__main__":
    main()
