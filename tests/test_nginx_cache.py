"""Debian's nginx with deploy/nginx.conf in front of the app, as ``make serve-nginx`` runs it: a second
anonymous GET of a consumer page is a cache HIT that never reaches the app; a signed-in GET is never
kept nor answered from the cache; scans (POST) always reach the app; once the page's max-age is over,
nginx revalidates with If-None-Match (the app's 304) and a write that changed the page is seen.
The app's max-age is shortened to 2 s so the test need not wait a minute; nothing else is changed."""

from __future__ import annotations

import http.client
import importlib.util
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from tests.factories import make_batch, make_user, make_world
from traceapp import db
from traceapp.public import caching
from traceapp.records.corrections import correct_batch
from traceapp.records.models import Batch

ROOT = Path(__file__).resolve().parents[1]
MAX_AGE = 2
# nginx keeps whole seconds and calls a page stale only once the clock has passed its last valid second.
EXPIRED = MAX_AGE + 1.5
PASSWORD = "password-123"

pytestmark = [pytest.mark.slow]


def _deploy_module():
    spec = importlib.util.spec_from_file_location("deploy_nginx", ROOT / "deploy" / "nginx.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


nginx_deploy = _deploy_module()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Upstream:
    """The app served by werkzeug in a thread, with every request it answers recorded."""

    def __init__(self, app):
        self.seen: list[tuple[str, str, int, str | None]] = []  # method, path, status, If-None-Match
        wsgi = app.wsgi_app

        def recording(environ, start_response):
            def start(status, headers, exc_info=None):
                self.seen.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], int(status.split()[0]),
                                  environ.get("HTTP_IF_NONE_MATCH")))
                return start_response(status, headers, exc_info)
            return wsgi(environ, start)

        app.wsgi_app = recording
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def requests(self, method: str, path: str) -> list[tuple[int, str | None]]:
        return [(status, tag) for m, p, status, tag in list(self.seen) if (m, p) == (method, path)]

    def stop(self):
        self.server.shutdown()
        self.thread.join()


class Edge:
    """A client of nginx: keeps the cookies it is given when asked to."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None, headers: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode(errors="replace")
            for value in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";")[0]
            return response.status, response.headers, text
        finally:
            conn.close()

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)


@pytest.fixture
def edge(app, monkeypatch):
    """nginx (deploy/nginx.conf, rendered by deploy/nginx.py) in front of the app; yield (Edge, Upstream)."""
    binary = nginx_deploy.nginx_binary()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is missing: `make test` installs Debian's nginx")
        pytest.skip("nginx test skipped: nginx is missing (make test installs Debian's nginx)")
    monkeypatch.setattr(caching, "MAX_AGE", MAX_AGE)
    app.config["TRACEAPP_BEHIND_PROXY"] = True
    upstream = Upstream(app)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="nginx-test-") as tmp:
        os.chmod(tmp, 0o755)  # nginx's workers run as www-data when the tests run as root
        prefix = Path(tmp)
        nginx_deploy.render(prefix, f"127.0.0.1:{port}", f"127.0.0.1:{upstream.server.server_port}")
        output = prefix / "logs" / "output.log"
        with output.open("wb") as out:
            proc = subprocess.Popen(nginx_deploy.command(prefix, binary), stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 20
            while True:
                if proc.poll() is not None:
                    raise AssertionError(f"nginx exited {proc.returncode}: {output.read_text(errors='replace')}\n"
                                         f"{(prefix / 'logs' / 'error.log').read_text(errors='replace')}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            yield Edge(port), upstream
        finally:
            proc.terminate()
            proc.wait(timeout=20)
            upstream.stop()


@pytest.fixture
def batch_code(app) -> str:
    with app.app_context(), db.write_session() as s:
        world = make_world(s)
        batch = make_batch(s, world["producer"], quantity="150")
        make_user(s, "producer", world["producer_org"].id, name="edge-producer", password=PASSWORD)
        s.flush()
        return batch.code


def test_a_second_anonymous_view_is_a_hit_and_scans_always_reach_the_app(edge, batch_code):
    client, upstream = edge
    path = f"/t/{batch_code}"
    status, headers, first = client.get(path)
    assert (status, headers["X-Cache-Status"]) == (200, "MISS")
    assert "public" in headers["Cache-Control"]
    status, headers, second = client.get(path)
    assert (status, headers["X-Cache-Status"], second) == (200, "HIT", first)
    assert upstream.requests("GET", path) == [(200, None)]  # the second never reached the app

    for count in (1, 2):
        status, headers, body = client.request("POST", f"{path}/scans", body="")
        assert status == 200 and headers.get("X-Cache-Status") != "HIT"
        assert len(upstream.requests("POST", f"{path}/scans")) == count

    status, headers, _ = client.get("/static/style.css")
    assert status == 200 and "X-Cache-Status" not in headers  # served by nginx from the checkout
    assert not upstream.requests("GET", "/static/style.css")


def test_a_signed_in_view_is_never_kept(edge, batch_code):
    client, upstream = edge
    path = f"/t/{batch_code}"
    anonymous = Edge(client.port)
    assert anonymous.get(path)[1]["X-Cache-Status"] == "MISS"  # an anonymous copy is in the cache

    _, _, form = client.get("/login")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    status, _, _ = client.request("POST", "/login", body=f"csrf_token={token}&username=edge-producer&"
                                                          f"password={PASSWORD}")
    assert status == 302 and "session" in client.cookies
    for _ in range(2):
        status, headers, body = client.get(path)
        assert status == 200 and "edge-producer" in body  # theirs, not the anonymous copy
        assert headers["X-Cache-Status"] == "BYPASS"
        assert "no-store" in headers["Cache-Control"] and "public" not in headers["Cache-Control"]
    assert [s for s, _ in upstream.requests("GET", path)] == [200, 200, 200]

    status, headers, body = anonymous.get(path)
    assert headers["X-Cache-Status"] == "HIT" and "edge-producer" not in body  # nothing of theirs was kept


def wait_for(predicate, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "nginx did not revalidate in the background"
        time.sleep(0.05)


def settled_get(client: Edge, path: str):
    """GET once nginx has stored what its background revalidation brought (meanwhile it says UPDATING)."""
    deadline = time.monotonic() + 10
    while True:
        answer = client.get(path)
        if answer[1]["X-Cache-Status"] != "UPDATING" or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)


def test_after_max_age_nginx_revalidates_and_a_write_is_seen(app, edge, batch_code):
    client, upstream = edge
    path = f"/t/{batch_code}"
    status, headers, before = client.get(path)
    assert headers["X-Cache-Status"] == "MISS" and "150" in before
    tag = headers["ETag"]

    time.sleep(EXPIRED)  # expired: served at once from the cache while nginx asks the app
    status, headers, body = client.get(path)
    assert status == 200 and headers["X-Cache-Status"] == "STALE" and body == before
    wait_for(lambda: len(upstream.requests("GET", path)) == 2)
    assert upstream.requests("GET", path)[1] == (304, tag)  # If-None-Match answered without rendering
    status, headers, body = settled_get(client, path)
    assert headers["X-Cache-Status"] == "HIT" and body == before

    with app.app_context(), db.write_session() as s:
        batch = s.scalar(select(Batch).where(Batch.code == batch_code))
        producer = make_user(s, "producer", batch.organization_id)
        correct_batch(s, batch, {"fields": {"quantity": "149"}, "reason": "复核称重"}, user=producer)
    status, headers, body = client.get(path)
    assert headers["X-Cache-Status"] == "HIT" and body == before  # within max-age the kept copy stands

    time.sleep(EXPIRED)
    client.get(path)
    wait_for(lambda: len(upstream.requests("GET", path)) == 3)
    assert upstream.requests("GET", path)[2][0] == 200  # the ETag no longer matches: rendered anew
    status, headers, after = settled_get(client, path)
    assert headers["X-Cache-Status"] == "HIT" and after != before and "149" in after
