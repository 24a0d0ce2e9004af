"""ServerSettings: everything ``ree serve`` decides, validated on construction.

The environment's own knobs stay in :class:`~reasoning_economics.env.EnvConfig` (given by
``--config FILE``); the settings here are about serving it: where, to how many clients,
with which token, limits and logs.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from reasoning_economics.config_files import read_config_file
from reasoning_economics.errors import ConfigError, validation_problems
from reasoning_economics.server import (
    DEFAULT_MAX_HTTP_RESETS,
    DEFAULT_MAX_MESSAGE_BYTES,
    DEFAULT_MAX_SESSIONS,
    DEFAULT_REQUEST_TIMEOUT_S,
    DEFAULT_SESSION_TIMEOUT_S,
    MAX_SESSIONS,
)
from reasoning_economics.server.episode_log import DEFAULT_MAX_LOG_MB, DEFAULT_MAX_LOGGED_RESPONSE_CHARS, LOG_BACKUPS
from reasoning_economics.server_url import token_problem

EPISODE_LOG_NAME = "episodes.jsonl"
MAX_STEP_THREADS = 4096


def token_from_variable(value: str | None) -> str | None:
    """``REE_TOKEN``'s value: None when it is unset. Raises ``ConfigError`` when it is set but
    blank, which click and ``environ.get(...) or None`` both read as no auth."""
    if value is not None and not value.strip():
        raise ConfigError(
            "REE_TOKEN is set but empty: unset it to serve without auth (a secret that was never filled in "
            "would otherwise leave the server open)"
        )
    return value


def listed_in_variable(value: str | None) -> tuple[str, ...]:
    """The names of a comma-separated environment variable such as ``REE_ALLOW_TOKENIZERS``."""
    return tuple(name.strip() for name in (value or "").split(",") if name.strip())


class ServerSettings(BaseModel):
    """How ``ree serve`` serves the environment (the environment itself is ``env_config``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    host: str = Field("127.0.0.1", min_length=1, description="Interface to bind (loopback by default).")
    port: int = Field(8000, ge=0, le=65535, description="TCP port (0 picks a free one).")
    max_sessions: int = Field(DEFAULT_MAX_SESSIONS, ge=1, le=MAX_SESSIONS, description="Concurrent WebSocket sessions.")
    session_timeout_s: float = Field(
        DEFAULT_SESSION_TIMEOUT_S, gt=0, description="A session silent this long is closed and its slot freed."
    )
    request_timeout_s: float = Field(
        DEFAULT_REQUEST_TIMEOUT_S,
        gt=0,
        description=(
            "A connection that has not delivered a complete HTTP request (or WebSocket upgrade) "
            "this long after opening, or after its last response, is closed; so is one that leaves "
            "a response unread this long once the server's buffers for it are full, or that has not "
            "taken what was left this long after the server closed it."
        ),
    )
    max_http_resets: int = Field(
        DEFAULT_MAX_HTTP_RESETS,
        ge=1,
        le=MAX_STEP_THREADS,
        description=(
            "Stateless HTTP /reset calls being worked on at once; more get 503 CAPACITY_REACHED. They "
            "run on the sessions' thread pool, and hundreds at once starved the WebSocket sessions."
        ),
    )
    token: str | None = Field(None, description="Bearer token every request must carry (None: no auth).")
    log_dir: Path | None = Field(None, description="Append every finished or abandoned episode to log_dir/episodes.jsonl.")
    log_max_response_chars: int = Field(
        DEFAULT_MAX_LOGGED_RESPONSE_CHARS,
        ge=1,
        description="The episode log keeps longer responses as their head and tail, with their length and sha256.",
    )
    log_max_mb: int = Field(
        DEFAULT_MAX_LOG_MB,
        ge=0,
        description=(
            f"Rotate the episode log when it would pass this size: episodes.jsonl becomes episodes.1.jsonl, "
            f"and so on up to {LOG_BACKUPS} files (0: never rotate)."
        ),
    )
    max_message_bytes: int = Field(
        DEFAULT_MAX_MESSAGE_BYTES,
        ge=1024,
        description=(
            "Larger WebSocket messages get a MESSAGE_TOO_LARGE error without being parsed; "
            "frames above twice this are refused by the transport (close code 1009). HTTP request "
            "bodies above it get 413 (MESSAGE_TOO_LARGE)."
        ),
    )
    step_threads: int | None = Field(
        None,
        ge=1,
        le=MAX_STEP_THREADS,
        description=(
            "Threads that run resets and steps off the event loop (None: one per session, up to "
            f"{MAX_STEP_THREADS}). A session has one message in flight at a time, so with a thread "
            "per session no step waits for a thread behind another session's slow grade."
        ),
    )
    warm_up: bool = Field(True, description="Run one episode step at start so the first client does not pay.")
    env_config: Any = Field(None, description="The EnvConfig every session starts from (None: defaults).")

    @field_validator("token")
    @classmethod
    def _token_sendable(cls, token: str | None) -> str | None:
        problem = None if token is None else token_problem(token)
        if problem is not None:
            raise ValueError(f"the token {problem}")
        return token

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def step_thread_count(self) -> int:
        """``step_threads``, or by default one per session (up to ``MAX_STEP_THREADS``).

        Threads are started only as steps need them, and idle sessions need none."""
        return self.step_threads or min(self.max_sessions, MAX_STEP_THREADS)

    @property
    def episode_log_path(self) -> Path | None:
        return None if self.log_dir is None else self.log_dir / EPISODE_LOG_NAME

    @classmethod
    def build(cls, **values: Any) -> "ServerSettings":
        """Like the constructor, but a bad value raises :class:`ConfigError` naming the field."""
        try:
            return cls(**values)
        except ValidationError as exc:
            # Not chained: pydantic's text quotes every input, and under ``uvicorn ...:app`` the
            # traceback printed a refused token whole.
            raise ConfigError(f"invalid server setting: {validation_problems(exc, limit=100)}") from None


def load_env_config(path: Path | None = None, **overrides: Any):
    """The :class:`EnvConfig` of ``ree serve``: the file's values (TOML, YAML or JSON, top-level
    keys are EnvConfig fields, or an ``[env]`` table of them), then ``overrides`` on top.

    Raises:
        ConfigError: the file is missing, unreadable, not a mapping, or holds an unknown or
            invalid field (the message names it).
    """
    from reasoning_economics.env import EnvConfig

    values: dict[str, Any] = {}
    if path is not None:
        values = read_config_file(Path(path))
        if "env" in values and isinstance(values["env"], dict):
            others = sorted(key for key in values if key != "env")
            if others:
                # Each was reported as an unknown field, "env" among them.
                raise ConfigError(
                    f"{path}: the environment's settings go either at the top level or in an [env] table, "
                    f"not both; beside [env] it has {', '.join(others)} (a ree train settings file is not "
                    "a ree serve one)"
                )
            values = values["env"]
    values.update({key: value for key, value in overrides.items() if value is not None})
    try:
        return EnvConfig(**values)
    except ValidationError as exc:
        where = f" in {path}" if path is not None else ""
        raise ConfigError(f"invalid environment setting{where}: {validation_problems(exc, limit=100)}") from exc

