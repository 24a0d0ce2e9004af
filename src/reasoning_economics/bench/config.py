"""BenchConfig: what `ree bench` measures and how long it may take."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

SECTIONS = ("tokens", "grading", "env", "websocket")
"""Section names, in the order they run."""

CONCURRENCY_LEVELS = (1, 16, 64, 256, 1024)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "reasoning-economics" / "bench"


def loopback_ws_url(url: str) -> str:
    """``url`` as the WebSocket address of an OpenEnv server on this machine.

    ``http://127.0.0.1:8001`` and ``ws://localhost:8001`` become ``ws://127.0.0.1:8001/ws``
    and ``ws://localhost:8001/ws``; a path other than ``/ws`` is kept. Raises ``ValueError``
    for other schemes and for hosts that are not loopback: the benchmark loads only servers
    on this machine.

    >>> loopback_ws_url("http://127.0.0.1:8001")
    'ws://127.0.0.1:8001/ws'
    """
    parts = urlsplit(url)
    schemes = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(f"server URL must look like ws://127.0.0.1:8001/ws or http://127.0.0.1:8001, got {url!r}")
    host = parts.hostname
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"server URL must name a loopback host (127.0.0.1, ::1 or localhost), got {host!r}")
    try:
        parts.port  # noqa: B018 - reading it checks it: urlsplit keeps ":99999" and ":abc" until asked
    except ValueError as exc:
        raise ValueError(f"server URL has a bad port ({exc}), got {url!r}") from exc
    path = parts.path if parts.path not in ("", "/") else "/ws"
    return urlunsplit((schemes[parts.scheme], parts.netloc, path, parts.query, ""))


@dataclass(frozen=True)
class BenchConfig:
    """Sizes and time caps of one benchmark run; every loop stops at its count or its time cap.

    Use :meth:`full` or :meth:`quick` rather than choosing the sizes by hand.
    """

    mode: str
    sections: tuple[str, ...] = SECTIONS
    token_passes: int = 20
    loop_seconds: float = 10.0
    grading_pairs: int = 2000
    env_steps: int = 2000
    env_seconds: float = 60.0
    long_episodes: int = 10
    """100-question episodes played with every observation kept, as a rollout buffer keeps them."""
    concurrency: tuple[int, ...] = CONCURRENCY_LEVELS
    ws_steps_per_level: int = 4000
    ws_seconds_per_level: float = 20.0
    paced_sessions: tuple[int, ...] = (64, 256, 1024)
    paced_interval_s: float = 1.0
    idle_sessions: int = 1024
    server_start_seconds: float = 60.0
    workload_episodes: int = 64
    tokenizer: str = "Qwen/Qwen3-0.6B"
    cache_dir: Path = field(default_factory=default_cache_dir)
    server_url: str | None = None
    """The websocket section loads this server instead of starting ``ree serve``: any
    server speaking OpenEnv's WebSocket protocol on this machine (the reference environment
    for a side-by-side run). Normalised to ``ws://host:port/ws``; loopback hosts only."""
    server_pid: int | None = None
    """That server's process id, for its CPU time and memory per idle session (optional)."""

    def __post_init__(self) -> None:
        unknown = [name for name in self.sections if name not in SECTIONS]
        if unknown or not self.sections:
            raise ValueError(f"unknown or no sections {unknown}; choose from {', '.join(SECTIONS)}")
        if self.mode not in ("full", "quick"):
            raise ValueError(f"mode must be 'full' or 'quick', got {self.mode!r}")
        counts = {
            "token_passes": self.token_passes,
            "grading_pairs": self.grading_pairs,
            "env_steps": self.env_steps,
            "long_episodes": self.long_episodes,
            "ws_steps_per_level": self.ws_steps_per_level,
            "idle_sessions": self.idle_sessions,
            "workload_episodes": self.workload_episodes,
        }
        for name, value in counts.items():
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        for name in ("loop_seconds", "env_seconds", "ws_seconds_per_level", "server_start_seconds"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        for name in ("concurrency", "paced_sessions"):
            levels = getattr(self, name)
            if not levels or any(level < 1 for level in levels):
                raise ValueError(f"{name} levels must be positive, got {levels}")
        if self.paced_interval_s <= 0:
            raise ValueError("paced_interval_s must be positive")
        if self.server_url is not None:
            object.__setattr__(self, "server_url", loopback_ws_url(self.server_url))
        if self.server_pid is not None:
            if self.server_url is None:
                raise ValueError("server_pid names the process of a server given by server_url; give both")
            if self.server_pid < 1 or not Path(f"/proc/{self.server_pid}").is_dir():
                raise ValueError(f"no running process has pid {self.server_pid}")

    @classmethod
    def full(cls, **overrides) -> "BenchConfig":
        """The run whose numbers go into docs/performance.md (a few minutes on 2 cores)."""
        return cls(mode="full", **overrides)

    @classmethod
    def quick(cls, **overrides) -> "BenchConfig":
        """Every section, smaller and capped so the whole run takes under a minute."""
        sizes = dict(
            mode="quick",
            token_passes=3,
            loop_seconds=1.5,
            grading_pairs=200,
            env_steps=400,
            env_seconds=6.0,
            long_episodes=3,
            ws_steps_per_level=600,
            ws_seconds_per_level=1.5,
            paced_sessions=(64, 256),
            idle_sessions=256,
            workload_episodes=16,
        )
        sizes.update(overrides)
        return cls(**sizes)
