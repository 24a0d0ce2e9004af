"""The URL and bearer token of a ``ree serve`` instance as the commands that use one accept
them, checked in a module light enough to import before anything loads (the client module
loads openenv)."""

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


def token_problem(token: object) -> str | None:
    """Why ``token`` cannot serve as a bearer token, or None when it can; never quoting it.

    The token travels in an ``Authorization`` header. HTTP drops whitespace around a header
    value, so a server whose token ended in a line break (a secret read from a file) refused
    every client with 403, and a client sending one failed with the token in its error. A
    character outside printable ASCII is encoded as each client chooses (websockets: Latin-1,
    curl: UTF-8), so such a token matched some clients and refused the others.
    """
    if not isinstance(token, str):
        return f"must be a string, got {type(token).__name__}"
    if not token.strip():
        return "is empty or blank"
    if token != token.strip():
        return (
            "starts or ends with whitespace, which HTTP drops from the header it travels in "
            "(a line break at the end of a secret file?)"
        )
    unsendable = next((character for character in token if not " " <= character <= "~"), None)
    if unsendable is not None:
        return (
            f"holds {'a control character' if unsendable.isascii() else 'a character outside ASCII'} "
            f"(U+{ord(unsendable):04X}); a token travels in an HTTP header, so it must be printable ASCII"
        )
    return None
