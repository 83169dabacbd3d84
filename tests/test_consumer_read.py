"""The consumer page's read (``traceapp.public.consumer``): a deep tree of sources reads as the ORM walks
it, and unknown or malformed codes have no page. SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from tests.factories import make_batch, make_world
from traceapp import db
from traceapp.personal.fields import public_name
from traceapp.public.consumer import read_consumer_page
from traceapp.records import regions
from traceapp.records.models import Batch, Organization
from traceapp.records.recalls import recall_status
from traceapp.records.values import quantity_text


def reference_sources(batch: Batch, level: int, seen: set[int]) -> list[dict]:
    """A pooled batch's tree of sources through the ORM's relationships (no tree in the demo nears the cut)."""
    found = []
    for link in sorted(batch.inputs, key=lambda i: i.source.code):
        source = link.source
        if source.id in seen:
            break
        org = db.session().get(Organization, source.organization_id)
        found.append({"code": source.code, "product": source.product, "quantity": quantity_text(link.quantity),
                      "unit": source.unit, "harvest_date": source.harvest_date.isoformat(),
                      "producer": public_name(org.name, org.kind),
                      "demo": org.demo, "base": source.base, "origin_name": regions.full_name(source.origin_region),
                      "recalled": recall_status(db.session(), source) is not None,
                      "sources": reference_sources(source, level + 1, seen | {source.id}) if level < 6 else []})
    return found



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
        tree = read_consumer_page(db.session(), top).view["sources"]
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
    with app.app_context():
        assert read_consumer_page(db.session(), known.lower()).view["code"] == known
        for code in ["", "X", known[:-1], known + "X", "0" * 13, "../etc", "Ä" * 13, "A" * 200, None, 7]:
            assert read_consumer_page(db.session(), code) is None, code
