"""Schemathesis over /api/v1/openapi.json: generated requests, valid and invalid, against the
real app and database must never get a 5xx. SQLite and PostgreSQL."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

EXAMPLES_PER_OPERATION = 25
# Fixed examples on CI (a red build always reproduces); fresh ones locally, to find new failures.
DETERMINISTIC = bool(os.environ.get("CI"))


@pytest.fixture
def api_schema(demo):
    app = demo
    runner = app.test_cli_runner()
    app.config["FUZZ_TOKEN"] = runner.invoke(args=["users", "token", "admin"]).output.strip()
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def test_no_generated_request_gets_a_server_error(app, api_schema):
    headers = {"Authorization": f"Bearer {app.config['FUZZ_TOKEN']}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 15
    failures = []
    for operation in operations:
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=DETERMINISTIC,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case):
            response = case.call(headers=headers)
            case.validate_response(response, checks=[not_a_server_error])

        try:
            run()
        except Exception as exc:  # noqa: BLE001 - report every operation's failure at the end
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert failures == []
