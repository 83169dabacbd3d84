"""The app's own Flask class: relative URLs kept per request root, and the Python-side gettext
kept per language, give what Flask and Flask-Babel would."""

from __future__ import annotations

import flask
from flask_babel import gettext as babel_gettext

from traceapp import i18n


def test_a_kept_url_is_the_one_flask_builds_under_each_root(app):
    with app.test_request_context("/"):
        plain = flask.url_for("brands.page", slug="yanling-huangtao")
        again = flask.url_for("brands.page", slug="yanling-huangtao")
        other = flask.url_for("brands.page", slug="xiangyang-gaoxiangcha")
        external = flask.url_for("brands.page", slug="yanling-huangtao", _external=True)
        anchored = flask.url_for("brands.page", slug="yanling-huangtao", _anchor="licences")
        listed = flask.url_for("brands.directory", q=["桃", "茶"])
    with app.test_request_context("/", base_url="http://localhost/trace/"):
        rooted = flask.url_for("brands.page", slug="yanling-huangtao")
    assert plain == again == "/brands/yanling-huangtao"
    assert other == "/brands/xiangyang-gaoxiangcha"
    assert external == "http://localhost/brands/yanling-huangtao"
    assert anchored == "/brands/yanling-huangtao#licences"
    assert listed.startswith("/brands") and listed.count("q=") == 2
    assert rooted == "/trace/brands/yanling-huangtao"


def test_python_side_gettext_follows_the_request_language(app):
    message = "第 %(page)d / %(pages)d 页"
    for language in ("en", "zh", "en"):
        with app.test_request_context(f"/?lang={language}"):
            assert i18n.gettext(message, page=1, pages=3) == babel_gettext(message, page=1, pages=3)
            assert (i18n.gettext(message, page=1, pages=3) == message % {"page": 1, "pages": 3}) == (language == "zh")
    assert i18n.gettext(message, page=1, pages=3) == message % {"page": 1, "pages": 3}  # no app: the source text


def test_python_side_ngettext_picks_the_form_for_the_count(app):
    message = "查询过于频繁，请 %(num)d 秒后再试。"
    with app.test_request_context("/?lang=en"):
        assert i18n.ngettext(message, message, 1) == "Too many lookups: please try again in 1 second."
        assert i18n.ngettext(message, message, 3) == "Too many lookups: please try again in 3 seconds."
    with app.test_request_context("/?lang=zh"):
        assert i18n.ngettext(message, message, 1) == "查询过于频繁，请 1 秒后再试。"
    assert i18n.ngettext(message, message, 2) == "查询过于频繁，请 2 秒后再试。"  # no app: the source text
