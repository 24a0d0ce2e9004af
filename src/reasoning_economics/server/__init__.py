"""``ree serve``: the environment as an OpenEnv server.

- :mod:`.app`: ``create_server_app(settings)``, the FastAPI application (OpenEnv's ``create_app``
  plus our ``/ws``, typed HTTP errors and auth);
- :mod:`.sessions`: WebSocket sessions (capacity, idle timeout, dispatch);
- :mod:`.protocol`: the wire format and its error codes;
- :mod:`.environment`: the environment with the checks a network-facing server needs;
- :mod:`.auth`: bearer-token middleware;
- :mod:`.episode_log`: one JSON line per finished episode;
- :mod:`.settings`: ``ServerSettings`` and the ``--config`` loader;
- :mod:`.command`: the ``ree serve`` command.

Nothing heavy is imported here: ``ree --help`` imports only :mod:`.command`.
"""
