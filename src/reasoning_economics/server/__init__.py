"""``ree serve``: the environment as an OpenEnv server.

- :mod:`.app`: ``create_server_app(settings)``, the FastAPI application (OpenEnv's ``create_app``
  plus our ``/ws``, typed HTTP errors and auth);
- :mod:`.sessions`: WebSocket sessions (capacity, idle timeout, dispatch);
- :mod:`.protocol`: the wire format and its error codes;
- :mod:`.environment`: the environment with the checks a network-facing server needs;
- :mod:`.auth`: bearer-token middleware;
- :mod:`.body_limit`: the size limit on HTTP request bodies;
- :mod:`.asgi`: the ASGI types and JSON error body the middlewares share;
- :mod:`.connections`: a deadline for each HTTP request, a calm log when out of descriptors;
- :mod:`.episode_log`: one JSON line per finished episode;
- :mod:`.settings`: ``ServerSettings`` and the ``--config`` loader;
- :mod:`.command`: the ``ree serve`` command.

Nothing heavy is imported here: ``ree --help`` imports only :mod:`.command`.
"""

# Defaults shared by ``ree serve``'s options and ServerSettings; here so that ``ree --help``
# need not import pydantic.
DEFAULT_MAX_SESSIONS = 1024
MAX_SESSIONS = 1_000_000
DEFAULT_SESSION_TIMEOUT_S = 1800.0
DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
DEFAULT_REQUEST_TIMEOUT_S = 10.0
DEFAULT_MAX_HTTP_RESETS = 4
