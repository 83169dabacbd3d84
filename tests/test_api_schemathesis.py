"""Schemathesis over the whole JSON API, as a producer, an admin and a regulator, with every check:
each operation the OpenAPI document lists (whoever added it) gets the examples, coverage, fuzzing
and stateful phases, and every answer must be one the document describes, in the shape it
describes. SQLite and PostgreSQL.

Run it alone with ``.venv/bin/pytest tests/test_api_schemathesis.py -q -n 0``; ``CI=1`` fixes the
examples (a red build always reproduces), without it each run draws fresh ones."""

from __future__ import annotations

import os
import threading

import pytest
import schemathesis
from schemathesis.engine import Status, events, from_schema
from werkzeug.serving import WSGIRequestHandler, make_server

from traceapp.api.openapi import document

# Examples per operation and phase: with three roles on two databases this keeps the file to a few
# minutes on two cores; raise it locally (TRACEAPP_SCHEMATHESIS_EXAMPLES) to dig deeper.
EXAMPLES = int(os.environ.get("TRACEAPP_SCHEMATHESIS_EXAMPLES", "5"))
DETERMINISTIC = bool(os.environ.get("CI"))
# Demo users: a producer of a cooperative, the admin, a regulator.
ROLES = ("luyuan", "admin", "regulator")
# What a request the document calls valid may get: a state of the world that refuses a well-formed
# request (recalled, licence missing, quantity used up) is 422 wherever it happens. A write's body,
# and the risk desk's filters, can also break rules no OpenAPI 3.0 schema can state: a reference to a
# record that must exist (holder, batch, inspection, brand, region), a rule across fields (valid_to
# after valid_from, uscc required for some kinds), a check digit, text that must be NFC without
# control characters; the service answers those 400 naming the field. Everywhere else a 400 to a
# valid request means the document is wrong.
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
REFERENCES_ACCEPTED = [*ACCEPTED, "400"]


def settings(token: str, base_url: str) -> schemathesis.Config:
    config = {
        "base-url": f"{base_url}/api/v1",
        "headers": {"Authorization": f"Bearer {token}"},
        "workers": 1,
        "generation": {"max-examples": EXAMPLES, "deterministic": DETERMINISTIC, "database": "none"},
        "checks": {"enabled": True, "max_response_time": 30.0,
                   "positive_data_acceptance": {"expected-statuses": ACCEPTED}},
        "operations": [{selector: value, "checks": {"positive_data_acceptance": {
            "expected-statuses": REFERENCES_ACCEPTED}}}
            for selector, value in (("include-method", ["POST", "PATCH"]), ("include-path-regex", "^/risks"))],
    }
    if DETERMINISTIC:
        config["seed"] = 22
    return schemathesis.Config.from_dict(config)


class Quiet(WSGIRequestHandler):
    def log_request(self, *args) -> None:
        pass  # thousands of lines that would bury a failure's report


@pytest.fixture
def served(demo):
    """The demo app on a real socket: schemathesis's in-process WSGI transport passes requests'
    options to werkzeug's test client in its fuzzing phase and fails there."""
    server = make_server("127.0.0.1", 0, demo, threaded=True, request_handler=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield demo, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def describe(event, case_id: str, check) -> str:
    case = event.recorder.cases[case_id].value
    failure = check.failure_info.failure
    lines = [f"[{event.phase.value}] {check.name}: {case.operation.label}: {failure.title}", str(failure.message),
             check.failure_info.code_sample]
    interaction = event.recorder.interactions.get(case_id)
    if interaction is not None and interaction.response is not None:
        body = interaction.response.content[:400].decode("utf-8", "replace")
        lines.append(f"=> {interaction.response.status_code} {body}")
    return "\n    ".join(lines)


@pytest.mark.slow
@pytest.mark.parametrize("username", ROLES)
def test_the_api_keeps_its_openapi_document(served, username):
    app, base_url = served
    token = app.test_cli_runner().invoke(args=["users", "token", username]).output.strip()
    with app.app_context():
        listed = {f"{method.upper()} {path}" for path, item in document(app)["paths"].items() for method in item}
    schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/openapi.json", config=settings(token, base_url))
    failures, errors, tested, stop = [], [], set(), None
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            tested.add(event.recorder.label)
            for case_id, checks in event.recorder.checks.items():
                failures += [describe(event, case_id, c) for c in checks if c.status == Status.FAILURE]
        elif isinstance(event, events.NonFatalError):
            errors.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            errors.append(f"fatal: {event.exception!r}")
        elif isinstance(event, events.EngineFinished):
            stop = event.stop_reason
    assert errors == []
    assert sorted(set(failures)) == []
    assert stop == "completed"
    assert sorted(listed - tested) == []
