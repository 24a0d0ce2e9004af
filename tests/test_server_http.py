"""The HTTP side of a live server: OpenEnv's routes, typed errors instead of 500s, the
bearer token on HTTP and WebSocket, and ``openenv validate`` (static and ``--url``)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

REPO = Path(__file__).resolve().parents[1]
REFERENCE_FIELDS = ("question", "remaining_budget", "questions_remaining", "step_idx",
                    "budget_per_remaining", "accuracy_so_far", "history", "done", "reward")  # fmt: skip


def test_health_metadata_and_schema_answer_as_openenv_clients_expect(live_server):
    with httpx.Client(base_url=live_server.base_url, timeout=30) as http:
        assert http.get("/health").json() == {"status": "healthy"}
        probe = http.head("/health")  # uptime monitors probe with HEAD: it was 405
        assert probe.status_code == 200 and probe.content == b""
        metadata = http.get("/metadata").json()
        assert metadata["name"] == "reasoning_economics" and "budget" in metadata["description"]
        schema = http.get("/schema").json()
        assert set(REFERENCE_FIELDS) <= set(schema["observation"]["properties"])
        assert schema["action"]["required"] == ["response"]
        assert {"total_budget", "spent_budget", "questions_answered", "total_correct", "current_accuracy",
                "budget_remaining_ratio"} <= set(schema["state"]["properties"])  # fmt: skip
        assert http.get("/openapi.json").json()["info"]["version"] == "1.0.0"


def test_the_docs_pages_load_their_scripts_from_the_server_not_a_cdn(live_server):
    # FastAPI's pages fetched Swagger UI and ReDoc from cdn.jsdelivr.net: blank pages offline.
    with httpx.Client(base_url=live_server.base_url, timeout=30) as http:
        for page, assets in (
            ("/docs", ("/static-offline-docs/swagger-ui-bundle.js", "/static-offline-docs/swagger-ui.css")),
            ("/redoc", ("/static-offline-docs/redoc.standalone.js",)),
        ):
            html = http.get(page)
            assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
            assert "cdn.jsdelivr.net" not in html.text and "fonts.googleapis" not in html.text
            assert "/openapi.json" in html.text
            for asset in assets:
                assert f'"{asset}"' in html.text
                served = http.get(asset)
                assert served.status_code == 200 and len(served.content) > 100_000, asset
        assert "oauth2RedirectUrl" in http.get("/docs").text
        assert http.get("/docs/oauth2-redirect").status_code == 200
        # The pages are not API operations.
        paths = http.get("/openapi.json").json()["paths"]
        assert not {"/docs", "/redoc", "/docs/oauth2-redirect"} & set(paths)


def test_http_reset_works_and_environment_errors_are_typed_4xx_not_500(live_server):
    with httpx.Client(base_url=live_server.base_url, timeout=30) as http:
        reset = http.post("/reset", json={"seed": 2, "tokenizer_name": "qwen3", "total_budget": 900})
        assert reset.status_code == 200
        body = reset.json()
        assert body["done"] is False and body["observation"]["remaining_budget"] == 900
        assert body["observation"]["done"] is False and body["observation"]["reward"] is None  # kept inside too
        assert body["observation"]["questions_remaining"] == 10

        bad = http.post("/reset", json={"seed": 2, "tokenizer_name": 5})
        assert bad.status_code == 422 and bad.json()["code"] == "CONFIG_ERROR"
        assert "tokenizer_name" in bad.json()["detail"]
        refused = http.post("/reset", json={"tokenizer_name": "someone/private-model"})
        assert refused.status_code == 403 and refused.json()["code"] == "TOKENIZER_NOT_ALLOWED"
        # HTTP is stateless (each request gets a fresh environment): episodes live on /ws.
        step = http.post("/step", json={"action": {"response": "\\boxed{1}"}})
        assert step.status_code == 409 and step.json()["code"] == "EPISODE_NOT_STARTED"
        state = http.get("/state")
        assert state.status_code == 409 and state.json()["code"] == "EPISODE_NOT_STARTED"
        assert http.post("/step", json={"action": {"response": 1}}).status_code == 422
        # A number JSON cannot write back (1e400 parses as inf) is a typed 422, not a 500.
        for path in ("/reset", "/step"):
            infinite = http.post(path, content=b'{"seed": 1e400}', headers={"content-type": "application/json"})
            assert infinite.status_code == 422 and infinite.json()["code"] == "VALIDATION_ERROR", infinite.text
        # OpenEnv's /step validates the action itself and put pydantic's errors, inputs
        # included, in its 422: inf or NaN there became a 500, and a long input came back whole.
        for action in (b'{"response": 1e400}', b'{"response": NaN}', b'{"response": ["' + b"x" * 100_000 + b'"]}'):
            bad_action = http.post("/step", content=b'{"action": ' + action + b"}", headers={"content-type": "application/json"})
            assert bad_action.status_code == 422, bad_action.text
            assert bad_action.json() == {
                "detail": [{"loc": ["response"], "msg": "Input should be a valid string", "type": "string_type"}],
                "code": "VALIDATION_ERROR",
            }
        # Bodies the JSON parser gives up on are a typed 400, not FastAPI's bare "error parsing the body".
        # (5,000 brackets: deeper than the parser goes, fewer than the values a body may hold)
        too_deep = http.post("/reset", content=b"[" * 5_000, headers={"content-type": "application/json"})
        assert too_deep.status_code == 400
        assert too_deep.json() == {"detail": "invalid JSON: nested too deeply", "code": "INVALID_JSON"}
        too_long = http.post("/reset", content=b'{"seed": ' + b"1" * 5000 + b"}", headers={"content-type": "application/json"})
        assert too_long.status_code == 400 and too_long.json()["code"] == "INVALID_JSON"
        assert "4300 digits" in too_long.json()["detail"]
        assert http.get("/no-such-route").json() == {"detail": "Not Found"}
        # OpenEnv's Task API routes would answer 501 here: they are not served.
        assert http.get("/reasoning_economics/splits").status_code == 404
        mcp = http.post("/mcp", json={})
        assert mcp.status_code == 200 and mcp.json()["jsonrpc"] == "2.0"
        # Body fields named like the handlers' own parameters once collided with them (500s).
        for name in ("self", "func"):
            reset_self = http.post("/reset", json={"seed": 1, name: 1})
            assert reset_self.status_code == 422 and reset_self.json()["code"] == "CONFIG_ERROR", reset_self.text
            step_self = http.post("/step", json={"action": {"response": "1"}, name: 1})
            assert step_self.status_code == 409 and step_self.json()["code"] == "EPISODE_NOT_STARTED", step_self.text


def test_http_reset_checks_types_as_strictly_as_the_websocket(live_server):
    # OpenEnv's ResetRequest coerced true, false and 1.0 into seeds 1, 0 and 1 (200), where the
    # same reset on /ws was a CONFIG_ERROR.
    with httpx.Client(base_url=live_server.base_url, timeout=30) as http:
        for seed in (True, False, 1.0):
            refused = http.post("/reset", json={"seed": seed})
            assert refused.status_code == 422 and refused.json()["code"] == "CONFIG_ERROR", refused.text
            assert "seed" in refused.json()["detail"]
        for body in ({"json": {"seed": 7}}, {"json": {}}, {}):  # {}: no body at all
            answer = http.post("/reset", **body)
            assert answer.status_code == 200, (body, answer.text)
        seeded = http.post("/reset", json={"seed": 7}).json()["observation"]
        assert seeded["metadata"]["seed"] == 7


def test_a_total_budget_no_float_can_hold_is_a_typed_422(live_server):
    # JSON integers may have 4,300 digits; the budget check compared one with floats and the
    # OverflowError became a 500.
    for budget in (10**309, -(10**4000)):
        answer = httpx.post(live_server.base_url + "/reset", json={"seed": 1, "total_budget": budget}, timeout=30)
        assert answer.status_code == 422 and answer.json()["code"] == "CONFIG_ERROR", answer.text
        assert "total_budget" in answer.json()["detail"]


def test_mcp_answers_json_rpc_errors_and_creates_no_sessions(start_server):
    # OpenEnv's /mcp built an environment per openenv/session/create, outside --max-sessions and
    # --session-timeout and never freed, and answered 500 to a list session_id or a surrogate id.
    server = start_server(max_sessions=2)
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        for body in (
            b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"session_id": {"a": 1}}}',
            b'{"jsonrpc": "2.0", "id": 1, "method": "openenv/session/close", "params": {"session_id": ["a"]}}',
            b'{"jsonrpc": "2.0", "id": "\\ud800", "method": "tools/list"}',
            b'{"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": {"session_id": "\\ud800"}}',
            b"[]", b"not json", b"[" * 5_000,  # nested deeper than the parser goes
        ):  # fmt: skip
            answer = http.post("/mcp", content=body, headers={"content-type": "application/json"})
            assert answer.status_code == 200, (body[:80], answer.text)
            assert answer.json()["jsonrpc"] == "2.0" and answer.json()["error"]["code"] in (-32601, -32700)
            assert answer.json()["id"] in (None, 1, 7)
        for index in range(5):
            created = http.post("/mcp", json={"jsonrpc": "2.0", "id": index, "method": "openenv/session/create"})
            assert created.json() == {"jsonrpc": "2.0", "id": index, "error": {
                "code": -32601, "message": "this environment exposes no MCP tools; use reset/step/state"}}  # fmt: skip
    # Both WebSocket slots are still free, and OpenEnv's WebSocket /mcp is not served.
    sessions = [connect(server.ws_url, open_timeout=30) for _ in range(2)]
    try:
        for ws in sessions:
            ws.send(json.dumps({"type": "reset", "data": {"seed": 1}}))
            assert json.loads(ws.recv(timeout=30))["type"] == "observation"
    finally:
        for ws in sessions:
            ws.close()
    with pytest.raises(InvalidStatus):
        connect(server.ws_url.replace("/ws", "/mcp"), open_timeout=30)


# JSON texts as a hostile client writes them: NaN and Infinity tokens, huge integers, wrong types.
hostile_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=10**30) | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["seed", "total_budget", "tokenizer_name", "episode_id", "response", "metadata",
                         "grading_response", "action", "timeout_s", "x"]), children, max_size=4),
    max_leaves=10,
)  # fmt: skip
hostile_bodies = st.one_of(hostile_values, hostile_values.map(lambda action: {"action": action})).map(json.dumps)


@given(route=st.sampled_from(["/reset", "/step"]), body=hostile_bodies)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], database=None)
def test_random_json_bodies_get_a_typed_answer_never_a_5xx(live_server, route, body):
    response = httpx.post(live_server.base_url + route, content=body.encode(), headers={"content-type": "application/json"}, timeout=60)
    assert response.status_code < 500, (route, body, response.text)
    if response.status_code >= 400:
        answer = response.json()
        assert isinstance(answer["code"], str) and answer["code"].isupper(), (route, body, answer)


def test_http_bodies_over_the_message_limit_get_413_and_nothing_reaches_the_environment(start_server):
    # Before, a body of any size was read whole: one 300 MB POST /reset took the server's
    # peak memory from 0.33 to 1.27 GB.
    limit = 4096
    server = start_server(max_message_bytes=limit, token="tok", warm_up=False)
    auth = {"Authorization": "Bearer tok", "content-type": "application/json"}
    fits = json.dumps({"seed": 3, "tokenizer_name": "qwen3", "episode_id": "e" * 200}).encode()
    too_big = json.dumps({"seed": 3, "tokenizer_name": "qwen3", "episode_id": "e" * limit}).encode()

    def chunked(body: bytes):
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        for content in (too_big, chunked(too_big)):  # a declared length, then an undeclared one
            refused = http.post("/reset", content=content, headers=auth)
            assert refused.status_code == 413, refused.text
            assert refused.json()["code"] == "MESSAGE_TOO_LARGE" and f"{limit:,}" in refused.json()["detail"]
            assert refused.headers["connection"] == "close"
        for content in (fits, chunked(fits)):
            accepted = http.post("/reset", content=content, headers=auth)
            assert accepted.status_code == 200, accepted.text
            assert accepted.json()["observation"]["episode_id"] == "e" * 200
        # The token is checked first: a stranger's body is never read, however large.
        stranger = http.post("/reset", content=too_big, headers={"content-type": "application/json"})
        assert stranger.status_code == 401
    with connect(server.ws_url, additional_headers={"Authorization": "Bearer tok"}, open_timeout=30) as ws:
        ws.send(json.dumps({"type": "reset", "data": {"seed": 3, "tokenizer_name": "qwen3"}}))
        assert json.loads(ws.recv(timeout=30))["type"] == "observation"  # WebSocket sessions keep their own limit


def test_with_a_token_http_and_websocket_without_it_are_refused(start_server):
    server = start_server(token="s3cret-token", warm_up=False)
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        missing = http.get("/metadata")
        assert missing.status_code == 401 and missing.json()["code"] == "UNAUTHORIZED"
        assert missing.headers["www-authenticate"].startswith("Bearer")
        wrong = http.get("/metadata", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 403 and wrong.json()["code"] == "FORBIDDEN"
        assert http.post("/reset", json={}).status_code == 401
        assert http.get("/openapi.json").status_code == 401
        assert http.get("/health").status_code == 200  # probes stay open; it reveals nothing
        assert http.head("/health").status_code == 200
        good = {"Authorization": "Bearer s3cret-token"}
        assert http.get("/metadata", headers=good).status_code == 200
        assert http.post("/reset", json={"seed": 1}, headers=good).status_code == 200

    for headers, status in (({}, 401), ({"Authorization": "Bearer nope"}, 403), ({"Authorization": "Basic x"}, 401)):
        with pytest.raises(InvalidStatus) as refused:
            connect(server.ws_url, additional_headers=headers, open_timeout=30)
        assert refused.value.response.status_code == status
        assert json.loads(refused.value.response.body)["code"] in ("UNAUTHORIZED", "FORBIDDEN")
    with connect(server.ws_url, additional_headers={"Authorization": "Bearer s3cret-token"}, open_timeout=30) as ws:
        ws.send(json.dumps({"type": "reset", "data": {"seed": 1}}))
        assert json.loads(ws.recv(timeout=60))["type"] == "observation"


def run_openenv_cli(*args: str) -> dict:
    """``openenv <args> --json`` through OpenEnv's own typer app, in this process (its
    start-up imports take seconds; a subprocess would pay them again)."""
    from openenv.cli.__main__ import app
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_openenv_yaml_passes_openenv_validate_statically():
    report = run_openenv_cli("validate", str(REPO), "--level", "static", "--skip-build")
    assert report["verdict"] == "pass"
    assert [r["check_id"] for r in report["results"]] == ["static.manifest"]
    assert report["manifest"]["name"] == "reasoning_economics"


def test_a_live_server_passes_openenv_validate_url(live_server):
    report = run_openenv_cli("validate", "--url", live_server.base_url, "--timeout", "30")
    assert report["passed"] is True and report["mode"] == "simulation"
    assert report["summary"]["failed_criteria"] == []


def test_server_start_freezes_what_exists_and_spaces_out_full_collections():
    # Full collections walking the start-up objects stalled every session for 190-280 ms.
    import gc

    from fastapi.testclient import TestClient

    from reasoning_economics.server.app import FULL_COLLECTION_EVERY, create_server_app
    from reasoning_economics.server.settings import ServerSettings

    saved = gc.get_threshold()
    gc.unfreeze()  # servers started by earlier tests in this process froze theirs
    try:
        app = create_server_app(ServerSettings(warm_up=False))
        assert gc.get_freeze_count() == 0
        with TestClient(app) as client:
            assert client.get("/health").status_code == 200
            assert gc.get_freeze_count() > 10_000  # every module, vocabulary and the app itself
            assert gc.get_threshold() == (saved[0], saved[1], FULL_COLLECTION_EVERY)
            assert not any(tracked is app.state.sessions for tracked in gc.get_objects())  # no longer walked
    finally:
        gc.unfreeze()
        gc.set_threshold(*saved)
