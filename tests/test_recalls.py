"""Recalls with forward and backward trace on a pooled-and-processed graph with a diamond: farm F feeds
packing lots P1 and P2 (P2 also takes farm G), both are merged into lot M, M is handed over to a processor
and processed into X, and U is unrelated. One ``batch.recalled`` entry per affected batch, the banner on
every affected consumer page and on the producer's home page, lifting with a reason, the regulator's pages
and the API. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import event, func, select

from tests.factories import count, make_batch, make_user, make_world
from traceapp import db
from traceapp.auth.services import issue_token
from traceapp.errors import Conflict, Forbidden
from traceapp.ledger.store import LedgerEntry
from traceapp.records.lineage import walk
from traceapp.records.recalls import lift_recall, recall_batch, recall_status, recalled_batches_of
from traceapp.records.services import get_batch
from traceapp.records.trace import trace
from traceapp.records.transfers import transfer_batch
from traceapp.validation import InvalidInput

API = "/api/v1"
PASSWORD = "password-123"
REASON = "抽检发现毒死蜱残留超标"
AFFECTED = ("F", "P1", "P2", "M", "X")


@pytest.fixture
def world(app):
    """The graph, registered through the services (X by another organization, a processor), with users that
    can log in and API tokens."""
    with app.app_context(), db.write_session() as s:
        world = make_world(s)
        world["reg_ui"] = make_user(s, "regulator", name="reg_ui", password=PASSWORD)
        world["producer_ui"] = make_user(s, "producer", world["producer_org"].id, name="producer_ui",
                                         password=PASSWORD)
        world["rival_ui"] = make_user(s, "producer", world["rival_org"].id, name="rival_ui", password=PASSWORD)
        world["tokens"] = {name: issue_token(s, world[name].username)
                           for name in ("producer", "rival", "inspector", "admin", "regulator")}
        producer = world["producer"]
        batches = world["batches"] = {}
        batches["F"] = make_batch(s, producer, quantity="1000", base="九龙村基地")
        batches["G"] = make_batch(s, producer, quantity="500", base="梨树洲基地")
        batches["U"] = make_batch(s, producer, quantity="300")
        s.flush()
        batches["P1"] = make_batch(s, producer, quantity="400", inputs=[{"code": batches["F"].code,
                                                                         "quantity": "400"}])
        batches["P2"] = make_batch(s, producer, quantity="700", inputs=[
            {"code": batches["F"].code, "quantity": "500"}, {"code": batches["G"].code, "quantity": "200"}])
        s.flush()
        batches["M"] = make_batch(s, producer, quantity="700", inputs=[
            {"code": batches["P1"].code, "quantity": "300"}, {"code": batches["P2"].code, "quantity": "400"}])
        s.flush()
        transfer_batch(s, batches["M"], {"to": world["rival_org"].id, "quantity": "600"}, user=producer)
        batches["X"] = make_batch(s, world["rival"], product="黄桃罐头", category="processed", quantity="600",
                                  inputs=[{"code": batches["M"].code, "quantity": "600"}])
        world["codes"] = {name: b.code for name, b in batches.items()}
        return world


def codes(world, *names: str) -> list[str]:
    return [world["codes"][n] for n in names]


def ledger_size(app) -> int:
    with app.app_context():
        return count(LedgerEntry)


def recall_entries(app) -> list[dict]:
    with app.app_context(), db.database().sessions() as s:
        return [json.loads(body) for body in s.scalars(select(LedgerEntry.body).where(
            LedgerEntry.kind.in_(("batch.recalled", "batch.recall_lifted"))).order_by(LedgerEntry.seq))]


def run(app, fn):
    """Run ``fn(session)`` in one write transaction, committed when it returns."""
    with app.app_context(), db.write_session() as s:
        return fn(s)


def recall(app, world, name: str, who: str = "regulator", **data):
    return run(app, lambda s: recall_batch(s, get_batch(s, world["codes"][name]), {"reason": REASON, **data},
                                           user=world[who]))


def names_of(world, codes_: list[str]) -> list[str]:
    by_code = {code: name for name, code in world["codes"].items()}
    return [by_code[c] for c in codes_]


def shape(node: dict, world) -> tuple:
    """(name, input_quantity, (children…)) of a trace node, for comparing whole trees."""
    return (names_of(world, [node["code"]])[0], node["input_quantity"],
            tuple(sorted(shape(child, world) for child in node["children"])))


# -- trace -------------------------------------------------------------------------------------

def test_forward_trace_reaches_every_downstream_batch_with_the_diamond_under_each_parent(app, world):
    with app.app_context():
        session = db.session()
        tree = trace(session, get_batch(session, world["codes"]["F"]), "forward")
    x = ("X", "600", ())
    assert shape(tree, world) == ("F", None, tuple(sorted((
        ("P1", "400", (("M", "300", (x,)),)),
        ("P2", "500", (("M", "400", (x,)),)),
    ))))
    assert tree["truncated"] is False
    assert (tree["product"], tree["quantity"], tree["unit"], tree["harvest_date"], tree["recalled"]) == (
        "黄桃", "1000", "kg", "2026-08-01", False)
    assert tree["producer"] == "producer组织" and tree["origin"].endswith("炎陵县")
    assert tree["origin_region"] == "430225"


def test_the_trace_reads_one_select_per_level_and_fetches_the_diamond_once(app, world):
    with app.app_context():
        session = db.session()
        farm = get_batch(session, world["codes"]["F"])
        statements: list[str] = []
        engine = session.get_bind()

        def record(_conn, _cursor, statement, *_args):
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        try:
            lineage = walk(session, farm, "forward")
        finally:
            event.remove(engine, "before_cursor_execute", record)
    # P1 and P2, then M (reached along both, fetched once), then X, then an empty level.
    assert [[b.code for b in level] for level in lineage.levels] == [
        sorted(codes(world, "P1", "P2")), codes(world, "M"), codes(world, "X")]
    assert len([s for s in statements if "batch_inputs" in s]) == 4
    assert len(statements) == 4


def test_backward_trace_from_the_processed_product_reaches_both_farms(app, world):
    with app.app_context():
        session = db.session()
        tree = trace(session, get_batch(session, world["codes"]["X"]), "backward")
    assert shape(tree, world) == ("X", None, (("M", "600", tuple(sorted((
        ("P1", "300", (("F", "400", ()),)),
        ("P2", "400", tuple(sorted((("F", "500", ()), ("G", "200", ()))))),
    )))),))
    assert tree["producer"] == "rival组织" and tree["product"] == "黄桃罐头"


def test_a_depth_limit_cuts_the_tree_and_a_farm_has_no_upstream(app, world):
    with app.app_context():
        session = db.session()
        cut = trace(session, get_batch(session, world["codes"]["F"]), "forward", max_depth=1)
        farm = trace(session, get_batch(session, world["codes"]["F"]), "backward")
        with pytest.raises(ValueError):
            trace(session, get_batch(session, world["codes"]["F"]), "sideways")
    assert sorted(c["code"] for c in cut["children"]) == sorted(codes(world, "P1", "P2"))
    assert all(c["children"] == [] for c in cut["children"])
    assert farm["children"] == []


# -- recall ------------------------------------------------------------------------------------

def test_a_downstream_recall_appends_one_entry_per_affected_batch_and_marks_every_consumer_page(app, client, world):
    before = ledger_size(app)
    recalled = recall(app, world, "F", scope="downstream")
    assert [b.code for b in recalled] == [world["codes"]["F"], *sorted(codes(world, "P1", "P2")),
                                          *codes(world, "M", "X")]
    assert ledger_size(app) == before + 5
    entries = recall_entries(app)
    assert sorted(e["subject"] for e in entries) == sorted(f"batch:{c}" for c in codes(world, *AFFECTED))
    origin = f"batch:{world['codes']['F']}"
    for entry in entries:
        assert entry["kind"] == "batch.recalled"
        assert entry["data"] == {"reason": REASON, "scope": "downstream", "origin": origin}
        assert entry["actor"]["user"] == f"user:{world['regulator'].id}" and entry["ts"].endswith("Z")
    for name in AFFECTED:
        page = client.get(f"/t/{world['codes'][name]}")
        assert page.status_code == 200 and 'id="recall-banner"' in page.text and REASON in page.text, name
    for name in ("G", "U"):
        assert 'id="recall-banner"' not in client.get(f"/t/{world['codes'][name]}").text, name
    with app.app_context():
        session = db.session()
        tree = trace(session, get_batch(session, world["codes"]["X"]), "backward")
    assert tree["recalled"] and tree["children"][0]["recalled"]
    farms = [f for p in tree["children"][0]["children"] for f in p["children"]]
    assert {(f["code"], f["recalled"]) for f in farms} == {(world["codes"]["F"], True), (world["codes"]["G"], False)}


def test_a_batch_scope_recall_marks_only_that_batch(app, client, world):
    before = ledger_size(app)
    assert [b.code for b in recall(app, world, "F")] == codes(world, "F")  # scope defaults to batch
    assert ledger_size(app) == before + 1
    assert recall_entries(app)[0]["data"] == {"reason": REASON, "scope": "batch",
                                              "origin": f"batch:{world['codes']['F']}"}
    assert 'id="recall-banner"' in client.get(f"/t/{world['codes']['F']}").text
    for name in ("P1", "P2", "M", "X"):  # not recalled themselves; their banner names the recalled source
        banner = client.get(f"/t/{world['codes'][name]}").text.split('id="recall-banner"')[1].split("</div>")[0]
        assert "本批次已被召回" not in banner and world["codes"]["F"] in banner, name
    assert 'id="recall-banner"' not in client.get(f"/t/{world['codes']['U']}").text


@pytest.mark.parametrize("who", ["producer", "rival", "inspector", "certifier"])
def test_only_regulators_and_admins_recall_and_a_refusal_writes_nothing(app, world, who):
    before = ledger_size(app)
    with pytest.raises(Forbidden):
        recall(app, world, "F", who=who, scope="downstream")
    assert ledger_size(app) == before and recall_entries(app) == []


def test_an_admin_may_recall(app, world):
    assert [b.code for b in recall(app, world, "M", who="admin", scope="downstream")] == codes(world, "M", "X")


@pytest.mark.parametrize(("data", "field"), [({"reason": ""}, "reason"), ({"reason": "  "}, "reason"),
                                             ({"reason": "x" * 501}, "reason"),
                                             ({"reason": REASON, "scope": "everything"}, "scope"),
                                             ({"reason": REASON, "scope": ["batch"]}, "scope")])
def test_a_missing_reason_or_an_unknown_scope_is_refused_naming_the_field(app, world, data, field):
    before = ledger_size(app)
    with pytest.raises(InvalidInput) as caught:
        run(app, lambda s: recall_batch(s, get_batch(s, world["codes"]["F"]), data, user=world["regulator"]))
    assert field in caught.value.fields
    assert ledger_size(app) == before


def test_batches_already_recalled_are_skipped_and_a_recall_with_nothing_new_is_a_conflict(app, world):
    recall(app, world, "M")
    with pytest.raises(Conflict):
        recall(app, world, "M")
    again = recall(app, world, "F", scope="downstream")
    assert [b.code for b in again] == [world["codes"]["F"], *sorted(codes(world, "P1", "P2")), world["codes"]["X"]]
    before = ledger_size(app)
    with pytest.raises(Conflict):
        recall(app, world, "P1", scope="downstream")
    assert ledger_size(app) == before


def test_a_recall_is_lifted_only_with_a_reason_by_a_regulator(app, client, world):
    recall(app, world, "F", scope="downstream")
    farm = world["codes"]["F"]

    def lift(data, who="regulator"):
        return run(app, lambda s: lift_recall(s, get_batch(s, farm), data, user=world[who]))

    before = ledger_size(app)
    with pytest.raises(InvalidInput) as caught:
        lift({"reason": ""})
    assert "reason" in caught.value.fields
    with pytest.raises(Forbidden):
        lift({"reason": "复检合格"}, who="producer")
    assert ledger_size(app) == before
    lifted = lift({"reason": "复检合格"})
    assert lifted["batch"] == farm and lifted["reason"] == "复检合格"
    entry = recall_entries(app)[-1]
    assert (entry["kind"], entry["subject"], entry["data"], entry["seq"]) == (
        "batch.recall_lifted", f"batch:{farm}", {"reason": "复检合格"}, lifted["seq"])
    assert 'id="recall-banner"' not in client.get(f"/t/{farm}").text
    assert 'id="recall-banner"' in client.get(f"/t/{world['codes']['P1']}").text  # lifted for F only
    with pytest.raises(Conflict):
        lift({"reason": "复检合格"})
    with app.app_context():
        session = db.session()
        assert recall_status(session, get_batch(session, farm)) is None
    assert [b.code for b in recall(app, world, "F")] == [farm]  # and it can be recalled again


def test_the_producers_recalled_batches_are_listed_newest_recall_first(app, world):
    recall(app, world, "P1", scope="downstream")
    recall(app, world, "U")
    with app.app_context():
        session = db.session()
        mine = recalled_batches_of(session, world["producer_org"].id)
        theirs = recalled_batches_of(session, world["rival_org"].id)
        assert recalled_batches_of(session, world["inspector_org"].id) == []
        assert recalled_batches_of(session, None) == []
    assert [r["code"] for r in mine] == codes(world, "U", "M", "P1")
    assert mine[0]["reason"] == REASON and mine[0]["scope"] == "batch" and mine[1]["scope"] == "downstream"
    assert [r["code"] for r in theirs] == codes(world, "X")


def test_ledger_verify_passes_after_recalls_and_lifts(app, world):
    recall(app, world, "F", scope="downstream")
    run(app, lambda s: lift_recall(s, get_batch(s, world["codes"]["X"]), {"reason": "已销毁"},
                                   user=world["regulator"]))
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output


def test_the_demo_recall_goes_through_the_service_and_verifies(demo):
    app = demo
    runner = app.test_cli_runner()
    [entry] = recall_entries(app)
    assert entry["data"] == {"reason": "抽检农药残留超标", "scope": "batch", "origin": entry["subject"]}
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output


# -- pages -------------------------------------------------------------------------------------

def log_in(client, username: str) -> str:
    """Log in through the form; return a CSRF token for later posts."""
    page = client.get("/login")
    token = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"csrf_token": token, "username": username, "password": PASSWORD})
    assert response.status_code == 302
    return re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', client.get("/home").text).group(1)


def test_the_producer_sees_the_recall_banner_on_their_home_page(app, world):
    client = app.test_client()
    log_in(client, "producer_ui")
    assert 'id="recall-banner"' not in client.get("/home").text
    recall(app, world, "P2", scope="downstream")
    home = client.get("/home").text
    assert 'id="recall-banner"' in home and REASON in home
    banner = home.split('id="recall-banner"')[1].split("</div>")[0]
    assert set(re.findall(r"<code>([A-Z0-9]+)</code>", banner)) == set(codes(world, "P2", "M"))
    other = app.test_client()
    log_in(other, "rival_ui")
    banner = other.get("/home").text.split('id="recall-banner"')[1].split("</div>")[0]
    assert re.findall(r"<code>([A-Z0-9]+)</code>", banner) == codes(world, "X")


def test_a_regulator_sees_both_trees_recalls_through_the_form_and_gets_the_list(app, world):
    client = app.test_client()
    token = log_in(client, "reg_ui")
    farm = world["codes"]["F"]
    assert f'href="/batches/{farm}/recall"' in client.get(f"/batches/{farm}").text
    page = client.get(f"/batches/{world['codes']['M']}/recall")
    assert page.status_code == 200
    forward = page.text.split('id="trace-forward"')[1].split("</section>")[0]
    backward = page.text.split('id="trace-backward"')[1].split("</section>")[0]
    assert world["codes"]["X"] in forward and farm not in forward
    assert all(c in backward for c in codes(world, "P1", "P2", "F", "G")) and world["codes"]["X"] not in backward
    assert backward.count(f"<code>{farm}</code>") == 2  # the diamond, under each packing lot

    before = ledger_size(app)
    bad = client.post(f"/batches/{farm}/recall", data={"csrf_token": token, "reason": "", "scope": "downstream"})
    assert bad.status_code == 400 and 'id="e-reason"' in bad.text
    assert ledger_size(app) == before
    asked = client.post(f"/batches/{farm}/recall", data={"csrf_token": token, "reason": REASON,
                                                         "scope": "downstream"})
    assert asked.status_code == 200 and 'id="confirm-form"' in asked.text and ledger_size(app) == before
    done = client.post(f"/batches/{farm}/recall", data={"csrf_token": token, "reason": REASON,
                                                        "scope": "downstream", "confirm": "1"})
    assert done.status_code == 303
    listed = client.get(done.location)
    assert listed.status_code == 200 and REASON in listed.text
    shown = re.findall(r"<code>([A-Z0-9]+)</code>", listed.text.split('id="recalled-batches"')[1])
    assert sorted(shown) == sorted(codes(world, *AFFECTED))
    assert ledger_size(app) == before + 5
    again = client.post(f"/batches/{farm}/recall", data={"csrf_token": token, "reason": REASON, "scope": "batch"})
    assert again.status_code == 409 and ledger_size(app) == before + 5
    assert 'id="recall-status"' in client.get(f"/batches/{farm}/recall").text

    lifted = client.post(f"/batches/{farm}/recall/lift", data={"csrf_token": token, "reason": "复检合格"})
    assert lifted.status_code == 303 and ledger_size(app) == before + 6
    assert 'id="recall-status"' not in client.get(f"/batches/{farm}/recall").text
    missing = client.post(f"/batches/{farm}/recall/lift", data={"csrf_token": token, "reason": ""})
    assert missing.status_code == 400 and ledger_size(app) == before + 6


def test_recall_pages_are_for_regulators_only(app, world):
    client = app.test_client()
    token = log_in(client, "producer_ui")
    farm = world["codes"]["F"]
    assert "/recall" not in client.get(f"/batches/{farm}").text
    assert client.get(f"/batches/{farm}/recall").status_code == 403
    before = ledger_size(app)
    response = client.post(f"/batches/{farm}/recall", data={"csrf_token": token, "reason": REASON})
    assert response.status_code == 403 and ledger_size(app) == before
    assert client.post(f"/batches/{farm}/recall/lift", data={"csrf_token": token, "reason": "x"}).status_code == 403
    assert app.test_client().get(f"/batches/{farm}/recall").status_code == 302  # to the login page
    reg = app.test_client()
    log_in(reg, "reg_ui")
    assert reg.get("/batches/ZZZZZZZZZZZZZ/recall").status_code == 404


# -- API ---------------------------------------------------------------------------------------

def auth(world, who: str) -> dict:
    return {"Authorization": f"Bearer {world['tokens'][who]}"}


def assert_error(response, status: int, code: str, field: str | None = None) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"]
    if field is not None:
        assert field in error["fields"], error


def test_the_api_recalls_downstream_traces_both_ways_and_lifts(app, client, world):
    farm = world["codes"]["F"]
    response = client.post(f"{API}/batches/{farm.lower()}/recall", json={"reason": REASON, "scope": "downstream"},
                           headers=auth(world, "regulator"))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json() == {"batch": farm, "scope": "downstream", "reason": REASON,
                                   "recalled": [farm, *sorted(codes(world, "P1", "P2")), *codes(world, "M", "X")]}
    forward = client.get(f"{API}/batches/{farm}/trace?direction=forward", headers=auth(world, "producer"))
    assert forward.status_code == 200
    body = forward.get_json()
    assert (body["batch"], body["direction"], body["truncated"]) == (farm, "forward", False)
    assert shape(body["tree"], world)[0] == "F" and body["tree"]["recalled"] is True
    assert len(body["tree"]["children"]) == 2
    backward = client.get(f"{API}/batches/{world['codes']['X']}/trace?direction=backward",
                          headers=auth(world, "inspector")).get_json()
    [m] = backward["tree"]["children"]
    assert (m["code"], m["input_quantity"], m["recalled"]) == (world["codes"]["M"], "600", True)
    lifted = client.post(f"{API}/batches/{farm}/recall/lift", json={"reason": "复检合格"},
                         headers=auth(world, "admin"))
    assert lifted.status_code == 200
    assert lifted.get_json()["batch"] == farm and lifted.get_json()["reason"] == "复检合格"
    assert client.get(f"{API}/batches/{farm}/trace?direction=forward&depth=1",
                      headers=auth(world, "producer")).get_json()["tree"]["recalled"] is False


def test_api_errors_are_clear_and_write_nothing(app, client, world):
    farm, unknown = world["codes"]["F"], "ZZZZZZZZZZZZZ"
    before = ledger_size(app)
    recall_url, lift_url = f"{API}/batches/{farm}/recall", f"{API}/batches/{farm}/recall/lift"
    body = {"reason": REASON}
    assert_error(client.post(recall_url, json=body), 401, "unauthorized")
    assert_error(client.get(f"{API}/batches/{farm}/trace?direction=forward"), 401, "unauthorized")
    for who in ("producer", "inspector"):
        assert_error(client.post(recall_url, json=body, headers=auth(world, who)), 403, "forbidden")
    assert_error(client.post(recall_url, json={"reason": ""}, headers=auth(world, "regulator")), 400,
                 "invalid_input", "reason")
    assert_error(client.post(recall_url, json={**body, "scope": "all"}, headers=auth(world, "regulator")), 400,
                 "invalid_input", "scope")
    for query in ("", "?direction=sideways", "?direction="):
        assert_error(client.get(f"{API}/batches/{farm}/trace{query}", headers=auth(world, "regulator")), 400,
                     "invalid_field", "direction")
    assert_error(client.get(f"{API}/batches/{farm}/trace?direction=forward&depth=0",
                            headers=auth(world, "regulator")), 400, "invalid_field", "depth")
    assert_error(client.post(f"{API}/batches/{unknown}/recall", json=body, headers=auth(world, "regulator")),
                 404, "not_found")
    assert_error(client.post(f"{API}/batches/{unknown}/recall/lift", json=body, headers=auth(world, "regulator")),
                 404, "not_found")
    assert_error(client.get(f"{API}/batches/{unknown}/trace?direction=forward", headers=auth(world, "regulator")),
                 404, "not_found")
    assert_error(client.post(lift_url, json=body, headers=auth(world, "regulator")), 409, "conflict")
    assert ledger_size(app) == before
    assert client.post(recall_url, json=body, headers=auth(world, "regulator")).status_code == 201
    assert_error(client.post(recall_url, json=body, headers=auth(world, "regulator")), 409, "conflict")
    assert_error(client.post(lift_url, json=body, headers=auth(world, "producer")), 403, "forbidden")
    assert ledger_size(app) == before + 1
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(LedgerEntry)
                                   .where(LedgerEntry.kind == "batch.recalled")) == 1
