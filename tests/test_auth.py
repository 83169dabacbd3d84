"""Users, login with CSRF, and API tokens."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.factories import make_org
from traceapp import db
from traceapp.auth import services
from traceapp.auth.models import ApiToken, User


@pytest.fixture
def coop(app):
    with app.app_context(), db.write_session() as s:
        return make_org(s).id


def cli(app, *args, input=None):
    return app.test_cli_runner().invoke(args=list(args), input=input)


def test_users_create_and_token_from_the_cli(app, coop):
    made = cli(app, "users", "create", "li", "--role", "producer", "--org", str(coop), "--password-stdin",
               input="s3cret-pass\n")
    assert made.exit_code == 0, made.output
    token = cli(app, "users", "token", "li").output.strip()
    assert re.fullmatch(r"ta_[A-Za-z0-9_\-]{40,}", token)
    with app.app_context():
        s = db.session()
        stored = s.execute(select(ApiToken.token_hash)).scalar_one()
        assert token not in stored  # only the hash is kept
        assert services.user_for_token(s, token).username == "li"
        assert services.user_for_token(s, token + "x") is None
        user = s.execute(select(User).where(User.username == "li")).scalar_one()
        assert user.password_hash and "s3cret-pass" not in user.password_hash


@pytest.mark.parametrize("args,message", [
    (["--role", "producer"], "org"),
    (["--role", "inspector", "--org", "{coop}"], "农民专业合作社"),
    (["--role", "producer", "--org", "9999"], "9999"),
])
def test_users_create_refuses_a_role_that_does_not_fit_the_organization(app, coop, args, message):
    args = [a.replace("{coop}", str(coop)) for a in args]
    result = cli(app, "users", "create", "wang", *args, "--password-stdin", input="long-enough\n")
    assert result.exit_code == 1
    assert message in result.output
    with app.app_context():
        assert db.session().execute(select(User)).first() is None


def test_users_token_for_an_unknown_user_fails(app):
    result = cli(app, "users", "token", "nobody")
    assert result.exit_code == 1 and "nobody" in result.output


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_login_needs_the_csrf_token_and_the_right_password(app, coop):
    app.config["WTF_CSRF_ENABLED"] = True
    cli(app, "users", "create", "li", "--role", "producer", "--org", str(coop), "--password-stdin",
        input="s3cret-pass\n")
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = _csrf(page)
    no_csrf = client.post("/login", data={"username": "li", "password": "s3cret-pass"})
    assert no_csrf.status_code == 400 and 'class="who"' not in client.get("/").get_data(as_text=True)
    wrong = client.post("/login", data={"username": "li", "password": "nope-nope", "csrf_token": token})
    assert wrong.status_code == 400 and "用户名或密码不正确" in wrong.get_data(as_text=True)
    ok = client.post("/login?next=//evil.example/", data={"username": "li", "password": "s3cret-pass",
                                                            "csrf_token": token})
    assert ok.status_code == 302 and ok.headers["Location"] == "/home"
    assert 'class="who" translate="no">li<' in client.get("/").get_data(as_text=True)
    cookie = ok.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize("name,password,message", [
    ("nobody", "long-enough", "nobody"),
    ("li", "short", "8"),
])
def test_users_password_refuses_an_unknown_user_or_a_short_password(app, coop, name, password, message):
    cli(app, "users", "create", "li", "--role", "producer", "--org", str(coop), "--password-stdin",
        input="s3cret-pass\n")
    result = cli(app, "users", "password", name, "--password-stdin", input=password + "\n")
    assert result.exit_code == 1 and message in result.output
    with app.app_context():
        user = db.session().execute(select(User).where(User.username == "li")).scalar_one()
        assert services.authenticate(db.session(), "li", "s3cret-pass") is not None
        assert user.session_version == 0
