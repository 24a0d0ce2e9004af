"""The URL of a ``ree serve`` instance as the commands that use one accept it, checked in a
module light enough to import before anything loads (the client module loads openenv)."""

from __future__ import annotations

from reasoning_economics.errors import ConfigError

SERVER_URL_SCHEMES = ("http://", "https://", "ws://", "wss://")


def check_server_url(url: object, name: str) -> str:
    """``url`` when it is an http(s):// or ws(s):// URL, else a ConfigError naming ``name``."""
    if not isinstance(url, str) or not url.startswith(SERVER_URL_SCHEMES):
        raise ConfigError(f"{name} must be an http(s):// or ws(s):// URL, got {url!r}")
    return url
