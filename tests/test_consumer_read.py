"""The consumer page's one-statement read (``traceapp.public.consumer``) says exactly what the ORM
reads of the staff pages and the API say (``records.queries.batch_detail``, ``claim_status``,
``code_state``, ``recall_status``) for every demo batch, after changes that reach each branch: a
voided 合格证, a revoked licence, a void and a frozen code, a lifted and a standing recall, a
correction, revoked and expired certificates, pooled batches. SQLite and PostgreSQL."""

from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from tests.factories import make_batch, make_user, make_world
from traceapp import db
from traceapp.brands.models import Brand, License
from traceapp.brands.queries import claim_status
from traceapp.brands.services import get_brand, revoke_license
from traceapp.ledger.store import begin_write
from traceapp.public import scans
from traceapp.public.consumer import _statement as consumer_statement
from traceapp.public.consumer import public_view, read_consumer_page
from traceapp.public.models import FirstScan, Scan
from traceapp.records import queries, regions
from traceapp.records.code_states import code_state, void_code
from traceapp.records.compliance import void_compliance_certificate
from traceapp.records.label_sheets import print_labels
from traceapp.records.models import Batch, ComplianceCertificate, Organization
from traceapp.records.recalls import lift_recall, recall_batch, recall_status
from traceapp.records.values import quantity_text


def reference_view(session, batch: Batch) -> dict:
    """The consumer page as the ORM reads compose it (what the page showed before its one-statement read), with
    what a consumer may see of it (``public_view``)."""
    detail = queries.batch_detail(session, batch)
    state = code_state(session, batch)
    return public_view({
        **detail, "claim": claim_status(session, batch), "sources": reference_sources(batch, 1, {batch.id}),
        "recall": recall_status(session, batch), "recalled_sources": reference_recalled_sources(session, batch),
        "code_state": {**state, "changed_at": state["changed_at"].isoformat() if state["changed_at"] else None}})


def reference_sources(batch: Batch, level: int, seen: set[int]) -> list[dict]:
    """A pooled batch's tree of sources through the ORM's relationships (no tree in the demo nears the cut)."""
    found = []
    for link in sorted(batch.inputs, key=lambda i: i.source.code):
        source = link.source
        if source.id in seen:
            break
        org = db.session().get(Organization, source.organization_id)
        found.append({"code": source.code, "product": source.product, "quantity": quantity_text(link.quantity),
                      "unit": source.unit, "harvest_date": source.harvest_date.isoformat(), "producer": org.name,
                      "demo": org.demo, "base": source.base, "origin_name": regions.full_name(source.origin_region),
                      "recalled": recall_status(db.session(), source) is not None,
                      "sources": reference_sources(source, level + 1, seen | {source.id}) if level < 6 else []})
    return found


def reference_recalled_sources(session, batch: Batch) -> list[dict]:
    """The sources of a batch at every depth that stand recalled, walked through the ORM, by code."""
    found, stack, seen = {}, [batch], {batch.id}
    while stack:
        for link in stack.pop().inputs:
            source = link.source
            if source.id in seen:
                continue
            seen.add(source.id)
            stack.append(source)
            recall = recall_status(session, source)
            if recall is not None:
                found[source.code] = {"code": source.code, "product": source.product,
                                      "producer": session.get(Organization, source.organization_id).name,
                                      "reason": recall["reason"], "recalled_at": recall["recalled_at"]}
    return [found[code] for code in sorted(found)]


@pytest.fixture
def changed_demo(demo):
    """The demo data, then a 合格证 voided, a licence revoked, a code voided, a recall lifted and another standing."""
    app = demo
    with app.app_context():
        s = db.session()
        begin_write(s)
        admin = make_user(s, "admin", password=None)
        regulator = make_user(s, "regulator", password=None)
        batches = list(s.scalars(select(Batch).order_by(Batch.id)))
        cert = s.scalar(select(ComplianceCertificate).order_by(ComplianceCertificate.id))
        void_compliance_certificate(s, cert, {"reason": "包装标识错误"}, user=admin)
        licence = s.scalar(select(License).order_by(License.id))
        brand = get_brand(s, s.get(Brand, licence.brand_id).slug)
        revoke_license(s, brand, licence, {"reason": "超范围使用品牌"}, user=admin)
        void_code(s, batches[-1], {"reason": "标签印错，已销毁"}, user=regulator)
        recall_batch(s, batches[0], {"reason": "复检", "scope": "batch"}, user=regulator)
        s.commit()  # the ledger appends at commit; the lifting reads the recall back
        begin_write(s)
        lift_recall(s, batches[0], {"reason": "复检合格"}, user=regulator)
        recall_batch(s, batches[1], {"reason": "抽检农药残留超标", "scope": "downstream"}, user=regulator)
        s.commit()
    return app


def test_every_batch_reads_the_same_in_one_statement_as_through_the_orm(changed_demo):
    with changed_demo.test_request_context("/"):
        s = db.session()
        batches = list(s.scalars(select(Batch).order_by(Batch.id)))
        shown = {"recall": 0, "lifted": 0, "voided": 0, "revoked licence": 0, "void code": 0, "frozen code": 0,
                 "corrected": 0, "pooled": 0, "revoked cert": 0, "expired cert": 0, "inspected": 0}
        for batch in batches:
            with db.statement_reads() as conn:
                page = read_consumer_page(conn, batch.code.lower())
            expected = reference_view(s, batch)
            assert page.view == expected, batch.code
            assert (page.batch_id, page.view["code"], page.first_scan) == (batch.id, batch.code, None)
            view = page.view
            shown["recall"] += view["recall"] is not None
            shown["voided"] += any(c["status"] == "voided" for c in view["compliance_certificates"])
            shown["revoked licence"] += bool(view["claim"] and view["claim"]["license"]
                                             and view["claim"]["license"]["ended_by"] == "revoked")
            shown["void code"] += view["code_state"]["state"] == "void"
            shown["frozen code"] += view["code_state"]["state"] == "frozen"
            shown["corrected"] += bool(view["corrections"])
            shown["pooled"] += bool(view["sources"])
            shown["revoked cert"] += any(c["status"] == "revoked" for c in view["certifications"])
            shown["expired cert"] += any(c["status"] == "expired" for c in view["certifications"])
            shown["inspected"] += bool(view["inspections"])
        shown["lifted"] = int(recall_status(s, batches[0]) is None)
        # Every branch was reached, so the comparison above covered it.
        assert all(shown.values()), shown


def test_the_read_carries_the_first_scan_on_record(app):
    with app.app_context(), db.write_session() as s:
        make_batch(s, make_world(s)["producer"])
    with app.test_request_context("/"):
        batch = db.session().scalar(select(Batch).order_by(Batch.id))
        moment = datetime(2026, 8, 5, 6, 3, 0, 123000)
        scans.record_scan(batch.id, "c" * 64, "mobile; Android; WeChat; zh-CN", now=moment, labels_printed=True)
        with db.statement_reads() as conn:
            assert read_consumer_page(conn, batch.code).first_scan is None  # the claim waits in the buffer
            scans.flush()
            page = read_consumer_page(conn, batch.code)
        assert (page.first_scan, page.scan_count) == (moment, 1)
        summary = scans.record_scan(batch.id, "d" * 64, "x", now=datetime(2026, 9, 1),
                                    first_on_record=page.first_scan, count_on_record=page.scan_count,
                                    labels_printed=True)
        assert (summary.first_at, summary.count) == (moment.replace(tzinfo=UTC), 2)


def test_a_deep_tree_of_sources_with_shared_inputs_reads_as_the_orm_walks_it(app):
    """Seven levels of processing above two farms, one of them also an input two levels up: the one
    recursive statement gives the tree the ORM's walk gives, cut after six levels."""
    with app.app_context(), db.write_session() as s:
        producer = make_world(s)["producer"]
        farm_a, farm_b = (make_batch(s, producer, quantity="1000") for _ in range(2))
        level = make_batch(s, producer, quantity="100", inputs=[{"code": farm_a.code, "quantity": "10"},
                                                               {"code": farm_b.code, "quantity": "10"}])
        for n in range(7):
            inputs = [{"code": level.code, "quantity": "1"}]
            if n == 1:
                inputs.append({"code": farm_a.code, "quantity": "1"})
            level = make_batch(s, producer, quantity="10", inputs=inputs)
        top = level.code
    with app.app_context():
        batch = db.session().scalar(select(Batch).where(Batch.code == top))
        with db.statement_reads() as conn:
            tree = read_consumer_page(conn, top).view["sources"]
        assert tree == reference_sources(batch, 1, {batch.id})

    def depth(nodes: list[dict]) -> int:
        return 1 + max(depth(n["sources"]) for n in nodes) if nodes else 0

    def codes(nodes: list[dict]) -> list[str]:
        return [c for n in nodes for c in (n["code"], *codes(n["sources"]))]

    assert depth(tree) == 6  # eight levels below, cut after six
    assert codes(tree).count(farm_a.code) == 1  # the farm under the second level, at the sixth


def test_no_page_for_unknown_or_malformed_codes(app):
    with app.app_context(), db.write_session() as s:
        known = make_batch(s, make_world(s)["producer"]).code
    with app.app_context(), db.statement_reads() as conn:
        assert read_consumer_page(conn, known.lower()).view["code"] == known
        for code in ["", "X", known[:-1], known + "X", "0" * 13, "../etc", "Ä" * 13, "A" * 200, None, 7]:
            assert read_consumer_page(conn, code, today=date(2026, 9, 1)) is None, code


def test_concurrent_first_views_of_a_page_make_one_first_scan_record(app):
    """Racing first views of one code, from different clients, leave one first_scans row, counting
    every view, and every view a scan."""
    app.config["TRACEAPP_BEHIND_PROXY"] = True
    with app.app_context(), db.write_session() as s:
        producer = make_world(s)["producer"]
        batch = make_batch(s, producer)
        s.flush()
        print_labels(s, batch, {"labels": "10", "package_quantity": "5", "layout": "a4-24"}, user=producer)
        code = batch.code
    views = 8
    start = threading.Barrier(views)
    answers, errors = [], []

    def view(n: int):
        try:
            client = app.test_client()
            start.wait()
            answers.append(client.get(f"/t/{code}", headers={"X-Forwarded-For": f"10.0.0.{n + 1}"}))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=view, args=(n,)) for n in range(views)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and [a.status_code for a in answers] == [200] * views
    with app.app_context():
        scans.flush()
        batch_id = db.session().scalar(select(Batch.id).where(Batch.code == code))
        firsts = count_where(FirstScan, FirstScan.batch_id == batch_id)
        recorded = count_where(Scan, Scan.batch_id == batch_id)
        counted = db.session().scalar(select(FirstScan.scan_count).where(FirstScan.batch_id == batch_id))
    assert (firsts, recorded, counted) == (1, views, views)
    # Each page says when the first scan was: the same minute on every one, the one on record.
    sentences = {re.search(r'id="scans"[^>]*>([^<]*)', a.text).group(1).split("，")[0] for a in answers}
    assert len(sentences) == 1, sentences


def count_where(model, *where) -> int:
    with db.database().sessions() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def plan_nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", ()):
        yield from plan_nodes(child)


def generic_plan(conn, code: str) -> dict:
    """Return PostgreSQL's generic plan of the consumer page's statement (the one a prepared statement
    keeps), as EXPLAIN's JSON for ``code``."""
    conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
    conn.exec_driver_sql("PREPARE page(text) AS " + consumer_statement("postgresql").replace("%(code)s", "$1"))
    try:
        return conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) EXECUTE page('{code}')").scalar_one()[0]["Plan"]
    finally:
        conn.exec_driver_sql("DEALLOCATE page")
        conn.exec_driver_sql("RESET plan_cache_mode")


def test_the_page_looks_its_rows_up_by_key_even_in_a_plan_made_while_first_scans_was_empty(app):
    """A prepared statement's generic plan is made once; made while first_scans and code_states were
    empty, it scanned them whole on every view, slower with every scan stored (PostgreSQL)."""
    engine = app.extensions["traceapp.db"].engine
    if engine.dialect.name != "postgresql":
        pytest.skip("the cached generic plan is PostgreSQL's")
    with app.app_context():
        with db.write_session() as s:
            code = make_batch(s, make_world(s)["producer"]).code
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE first_scans")
            conn.exec_driver_sql("VACUUM ANALYZE code_states")

        nodes = list(plan_nodes(scans.on_scan_connection(lambda conn: generic_plan(conn, code))))
        scanned = {node["Relation Name"]: node for node in nodes if "Relation Name" in node}
        assert not [node for node in nodes if node["Node Type"] == "Seq Scan"], nodes
        for table in ("first_scans", "code_states"):
            node = scanned[table]
            assert (node["Node Type"], node.get("Index Cond")) == ("Index Scan", "(batch_id = b.id)")


def test_the_recall_probe_is_one_step_down_the_subject_index(app):
    """Every view asks for its batch's latest recall entry; read through (subject, seq), that costs the
    same whatever the ledger holds, where reading by kind would read every recall entry on each view."""
    engine = app.extensions["traceapp.db"].engine
    with app.app_context():
        with db.write_session() as s:
            code = make_batch(s, make_world(s)["producer"]).code
        if engine.dialect.name == "sqlite":
            rows = scans.on_scan_connection(lambda conn: conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + consumer_statement("sqlite").replace(":code", "?"), (code,)).all())
            ledger = [row[3] for row in rows if " e " in f" {row[3]} "]
            assert ledger == ["SEARCH e USING INDEX ix_ledger_entries_subject_seq (subject=?)"], rows
            return

        nodes = [node for node in plan_nodes(scans.on_scan_connection(lambda conn: generic_plan(conn, code)))
                 if node.get("Relation Name") == "ledger_entries"]
        assert [(node["Node Type"], node.get("Index Name"), node.get("Scan Direction")) for node in nodes] == [
            ("Index Scan", "ix_ledger_entries_subject_seq", "Backward")], nodes
