"""Administration: organizations changed with a reason (org.changed keeps the previous values and
``ledger verify`` re-derives them), deactivated (their users cannot sign in, their records stay),
found by name, code, region and kind; users created with a temporary password, deactivated,
given another role, their password reset; everyone's own API tokens; and every admin page refused
to every other role. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select, text

from tests.factories import make_batch, make_org, make_user, projection_differences, uscc
from traceapp import db
from traceapp.auth.models import AccountEvent, ApiToken, User
from traceapp.errors import Conflict, Forbidden, Rejected
from traceapp.ledger.store import LedgerEntry
from traceapp.personal.checks import revealed, with_reveals
from traceapp.records.models import Batch, Organization
from traceapp.records.organizations import change_organization, search_organizations
from traceapp.validation import InvalidInput

PASSWORD = "password-123"


@pytest.fixture
def world(app):
    with app.app_context(), db.write_session() as s:
        coop = make_org(s, name="鹿原镇黄桃专业合作社")
        other = make_org(s, name="霞阳镇茶叶有限公司", kind="enterprise", region="430202")
        body = make_org(s, name="株洲市农产品检测中心", kind="inspection_body")
        users = {"producer": make_user(s, "producer", coop.id, "li"),
                 "rival": make_user(s, "producer", other.id, "zhao"),
                 "inspector": make_user(s, "inspector", body.id, "qian"),
                 "admin": make_user(s, "admin", None, "root"),
                 "admin2": make_user(s, "admin", None, "root2"),
                 "regulator": make_user(s, "regulator", None, "zhou")}
        make_batch(s, users["producer"])
    return {"coop": coop.id, "other": other.id, "body": body.id, **{k: u.id for k, u in users.items()}}


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token"(?: type="hidden")?(?: id="csrf_token")? value="([^"]+)"', page).group(1)


def _token(client, path: str) -> str:
    page = client.get(path)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)


def login(client, username: str, password: str = PASSWORD):
    token = _token(client, "/login")
    return client.post("/login", data={"csrf_token": token, "username": username, "password": password})


def post(client, path: str, data: dict, *, form_path: str | None = None):
    token = _token(client, form_path or "/account/password")
    return client.post(path, data={"csrf_token": token, **data})


def admin_of(app, user_id: int) -> User:
    with app.app_context():
        return db.session().get(User, user_id)


def entries_of(app, subject: str) -> list[dict]:
    with app.app_context():
        bodies = db.session().scalars(select(LedgerEntry.body).where(LedgerEntry.subject == subject)
                                      .order_by(LedgerEntry.seq))
        return [json.loads(bytes(b)) for b in bodies]


def test_a_change_is_an_entry_with_the_previous_values_and_verify_rederives_it(app, world):
    admin = admin_of(app, world["admin"])
    with app.app_context(), db.write_session() as s:
        org = s.get(Organization, world["coop"])
        change_organization(s, org, {"name": "炎陵县鹿原镇黄桃专业合作社", "contact": "0731-62200001",
                                     "region": "430225", "reason": "工商变更登记"}, user=admin)
    change = entries_of(app, f"org:{world['coop']}")[-1]
    assert change["kind"] == "org.changed" and change["actor"] == admin.actor()
    # The contact reaches a person: the entry holds commitments to both values, their reveals are kept apart.
    with app.app_context():
        reveals = revealed(db.session())[change["seq"]]
    assert sorted(reveals) == ["changes.contact", "previous.contact"]
    assert all(isinstance(change["data"][part]["contact"], dict) for part in ("changes", "previous"))
    assert with_reveals(change["data"], reveals) == {
        "changes": {"name": "炎陵县鹿原镇黄桃专业合作社", "contact": "0731-62200001"},
        "previous": {"name": "鹿原镇黄桃专业合作社", "contact": "0731-00000000"}, "reason": "工商变更登记"}
    with app.app_context():
        assert projection_differences() == []
        with db.write_session() as s:  # a row edited behind the ledger's back is reported
            s.execute(text("UPDATE organizations SET name = 'x' WHERE id = :id"), {"id": world["coop"]})
        assert projection_differences() == [f"organizations: {world['coop']} differs from entry "
                                            f"{change_seq(app, world['coop'])} in name"]
    assert app.test_cli_runner().invoke(args=["ledger", "verify"]).exit_code == 1


def change_seq(app, org_id: int) -> int:
    with app.app_context():
        return db.session().get(Organization, org_id).ledger_seq


def test_a_new_credit_code_must_be_typed_twice_and_a_new_kind_confirmed(app, world):
    admin = admin_of(app, world["admin"])
    code = uscc()
    for extra, field in (({}, "confirm_uscc"), ({"confirm_uscc": uscc()}, "confirm_uscc")):
        with app.app_context(), pytest.raises(InvalidInput) as info, db.write_session() as s:
            change_organization(s, s.get(Organization, world["coop"]), {"uscc": code, "reason": "换证", **extra},
                                user=admin)
        assert list(info.value.fields) == [field] and "再输入一遍" in info.value.fields[field]
    with app.app_context(), db.write_session() as s:
        change_organization(s, s.get(Organization, world["coop"]),
                            {"uscc": code.lower(), "confirm_uscc": code.lower(), "reason": "换证"}, user=admin)
    with app.app_context(), pytest.raises(InvalidInput) as info, db.write_session() as s:
        change_organization(s, s.get(Organization, world["other"]), {"kind": "family_farm", "reason": "改制"},
                            user=admin)
    assert list(info.value.fields) == ["confirm_kind"]
    # a producer's organization cannot become an inspection body while it has producer accounts
    with app.app_context(), pytest.raises(Rejected) as refused, db.write_session() as s:
        change_organization(s, s.get(Organization, world["other"]),
                            {"kind": "inspection_body", "confirm_kind": "1", "reason": "改制"}, user=admin)
    assert "生产主体人员" in refused.value.message and "检测机构" in refused.value.message
    with app.app_context(), pytest.raises(Conflict), db.write_session() as s:  # the same values change nothing
        change_organization(s, s.get(Organization, world["other"]), {"name": "霞阳镇茶叶有限公司", "reason": "x"},
                            user=admin)
    with app.app_context(), pytest.raises(InvalidInput) as info, db.write_session() as s:  # a reason is required
        change_organization(s, s.get(Organization, world["other"]), {"name": "新名称"}, user=admin)
    assert info.value.fields["reason"] == "原因是必填项。"
    with app.app_context(), pytest.raises(Forbidden), db.write_session() as s:
        change_organization(s, s.get(Organization, world["other"]), {"name": "新名称", "reason": "x"},
                            user=admin_of(app, world["regulator"]))
    with app.app_context():
        assert db.session().get(Organization, world["coop"]).uscc == code
        assert [e["kind"] for e in entries_of(app, f"org:{world['other']}")] == ["org.registered"]
        assert projection_differences() == []


def test_deactivating_an_organization_ends_its_users_access_and_keeps_its_records(app, world):
    producer, admin = app.test_client(), app.test_client()
    assert login(producer, "li").status_code == 302 and producer.get("/home").status_code == 200
    token = issue_token(app, producer)
    assert app.test_client().get("/api/v1/batches", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert login(admin, "root").status_code == 302
    path = f"/admin/organizations/{world['coop']}/deactivate"
    refused = post(admin, path, {"reason": ""}, form_path=path)
    assert refused.status_code == 400 and "原因是必填项" in refused.text
    done = post(admin, path, {"reason": "合作社已注销"}, form_path=path)
    assert done.status_code == 303
    assert producer.get("/home").status_code == 302  # the session has ended
    assert login(app.test_client(), "li").status_code == 400  # and no new one begins
    assert app.test_client().get("/api/v1/batches", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    last = entries_of(app, f"org:{world['coop']}")[-1]
    assert last["kind"] == "org.deactivated" and last["data"] == {"reason": "合作社已注销"}
    assert last["actor"] == admin_of(app, world["admin"]).actor()
    with app.app_context():
        assert db.session().scalar(select(Batch.id).where(Batch.organization_id == world["coop"])) is not None
        assert projection_differences() == []
    page = admin.get(f"/admin/organizations/{world['coop']}")
    assert "已停用" in page.text and "黄桃" in page.text  # its batches are still listed
    path = f"/admin/organizations/{world['coop']}/reactivate"
    assert post(admin, path, {"reason": "恢复经营"}, form_path=path).status_code == 303
    assert login(app.test_client(), "li").status_code == 302
    with app.app_context():
        assert projection_differences() == []
    assert app.test_cli_runner().invoke(args=["ledger", "verify"]).exit_code == 0


def issue_token(app, client) -> str:
    page = post(client, "/account/tokens", {}, form_path="/account/tokens")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    return re.search(r'id="token-value" value="(ta_[^"]+)"', page.text).group(1)


def test_an_admin_creates_a_user_whose_temporary_password_must_be_changed(app, world):
    admin = app.test_client()
    assert login(admin, "root").status_code == 302
    unfit = post(admin, "/admin/users/new", {"username": "sun", "role": "inspector", "org": str(world["coop"])},
                 form_path="/admin/users/new")
    assert unfit.status_code == 400 and "检测人员不能属于农民专业合作社" in unfit.text
    created = post(admin, "/admin/users/new", {"username": "sun", "role": "producer", "org": str(world["coop"])},
                   form_path="/admin/users/new")
    assert created.status_code == 200 and created.headers["Cache-Control"] == "no-store"
    temporary = re.search(r'id="temporary-password" value="([^"]+)"', created.text).group(1)
    user = app.test_client()
    assert login(user, "sun", temporary).status_code == 302
    assert user.get("/home").headers["Location"].endswith("/account/password")  # nothing else until it is changed
    changed = post(user, "/account/password", {"current": temporary, "new": "sun-own-pass", "repeat": "sun-own-pass"})
    assert changed.status_code == 200 and user.get("/home").status_code == 200
    with app.app_context():
        sun = db.session().scalar(select(User).where(User.username == "sun"))
        assert sun.organization_id == world["coop"] and not sun.must_change_password
        events = db.session().scalars(select(AccountEvent).where(AccountEvent.user_id == sun.id)).all()
        assert [(e.action, e.actor_id) for e in events] == [("user.created", world["admin"])]
        assert temporary not in events[0].detail


def test_an_admin_resets_changes_the_role_of_and_deactivates_a_user(app, world):
    admin, user = app.test_client(), app.test_client()
    assert login(admin, "root").status_code == 302 and login(user, "qian").status_code == 302
    base = f"/admin/users/{world['inspector']}"
    assert "确认重置密码" in admin.get(base + "/password").text  # the confirmation step writes nothing
    assert login(app.test_client(), "qian").status_code == 302
    reset = post(admin, base + "/password", {}, form_path=base + "/password")
    temporary = re.search(r'id="temporary-password" value="([^"]+)"', reset.text).group(1)
    assert user.get("/home").status_code == 302  # signed out everywhere
    assert login(app.test_client(), "qian").status_code == 400
    assert login(app.test_client(), "qian", temporary).status_code == 302
    wrong = post(admin, base + "/role", {"role": "certifier"}, form_path=base)
    assert wrong.status_code == 400 and "认证人员不能属于检测机构" in wrong.text
    own = post(admin, f"/admin/users/{world['admin']}/role", {"role": "regulator"}, form_path=base)
    assert own.status_code == 422
    rival = f"/admin/users/{world['rival']}"
    assert post(admin, rival + "/role", {"role": "brand_manager"}, form_path=base).status_code == 400
    assert post(admin, f"/admin/users/{world['regulator']}/role", {"role": "admin"}, form_path=base).status_code == 303
    assert post(admin, base + "/deactivate", {}, form_path=base).status_code == 303
    assert login(app.test_client(), "qian", temporary).status_code == 400
    assert post(admin, base + "/reactivate", {}, form_path=base).status_code == 303
    assert login(app.test_client(), "qian", temporary).status_code == 302
    with app.app_context():
        actions = db.session().scalars(select(AccountEvent.action).order_by(AccountEvent.id)).all()
        assert actions == ["user.password_reset", "user.role_changed", "user.deactivated", "user.reactivated"]
        assert db.session().get(User, world["regulator"]).role == "admin"
    log = admin.get("/admin/log").text
    assert "重置密码" in log and "修改角色" in log and "user.password_reset" not in log


def test_tokens_are_shown_once_listed_by_prefix_and_revoked_by_their_owner_only(app, world):
    owner, other = app.test_client(), app.test_client()
    assert login(owner, "li").status_code == 302 and login(other, "zhao").status_code == 302
    token = issue_token(app, owner)
    bearer = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/v1/batches", headers=bearer).status_code == 200
    listed = owner.get("/account/tokens").text
    assert token[:10] in listed and token not in listed and "尚未使用" not in listed  # its use is recorded
    with app.app_context():
        row = db.session().scalar(select(ApiToken).where(ApiToken.user_id == world["producer"]))
    assert token[:10] not in other.get("/account/tokens").text
    assert other.get(f"/account/tokens/{row.id}/revoke").status_code == 404
    assert post(other, f"/account/tokens/{row.id}/revoke", {}, form_path="/account/tokens").status_code == 404
    assert app.test_client().get("/api/v1/batches", headers=bearer).status_code == 200
    assert "确认撤销" in owner.get(f"/account/tokens/{row.id}/revoke").text
    done = post(owner, f"/account/tokens/{row.id}/revoke", {}, form_path="/account/tokens")
    assert done.status_code == 303
    assert app.test_client().get("/api/v1/batches", headers=bearer).status_code == 401
    assert token[:10] not in owner.get("/account/tokens").text


def test_organizations_are_found_by_name_code_region_and_kind_a_page_at_a_time(app, world):
    with app.app_context():
        s = db.session()
        code = s.get(Organization, world["other"]).uscc
        assert [o.id for o in search_organizations(s, q="黄桃").rows] == [world["coop"]]
        assert [o.id for o in search_organizations(s, q=code.lower()).rows] == [world["other"]]
        assert {o.id for o in search_organizations(s, region="430200").rows} == set(
            s.scalars(select(Organization.id).where(Organization.region.like("4302%"))))
        assert [o.id for o in search_organizations(s, kind="inspection_body").rows] == [world["body"]]
        assert search_organizations(s, q="100%_").total == 0
        first, second = (search_organizations(s, per_page=2, page=n) for n in (1, 2))
        assert first.total == 3 and first.pages == 2 and [o.id for o in first.rows + second.rows] == sorted(
            [world["coop"], world["other"], world["body"]])
    admin = app.test_client()
    login(admin, "root")
    page = admin.get("/admin/organizations?q=黄桃")
    assert page.status_code == 200 and "鹿原镇黄桃专业合作社" in page.text and "霞阳镇" not in page.text


ADMIN_PAGES = ("/admin/", "/admin/organizations", "/admin/organizations/{coop}", "/admin/organizations/{coop}/edit",
               "/admin/organizations/{coop}/deactivate", "/admin/users", "/admin/users/new", "/admin/users/{producer}",
               "/admin/users/{producer}/password", "/admin/users/{producer}/deactivate", "/admin/log",
               "/admin/logins")


def test_every_admin_page_refuses_every_other_role(app, world):
    with app.app_context(), db.write_session() as s:
        owner = make_org(s, kind="brand_owner", name="炎陵县黄桃产业协会")
        certifiers = make_org(s, kind="certification_body", name="中绿华夏")
        make_user(s, "brand_manager", owner.id, "wu")
        make_user(s, "certifier", certifiers.id, "zheng")
    for name in ("li", "qian", "zhou", "wu", "zheng"):
        client = app.test_client()
        assert login(client, name).status_code == 302
        for path in ADMIN_PAGES:
            assert client.get(path.format(**world)).status_code == 403, (name, path)
        token = _token(client, "/account/tokens")
        for path in (f"/admin/organizations/{world['coop']}/deactivate", f"/admin/users/{world['producer']}/role"):
            assert client.post(path, data={"csrf_token": token, "reason": "x", "role": "admin"}).status_code == 403
    anonymous = app.test_client()
    assert all(anonymous.get(p.format(**world)).status_code == 302 for p in ADMIN_PAGES)
    with app.app_context():
        assert db.session().get(User, world["producer"]).role == "producer"
        assert db.session().get(Organization, world["coop"]).active


def test_the_admin_edits_an_organization_through_its_page(app, world):
    admin = app.test_client()
    login(admin, "root")
    path = f"/admin/organizations/{world['coop']}/edit"
    form = admin.get(path).text
    assert 'value="鹿原镇黄桃专业合作社"' in form
    values = {"name": "鹿原镇黄桃专业合作社", "kind": "cooperative", "uscc": "", "region": "430225", "address": "",
              "contact": "0731-00000000", "reason": "更正"}
    with app.app_context():
        values["uscc"] = db.session().get(Organization, world["coop"]).uscc
    refused = post(admin, path, {**values, "kind": "enterprise"}, form_path=path)
    assert refused.status_code == 400 and "确认修改类型" in refused.text
    done = post(admin, path, {**values, "kind": "enterprise", "confirm_kind": "1", "address": "鹿原镇九龙村",
                              "contact": "0731-62200002"}, form_path=path)
    assert done.status_code == 303
    page = admin.get(done.headers["Location"]).text
    assert "组织的登记已修改" in page and "农民专业合作社 → 企业" in page and "cooperative" not in page
    # the contact is a commitment in the entry; an admin reads its revealed values
    assert "0731-00000000 → 0731-62200002" in page and "湖南省株洲市炎陵县鹿原镇 → 鹿原镇九龙村" in page
    english = admin.get(done.headers["Location"], headers={"Accept-Language": "en"})
    assert english.status_code == 200
    with app.app_context():
        assert projection_differences() == []
