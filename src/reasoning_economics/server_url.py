"""The URL of a ``ree serve`` instance as the commands that use one accept it, checked in a
module light enough to import before anything loads (the client module loads openenv)."""

from __future__ import annotations

from urllib.parse import urlsplit

from reasoning_economics.errors import ConfigError

SERVER_URL_SCHEMES = ("http://", "https://", "ws://", "wss://")


WEBSOCKET_PATH = "/ws"
"""Where OpenEnv serves WebSocket sessions; clients append it to the server's base URL."""


def check_server_url(url: object, name: str) -> str:
    """``url`` as a server's base URL: an http(s):// or ws(s):// URL without a query or fragment,
    its trailing ``/`` and :data:`WEBSOCKET_PATH` dropped; else a ConfigError naming ``name``.

    ``ree serve`` prints its sessions' address (``ws://host:port/ws``), and a client given it
    appended the path again: ``/ws/ws`` answered 403, read as a refused token.
    """
    if not isinstance(url, str) or not url.startswith(SERVER_URL_SCHEMES):
        raise ConfigError(f"{name} must be an http(s):// or ws(s):// URL, got {url!r}")
    _require_parsable(url, name)
    if "?" in url or "#" in url:
        # The client appends a path, which would land inside the query or fragment.
        raise ConfigError(f"{name} must be the server's base URL, without a query or fragment, got {url!r}")
    base = url.rstrip("/")
    if base.endswith(WEBSOCKET_PATH):
        base = base[: -len(WEBSOCKET_PATH)]
    return base


def require_http_url(url: object, name: str) -> str:
    """``url`` when it is an http:// or https:// URL a client can parse, else a ConfigError naming ``name``."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigError(f"{name} must start with http:// or https://, got {url!r}")
    _require_parsable(url, name)
    return url


def _require_parsable(url: str, name: str) -> None:
    # "http://[::1" passed a scheme check and raised a bare ValueError ("Invalid IPv6 URL") in
    # the HTTP client, after the model had loaded.
    try:
        parts = urlsplit(url)
        _ = parts.port  # parsed on reading: "host:99999" or "host:x" raise here
    except ValueError as exc:
        raise ConfigError(f"{name} is not a valid URL ({exc}): {url!r}") from exc
    if not parts.hostname:
        raise ConfigError(f"{name} names no host: {url!r}")
