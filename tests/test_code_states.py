"""Batch code states: frozen (reversible) and void (final), set with a reason by the batch's producer,
a regulator or an admin through ledger entries; refusals write nothing; ``code_state_differences``
catches a row changed behind the ledger; the tablet forms and the API. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from tests.factories import count, fetch, make_batch, make_user, make_world, projection_differences
from traceapp import db
from traceapp.auth.services import issue_token
from traceapp.errors import Conflict, Forbidden
from traceapp.ledger.store import LedgerEntry
from traceapp.records.code_states import (
    code_state,
    code_state_differences,
    code_state_sentence,
    freeze_code,
    unfreeze_code,
    void_code,
)
from traceapp.records.guard import UnrecordedWrite
from traceapp.records.models import Batch, CodeState
from traceapp.validation import InvalidInput

API = "/api/v1"
SERVICES = {"freeze": freeze_code, "unfreeze": unfreeze_code, "void": void_code}


@pytest.fixture
def world(app):
    with app.app_context(), db.write_session() as s:
        world = make_world(s)
        world["batch"] = make_batch(s, world["producer"])
        world["tokens"] = {name: issue_token(s, world[name].username)
                           for name in ("producer", "rival", "inspector", "regulator", "admin")}
    return world


def change(app, world, action: str, who: str = "producer", reason: str | None = "包装破损，暂停销售") -> dict:
    with app.app_context(), db.write_session() as s:
        batch = s.get(Batch, world["batch"].id)
        return SERVICES[action](s, batch, {} if reason is None else {"reason": reason}, user=world[who])


def entries(app) -> list[dict]:
    with app.app_context(), db.database().sessions() as s:
        return [json.loads(bytes(body)) for body in s.scalars(select(LedgerEntry.body).order_by(LedgerEntry.seq))]


def differences(app) -> list[str]:
    with app.app_context(), db.database().sessions() as s:
        return list(code_state_differences(s))


def state_of(app, world) -> dict:
    with app.app_context(), db.database().sessions() as s:
        return code_state(s, s.get(Batch, world["batch"].id))


# -- transitions -------------------------------------------------------------------------------

def test_a_code_is_frozen_unfrozen_and_voided_through_ledger_entries(app, world):
    code = world["batch"].code
    assert state_of(app, world) == {"state": "active", "reason": None, "changed_at": None}

    frozen = change(app, world, "freeze")
    entry = entries(app)[-1]
    assert (entry["kind"], entry["subject"], entry["data"]) == ("code.frozen", f"batch:{code}",
                                                                {"reason": "包装破损，暂停销售"})
    assert frozen["state"] == "frozen" and frozen["reason"] == "包装破损，暂停销售"
    assert frozen["changed_at"] == datetime.strptime(entry["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    with app.app_context():
        row = fetch(CodeState, world["batch"].id)
    assert (row.state, row.changed_by, row.ledger_seq) == ("frozen", world["producer"].username, entry["seq"])
    assert differences(app) == []

    assert change(app, world, "unfreeze", reason="已核实") == {"state": "active", "reason": None, "changed_at": None}
    assert (entries(app)[-1]["kind"], entries(app)[-1]["data"]) == ("code.unfrozen", {"reason": "已核实"})
    with app.app_context():
        assert count(CodeState) == 0
    assert differences(app) == []

    voided = change(app, world, "void", who="regulator", reason="标签被冒用")
    assert (voided["state"], voided["reason"]) == ("void", "标签被冒用")
    last = entries(app)[-1]
    assert (last["kind"], last["actor"]["user"]) == ("code.voided", f"user:{world['regulator'].id}")
    assert differences(app) == []
    with app.app_context():
        assert projection_differences() == []


def test_a_frozen_code_can_be_voided(app, world):
    change(app, world, "freeze")
    assert change(app, world, "void", reason="确认假冒")["state"] == "void"
    assert differences(app) == []


@pytest.mark.parametrize("before,action,message", [
    ((), "unfreeze", "没有被冻结"),
    (("freeze",), "freeze", "已经处于冻结状态"),
    (("void",), "freeze", "已作废"),
    (("void",), "unfreeze", "已作废"),
    (("void",), "void", "已作废"),
    (("freeze", "void"), "unfreeze", "已作废"),
])
def test_impossible_transitions_are_409_and_write_nothing(app, world, before, action, message):
    for step in before:
        change(app, world, step)
    state, size = state_of(app, world), len(entries(app))
    with pytest.raises(Conflict) as info:
        change(app, world, action)
    assert message in info.value.message and world["batch"].code in info.value.message
    assert state_of(app, world) == state and len(entries(app)) == size


@pytest.mark.parametrize("who", ["producer", "regulator", "admin"])
def test_the_producer_a_regulator_and_an_admin_may_freeze(app, world, who):
    assert change(app, world, "freeze", who=who)["state"] == "frozen"


@pytest.mark.parametrize("action", ["freeze", "unfreeze", "void"])
@pytest.mark.parametrize("who", ["rival", "inspector", "certifier"])
def test_others_are_forbidden_and_nothing_is_written(app, world, who, action):
    if action == "unfreeze":
        change(app, world, "freeze")
    state, size = state_of(app, world), len(entries(app))
    with pytest.raises(Forbidden):
        change(app, world, action, who=who)
    assert state_of(app, world) == state and len(entries(app)) == size


@pytest.mark.parametrize("reason", [None, "", "   ", 42, "长" * 501])
def test_a_reason_is_required(app, world, reason):
    size = len(entries(app))
    with pytest.raises(InvalidInput) as info:
        change(app, world, "void", reason=reason)
    assert "reason" in info.value.fields
    assert state_of(app, world)["state"] == "active" and len(entries(app)) == size


def test_a_page_sentence_says_frozen_or_void():
    assert code_state_sentence({"state": "active", "reason": None, "changed_at": None}) is None
    assert "冻结" in code_state_sentence({"state": "frozen", "reason": "核查中", "changed_at": None})
    assert code_state_sentence({"state": "void", "reason": "冒用", "changed_at": None}).endswith("冒用")


# -- the projection check ----------------------------------------------------------------------

def test_a_row_changed_behind_the_ledger_is_reported(app, world):
    change(app, world, "freeze")
    seq = entries(app)[-1]["seq"]
    engine = app.extensions["traceapp.db"].engine
    code = world["batch"].code
    with engine.begin() as conn:  # behind the services' back: no ledger entry
        conn.execute(text("UPDATE code_states SET state = 'void', reason = 'x'"))
    assert differences(app) == [f"code_states: {code} differs from entry {seq} in reason, state"]
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM code_states"))
    assert differences(app) == [f"code_states: {code} is missing (recorded by entry {seq})"]


def test_ledger_verify_fails_on_a_state_row_changed_behind_the_ledger(app, world):
    change(app, world, "freeze")
    ok = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert ok.exit_code == 0, ok.output
    with app.extensions["traceapp.db"].engine.begin() as conn:
        conn.execute(text("UPDATE code_states SET reason = 'x'"))
    bad = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert bad.exit_code == 1 and f"code_states: {world['batch'].code} differs" in bad.output


def test_a_row_without_an_entry_is_reported(app, world):
    with app.app_context(), db.write_session() as s:
        other = make_batch(s, world["producer"])
    with app.extensions["traceapp.db"].engine.begin() as conn:
        conn.execute(text("INSERT INTO code_states (batch_id, state, reason, changed_by, changed_at, ledger_seq) "
                          "VALUES (:id, 'void', 'x', 'someone', :at, 1)"), {"id": other.id, "at": datetime(2026, 1, 1)})
    assert differences(app) == [f"code_states: {other.code} has no ledger entry"]


def test_a_row_unfrozen_behind_the_ledger_is_reported(app, world):
    change(app, world, "freeze")
    change(app, world, "unfreeze")
    with app.extensions["traceapp.db"].engine.begin() as conn:
        conn.execute(text("INSERT INTO code_states (batch_id, state, reason, changed_by, changed_at, ledger_seq) "
                          "VALUES (:id, 'frozen', 'x', 'someone', :at, 1)"),
                     {"id": world["batch"].id, "at": datetime(2026, 1, 1)})
    assert differences(app) == [f"code_states: {world['batch'].code} has no ledger entry"]


def test_the_commit_guard_refuses_a_state_row_without_an_entry(app, world):
    with app.app_context(), pytest.raises(UnrecordedWrite), db.write_session() as s:
        s.add(CodeState(batch_id=world["batch"].id, state="frozen", reason="x", changed_by="x",
                        changed_at=datetime(2026, 1, 1), ledger_seq=0))
    with app.app_context():
        assert count(CodeState) == 0


# -- the API -----------------------------------------------------------------------------------

def auth(world, who: str) -> dict:
    return {"Authorization": f"Bearer {world['tokens'][who]}"}


def test_the_api_freezes_unfreezes_and_voids(app, client, world):
    code = world["batch"].code
    frozen = client.post(f"{API}/batches/{code.lower()}/freeze", json={"reason": "核查中"},
                         headers=auth(world, "producer"))
    assert frozen.status_code == 200, frozen.get_data(as_text=True)
    body = frozen.get_json()
    assert (body["code"], body["state"], body["reason"]) == (code, "frozen", "核查中") and body["changed_at"]
    active = client.post(f"{API}/batches/{code}/unfreeze", json={"reason": "核查完毕"},
                         headers=auth(world, "regulator"))
    assert active.status_code == 200
    assert active.get_json() == {"code": code, "state": "active", "reason": None, "changed_at": None}
    void = client.post(f"{API}/batches/{code}/void", json={"reason": "标签被冒用"}, headers=auth(world, "admin"))
    assert (void.status_code, void.get_json()["state"]) == (200, "void")
    assert [e["kind"] for e in entries(app)[-3:]] == ["code.frozen", "code.unfrozen", "code.voided"]
    assert differences(app) == []


@pytest.mark.parametrize("path,who,body,status,error,field", [
    ("freeze", "rival", {"reason": "x"}, 403, "forbidden", None),
    ("void", "inspector", {"reason": "x"}, 403, "forbidden", None),
    ("freeze", "producer", {}, 400, "invalid_input", "reason"),
    ("void", "producer", {"reason": ""}, 400, "invalid_input", "reason"),
    ("unfreeze", "producer", {"reason": "x"}, 409, "conflict", None),
    ("freeze", None, {"reason": "x"}, 401, "unauthorized", None),
])
def test_api_errors_name_the_problem_and_write_nothing(app, client, world, path, who, body, status, error, field):
    size = len(entries(app))
    headers = auth(world, who) if who else {}
    response = client.post(f"{API}/batches/{world['batch'].code}/{path}", json=body, headers=headers)
    assert response.status_code == status and response.get_json()["error"]["code"] == error
    if field:
        assert field in response.get_json()["error"]["fields"]
    assert len(entries(app)) == size and state_of(app, world)["state"] == "active"


def test_api_unknown_code_is_404_and_void_is_final(app, client, world):
    missing = client.post(f"{API}/batches/NOSUCHCODE/freeze", json={"reason": "x"}, headers=auth(world, "admin"))
    assert missing.status_code == 404
    code = world["batch"].code
    voided = client.post(f"{API}/batches/{code}/void", json={"reason": "x"}, headers=auth(world, "producer"))
    assert voided.status_code == 200
    again = client.post(f"{API}/batches/{code}/freeze", json={"reason": "x"}, headers=auth(world, "regulator"))
    assert again.status_code == 409 and "已作废" in again.get_json()["error"]["message"]
    english = client.post(f"{API}/batches/{code}/void", json={"reason": "x"},
                          headers={**auth(world, "regulator"), "Accept-Language": "en"})
    assert english.status_code == 409 and "final" in english.get_json()["error"]["message"]


def test_the_openapi_document_describes_the_code_state_endpoints(client):
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]
    for action in ("freeze", "unfreeze", "void"):
        operation = paths[f"/batches/{{code}}/{action}"]["post"]
        assert set(operation["responses"]) >= {"200", "400", "401", "403", "404", "409"}
        assert operation["requestBody"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ReasonIn"}


# -- the tablet UI -----------------------------------------------------------------------------

def log_in(app, client, role: str, org_id: int | None) -> str:
    with app.app_context(), db.write_session() as s:
        user = make_user(s, role, org_id)
    page = client.get("/login")
    token = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"csrf_token": token, "username": user.username, "password": "password-123"})
    assert response.status_code == 302, response.get_data(as_text=True)
    return user.username


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', html).group(1)


@pytest.fixture
def ui_app(app):
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def test_the_batch_page_offers_the_forms_and_they_write_through_the_service(ui_app, world):
    app, client, code = ui_app, ui_app.test_client(), world["batch"].code
    log_in(app, client, "producer", world["producer_org"].id)
    page = client.get(f"/batches/{code}")
    assert page.status_code == 200 and "追溯码状态" in page.text
    assert f"/batches/{code}/code-state/freeze" in page.text and f"/batches/{code}/code-state/void" in page.text
    assert "/code-state/unfreeze" not in page.text
    token = csrf_token(page.text)
    done = client.post(f"/batches/{code}/code-state/freeze", data={"csrf_token": token, "reason": "核查中",
                                                                   "confirm": "1"})
    assert done.status_code == 303 and done.location.endswith(f"/batches/{code}#code-state")
    assert state_of(app, world)["state"] == "frozen"
    page = client.get(f"/batches/{code}")
    assert "已冻结" in page.text and "核查中" in page.text and "/code-state/unfreeze" in page.text
    assert "/code-state/freeze\"" not in page.text


def test_a_form_without_a_reason_comes_back_with_the_error_and_writes_nothing(ui_app, world):
    app, client, code = ui_app, ui_app.test_client(), world["batch"].code
    log_in(app, client, "regulator", None)
    token = csrf_token(client.get(f"/batches/{code}").text)
    size = len(entries(app))
    response = client.post(f"/batches/{code}/code-state/void", data={"csrf_token": token, "reason": " "})
    assert response.status_code == 400 and "reason" in response.text and 'aria-invalid="true"' in response.text
    assert len(entries(app)) == size and state_of(app, world)["state"] == "active"
    no_csrf = client.post(f"/batches/{code}/code-state/void", data={"reason": "x"})
    assert no_csrf.status_code == 400 and len(entries(app)) == size


def test_others_see_the_state_but_no_forms_and_may_not_post(ui_app, world):
    app, client, code = ui_app, ui_app.test_client(), world["batch"].code
    change(app, world, "void", reason="标签被冒用")
    log_in(app, client, "producer", world["rival_org"].id)
    page = client.get(f"/batches/{code}")
    assert "已作废" in page.text and "标签被冒用" in page.text and "/code-state/" not in page.text
    size = len(entries(app))
    response = client.post(f"/batches/{code}/code-state/freeze", data={"csrf_token": csrf_token(page.text),
                                                                       "reason": "x"})
    assert response.status_code == 403 and len(entries(app)) == size
    assert client.get(f"/batches/{code}/code-state/explode").status_code == 404
