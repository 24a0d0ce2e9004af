"""schemathesis against the live server's OpenAPI schema: generated requests to every HTTP
operation never get a 5xx, and 2xx answers match the documented response schemas. And
``GET /schema``, built once, answers byte for byte what OpenEnv's own route answers."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

EXAMPLES_PER_OPERATION = 25


def test_no_generated_request_gets_a_server_error(live_server):
    schema = schemathesis.openapi.from_url(f"{live_server.base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = {operation.label for operation in operations}
    assert {"POST /reset", "POST /step", "GET /state", "GET /health", "GET /schema", "GET /metadata"} <= labels
    calls = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def no_server_error(case) -> None:
            response = case.call(base_url=live_server.base_url, timeout=60)
            calls.append(response.status_code)
            case.validate_response(response, checks=[not_a_server_error])
            if response.status_code < 300:
                case.validate_response(response, checks=[response_schema_conformance])

        no_server_error()
    assert len(calls) >= 2 * len(operations)
    assert all(status < 500 for status in calls)


def _openenv_reference_app():
    """OpenEnv's own application for the same models, /schema untouched: what clients got before."""
    from openenv.core.env_server import create_app

    from reasoning_economics.env import EnvConfig, ReasonBudgetAction, ReasonBudgetObservation, ReasonBudgetState
    from reasoning_economics.server.app import ENV_NAME
    from reasoning_economics.server.environment import ServedEnvironment

    return create_app(
        lambda: ServedEnvironment(EnvConfig(allowed_tokenizers=())),
        ReasonBudgetAction,
        ReasonBudgetObservation,
        env_name=ENV_NAME,
        state_cls=ReasonBudgetState,
    )


def test_cached_schema_is_byte_for_byte_what_openenvs_route_answers():
    from fastapi.testclient import TestClient

    from reasoning_economics.server.app import create_server_app
    from reasoning_economics.server.settings import ServerSettings

    reference_app = _openenv_reference_app()
    expected = TestClient(reference_app).get("/schema")
    app = create_server_app(ServerSettings(warm_up=False))
    client = TestClient(app)
    answers = [client.get("/schema") for _ in range(3)]
    for answer in answers:
        assert answer.status_code == 200
        assert answer.content == expected.content
        assert answer.headers["content-type"] == expected.headers["content-type"] == "application/json"
        assert answer.headers["content-length"] == expected.headers["content-length"]
    assert answers[0].json().keys() == {"action", "observation", "reset_observation", "state"}
    # The OpenAPI document describes /schema exactly as OpenEnv does.
    assert app.openapi()["paths"]["/schema"] == reference_app.openapi()["paths"]["/schema"]



def count_schema_builds(monkeypatch) -> list:
    """A list that grows by one each time the action model's JSON schema is built."""
    from reasoning_economics.env import ReasonBudgetAction

    build = ReasonBudgetAction.model_json_schema.__func__
    calls: list = []

    def counted(cls, *args, **kwargs):
        calls.append(cls)
        return build(cls, *args, **kwargs)

    monkeypatch.setattr(ReasonBudgetAction, "model_json_schema", classmethod(counted))
    return calls

def test_schema_is_built_once_however_many_requests(monkeypatch):
    # OpenEnv rebuilt every model_json_schema() per request (~15 ms of event loop each): 32
    # clients polling /schema held another session's p99 step at 1.1-1.3 s.
    from fastapi.testclient import TestClient

    from reasoning_economics.server.app import create_server_app
    from reasoning_economics.server.settings import ServerSettings

    calls = count_schema_builds(monkeypatch)
    app = create_server_app(ServerSettings(warm_up=False))
    assert app.state.schema_cache.body is None and calls == []  # built on first request, as /openapi.json is
    client = TestClient(app)
    bodies = {client.get("/schema").content for _ in range(40)}
    assert len(calls) == 1
    assert bodies == {app.state.schema_cache.body}
    assert client.post("/schema").status_code == 405  # still GET only


def test_a_live_server_builds_the_schema_once_for_many_simultaneous_first_requests(start_server, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    calls = count_schema_builds(monkeypatch)
    server = start_server(warm_up=False)

    def fetch(_):
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            return [http.get("/schema") for _ in range(4)]

    with ThreadPoolExecutor(32) as pool:
        answers = [answer for batch in pool.map(fetch, range(32)) for answer in batch]
    assert {answer.status_code for answer in answers} == {200}
    assert {answer.content for answer in answers} == {server.app.state.schema_cache.body}
    assert len(calls) == 1
