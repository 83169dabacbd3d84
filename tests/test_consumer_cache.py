"""The consumer page as any cache may keep it (issue 26): its GET writes nothing, it carries a public
Cache-Control and a strong ETag answered with 304, every kind of write that changes what it shows
changes its ETag and a write that does not leaves it; the batch's story lists every ledger entry about
it, oldest first, in both languages. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from sqlalchemy import inspect, select, text

from tests.factories import make_batch, make_certification, make_compliance, make_inspection, make_world
from traceapp import clock, db
from traceapp.ledger.store import LedgerEntry
from traceapp.records.certifications import revoke_certification
from traceapp.records.code_states import freeze_code, unfreeze_code, void_code
from traceapp.records.compliance import void_compliance_certificate
from traceapp.records.corrections import correct_batch
from traceapp.records.label_sheets import print_labels
from traceapp.records.models import Batch, ComplianceCertificate, Inspection
from traceapp.records.recalls import lift_recall, recall_batch
from traceapp.records.transfers import transfer_batch

LABELS = {"labels": "10", "package_quantity": "5", "layout": "a4-24"}


@pytest.fixture
def farm(app) -> dict:
    """Two farm batches pooled into one, processed into the batch under test (X), its producer holding a
    green-food certificate valid on the harvest date until the end of 2026."""
    with app.app_context(), db.write_session() as s:
        world = make_world(s)
        producer = world["producer"]
        a = make_batch(s, producer, quantity="1000")
        b = make_batch(s, producer, quantity="1000")
        pooled = make_batch(s, producer, quantity="200", inputs=[{"code": a.code, "quantity": "100"},
                                                                 {"code": b.code, "quantity": "100"}])
        x = make_batch(s, producer, quantity="150",
                       inputs=[{"code": pooled.code, "quantity": "150"}])
        cert = make_certification(s, world["certifier"], world["producer_org"].id, valid_to="2026-12-31")
        s.flush()
        ids = {"a": a.code, "b": b.code, "pooled": pooled.code, "x": x.code, "x_id": x.id, "cert": cert.id}
    return {**ids, "world": world}


def write(app, work) -> None:
    with app.app_context(), db.write_session() as s:
        work(s)


def batch(s, code: str) -> Batch:
    return s.scalar(select(Batch).where(Batch.code == code))


def etag(client, code: str, path: str = "") -> str:
    response = client.get(f"/t/{code}{path}")
    assert response.status_code == 200
    return response.headers["ETag"]


def row_counts(app) -> dict[str, int]:
    """Rows of every table in the database (the ledger's included)."""
    engine = app.extensions["traceapp.db"].engine
    with engine.connect() as conn:
        return {name: conn.scalar(text(f'SELECT count(*) FROM "{name}"')) for name in inspect(engine).get_table_names()}


def test_a_get_writes_nothing_and_is_cacheable_by_anyone(app, farm):
    client = app.test_client()
    with app.app_context(), db.write_session() as s:
        print_labels(s, batch(s, farm["x"]), LABELS, user=farm["world"]["producer"])
    before = row_counts(app)
    assert before["ledger_entries"] > 0 and "consumer_pages" not in before
    page = client.get(f"/t/{farm['x']}")
    assert page.status_code == 200 and 'id="story"' in page.text
    assert page.headers["Cache-Control"] == "public, max-age=60, stale-while-revalidate=600"
    assert "Set-Cookie" not in page.headers and "Accept-Language" in page.headers["Vary"]
    tag = page.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{40}"', tag)  # strong: no W/
    again = client.get(f"/t/{farm['x']}", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == tag
    assert "public" in again.headers["Cache-Control"]
    data = client.get(f"/t/{farm['x']}.json")
    assert data.status_code == 200 and "public" in data.headers["Cache-Control"]
    assert client.get(f"/t/{farm['x']}.json", headers={"If-None-Match": data.headers["ETag"]}).status_code == 304
    assert data.headers["ETag"] != tag
    app.test_client().get(f"/t/{farm['x']}?lang=en")
    assert row_counts(app) == before  # scans and first_scans too: only the script's POST records a scan
    scan = client.post(f"/t/{farm['x']}/scans")
    assert scan.status_code == 200 and scan.json["count"] == 1
    after = row_counts(app)
    assert (after["scans"], after["first_scans"]) == (before["scans"] + 1, before["first_scans"] + 1)
    assert {k: v for k, v in after.items() if k not in ("scans", "first_scans")} == \
        {k: v for k, v in before.items() if k not in ("scans", "first_scans")}
    assert client.get(f"/t/{farm['x']}", headers={"If-None-Match": tag}).status_code == 304  # a scan is not on the page


def test_a_signed_in_viewers_page_is_never_kept_by_a_shared_cache(app, farm):
    from tests.factories import make_user
    from tests.test_scans import PASSWORD, sign_in

    with app.app_context(), db.write_session() as s:
        make_user(s, "producer", farm["world"]["producer_org"].id, name="web-producer", password=PASSWORD)
    client = app.test_client()
    sign_in(client, "web-producer")
    page = client.get(f"/t/{farm['x']}")
    assert page.status_code == 200 and "web-producer" in page.text
    assert "public" not in page.headers["Cache-Control"] and "no-store" in page.headers["Cache-Control"]


def test_every_write_that_changes_the_page_changes_its_etag_and_others_do_not(app, farm):
    client = app.test_client()
    world = farm["world"]
    producer, regulator, inspector = world["producer"], world["regulator"], world["inspector"]
    x = farm["x"]
    seen = [etag(client, x)]
    json_seen = [etag(client, x, ".json")]

    def changes(label: str, work) -> None:
        write(app, work)
        now = etag(client, x)
        assert now != seen[-1], f"{label} left the page's ETag as it was"
        seen.append(now)
        json_seen.append(etag(client, x, ".json"))
        assert json_seen[-1] != json_seen[-2], f"{label} left the JSON's ETag as it was"

    def keeps(label: str, work) -> None:
        write(app, work)
        assert etag(client, x) == seen[-1], f"{label} changed the page's ETag"

    keeps("another producer's batch", lambda s: make_batch(s, world["rival"]))
    keeps("another batch's inspection", lambda s: make_inspection(s, inspector, make_batch(s, world["rival"])))
    changes("an inspection", lambda s: make_inspection(s, inspector, batch(s, x)))
    changes("a 合格证", lambda s: make_compliance(s, producer, batch(s, x)))
    changes("a voided 合格证", lambda s: void_compliance_certificate(
        s, s.scalar(select(ComplianceCertificate)), {"reason": "包装标识错误"}, user=producer))
    changes("a correction", lambda s: correct_batch(s, batch(s, x), {"fields": {"quantity": "149"},
                                                                      "reason": "复核称重"}, user=producer))
    changes("a label print", lambda s: print_labels(s, batch(s, x), LABELS, user=producer))
    changes("a transfer", lambda s: transfer_batch(s, batch(s, x), {"to": world["rival_org"].id, "quantity": "10"},
                                                   user=producer))
    changes("a correction of a source", lambda s: correct_batch(s, batch(s, farm["a"]), {
        "fields": {"base": "另一个基地"}, "reason": "基地名称写错"}, user=producer))
    changes("a recall of a source", lambda s: recall_batch(s, batch(s, farm["a"]), {"reason": "农药残留超标",
                                                                                  "scope": "batch"}, user=regulator))
    changes("its lifting", lambda s: lift_recall(s, batch(s, farm["a"]), {"reason": "复检合格"}, user=regulator))
    changes("a frozen code", lambda s: freeze_code(s, batch(s, x), {"reason": "核查中"}, user=regulator))
    changes("an unfrozen code", lambda s: unfreeze_code(s, batch(s, x), {"reason": "核查完毕"}, user=regulator))
    changes("a recall", lambda s: recall_batch(s, batch(s, x), {"reason": "抽检不合格", "scope": "batch"},
                                               user=regulator))
    changes("a revoked certificate", lambda s: revoke_certification(s, farm["cert"], {"reason": "监督检查不合格"},
                                                                    user=world["certifier"]))
    changes("a voided code", lambda s: void_code(s, batch(s, x), {"reason": "标签印错"}, user=regulator))
    assert client.post(f"/t/{x}/scans").status_code == 200
    assert etag(client, x) == seen[-1]  # a scan is not on the page


def test_a_certificate_running_out_changes_the_etag_on_that_day(app, farm, monkeypatch):
    client = app.test_client()
    monkeypatch.setattr(clock, "today", lambda: date(2026, 12, 31))
    last_day = etag(client, farm["x"])
    assert etag(client, farm["x"]) == last_day
    monkeypatch.setattr(clock, "today", lambda: date(2027, 1, 1))
    assert etag(client, farm["x"]) != last_day


def entries_about(app, farm) -> list[tuple[int, str]]:
    """What the ledger holds about X, found from the ledger's own subjects: its batch entries, those of
    its inspections and 合格证, and of its producer's certificate."""
    with app.app_context():
        s = db.session()
        x = batch(s, farm["x"])
        subjects = [f"batch:{x.code}", f"certification:{farm['cert']}"]
        subjects += [f"inspection:{i}" for i in s.scalars(select(Inspection.id).where(Inspection.batch_id == x.id))]
        subjects += [f"compliance_certificate:{c}" for c in s.scalars(
            select(ComplianceCertificate.code).where(ComplianceCertificate.batch_id == x.id))]
        return [tuple(row) for row in s.execute(select(LedgerEntry.seq, LedgerEntry.kind)
                                                .where(LedgerEntry.subject.in_(subjects)).order_by(LedgerEntry.seq))]


def test_the_story_of_a_pooled_processed_inspected_certified_corrected_recalled_batch(app, farm):
    world = farm["world"]
    producer, regulator = world["producer"], world["regulator"]
    write(app, lambda s: make_inspection(s, world["inspector"], batch(s, farm["x"])))
    write(app, lambda s: make_compliance(s, producer, batch(s, farm["x"])))
    write(app, lambda s: correct_batch(s, batch(s, farm["x"]), {"fields": {"quantity": "149"}, "reason": "复核称重"},
                                       user=producer))
    write(app, lambda s: print_labels(s, batch(s, farm["x"]), LABELS, user=producer))
    write(app, lambda s: recall_batch(s, batch(s, farm["x"]), {"reason": "抽检不合格", "scope": "batch"},
                                      user=regulator))
    expected = entries_about(app, farm)
    assert [kind for _seq, kind in expected] == [
        "batch.registered", "certification.issued", "inspection.recorded", "compliance_certificate.issued",
        "batch.corrected", "batch.labels_printed", "batch.recalled"]
    client = app.test_client()
    for lang, words in (("zh", ["登记批次：黄桃，150 kg", "数量：150 → 149", "召回本批次：抽检不合格",
                                "绿色食品认证", "由 1 个原料批次加工或合并而成"]),
                        ("en", ["Batch registered: 黄桃, 150 kg", "Quantity: 150 → 149",
                                "This batch recalled: 抽检不合格", "Green food certificate",
                                "Made from 1 source batches"])):
        story = client.get(f"/t/{farm['x']}.json?lang={lang}").json["story"]
        assert [(item["seq"], item["kind"]) for item in story] == expected
        assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", item["date"]) for item in story)
        page = client.get(f"/t/{farm['x']}?lang={lang}").text
        timeline = page.split('id="story"')[1].split("</section>")[0]
        assert [int(seq) for seq in re.findall(r'data-seq="(\d+)"', timeline)] == [seq for seq, _kind in expected]
        shown = " ".join([item["text"] for item in story] + [line for item in story for line in item["details"]])
        for word in words:
            assert word in shown and word in timeline.replace("&gt;", ">"), (lang, word)
        assert "batch.registered" not in timeline and "certification" not in timeline  # no internal kinds shown
    # The sources' tree stands under the story: the pooled batch and, under it, both farms.
    sources = client.get(f"/t/{farm['x']}.json").json["sources"]
    assert [s["code"] for s in sources] == [farm["pooled"]]
    assert sorted(s["code"] for s in sources[0]["sources"]) == sorted([farm["a"], farm["b"]])


def test_the_page_without_its_script_shows_no_scan_sentence(app, farm):
    page = app.test_client().get(f"/t/{farm['x']}").text
    line = re.search(r'<p class="scans"[^>]*>(.*?)</p>', page, re.S)
    assert line is not None and " hidden " in line.group(0) and line.group(1).strip() == ""
    assert json.dumps("共查询") not in page and "共查询 " not in re.sub(r'data-first="[^"]*"', "", page)
    with app.app_context():
        assert db.session().execute(text("SELECT count(*) FROM first_scans")).scalar() == 0
