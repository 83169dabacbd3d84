"""What the OpenAPI document promises and the API keeps: a 405 names the allowed methods, an empty
integer parameter is refused, and every status an operation can answer is documented. SQLite and
PostgreSQL. (The whole API against the document: tests/test_api_schemathesis.py.)"""

from __future__ import annotations

import pytest

from tests.factories import make_brand, make_brand_owner, make_user
from traceapp import db
from traceapp.api.openapi import document
from traceapp.auth.services import issue_token

API = "/api/v1"


@pytest.fixture
def token(app):
    with app.app_context(), db.write_session() as s:
        return issue_token(s, make_user(s, "admin").username)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def allowed(response) -> set[str]:
    return {m.strip() for m in response.headers.get("Allow", "").split(",") if m.strip()}


def test_method_not_allowed_on_the_api_names_the_allowed_methods(client, token):
    response = client.delete(f"{API}/batches", headers=bearer(token))
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    assert {"GET", "POST"} <= allowed(response)


def test_method_not_allowed_on_a_page_names_the_allowed_methods(client):
    response = client.put("/brands/")
    assert response.status_code == 405
    assert "GET" in allowed(response)


@pytest.mark.parametrize("query", ["limit=", "offset=", "limit=&offset=0"])
def test_an_empty_paging_parameter_is_refused(client, token, query):
    response = client.get(f"{API}/batches?{query}", headers=bearer(token))
    assert response.status_code == 400
    name = query.split("=")[0]
    assert name in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("path, name", [("/batches", "organization"), ("/certifications", "holder")])
def test_an_empty_filter_is_refused_not_ignored(client, token, path, name):
    response = client.get(f"{API}{path}?{name}=", headers=bearer(token))
    assert response.status_code == 400
    assert name in response.get_json()["error"]["fields"]


@pytest.fixture
def brand(app):
    """A brand and its manager's token."""
    with app.app_context(), db.write_session() as s:
        _, manager = make_brand_owner(s)
        return make_brand(s, manager).slug, issue_token(s, manager.username)


@pytest.mark.parametrize("parent", [False, 0, [], {}])
def test_a_parent_that_is_not_text_is_refused(client, brand, parent):
    slug, token = brand
    response = client.patch(f"{API}/brands/{slug}", json={"parent": parent, "category": "tea"}, headers=bearer(token))
    assert response.status_code == 400
    assert "parent" in response.get_json()["error"]["fields"]
    assert client.get(f"{API}/brands/{slug}", headers=bearer(token)).get_json()["category"] == "fruit"


@pytest.mark.parametrize("state", ["", "open"])
def test_an_attachment_state_outside_the_documented_ones_is_refused(client, brand, state):
    slug, token = brand
    response = client.get(f"{API}/brands/{slug}/attachments?state={state}", headers=bearer(token))
    assert response.status_code == 400
    assert "state" in response.get_json()["error"]["fields"]


def test_the_attachment_states_are_documented_as_an_enumeration(app):
    params = dict(operations(app))["GET /brands/{slug}/attachments"]["parameters"]
    state = next(p for p in params if p["name"] == "state")
    assert state["schema"]["enum"] == ["pending", "accepted", "refused", "withdrawn"]


def operations(app):
    with app.app_context():
        doc = document(app)
    for path, item in doc["paths"].items():
        for method, op in item.items():
            yield f"{method.upper()} {path}", op


def test_every_operation_that_takes_an_idempotency_key_documents_409(app):
    missing = [label for label, op in operations(app)
               if any(p["name"] == "Idempotency-Key" for p in op["parameters"]) and "409" not in op["responses"]]
    assert missing == []


def test_every_operation_documents_401_and_its_input_errors(app):
    wrong = []
    for label, op in operations(app):
        if "401" not in op["responses"]:
            wrong.append(f"{label}: 401")
        takes_input = op.get("requestBody") or any(p["in"] != "path" for p in op["parameters"])
        if takes_input and "400" not in op["responses"]:
            wrong.append(f"{label}: 400")
        if any(p["in"] == "path" for p in op["parameters"]) and "404" not in op["responses"]:
            wrong.append(f"{label}: 404")
    assert wrong == []
