"""The public brand pages through the test client: the directory's search and filters, a brand page's
licensees (only the active ones marked active), this year's figures and recent batches, and the page
cache (kept while the ledger is unchanged, never for a logged-in visitor). SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event

from tests.factories import make_batch, make_brand, make_brand_owner, make_license, make_org, make_world
from traceapp import clock, db
from traceapp.auth.services import create_user
from traceapp.brands.services import revoke_license

SLUG = "yanling-huangtao"
TODAY = clock.today()
THIS_YEAR = {"valid_from": f"{TODAY.year}-01-01", "valid_to": f"{TODAY.year}-12-31"}


@pytest.fixture
def world(app):
    """炎陵黄桃 with three licensees: the producer (active, 50,000 kg this year, one 1,200.5 kg batch), the
    rival (licence revoked) and a third farm whose licence ended last year; plus 南漳香菇 in Hubei."""
    with app.app_context(), db.write_session() as s:
        world = make_world(s)
        world["owner_org"], world["manager"] = make_brand_owner(s)
        brand = make_brand(s, world["manager"])
        make_license(s, world["manager"], brand, world["producer_org"].id, **THIS_YEAR)
        revoked = make_license(s, world["manager"], brand, world["rival_org"].id, **THIS_YEAR)
        revoke_license(s, brand, revoked, {"reason": "抽检不合格"}, user=world["manager"])
        world["old_org"] = make_org(s, kind="family_farm", name="往年家庭农场")
        make_license(s, world["manager"], brand, world["old_org"].id, valid_from=f"{TODAY.year - 1}-01-01",
                     valid_to=f"{TODAY.year - 1}-12-31")
        world["batch"] = make_batch(s, world["producer"], brand=SLUG, harvest_date=TODAY.isoformat(),
                                    pack_date=None)
        hubei_org, hubei_manager = make_brand_owner(s, name="南漳县香菇协会")
        make_brand(s, hubei_manager, name="南漳香菇", aliases=[], category="edible_fungi", area=["420624"],
                   products=["香菇"], gi_number=None, standard=None, description="")
        return world


def licensee_rows(html: str) -> dict[str, str]:
    """Return each licensee row's organization name -> its class (active / inactive)."""
    table = html[html.index('id="licensees"'):]
    table = table[:table.index("</table>")]
    return {re.sub(r"<[^>]+>|\s", "", name).split("演示数据")[0]: cls
            for cls, name in re.findall(r'<tr class="(\w+)">\s*<td[^>]*>(.*?)<br>', table, re.S)}


def names_found(client, query: str) -> list[str]:
    html = client.get(query).get_data(as_text=True)
    return re.findall(r'<li><a href="/brands/[\w-]+"><strong>([^<]+)</strong>', html)


def test_the_directory_finds_a_brand_by_name_alias_pinyin_initials_and_place(app, world):
    client = app.test_client()
    for q in ("炎陵", "锦绣黄桃", "yanling", "yanlinghuangtao", "ylht", "株洲", "炎陵县"):
        assert any("炎陵黄桃" in n for n in names_found(client, f"/brands/?q={q}")), q
        assert not any("南漳香菇" in n for n in names_found(client, f"/brands/?q={q}")), q
    assert any("南漳香菇" in n for n in names_found(client, "/brands/?q=nzxg"))
    assert names_found(client, "/brands/?q=zzzzqq") == []


def test_the_directory_filters_by_province_and_category(app, world):
    client = app.test_client()
    hunan = names_found(client, "/brands/?province=430000")
    assert any("炎陵黄桃" in n for n in hunan) and not any("南漳香菇" in n for n in hunan)
    fungi = names_found(client, "/brands/?category=edible_fungi")
    assert any("南漳香菇" in n for n in fungi) and not any("炎陵黄桃" in n for n in fungi)


def test_a_brand_page_marks_only_active_licensees_active_and_shows_this_years_use(app, world):
    html = app.test_client().get(f"/brands/{SLUG}").get_data(as_text=True)
    rows = licensee_rows(html)
    assert rows == {"producer组织": "active", "rival组织": "inactive", "往年家庭农场": "inactive"}
    assert "已撤销" in html and "不在有效期内" in html
    assert re.search(r"1,?200\.5 / 50,?000 kg", html)
    assert '<strong id="batch-count">1</strong>' in html
    assert f'href="/t/{world["batch"].code}"' in html
    assert "炎陵县" in html and "AGI2017-01-2058" in html


def test_a_brand_page_speaks_english_and_an_unknown_slug_is_404(app, world):
    client = app.test_client()
    english = client.get(f"/brands/{SLUG}?lang=en").get_data(as_text=True)
    assert "revoked" in english.lower() and "已撤销" not in english
    missing = client.get("/brands/no-such-brand")
    assert missing.status_code == 404


def statements_for(app, client, path: str) -> tuple[str, int]:
    """Return the page and how many SQL queries serving it took."""
    seen = []

    def count(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    engine = app.extensions["traceapp.db"].engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        html = client.get(path).get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return html, len(seen)


def test_an_anonymous_page_is_kept_until_the_ledger_grows(app, world):
    app.config["PAGE_VERSION_SECONDS"] = 60
    client = app.test_client()
    first, cold = statements_for(app, client, f"/brands/{SLUG}")
    again, warm = statements_for(app, client, f"/brands/{SLUG}")
    assert again == first and warm == 0 < cold  # not even the ledger's size: this process has not written
    with app.app_context(), db.write_session() as s:
        newer = make_batch(s, world["producer"], brand=SLUG, harvest_date=TODAY.isoformat(), pack_date=None,
                           quantity="99")
    after, _ = statements_for(app, client, f"/brands/{SLUG}")
    assert f'href="/t/{newer.code}"' in after and '<strong id="batch-count">2</strong>' in after
    etag = client.get(f"/brands/{SLUG}").headers["ETag"]
    assert client.get(f"/brands/{SLUG}", headers={"If-None-Match": etag}).status_code == 304


def test_a_logged_in_visitor_is_never_served_the_anonymous_copy(app, world):
    with app.app_context(), db.write_session() as s:
        create_user(s, "pagereader", "regulator", None, "correct horse battery")
    client = app.test_client()
    anonymous = client.get(f"/brands/{SLUG}").get_data(as_text=True)
    assert "pagereader" not in anonymous
    login = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login).group(1)
    response = client.post("/login", data={"csrf_token": token, "username": "pagereader",
                                           "password": "correct horse battery"})
    assert response.status_code == 302
    mine = client.get(f"/brands/{SLUG}").get_data(as_text=True)
    assert "pagereader" in mine
    other = app.test_client().get(f"/brands/{SLUG}").get_data(as_text=True)
    assert "pagereader" not in other


def test_another_workers_write_shows_once_the_ledger_size_is_read_again(app, world):
    """A write through another app (another worker) is noticed when the size is next read."""
    from traceapp import create_app

    app.config["PAGE_VERSION_SECONDS"] = 60
    client = app.test_client()
    assert '<strong id="batch-count">1</strong>' in client.get(f"/brands/{SLUG}").text
    other = create_app({"DATABASE_URL": app.config["DATABASE_URL"], "TESTING": True,
                        "TRACEAPP_INSTANCE_PATH": app.instance_path})
    try:
        with other.app_context(), db.write_session() as s:
            from traceapp.auth.models import User

            producer = s.get(User, world["producer"].id)
            make_batch(s, producer, brand=SLUG, harvest_date=TODAY.isoformat(), pack_date=None, quantity="7")
    finally:
        other.extensions["traceapp.db"].engine.dispose()
    assert '<strong id="batch-count">1</strong>' in client.get(f"/brands/{SLUG}").text  # within the minute
    app.config["PAGE_VERSION_SECONDS"] = 0
    assert '<strong id="batch-count">2</strong>' in client.get(f"/brands/{SLUG}").text
