"""Login security: failed logins throttled per account and per client through the database (so
the limit holds across workers and app servers), unknown names answered at the cost of a known
one, a login log for the admin, and logout (or a password change) ending every session."""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from flask import request
from sqlalchemy import select

from tests.conftest import close_app, new_app
from tests.factories import make_org, make_user
from traceapp import db
from traceapp.auth import services

PASSWORD = "password-123"


@pytest.fixture
def world(app):
    with app.app_context(), db.write_session() as s:
        org = make_org(s)
        make_user(s, "producer", org.id, "li")
        make_user(s, "producer", org.id, "wang")
        make_user(s, "admin", None, "root")
    return {"org": org.id}


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page).group(1)


def login(client, username: str, password: str, **environ):
    token = _csrf(client.get("/login", environ_base=environ).get_data(as_text=True))
    return client.post("/login", data={"csrf_token": token, "username": username, "password": password},
                       environ_base=environ)


def signed_in(client) -> bool:
    return client.get("/home").status_code == 200


def test_the_sixth_try_after_five_wrong_passwords_is_refused_even_with_the_right_one(app, world):
    client = app.test_client()
    for _ in range(5):
        assert login(client, "li", "wrong-password").status_code == 400
    refused = login(client, "li", PASSWORD)
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    assert "登录失败次数过多" in refused.text and not signed_in(client)
    other = app.test_client()  # the same client may still sign in to another account
    assert login(other, "wang", PASSWORD).status_code == 302


def test_the_refusal_says_when_to_try_again_in_english_too(app, world):
    client = app.test_client()
    for _ in range(5):
        login(client, "li", "wrong-password")
    token = _csrf(client.get("/login").text)
    refused = client.post("/login", data={"csrf_token": token, "username": "li", "password": PASSWORD},
                          headers={"Accept-Language": "en"})
    assert refused.status_code == 429 and "Too many failed sign-ins" in refused.text


def test_unknown_names_are_throttled_like_known_ones(app, world):
    client = app.test_client()
    for _ in range(5):
        assert login(client, "nobody", "wrong-password").status_code == 400
    assert login(client, "nobody", "wrong-password").status_code == 429


def test_the_account_throttle_holds_across_two_app_instances_on_one_database(app, world, database_url, tmp_path):
    # A second app server: its own process state, the same database and (as a deployment must)
    # the same instance secrets.
    other = new_app(database_url, tmp_path / "instance")
    try:
        first, second = app.test_client(), other.test_client()
        for client in (first, second, first, second, first):
            assert login(client, "li", "wrong-password").status_code == 400
        assert login(second, "li", PASSWORD).status_code == 429
        assert login(first, "li", PASSWORD).status_code == 429
        assert not signed_in(first) and not signed_in(second)
    finally:
        close_app(other)


def test_one_client_is_throttled_over_many_names(app, world):
    client = app.test_client()
    here, elsewhere = {"REMOTE_ADDR": "203.0.113.7"}, {"REMOTE_ADDR": "198.51.100.9"}
    for n in range(services.LoginPolicy().client_limit):
        assert login(client, f"guess{n}", "wrong-password", **here).status_code == 400
    assert login(client, "li", PASSWORD, **here).status_code == 429
    assert login(app.test_client(), "li", PASSWORD, **elsewhere).status_code == 302


def test_a_successful_login_clears_the_accounts_count(app, world):
    client = app.test_client()
    for _ in range(4):
        login(client, "li", "wrong-password")
    assert login(client, "li", PASSWORD).status_code == 302
    client.post("/logout", data={"csrf_token": _csrf(client.get("/login").text)})
    for _ in range(4):
        assert login(client, "li", "wrong-password").status_code == 400
    assert login(client, "li", PASSWORD).status_code == 302


def test_the_throttle_lifts_when_the_failures_leave_the_window(app, world):
    policy = services.LoginPolicy(account_limit=2, client_limit=100, window=timedelta(minutes=15))
    start = datetime(2026, 8, 1, 2, 0, tzinfo=UTC)

    def attempt(password: str, minutes: float):
        with app.app_context():
            return services.log_in(db.session(), "li", password, "c" * 64, policy=policy,
                                   now=start + timedelta(minutes=minutes))

    assert attempt("wrong-password", 0) is None and attempt("wrong-password", 1) is None
    with pytest.raises(services.LoginThrottled) as refused:
        attempt(PASSWORD, 2)
    assert refused.value.retry_after == 13 * 60  # the first failure leaves the window at minute 15
    with pytest.raises(services.LoginThrottled):  # refused tries do not extend the lock
        attempt(PASSWORD, 14)
    assert attempt(PASSWORD, 15.5).username == "li"


def test_tries_racing_in_parallel_get_no_more_than_the_limit_checked(app, world):
    """Each try is committed before it is counted, so however many race, at most the limit pass."""
    policy = services.LoginPolicy()
    racers = 3 * policy.account_limit
    barrier = threading.Barrier(racers)
    outcomes = []

    def attempt():
        with app.app_context(), db.database().sessions() as s:
            barrier.wait()
            try:
                services.log_in(s, "li", "wrong-password", "d" * 64, policy=policy)
                outcomes.append("checked")
            except services.LoginThrottled:
                outcomes.append("throttled")

    threads = [threading.Thread(target=attempt) for _ in range(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == racers and outcomes.count("checked") <= policy.account_limit


def test_a_session_cookie_copied_before_logout_does_not_work_after_it(app, world):
    client = app.test_client()
    assert login(client, "li", PASSWORD).status_code == 302
    copied = client.get_cookie("session").value
    assert signed_in(client)
    client.post("/logout", data={"csrf_token": _csrf(client.get("/home").text)})
    assert not signed_in(client)

    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/home").status_code == 302  # to the login page
    assert login(client, "li", PASSWORD).status_code == 302 and signed_in(client)  # the owner signs in again
    thief.set_cookie("session", copied)
    assert not signed_in(thief)


def test_a_password_change_ends_the_sessions_signed_in_before_it(app, world):
    client = app.test_client()
    assert login(client, "li", PASSWORD).status_code == 302 and signed_in(client)
    result = app.test_cli_runner().invoke(args=["users", "password", "li", "--password-stdin"],
                                          input="a-new-password\n")
    assert result.exit_code == 0, result.output
    assert not signed_in(client)
    assert login(client, "li", PASSWORD).status_code == 400
    assert login(client, "li", "a-new-password").status_code == 302 and signed_in(client)


def change_password(client, current: str, new: str, repeat: str | None = None):
    token = _csrf(client.get("/account/password").text)
    return client.post("/account/password", data={"csrf_token": token, "current": current, "new": new,
                                                  "repeat": new if repeat is None else repeat})


def test_changing_ones_password_ends_the_other_sessions_and_keeps_this_one(app, world):
    here, there = app.test_client(), app.test_client()
    assert login(here, "li", PASSWORD).status_code == 302 and login(there, "li", PASSWORD).status_code == 302
    assert 'href="/account/password"' in here.get("/home").text
    changed = change_password(here, PASSWORD, "a-new-password")
    assert changed.status_code == 200 and 'id="password-changed"' in changed.text
    assert signed_in(here) and not signed_in(there)
    assert login(there, "li", PASSWORD).status_code == 400
    assert login(there, "li", "a-new-password").status_code == 302


@pytest.mark.parametrize("current,new,repeat,message", [
    ("wrong-password", "a-new-password", None, "当前密码不正确"),
    (PASSWORD, "short", None, "密码至少需要 8 个字符"),
    (PASSWORD, "a-new-password", "another-password", "两次输入的新密码不一致"),
])
def test_a_refused_password_change_changes_nothing(app, world, current, new, repeat, message):
    client = app.test_client()
    assert login(client, "li", PASSWORD).status_code == 302
    refused = change_password(client, current, new, repeat)
    assert refused.status_code == 400 and message in refused.text
    assert signed_in(client)
    assert login(app.test_client(), "li", PASSWORD).status_code == 302


def test_guessing_the_current_password_is_throttled_like_a_login(app, world):
    client = app.test_client()
    assert login(client, "li", PASSWORD).status_code == 302
    for _ in range(5):
        assert change_password(client, "wrong-password", "a-new-password").status_code == 400
    assert change_password(client, PASSWORD, "a-new-password").status_code == 429
    with app.app_context():  # unchanged (a login would be refused now: the account is locked too)
        assert services.authenticate(db.session(), "li", PASSWORD) is not None


def test_logins_are_recorded_for_the_admin(app, world):
    from traceapp.auth.models import LoginEvent, User
    from traceapp.public.scans import client_id

    client = app.test_client()
    where = {"REMOTE_ADDR": "203.0.113.7"}
    login(client, "nobody", "wrong-password", **where)
    login(client, "li", "wrong-password", **where)
    login(client, "li", PASSWORD, **where)
    with app.app_context():
        s = db.session()
        events = s.scalars(select(LoginEvent).order_by(LoginEvent.id)).all()
        li = s.scalars(select(User).where(User.username == "li")).one()
    with app.test_request_context(environ_base=where):
        expected_client = client_id(request)
    assert [(e.username, e.user_id, e.outcome) for e in events] == [
        ("nobody", None, "failure"), ("li", li.id, "failure"), ("li", li.id, "success")]
    assert {e.client for e in events} == {expected_client} and "203.0.113.7" not in expected_client
    assert all(abs(e.at - datetime.now(UTC).replace(tzinfo=None)) < timedelta(minutes=1) for e in events)

    client.post("/logout", data={"csrf_token": _csrf(client.get("/home").text)})
    assert client.get("/admin/logins").status_code == 302  # signed out: to the login page
    login(client, "li", PASSWORD)
    assert client.get("/admin/logins").status_code == 403  # producers may not read it
    client.post("/logout", data={"csrf_token": _csrf(client.get("/home").text)})
    assert login(client, "root", PASSWORD).status_code == 302
    assert 'href="/admin/logins"' in client.get("/home").text
    page = client.get("/admin/logins")
    assert page.status_code == 200
    rows = page.text.split('<tr class="login-event')[1:]
    assert len(rows) == 5  # nobody, li failed, li, li again, root: newest first
    assert "nobody" in rows[-1] and expected_client[:12] in rows[-1] and "失败" in rows[-1]
    filtered = client.get("/admin/logins?user=nobody").text
    assert filtered.count('<tr class="login-event') == 1


def test_an_unknown_name_costs_one_password_hash_like_a_known_one(app, world, monkeypatch):
    """The same code path runs: exactly one password hash is checked whether or not the user exists
    (or has a password, or is active)."""
    checked = []
    real = services.check_password_hash

    def counting(stored: str, password: str) -> bool:
        checked.append(stored)
        return real(stored, password)

    monkeypatch.setattr(services, "check_password_hash", counting)
    with app.app_context():
        s = db.session()
        assert services.authenticate(s, "li", "wrong-password") is None
        assert services.authenticate(s, "nobody", "wrong-password") is None
        assert services.authenticate(s, "nobody", "") is None
    assert len(checked) == 3
    assert checked[1].split("$")[0] == checked[0].split("$")[0]  # the same method and cost


def test_an_unknown_name_answers_in_about_the_time_of_a_known_one(app, world):
    with app.app_context():
        s = db.session()

        def timed(name: str) -> float:
            began = time.perf_counter()
            services.authenticate(s, name, "wrong-password")
            return time.perf_counter() - began

        timed("li"), timed("nobody")  # warm up
        known, unknown = [], []
        for _ in range(5):  # interleaved, and the fastest of each: other processes only ever add time
            known.append(timed("li"))
            unknown.append(timed("nobody"))
    # A generous bound on a shared machine: before, an unknown name took a thousandth of the time.
    assert 0.4 < min(unknown) / min(known) < 2.5, (known, unknown)
