"""What a recall reaches (issue 22, item 5): a recalled, frozen or void batch is refused as an input, for
a new 合格证 and for label prints (422 naming the state and its reason, nothing written); the consumer page
of a batch made from a recalled batch, at any depth, warns of the recalled source, also when the page was
stored before the recall; the risk rule ``recalled_input`` lists what a recall of scope ``batch`` left
out. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.factories import count, make_batch, make_compliance, make_world
from traceapp import db
from traceapp.audit import risk
from traceapp.errors import Rejected
from traceapp.ledger.store import LedgerEntry
from traceapp.records.code_states import freeze_code, void_code
from traceapp.records.label_sheets import print_labels
from traceapp.records.recalls import lift_recall, recall_batch
from traceapp.records.services import get_batch

REASON = "抽检发现毒死蜱残留超标"


@pytest.fixture
def world(app):
    """The producer's farm F (1000 kg) pooled into P, P processed into X (a chain two deep), and G unrelated."""
    with app.app_context(), db.write_session() as s:
        world = make_world(s)
        producer = world["producer"]
        f = make_batch(s, producer, quantity="1000", base="九龙村基地")
        g = make_batch(s, producer, quantity="500")
        s.flush()
        p = make_batch(s, producer, quantity="400", inputs=[{"code": f.code, "quantity": "400"}])
        s.flush()
        x = make_batch(s, producer, product="黄桃罐头", category="processed", quantity="300",
                       inputs=[{"code": p.code, "quantity": "300"}])
        world["codes"] = {"F": f.code, "G": g.code, "P": p.code, "X": x.code}
        return world


def run(app, fn):
    with app.app_context(), db.write_session() as s:
        return fn(s)


def recall(app, world, name: str, scope: str = "batch"):
    return run(app, lambda s: recall_batch(s, get_batch(s, world["codes"][name]), {"reason": REASON, "scope": scope},
                                           user=world["regulator"]))


def ledger_size(app) -> int:
    with app.app_context():
        return count(LedgerEntry)


def refused(app, fn) -> Rejected:
    before = ledger_size(app)
    with pytest.raises(Rejected) as info:
        run(app, fn)
    assert info.value.status == 422 and ledger_size(app) == before
    return info.value


def test_a_recalled_batch_is_refused_as_input_naming_the_recall_and_its_reason(app, world):
    recall(app, world, "F")
    for who in ("producer", "admin"):
        error = refused(app, lambda s, who=who: make_batch(s, world[who], quantity="10", organization=world[
            "producer_org"].id, inputs=[{"code": world["codes"]["F"], "quantity": "10"}]))
        assert "召回" in error.message and REASON in error.message and world["codes"]["F"] in error.message
        assert "inputs[0].code" in error.fields


@pytest.mark.parametrize(("change", "word"), [(freeze_code, "冻结"), (void_code, "作废")])
def test_a_frozen_or_void_batch_is_refused_as_input(app, world, change, word):
    run(app, lambda s: change(s, get_batch(s, world["codes"]["G"]), {"reason": "包装破损，核查中"},
                              user=world["producer"]))
    error = refused(app, lambda s: make_batch(s, world["producer"], quantity="10",
                                              inputs=[{"code": world["codes"]["G"], "quantity": "10"}]))
    assert word in error.message and "包装破损，核查中" in error.message


def test_a_recalled_batch_gets_no_new_compliance_certificate_nor_labels(app, world):
    recall(app, world, "G")
    error = refused(app, lambda s: make_compliance(s, world["producer"], get_batch(s, world["codes"]["G"])))
    assert "召回" in error.message and REASON in error.message
    error = refused(app, lambda s: print_labels(s, get_batch(s, world["codes"]["G"]),
                                                {"labels": 10, "package_quantity": "5", "layout": "a4-24"},
                                                user=world["producer"]))
    assert "召回" in error.message and REASON in error.message


def test_the_api_answers_a_recalled_input_with_422(app, world):
    from traceapp.auth.services import issue_token

    token = run(app, lambda s: issue_token(s, world["producer"].username))
    recall(app, world, "F")
    response = app.test_client().post("/api/v1/batches", headers={"Authorization": f"Bearer {token}"}, json={
        "product": "黄桃", "category": "fruit", "quantity": "1", "unit": "kg", "harvest_date": "2026-08-01",
        "origin_region": "430225", "base": "基地", "inputs": [{"code": world["codes"]["F"], "quantity": "1"}]})
    assert response.status_code == 422 and REASON in response.json["error"]["message"]


def test_the_consumer_page_of_a_batch_made_from_a_recalled_batch_warns_at_any_depth(app, world):
    client = app.test_client()
    recall(app, world, "F")
    page = client.get(f"/t/{world['codes']['X']}").text
    banner = page.split('id="recall-banner"')[1].split("</div>")[0]
    assert world["codes"]["F"] in banner and "原料批次" in banner and REASON in banner
    assert "本批次已被召回" not in banner  # X itself is not recalled: the wording names its source
    data = client.get(f"/t/{world['codes']['X']}.json").json
    assert data["recall"] is None
    assert [(r["code"], r["reason"]) for r in data["recalled_sources"]] == [(world["codes"]["F"], REASON)]
    [p] = data["sources"]
    assert not p["recalled"] and p["sources"][0]["recalled"]
    assert 'id="recall-banner"' not in client.get(f"/t/{world['codes']['G']}").text


def test_a_recall_of_a_source_changes_the_etag_of_the_downstream_page(app, world):
    code = world["codes"]["X"]
    client = app.test_client()
    first = client.get(f"/t/{code}")
    assert 'id="recall-banner"' not in first.text
    assert client.get(f"/t/{code}", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    recall(app, world, "F")
    recalled = client.get(f"/t/{code}", headers={"If-None-Match": first.headers["ETag"]})
    assert recalled.status_code == 200 and 'id="recall-banner"' in recalled.text
    run(app, lambda s: lift_recall(s, get_batch(s, world["codes"]["F"]), {"reason": "复检合格"},
                                   user=world["regulator"]))
    lifted = client.get(f"/t/{code}", headers={"If-None-Match": recalled.headers["ETag"]})
    assert lifted.status_code == 200 and 'id="recall-banner"' not in lifted.text


def test_the_recalled_input_rule_lists_what_a_batch_recall_left_out(app, world):
    def findings():
        with app.app_context(), db.database().sessions() as s:
            return [(f["batch_code"], f["depth"], f["recalled_code"]) for f in risk.list_findings(s, "recalled_input")]

    assert findings() == []
    recall(app, world, "F")
    assert findings() == [(world["codes"]["P"], 1, world["codes"]["F"]), (world["codes"]["X"], 2, world["codes"]["F"])]
    recall(app, world, "P", scope="downstream")  # P and X recalled themselves: nothing left out
    assert findings() == []
    with app.app_context(), db.database().sessions() as s:
        assert risk.count_all(s)["recalled_input"] == 0


def test_the_recalled_input_rule_ignores_batches_made_after_the_recall_was_lifted(app, world):
    recall(app, world, "G")
    run(app, lambda s: lift_recall(s, get_batch(s, world["codes"]["G"]), {"reason": "复检合格"},
                                   user=world["regulator"]))
    run(app, lambda s: make_batch(s, world["producer"], quantity="10",
                                  inputs=[{"code": world["codes"]["G"], "quantity": "10"}]))
    with app.app_context(), db.database().sessions() as s:
        assert risk.list_findings(s, "recalled_input") == []


def test_the_english_refusal_puts_a_space_between_its_sentences(app, world):
    from traceapp.auth.services import issue_token

    token = run(app, lambda s: issue_token(s, world["producer"].username))
    recall(app, world, "F")
    response = app.test_client().post("/api/v1/batches", headers={
        "Authorization": f"Bearer {token}", "Accept-Language": "en"}, json={
        "product": "黄桃", "category": "fruit", "quantity": "1", "unit": "kg", "harvest_date": "2026-08-01",
        "origin_region": "430225", "base": "基地", "inputs": [{"code": world["codes"]["F"], "quantity": "1"}]})
    message = response.json["error"]["message"]
    assert response.status_code == 422 and f"{REASON}. A recalled" in message, message
