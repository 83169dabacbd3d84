"""Every translatable string in the code and templates has an English translation; the language link
keeps the page it is on."""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import parse_qsl

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]


def test_every_message_has_an_english_translation():
    with (ROOT / "traceapp/translations/en/LC_MESSAGES/messages.po").open("rb") as f:
        catalog = read_po(f)
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog
                  if m.id and (m.string if isinstance(m.string, str) else all(m.string))}
    method_map = [("traceapp/**.py", "python"), ("templates/**.html", "jinja2")]
    found = {msg[2] if isinstance(msg[2], str) else msg[2][0]
             for msg in extract_from_dir(str(ROOT), method_map, keywords={"_": None, "_l": None, "gettext": None,
                                                                          "lazy_gettext": None, "ngettext": (1, 2)})}
    missing = sorted(m for m in found if m not in translated)
    assert missing == []


def test_a_counted_message_has_an_english_form_for_one_and_for_more():
    """A count goes through ngettext, whose English catalog entry says "1 batch" and "2 batches"."""
    with (ROOT / "traceapp/translations/en/LC_MESSAGES/messages.po").open("rb") as f:
        catalog = read_po(f)
    counted = [m for m in catalog if m.id and not isinstance(m.id, str)]
    assert len(counted) >= 15
    for m in counted:
        one, more = m.string
        placeholders = set(re.findall(r"%\((\w+)\)", m.id[0]))
        assert placeholders & {"num", "n"} and one != more, m.id
        assert set(re.findall(r"%\((\w+)\)", one)) <= placeholders, m.id
        assert set(re.findall(r"%\((\w+)\)", more)) == placeholders, m.id


def test_each_message_is_translated_once():
    """The catalog merges by union, so two branches adding the same message leave it twice, and then
    which English a page shows depends on the order of the file."""
    text = (ROOT / "traceapp/translations/en/LC_MESSAGES/messages.po").read_text(encoding="utf-8")
    ids = re.findall(r'^msgid "(.+)"$', text, re.M)
    assert sorted({i for i in ids if ids.count(i) > 1}) == []


def test_the_language_link_keeps_the_pages_other_parameters(client):
    def link(path: str) -> str:
        page = client.get(path).get_data(as_text=True)
        return html.unescape(re.search(r'<a href="([^"]*)" hreflang="(?:en|zh)">', page).group(1))

    assert link("/brands/") == "?lang=en"
    assert parse_qsl(link("/brands/?q=炎陵&category=fruit")[1:]) == [("q", "炎陵"), ("category", "fruit"),
                                                                     ("lang", "en")]
    assert parse_qsl(link("/brands/?lang=en&province=430000")[1:]) == [("province", "430000"), ("lang", "zh")]


def test_an_english_count_of_one_is_singular(demo, client):
    found = {}
    for q in ("炎陵黄桃", "黄桃"):
        page = client.get(f"/brands/?q={q}&lang=en").get_data(as_text=True)
        found[q] = re.search(r'<p class="muted" id="result-count">([^<]*)</p>', page).group(1)
    one, more = found["炎陵黄桃"], found["黄桃"]
    assert one == "1 brand", found
    assert re.fullmatch(r"\d+ brands", more) and more != "1 brands", found
    page = client.get("/brands/?q=炎陵黄桃&lang=zh").get_data(as_text=True)
    assert "共 1 个品牌" in page


def test_english_batch_states_are_written_alike(app):
    """The batch list's status column shows each state as a capitalised word, as "Recalled" is."""
    from traceapp.lists.search import STATE

    with app.test_request_context("/?lang=en"):
        shown = [str(label) for label in STATE.values()]
    assert all(word[:1].isupper() for word in shown), shown
