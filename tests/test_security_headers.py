"""Security headers (issue 22, item 12): every response carries a Content-Security-Policy that lets in
only the app's own scripts, styles, images and connections and lets no one frame it, plus nosniff and a
referrer policy; no page holds an inline script, an event-handler attribute or a style attribute, and a
``<style>`` element only with this response's nonce (never on the consumer page, which is kept rendered);
a page rendered for a signed-in user is never ``Cache-Control: public``. SQLite and PostgreSQL."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.factories import make_printed_pages

PASSWORD = "traceapp-demo"
TEMPLATES = Path(__file__).parent.parent / "templates"


def policy(response) -> dict[str, list[str]]:
    """The response's Content-Security-Policy as directive -> sources."""
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{response.request.path} has no Content-Security-Policy"
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        assert name not in directives, header
        directives[name] = sources
    return directives


def log_in(client, username: str) -> None:
    page = client.get("/login")
    token = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"csrf_token": token, "username": username, "password": PASSWORD})
    assert response.status_code == 302, response.text


@pytest.fixture
def sample(demo):
    """The demo data, plus a batch of luyuan's with a 合格证 and a printed label sheet: the codes and ids
    of the pages below."""
    return make_printed_pages(demo)


def anonymous_urls(sample) -> list[str]:
    return ["/", "/login", "/brands/", "/brands/yanling-huangtao", "/brands/?q=黄桃", f"/t/{sample['plain']}",
            f"/t/{sample['code']}?lang=en", "/no-such-page"]


def signed_in_urls(sample) -> dict[str, list[str]]:
    code = sample["code"]
    return {
        "luyuan": ["/home", "/batches/new", f"/batches/{code}", f"/batches/{code}/correct",
                   f"/batches/{code}/compliance-certificates/new", f"/compliance-certificates/{sample['cert']}",
                   f"/compliance-certificates/{sample['cert']}?size=80x60",
                   f"/batches/{code}/labels", f"/batches/{code}/labels?n=3&package=5&layout=a4-24",
                   f"/batches/{code}/labels/{sample['print']}.html", "/brands/yanling-huangtao", f"/t/{code}"],
        "regulator": ["/home", "/audit/", "/audit/exports", "/audit/risks/", f"/batches/{code}",
                      f"/batches/{code}/recall", "/brands/"],
        "admin": ["/organizations", "/organizations/new", "/certifications", "/admin/logins", "/account/password"],
        "inspector": ["/inspections/new"],
        "certifier": ["/certifications/new"],
    }


# -- headers on every response ---------------------------------------------------------------------

def test_every_response_carries_the_policy_nosniff_and_the_referrer_policy(app, sample, client):
    code = sample["code"]
    urls = [*anonymous_urls(sample), f"/t/{code}.json", f"/qr/{code}.svg", f"/qr/{code}.png", "/static/style.css",
            "/static/verify.js", "/ledger/checkpoint", "/ledger/key", "/api/v1/openapi.json", "/api/v1/batches",
            "/brands/no-such-brand", "/01/06971234560018/10/YL2026-0809"]
    for url in urls:
        response = client.get(url)
        assert response.status_code < 500, url
        directives = policy(response)
        for kind in ("default-src", "script-src", "style-src", "img-src", "connect-src"):
            assert directives[kind] == ["'self'"], (url, kind, directives)
        assert directives["frame-ancestors"] == ["'none'"], url
        assert directives["object-src"] == ["'none'"] and directives["base-uri"] == ["'none'"], url
        assert directives["form-action"] == ["'self'"], url
        assert response.headers["X-Content-Type-Options"] == "nosniff", url
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin", url
        assert response.headers["X-Frame-Options"] == "DENY", url
        response.close()  # a static file's


def test_a_post_and_an_error_carry_them_too(app, sample, client):
    refused = client.post("/login", data={"username": "luyuan", "password": "x"})  # no CSRF token: 400
    assert refused.status_code == 400 and policy(refused)["script-src"] == ["'self'"]
    not_allowed = client.delete("/")
    assert not_allowed.status_code == 405 and policy(not_allowed)["frame-ancestors"] == ["'none'"]


def test_signed_in_pages_carry_them(app, sample, client):
    for username, urls in signed_in_urls(sample).items():
        log_in(client, username)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, (username, url, response.status_code)
            directives = policy(response)
            assert directives["script-src"] == ["'self'"], (username, url)
            assert directives["frame-ancestors"] == ["'none'"], (username, url)
            assert response.headers["X-Content-Type-Options"] == "nosniff"
        client.delete_cookie("session")


# -- caching ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/brands/yanling-huangtao", "/brands/", "/brands/?q=黄桃"])
def test_a_brand_page_is_public_for_visitors_and_private_no_store_for_a_signed_in_user(app, sample, client, url):
    anonymous = client.get(url)
    assert anonymous.status_code == 200
    assert anonymous.cache_control.public and anonymous.cache_control.max_age
    assert "csrf_token" not in anonymous.text
    log_in(client, "brand")
    signed_in = client.get(url)
    assert signed_in.status_code == 200
    assert "brand" in signed_in.text and "csrf_token" in signed_in.text  # the user's name, a CSRF token
    assert not signed_in.cache_control.public
    assert signed_in.cache_control.private and signed_in.cache_control.no_store
    assert "public" not in signed_in.headers["Cache-Control"]
    revalidated = client.get(url, headers={"If-None-Match": anonymous.headers["ETag"]})
    assert "public" not in revalidated.headers["Cache-Control"]


def test_no_signed_in_page_is_public(app, sample, client):
    for username, urls in signed_in_urls(sample).items():
        log_in(client, username)
        for url in urls:
            response = client.get(url)
            assert "public" not in response.headers.get("Cache-Control", ""), (username, url)
        client.delete_cookie("session")


def test_a_qr_image_stays_cacheable_for_a_signed_in_user(app, sample, client):
    log_in(client, "luyuan")
    response = client.get(f"/qr/{sample['code']}.svg")
    assert response.cache_control.public and response.cache_control.immutable  # the same image for anyone


# -- no inline script or style ---------------------------------------------------------------------

class InlineFinder(HTMLParser):
    """Collects what a strict policy blocks: inline scripts, event-handler attributes, style attributes,
    ``javascript:`` and ``data:`` URLs, and ``<style>`` elements (with their nonce)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.style_nonces: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script" and not names.get("src"):
            self.problems.append("inline <script>")
        if tag == "style":
            self.style_nonces.append(names.get("nonce"))
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…>")
            if name == "style":
                self.problems.append(f"<{tag} style={value!r}>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                    ("javascript:", "data:")):
                self.problems.append(f"<{tag} {name}={value!r}>")

    handle_startendtag = handle_starttag


def inline(response) -> InlineFinder:
    finder = InlineFinder()
    finder.feed(response.text)
    return finder


def test_no_page_holds_an_inline_script_a_handler_or_a_style_attribute(app, sample, client):
    pages = [("anonymous", url, client.get(url)) for url in anonymous_urls(sample)]
    for username, urls in signed_in_urls(sample).items():
        log_in(client, username)
        pages += [(username, url, client.get(url)) for url in urls]
        client.delete_cookie("session")
    for who, url, response in pages:
        assert response.mimetype == "text/html", (who, url)
        found = inline(response)
        assert found.problems == [], (who, url, found.problems)
        sources = policy(response)["style-src"]
        for nonce in found.style_nonces:  # a <style> element needs this response's nonce
            assert nonce and f"'nonce-{nonce}'" in sources, (who, url, nonce, sources)


def test_a_label_sheet_gets_a_fresh_style_nonce_per_response(app, sample, client):
    log_in(client, "luyuan")
    url = f"/batches/{sample['code']}/labels/{sample['print']}.html"
    first, second = client.get(url), client.get(url)
    nonces = [set(inline(r).style_nonces) for r in (first, second)]  # one nonce for a response's <style>s
    assert all(len(n) == 1 and None not in n for n in nonces)
    assert nonces[0] != nonces[1]
    (nonce,) = nonces[0]
    assert len(nonce) >= 22  # 128 bits or more (CSP 3, section 7.1: "at least 128 bits")
    assert policy(first)["style-src"] == ["'self'", f"'nonce-{nonce}'"]
    assert policy(first)["script-src"] == ["'self'"]  # the nonce is for styles only


def test_the_consumer_page_needs_no_nonce_since_caches_keep_it(app, sample, client):
    for _ in range(2):
        response = client.get(f"/t/{sample['plain']}")
        assert response.status_code == 200
        assert "<style" not in response.text and "nonce" not in response.text
        assert policy(response)["style-src"] == ["'self'"]


SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)", re.IGNORECASE)
HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[^>]*\sstyle\s*=", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style\b(?![^>]*\bnonce=)", re.IGNORECASE)


def test_no_template_holds_an_inline_script_a_handler_or_a_style_attribute():
    templates = sorted(TEMPLATES.rglob("*.html"))
    assert len(templates) > 30
    for path in templates:
        text = path.read_text(encoding="utf-8")
        for rule in (SCRIPT, HANDLER, STYLE_ATTRIBUTE, STYLE_ELEMENT):
            assert not rule.search(text), (path.relative_to(TEMPLATES), rule.pattern, rule.search(text).group(0))
    for name in ("base.html", "public/trace.html", "records/_batch_facts.html"):  # what a cached page is made of
        assert "style_nonce" not in (TEMPLATES / name).read_text(encoding="utf-8")
