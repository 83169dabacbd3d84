"""Label sheets: one label per package, never more than the batch's quantity (earlier prints
counted), a ``batch.labels_printed`` entry per print and nothing written on a refusal; the pages
through the test client with CSRF; the PDF rendered to images whose QR codes a real decoder
(zxing-cpp) reads as the batch's URL. SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from datetime import datetime
from decimal import Decimal

import pypdfium2
import pytest
import zxingcpp
from sqlalchemy import select

from tests.factories import (
    count,
    fetch,
    make_batch,
    make_brand,
    make_brand_owner,
    make_license,
    make_user,
    make_world,
    projection_differences,
)
from traceapp import db
from traceapp.errors import Forbidden, Rejected
from traceapp.ledger.store import LedgerEntry
from traceapp.public.qr import target_url
from traceapp.records.label_pdf import LabelContent, qr_matrix, render_pdf
from traceapp.records.label_sheets import (
    LAYOUTS,
    label_print_differences,
    labels_left,
    labels_printed,
    print_labels,
)
from traceapp.records.label_views import content_of
from traceapp.records.models import Batch, CodeState, LabelPrint
from traceapp.validation import InvalidInput

PASSWORD = "traceapp-demo"


@pytest.fixture
def world(app):
    """make_world's users, a batch of 1,200.5 kg of the producer's and one of the rival's."""
    with app.app_context(), db.write_session() as s:
        world = make_world(s)
        world["batch"] = make_batch(s, world["producer"])
        world["other"] = make_batch(s, world["rival"], quantity="10")
        return world


def label(app, world, labels, package="5", layout="a4-24", user="producer", batch="batch") -> LabelPrint:
    with app.app_context(), db.write_session() as s:
        found = s.get(Batch, world[batch].id)
        return print_labels(s, found, {"labels": labels, "package_quantity": package, "layout": layout},
                            user=world[user])


def written() -> tuple[int, int]:
    return count(LedgerEntry), count(LabelPrint)


def body_of(seq: int) -> dict:
    with db.database().sessions() as s:
        return json.loads(s.scalar(select(LedgerEntry.body).where(LedgerEntry.seq == seq)))


def printed(world) -> int:
    with db.database().sessions() as s:
        return labels_printed(s, s.get(Batch, world["batch"].id))


def label_differences() -> list[str]:
    with db.database().sessions() as s:
        return list(label_print_differences(s))


# -- the service -------------------------------------------------------------------------------

def test_a_print_appends_one_entry_and_its_row(app, world):
    with app.app_context():
        before = count(LedgerEntry)
        row = label(app, world, "200", package="5.5", layout="a4-40")
        assert count(LedgerEntry) == before + 1
        stored = fetch(LabelPrint, row.id)
        assert (stored.batch_id, stored.labels, stored.package_quantity, stored.layout, stored.printed_by) == (
            world["batch"].id, 200, Decimal("5.5"), "a4-40", world["producer"].username)
        entry = body_of(stored.ledger_seq)
        assert (entry["kind"], entry["subject"], entry["actor"]) == (
            "batch.labels_printed", f"batch:{world['batch'].code}", world["producer"].actor())
        assert entry["data"] == {"labels": 200, "package_quantity": "5.5", "unit": "kg", "layout": "a4-40"}
        assert printed(world) == 200
        assert label_differences() == [] and projection_differences() == []


def test_labels_may_cover_exactly_the_batch_and_not_one_more(app, world):
    with app.app_context():
        label(app, world, "200")
        label(app, world, 40)  # 240 × 5 kg = 1,200 kg of 1,200.5 kg
        before = written()
        with pytest.raises(Rejected) as refused:
            label(app, world, 1)
        assert written() == before
        assert refused.value.status == 422 and "labels" in refused.value.fields
        label(app, world, 1, package="0.5")  # the last half kilogram: exactly the batch
        with pytest.raises(Rejected):
            label(app, world, 1, package="0.001")
        assert printed(world) == 241


def test_the_refusal_says_by_how_much_with_earlier_prints_counted(app, world):
    with app.app_context():
        label(app, world, 200)
        before = written()
        with pytest.raises(Rejected) as refused:
            label(app, world, 50)
        assert written() == before
    message = refused.value.message
    assert "1,200.5 kg" in message and "5 kg" in message
    assert re.search(r"最多可打印 240 张.*已打印 200 张.*再打印 50 张将超出 10 张.*最多还能打印 40 张",
                     message), message


def test_earlier_prints_of_other_package_sizes_count_by_quantity(app, world):
    with app.app_context():
        label(app, world, 100, package="10")  # 1,000 kg
        with db.database().sessions() as s:
            assert labels_left(s, s.get(Batch, world["batch"].id), Decimal("5")) == 40
        with pytest.raises(Rejected) as refused:
            label(app, world, 41)
        assert "超出 1 张" in refused.value.message
        label(app, world, 40)
        assert printed(world) == 140


def test_the_refusal_is_in_english_with_lang_en(app, world):
    label(app, world, 200)
    with app.test_request_context("/?lang=en"), db.write_session() as s, pytest.raises(Rejected) as refused:
        print_labels(s, s.get(Batch, world["batch"].id), {"labels": 50, "package_quantity": "5", "layout": "a4-24"},
                     user=world["producer"])
    assert refused.value.message == ("This batch of 1,200.5 kg allows at most 240 labels of 5 kg each; 200 labels "
                                     "already printed; 50 more would exceed it by 10 (at most 40 more can be printed).")


@pytest.mark.parametrize(("data", "field"), [
    ({"labels": 0}, "labels"), ({"labels": 1001}, "labels"), ({"labels": "12a"}, "labels"),
    ({"labels": -3}, "labels"), ({"labels": True}, "labels"), ({"labels": None}, "labels"),
    ({"package_quantity": "0"}, "package_quantity"), ({"package_quantity": "-1"}, "package_quantity"),
    ({"package_quantity": "1.2345"}, "package_quantity"), ({"package_quantity": 2.5}, "package_quantity"),
    ({"layout": "a3-8"}, "layout"), ({"layout": ""}, "layout"),
])
def test_bad_input_names_the_field_and_writes_nothing(app, world, data, field):
    with app.app_context():
        before = written()
        with db.write_session() as s, pytest.raises(InvalidInput) as refused:
            print_labels(s, s.get(Batch, world["batch"].id),
                         {"labels": 10, "package_quantity": "5", "layout": "a4-24", **data}, user=world["producer"])
        assert field in refused.value.fields
        assert written() == before


def test_a_thousand_labels_is_the_most_in_one_print(app, world):
    with app.app_context():
        row = label(app, world, 1000, package="1")
        assert row.labels == 1000


@pytest.mark.parametrize("user", ["rival", "inspector", "regulator", "certifier"])
def test_only_the_batchs_producer_prints(app, world, user):
    with app.app_context():
        before = written()
        with pytest.raises(Forbidden):
            label(app, world, 10, user=user)
        assert written() == before


def test_an_admin_may_print(app, world):
    with app.app_context():
        row = label(app, world, 10, user="admin")
        assert fetch(LabelPrint, row.id).printed_by == world["admin"].username


def test_a_frozen_code_gets_no_labels(app, world):
    with app.app_context():
        with app.extensions["traceapp.db"].engine.begin() as conn:  # behind the guard: only the state matters
            conn.execute(CodeState.__table__.insert().values(batch_id=world["batch"].id, state="frozen", reason="x",
                                                             changed_by="tests", changed_at=datetime(2026, 8, 9),
                                                             ledger_seq=0))
        before = written()
        with pytest.raises(Rejected):
            label(app, world, 1)
        assert written() == before


def test_label_rows_changed_behind_the_ledger_are_reported(app, world):
    changes = {"labels": 999, "package_quantity": Decimal("7"), "layout": "80x60", "printed_by": "mallory",
               "batch_id": world["other"].id}
    names = {"package_quantity": "package_quantity", "batch_id": "batch"}
    with app.app_context():
        victims = {column: label(app, world, 1) for column in changes}
        kept = label(app, world, 1)
        gone = label(app, world, 1)
        assert label_differences() == []
        table = LabelPrint.__table__
        with app.extensions["traceapp.db"].engine.begin() as conn:
            for column, victim in victims.items():
                conn.execute(table.update().where(table.c.id == victim.id).values({column: changes[column]}))
            conn.execute(table.delete().where(table.c.id == gone.id))
            conn.execute(table.insert().values(batch_id=world["batch"].id, labels=5, package_quantity=1,
                                               layout="a4-24", printed_by="mallory", ledger_seq=10_000))
        found = label_differences()
    for column, victim in victims.items():
        assert f"label_prints: row {victim.id} differs from entry {victim.ledger_seq} in {names.get(column, column)}" \
            in found, (column, found)
    assert f"label_prints: the print in entry {gone.ledger_seq} is missing" in found
    assert any(line.startswith("label_prints: row ") and line.endswith("has no ledger entry") for line in found)
    assert not any(f"row {kept.id} " in line for line in found)
    assert len(found) == len(changes) + 2


# -- the PDF -----------------------------------------------------------------------------------

def decode_pages(pdf: bytes) -> list[list[str]]:
    """Return the texts of the QR codes zxing-cpp finds on each page rendered at 300 dpi."""
    document = pypdfium2.PdfDocument(io.BytesIO(pdf))
    try:
        return [[r.text for r in zxingcpp.read_barcodes(page.render(scale=300 / 72).to_pil())
                 if r.format == zxingcpp.BarcodeFormat.QRCode] for page in document]
    finally:
        document.close()


def page_texts(pdf: bytes) -> list[str]:
    document = pypdfium2.PdfDocument(io.BytesIO(pdf))
    try:
        return [page.get_textpage().get_text_range() for page in document]
    finally:
        document.close()


@pytest.fixture
def branded(app, world):
    """A batch of the producer's under a licensed regional brand."""
    with app.app_context(), db.write_session() as s:
        _org, manager = make_brand_owner(s)
        brand = make_brand(s, manager)
        make_license(s, manager, brand, world["producer_org"].id)
        return make_batch(s, world["producer"], brand=brand.slug, quantity="3000")


@pytest.mark.parametrize(("layout", "labels"), [("a4-24", 30), ("a4-21", 21), ("a4-14", 15), ("a4-40", 41),
                                                ("100x70", 3), ("80x60", 2)])
def test_label_sheet_pdf_pages_decode(app, world, branded, layout, labels):
    with app.app_context():
        session = db.session()
        batch = session.get(Batch, branded.id)
        content = content_of(session, batch)
        url = target_url(session, batch)
        pdf = render_pdf(content, LAYOUTS[layout], labels)
    assert content.brand == "炎陵黄桃" and content.producer == "producer组织"
    pages = decode_pages(pdf)
    assert [len(found) for found in pages] == LAYOUTS[layout].pages(labels)
    assert {text for found in pages for text in found} == {url}
    assert url.endswith(branded.code)
    text = page_texts(pdf)[0]
    for part in ("黄桃", "炎陵黄桃", "producer组织", "2026-08-01", branded.code):
        assert part in text, (part, text)


def test_the_qr_matrix_is_made_once_per_url():
    qr_matrix.cache_clear()
    first = qr_matrix("http://traceapp.test/t/ABCDEFGHJKMNP")
    assert qr_matrix("http://traceapp.test/t/ABCDEFGHJKMNP") is first
    assert qr_matrix.cache_info().hits == 1
    assert len(first) == 29  # version 3 at level M holds this URL


def test_a_long_producer_name_is_shrunk_and_cut_to_stay_on_its_label():
    content = LabelContent("http://traceapp.test/t/ABCDEFGHJKMNP", "ABCDEFGHJKMNP", "黄桃", None,
                           "湖南省株洲市炎陵县鹿原镇九龙村炎陵黄桃种植专业合作社联合社", "2026-08-01")
    from traceapp.records.label_pdf import label_art, text_width

    art = label_art(content, 48.5, 25.4)
    producer = art.lines[1]
    assert producer.text.endswith("…") and text_width(producer.text, producer.size) <= art.text_width
    assert all(line.baseline <= 25.4 for line in art.lines)
    assert art.qr_x + art.qr_side <= art.text_x


# -- the pages ---------------------------------------------------------------------------------

@pytest.fixture
def people(app, world):
    """Log-in accounts for the producer, the rival and an inspector."""
    with app.app_context(), db.write_session() as s:
        for name in ("producer", "rival"):
            make_user(s, "producer", world[f"{name}_org"].id, name=f"web-{name}", password=PASSWORD)
        make_user(s, "inspector", world["inspector_org"].id, name="web-inspector", password=PASSWORD)
    return world


def log_in(client, username: str) -> str:
    page = client.get("/login")
    token = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"csrf_token": token, "username": username, "password": PASSWORD})
    assert response.status_code == 302
    return re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', client.get("/home").text).group(1)


def labels_in(html: str) -> int:
    return len(re.findall(r'<div class="label p[0-9]+">', html))


def test_the_form_previews_the_first_page_without_writing(app, people):
    client = app.test_client()
    log_in(client, "web-producer")
    code = people["batch"].code
    with app.app_context():
        before = written()
    page = client.get(f"/batches/{code}")
    assert f'href="/batches/{code}/labels"' in page.text and "打印标签" in page.text
    form = client.get(f"/batches/{code}/labels")
    assert form.status_code == 200 and 'name="n"' in form.text and 'name="package"' in form.text
    assert labels_in(form.text) == 0
    preview = client.get(f"/batches/{code}/labels?n=30&package=5&layout=a4-24")
    assert preview.status_code == 200 and labels_in(preview.text) == 24
    assert "共 2 页" in preview.text and 'name="csrf_token"' in preview.text
    english = client.get(f"/batches/{code}/labels?n=30&package=5&layout=a4-40&lang=en")
    assert "Print labels" in english.text and labels_in(english.text) == 30
    with app.app_context():
        assert written() == before


def test_bad_preview_input_comes_back_beside_its_field(app, people):
    client = app.test_client()
    log_in(client, "web-producer")
    code = people["batch"].code
    bad = client.get(f"/batches/{code}/labels?n=0&package=5&layout=a4-24")
    assert bad.status_code == 400 and 'id="e-n"' in bad.text and labels_in(bad.text) == 0
    over = client.get(f"/batches/{code}/labels?n=241&package=5&layout=a4-24")
    assert over.status_code == 422 and "超出 1 张" in over.text


def test_printing_records_the_print_and_answers_with_the_html_sheet(app, people):
    client = app.test_client()
    token = log_in(client, "web-producer")
    code = people["batch"].code
    with app.app_context():
        before = written()
    posted = client.post(f"/batches/{code}/labels", data={"csrf_token": token, "n": "30", "package": "5",
                                                         "layout": "a4-24", "format": "html"})
    assert posted.status_code == 303 and posted.location.endswith(".html")  # reloading does not print again
    sheet = client.get(posted.location)
    assert sheet.status_code == 200 and sheet.mimetype == "text/html"
    assert labels_in(sheet.text) == 30 and sheet.text.count('<div class="page">') == 2
    assert "@page { size: 210mm 297mm; margin: 0; }" in sheet.text
    assert "left: 0mm; top: 0.5mm" in sheet.text and "width: 70mm; height: 37mm" in sheet.text
    with app.app_context():
        assert written() == (before[0] + 1, before[1] + 1)
        assert printed(people) == 30
        row_id = db.session().scalar(select(LabelPrint.id))
    again = client.get(f"/batches/{code}/labels/{row_id}.html")
    assert again.status_code == 200 and labels_in(again.text) == 30
    with app.app_context():
        assert written() == (before[0] + 1, before[1] + 1)


def test_printing_a_pdf_answers_with_decodable_pages_and_reprints_write_nothing(app, people):
    client = app.test_client()
    token = log_in(client, "web-producer")
    code = people["batch"].code
    pdf = client.post(f"/batches/{code}/labels", data={"csrf_token": token, "n": "5", "package": "2",
                                                      "layout": "100x70", "format": "pdf"}, follow_redirects=True)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    with app.app_context():
        url = target_url(db.session(), people["batch"])
        row_id = db.session().scalar(select(LabelPrint.id))
        before = written()
    assert decode_pages(pdf.data) == [[url]] * 5
    again = client.get(f"/batches/{code}/labels/{row_id}.pdf")
    assert again.status_code == 200 and decode_pages(again.data) == [[url]] * 5
    with app.app_context():
        assert written() == before


def test_refused_posts_write_nothing(app, people):
    client = app.test_client()
    token = log_in(client, "web-producer")
    code = people["batch"].code
    good = {"csrf_token": token, "n": "10", "package": "5", "layout": "a4-24"}
    with app.app_context():
        before = written()
    assert client.post(f"/batches/{code}/labels", data={**good, "csrf_token": ""}).status_code == 400
    bad = client.post(f"/batches/{code}/labels?lang=en", data={**good, "package": "five"})
    assert bad.status_code == 400 and 'id="e-package"' in bad.text and "Quantity per package" in bad.text
    assert client.post(f"/batches/{code}/labels", data={**good, "format": "docx"}).status_code == 400
    over = client.post(f"/batches/{code}/labels?lang=zh", data={**good, "n": "241"})
    assert over.status_code == 422 and "再打印 241 张将超出 1 张" in over.text and 'id="e-n"' in over.text
    with app.app_context():
        assert written() == before


def test_other_people_get_no_label_pages(app, people):
    code = people["batch"].code
    row = label(app, people, 1)
    anonymous = app.test_client()
    assert anonymous.get(f"/batches/{code}/labels").status_code == 302
    assert anonymous.get(f"/batches/{code}/labels/{row.id}.pdf").status_code == 302
    for name in ("web-rival", "web-inspector"):
        client = app.test_client()
        token = log_in(client, name)
        assert client.get(f"/batches/{code}/labels").status_code == 403
        assert client.get(f"/batches/{code}/labels/{row.id}.pdf").status_code == 403
        assert client.post(f"/batches/{code}/labels", data={"csrf_token": token, "n": "1", "package": "5",
                                                            "layout": "a4-24"}).status_code == 403
    client = app.test_client()
    log_in(client, "web-producer")
    assert client.get(f"/batches/{people['other'].code}/labels").status_code == 403
    assert client.get(f"/batches/{code}/labels/{row.id + 1}.pdf").status_code == 404
    assert client.get(f"/batches/{code}/labels/{row.id}.svg").status_code == 404
    with app.app_context():
        assert printed(people) == 1


def test_without_the_truetype_font_labels_fall_back_to_the_builtin_cjk_font(tmp_path):
    # a fresh process: the font is registered once per process
    script = (
        "import sys; from pathlib import Path\n"
        "from traceapp.records import label_pdf\n"
        "from traceapp.records.label_sheets import LAYOUTS\n"
        "label_pdf.FONT_FILES = (Path('/nonexistent/wqy-microhei.ttc'),)\n"
        "content = label_pdf.LabelContent('http://traceapp.test/t/ABCDEFGHJKMNP', 'ABCDEFGHJKMNP', '黄桃', None,\n"
        "                                 '合作社', '2026-08-01')\n"
        "sys.stdout.buffer.write(label_pdf.render_pdf(content, LAYOUTS['a4-24'], 3))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    assert b"STSong-Light" in done.stdout and b"TraceappLabelSans" not in done.stdout
    assert decode_pages(done.stdout) == [["http://traceapp.test/t/ABCDEFGHJKMNP"] * 3]
