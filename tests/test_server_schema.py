"""schemathesis against the live server's OpenAPI schema: generated requests to every HTTP
operation never get a 5xx, and 2xx answers match the documented response schemas."""

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
