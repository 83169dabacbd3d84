"""Transfers and the one quantity rule (issue 22, item 6): another organization's batch is an input
only after its producer handed that quantity over (``batch.transferred``); what a batch has given to
inputs, transfers and 合格证 never exceeds its quantity, at registration, 合格证, transfer and
correction alike; ``ledger verify`` re-derives the transfers; the trace follows them; the API and the
batch page make them. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from tests.factories import (
    count,
    make_batch,
    make_compliance,
    make_user,
    make_world,
    projection_differences,
)
from traceapp import db
from traceapp.auth.services import issue_token
from traceapp.errors import Forbidden, Rejected
from traceapp.ledger.store import LedgerEntry
from traceapp.records.corrections import correct_batch
from traceapp.records.models import Batch, BatchInput, BatchTransfer
from traceapp.records.services import get_batch, remaining
from traceapp.records.trace import trace
from traceapp.records.transfers import transfer_batch
from traceapp.validation import InvalidInput

API = "/api/v1"
PASSWORD = "password-123"


@pytest.fixture
def world(app):
    """make_world's users and tokens; ``farm``: 1000 kg of the producer's; ``producer_ui`` can log in."""
    with app.app_context(), db.write_session() as s:
        world = make_world(s)
        world["producer_ui"] = make_user(s, "producer", world["producer_org"].id, name="producer_ui",
                                         password=PASSWORD)
        world["tokens"] = {name: issue_token(s, world[name].username) for name in ("producer", "rival")}
        world["farm"] = make_batch(s, world["producer"], quantity="1000").code
        return world


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', html).group(1)


def log_in(client, username: str) -> None:
    token = csrf_token(client.get("/login").text)
    response = client.post("/login", data={"csrf_token": token, "username": username, "password": PASSWORD})
    assert response.status_code == 302


def run(app, fn):
    with app.app_context(), db.write_session() as s:
        return fn(s)


def ledger_size(app) -> int:
    with app.app_context():
        return count(LedgerEntry)


def hand_over(app, world, quantity: str, who: str = "producer", to: str = "rival_org"):
    return run(app, lambda s: transfer_batch(s, get_batch(s, world["farm"]),
                                             {"to": world[to].id, "quantity": quantity}, user=world[who]))


def use(app, world, who: str, quantity: str, code: str | None = None, **overrides):
    return run(app, lambda s: make_batch(s, world[who], quantity=quantity,
                                         inputs=[{"code": code or world["farm"], "quantity": quantity}], **overrides))


def test_another_organizations_batch_is_refused_as_input_until_handed_over(app, world):
    before = ledger_size(app)
    with pytest.raises(Rejected) as info:
        use(app, world, "rival", "10")
    assert info.value.status == 422 and "inputs[0].code" in info.value.fields
    assert "转交" in info.value.message and world["farm"] in info.value.message
    assert ledger_size(app) == before
    with app.app_context():
        assert count(BatchInput) == 0


def test_a_receiver_uses_up_to_what_was_handed_over_and_the_sender_keeps_the_rest(app, world):
    hand_over(app, world, "300")
    use(app, world, "rival", "200")
    with pytest.raises(InvalidInput) as info:
        use(app, world, "rival", "101")
    assert "只剩 100" in info.value.fields["inputs[0].quantity"]
    use(app, world, "rival", "100")
    with pytest.raises(InvalidInput) as info:  # the sender's own use: 1000 less the 300 handed over
        use(app, world, "producer", "701")
    assert "只剩 700" in info.value.fields["inputs[0].quantity"]
    use(app, world, "producer", "700")
    with app.app_context(), db.database().sessions() as s:
        assert remaining(s, get_batch(s, world["farm"])) == Decimal(0)
    with app.app_context():
        assert projection_differences() == []


def test_the_transfer_entry_names_sender_receiver_and_quantity(app, world):
    row = hand_over(app, world, "250.5")
    with app.app_context(), db.database().sessions() as s:
        entry = json.loads(s.scalar(select(LedgerEntry.body).where(LedgerEntry.seq == row.ledger_seq)))
    assert (entry["kind"], entry["subject"]) == ("batch.transferred", f"batch:{world['farm']}")
    assert entry["data"] == {"batch": world["farm"], "from": f"org:{world['producer_org'].id}",
                             "to": f"org:{world['rival_org'].id}", "quantity": "250.5", "unit": "kg"}


@pytest.mark.parametrize(("who", "to", "quantity", "error", "field"), [
    ("rival", "rival_org", "10", Forbidden, None),  # only the sender's staff hand a batch over
    ("producer", "producer_org", "10", InvalidInput, "to"),  # not to itself
    ("producer", "inspector_org", "10", InvalidInput, "to"),  # only producers receive batches
    ("producer", "rival_org", "1000.001", InvalidInput, "quantity"),
])
def test_a_bad_transfer_is_refused_and_writes_nothing(app, world, who, to, quantity, error, field):
    before = ledger_size(app)
    with pytest.raises(error) as info:
        hand_over(app, world, quantity, who=who, to=to)
    if field:
        assert field in info.value.fields
        assert "to" not in info.value.message or field == "to"
    assert ledger_size(app) == before
    with app.app_context():
        assert count(BatchTransfer) == 0


def test_a_batch_fully_certified_cannot_also_be_an_input(app, world):
    """Registration took inputs up to the quantity less earlier inputs, ignoring the 合格证."""
    run(app, lambda s: make_compliance(s, world["producer"], get_batch(s, world["farm"]), quantity="1000"))
    with pytest.raises(InvalidInput) as info:
        use(app, world, "producer", "1")
    assert "只剩 0" in info.value.fields["inputs[0].quantity"]


def test_a_batch_used_as_input_cannot_also_be_fully_certified(app, world):
    """合格证 were issued up to the quantity less earlier 合格证, ignoring inputs and transfers."""
    use(app, world, "producer", "600")
    hand_over(app, world, "300")
    with pytest.raises(InvalidInput) as info:
        run(app, lambda s: make_compliance(s, world["producer"], get_batch(s, world["farm"]), quantity="101"))
    assert "100" in info.value.fields["quantity"]
    run(app, lambda s: make_compliance(s, world["producer"], get_batch(s, world["farm"]), quantity="100"))


def test_a_correction_may_not_go_below_what_was_given_and_may_go_above(app, world):
    hand_over(app, world, "300")
    use(app, world, "producer", "200")
    run(app, lambda s: make_compliance(s, world["producer"], get_batch(s, world["farm"]), quantity="400"))

    def correct(quantity):
        return run(app, lambda s: correct_batch(s, get_batch(s, world["farm"]),
                                                {"fields": {"quantity": quantity}, "reason": "复核称重"},
                                                user=world["producer"]))

    with pytest.raises(InvalidInput) as info:
        correct("899")
    assert "900" in info.value.fields["quantity"]
    correct("900")
    correct("1100")


def test_demo_batch_cy2_can_be_corrected_upward(app, demo):
    """The demo gave cy2 (990 kg) a 合格证 for all of it and 200 kg to the gift box: over-committed by
    200, so any quantity up to 1190 was refused; now its 合格证 cover 790 and the 200 are a transfer."""
    with app.app_context(), db.write_session() as s:
        cy2 = s.scalar(select(Batch).where(Batch.quantity == Decimal("990")))
        owner = s.scalar(select(BatchTransfer).where(BatchTransfer.batch_id == cy2.id))
        assert owner is not None and owner.quantity == Decimal("200")
        producer = next(u for u in _users(s) if u.organization_id == cy2.organization_id and u.role == "producer")
        correct_batch(s, cy2, {"fields": {"quantity": "1000"}, "reason": "复核称重后更正数量"}, user=producer)
    with app.app_context():
        assert projection_differences() == []


def _users(session):
    from traceapp.auth.models import User

    return session.scalars(select(User)).all()


def test_ledger_verify_re_derives_transfers(app, world):
    hand_over(app, world, "300")
    with app.app_context():
        assert projection_differences() == []
        with db.database().engine.begin() as conn:
            conn.execute(text("UPDATE batch_transfers SET quantity = 3000"))
        assert [line for line in projection_differences() if "batch_transfers" in line] == [
            f"batch_transfers: row 1 differs from entry {ledger_size(app) - 1} in quantity"]
        with db.database().engine.begin() as conn:
            conn.execute(text("DELETE FROM batch_transfers"))
        assert any("the transfer in entry" in line and "missing" in line for line in projection_differences())


def test_the_trace_follows_transfers_both_ways(app, world):
    hand_over(app, world, "300")
    canned = use(app, world, "rival", "200", product="黄桃罐头", category="processed").code
    with app.app_context(), db.database().sessions() as s:
        forward = trace(s, get_batch(s, world["farm"]), "forward")
        backward = trace(s, get_batch(s, canned), "backward")
    [handed] = forward["transfers"]
    assert (handed["to"], handed["to_name"], handed["quantity"]) == (world["rival_org"].id, "rival组织", "300")
    [child] = forward["children"]
    assert (child["code"], child["input_quantity"], child["transferred"]) == (canned, "200", "300")
    [source] = backward["children"]
    assert (source["code"], source["transferred"], source["transfers"][0]["quantity"]) == (world["farm"], "300", "300")


def test_the_api_makes_and_lists_transfers(app, world):
    client = app.test_client()
    headers = {"Authorization": f"Bearer {world['tokens']['producer']}"}
    url = f"{API}/batches/{world['farm']}/transfers"
    response = client.post(url, json={"to": world["rival_org"].id, "quantity": "300"}, headers=headers)
    assert response.status_code == 201, response.json
    assert response.json["to_name"] == "rival组织" and response.json["quantity"] == "300"
    listed = client.get(url, headers={"Authorization": f"Bearer {world['tokens']['rival']}"}).json
    assert [t["quantity"] for t in listed["items"]] == ["300"]
    refused = client.post(url, json={"to": world["rival_org"].id, "quantity": "300"},
                          headers={"Authorization": f"Bearer {world['tokens']['rival']}"})
    assert refused.status_code == 403
    too_much = client.post(url, json={"to": world["rival_org"].id, "quantity": "800"}, headers=headers)
    assert too_much.status_code == 400 and "quantity" in too_much.json["error"]["fields"]
    foreign = client.post(f"{API}/batches", json={
        "product": "黄桃", "category": "fruit", "quantity": "1", "unit": "kg", "harvest_date": "2026-08-01",
        "origin_region": "430225", "base": "基地", "inputs": [{"code": world["farm"], "quantity": "1"}]},
        headers=headers | {"Authorization": f"Bearer {world['tokens']['rival']}"})
    assert foreign.status_code == 201  # handed over now
    operation = client.get(f"{API}/openapi.json").json["paths"]["/batches/{code}/transfers"]["post"]
    assert set(operation["responses"]) == {"201", "400", "401", "403", "404", "409", "422"}


def test_the_batch_page_hands_a_batch_over(app, world):
    client = app.test_client()
    log_in(client, "producer_ui")
    page = client.get(f"/batches/{world['farm']}").text
    assert 'id="transfers"' in page and f"/batches/{world['farm']}/transfer" in page
    form = client.get(f"/batches/{world['farm']}/transfer")
    assert form.status_code == 200  # the receiver is found by typing, not read from a list of every producer
    assert re.search(r'data-picker="organization" data-name="to"', form.text) and "rival组织" not in form.text
    found = client.get("/pickers/organizations", query_string={"q": "rival", "kinds": "cooperative,enterprise,"
                                                                "family_farm,individual"}).get_json()["items"]
    assert world["rival_org"].id in [item["id"] for item in found]
    token = csrf_token(form.text)
    wanted = {"csrf_token": token, "to": str(world["rival_org"].id), "quantity": "5"}
    asked = client.post(f"/batches/{world['farm']}/transfer", data=wanted)  # it cannot be undone: asked first
    assert asked.status_code == 200 and 'id="confirm-form"' in asked.text
    assert "将 5 kg 转交给 rival组织。" in asked.text
    with app.app_context():
        assert count(BatchTransfer) == 0
    done = client.post(f"/batches/{world['farm']}/transfer", data={**wanted, "confirm": "1"})
    assert done.status_code == 303
    assert "rival组织" in client.get(f"/batches/{world['farm']}").text
    with app.app_context():
        assert count(BatchTransfer) == 1 and projection_differences() == []
