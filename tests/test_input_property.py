"""Property: whatever Unicode text arrives through the API (any plane, combining marks, control and
bidi characters, lone surrogates as JSON escapes), an accepted write is stored so that ``ledger verify``
passes, and a refused one is a 4xx that wrote nothing. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import batch_data, count, inspection_data, item, make_batch, make_world, org_data
from traceapp import db
from traceapp.auth.services import issue_token
from traceapp.ledger.store import LedgerEntry
from traceapp.records.models import Batch, Inspection, Organization

API = "/api/v1"
# Characters worth more than their share of draws: decomposed and combining text, the refused classes,
# look-alike digits, invisible and astral characters.
SPECIAL = st.sampled_from([
    "e\u0301", "A\u030a", "\u1100\u1161", "e", "\u0301", "\u0308", "\u0323", "\u1100", "\u1161", "\u0958", "\u2000",
    "\ud800", "\udfff", "\u202e", "\u2066", "\x00", "\x07", "\x85", "\x9b", "\n", "\t", "\r", " ", "\u00a0", "\u200b",
    "\ufeff", "\uffff", "\U0001f351", "\U000e0001", "黄", "٣", "３", "%", "/", "<"])
HOSTILE = st.lists(st.one_of(SPECIAL, st.characters(exclude_categories=())), min_size=1, max_size=12).map("".join)
# Plain text as often as not, so that a write's other fields pass and the hostile one decides.
TEXT = st.one_of(st.sampled_from(["黄桃", "鹿原镇九龙村基地", "Cafe"]), HOSTILE)


def post(client, url: str, body: dict, token: str):
    # ASCII JSON with escapes: the way a client can send any string JSON allows, a lone surrogate included.
    return client.post(url, data=json.dumps(body, ensure_ascii=True), content_type="application/json",
                       headers={"Authorization": f"Bearer {token}"})


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text.strip())


@pytest.fixture
def world(app):
    with app.app_context(), db.write_session() as s:
        world = make_world(s)
        world["tokens"] = {name: issue_token(s, world[name].username) for name in ("producer", "inspector", "admin")}
        world["batch"] = make_batch(s, world["producer"], quantity="1000").code
        return world


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(TEXT, min_size=8, max_size=8))
def test_any_unicode_text_is_either_stored_verifiably_or_refused_without_a_write(app, world, texts):
    client = app.test_client()
    tokens = world["tokens"]
    with app.app_context():
        before = {model: count(model) for model in (LedgerEntry, Organization, Batch, Inspection)}

    org = post(client, f"{API}/organizations", org_data(name=texts[0], address=texts[1], contact=texts[2]),
               tokens["admin"])
    batch = post(client, f"{API}/batches", batch_data(product=texts[3], base=texts[4], lot=texts[5] or None),
                 tokens["producer"])
    target = batch.get_json()["code"] if batch.status_code == 201 else world["batch"]
    inspection = post(client, f"{API}/inspections",
                      inspection_data(target, report_no=texts[6] or "R", items=[item(name=texts[7], value=texts[3])]),
                      tokens["inspector"])

    accepted = 0
    for response in (org, batch, inspection):
        assert response.status_code < 500, response.get_data(as_text=True)
        if response.status_code == 201:
            accepted += 1
        else:
            assert 400 <= response.status_code < 500 and response.get_json()["error"]["fields"]
    if org.status_code == 201:
        assert org.get_json()["name"] == nfc(texts[0])
    if batch.status_code == 201:
        assert (batch.get_json()["product"], batch.get_json()["base"]) == (nfc(texts[3]), nfc(texts[4]))
    if inspection.status_code == 201:
        assert inspection.get_json()["items"][0]["name"] == nfc(texts[7])
    with app.app_context():
        assert count(LedgerEntry) == before[LedgerEntry] + accepted
        assert count(Organization) == before[Organization] + (org.status_code == 201)
        assert count(Batch) == before[Batch] + (batch.status_code == 201)
        assert count(Inspection) == before[Inspection] + (inspection.status_code == 201)
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, (texts, result.output)
