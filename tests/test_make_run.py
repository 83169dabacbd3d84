"""``make run PORT=N`` on a fresh clone serves, links and encodes QR codes for that address (the batch
page's link, the decoded QR code and the Digital Link redirect all name port N); stopped and started
again on another port, it serves with the ledger's first origin, and a checkpoint saved on the first
port still verifies (``flask ledger consistency``). The clone borrows this test run's virtualenv so
that it need not install again; everything else is what a user who cloned the project gets."""

from __future__ import annotations

import http.cookiejar
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
FIRST_PORT, SECOND_PORT = 8123, 8124
PASSWORD = "traceapp-demo"

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("make_run")]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Visitor:
    """A browser without JavaScript: cookies kept, redirects shown rather than followed."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  _NoRedirect())

    def get(self, path: str, data: dict | None = None, headers: dict | None = None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, headers=headers or {})
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as answer:
            return answer.code, dict(answer.headers), answer.read()

    def log_in(self, username: str) -> None:
        page = self.get("/login")[2].decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        status, _headers, _body = self.get("/login", {"csrf_token": token, "username": username, "password": PASSWORD})
        assert status == 302, status


@pytest.fixture
def clone(tmp_path) -> Path:
    """A git clone of this checkout's committed tree, sharing this run's virtualenv."""
    target = tmp_path / "traceapp"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(target)], check=True)
    venv = Path(sys.prefix)
    (target / ".venv").symlink_to(venv)
    stamp = venv / ".installed"
    if stamp.exists():  # the clone's files are newer than the install: make would install the clone again
        old = stamp.stat().st_mtime - 60
        for name in ("setup.cfg", "pyproject.toml"):
            os.utime(target / name, (old, old))
    return target


def _environment() -> dict:
    """The caller's environment without this deployment's settings: a clone's defaults apply."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("TRACEAPP_", "PYTEST_", "SCAN_")) and k not in ("DATABASE_URL", "SECRET_KEY")}


class Served:
    """``make run PORT=port`` in ``clone``, in its own process group, until stopped."""

    def __init__(self, clone: Path, port: int):
        self.port, self.log = port, clone / f"make-run-{port}.log"
        stamp = Path(sys.prefix) / ".installed"
        keep = [] if stamp.exists() else ["-o", ".venv/.installed"]  # never install into the borrowed venv
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(["make", *keep, "run", f"PORT={port}", "WORKERS=1"], cwd=clone,
                                            env=_environment(), stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        self.visitor = Visitor(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"make run exited {self.process.returncode}:\n{self.log.read_text()}")
            try:
                if self.visitor.get("/ledger/key")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        self.stop()
        pytest.fail(f"make run did not serve port {port}:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _decode_qr(png: bytes) -> str:
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("L"))
    codes = [r.text for r in found if r.format == zxingcpp.BarcodeFormat.QRCode and r.valid]
    assert len(codes) == 1, found
    return codes[0]


def _flask(clone: Path, *args: str, port: int) -> subprocess.CompletedProcess:
    env = {**_environment(), "TRACEAPP_PUBLIC_URL": f"http://127.0.0.1:{port}"}  # as make run sets it
    return subprocess.run([str(clone / ".venv/bin/flask"), "--app", "traceapp", *args], cwd=clone, env=env,
                          capture_output=True, text=True, timeout=120)


def _demo_lot(clone: Path, port: int) -> tuple[str, str, str]:
    """A packed demo lot's code, GTIN and lot, read from the clone's database."""
    script = ("from sqlalchemy import select\nfrom traceapp import create_app, db\n"
              "from traceapp.records.models import Batch\napp = create_app()\nwith app.app_context():\n"
              "    print(*db.session().execute(select(Batch.code, Batch.gtin, Batch.lot)"
              ".where(Batch.gtin.is_not(None)).order_by(Batch.id).limit(1)).one())\n")
    env = {**_environment(), "TRACEAPP_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    out = subprocess.run([str(clone / ".venv/bin/python"), "-c", script], cwd=clone, env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    return out[0], out[1], out[2]


def _check_links(served: Served, code: str, gtin: str, lot: str) -> None:
    base = f"http://127.0.0.1:{served.port}"
    visitor = served.visitor
    visitor.log_in("luyuan")
    status, _headers, page = visitor.get(f"/batches/{code}")
    assert status == 200
    assert f'<a href="{base}/t/{code}">' in page.decode()
    status, _headers, png = visitor.get(f"/qr/{code}.png")
    assert status == 200
    assert _decode_qr(png) in (f"{base}/t/{code}", f"{base}/01/{gtin}/10/{lot}")
    status, headers, _body = visitor.get(f"/01/{gtin}/10/{lot}")
    assert status == 307 and headers["Location"] == f"{base}/t/{code}", (status, headers)


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs a git checkout to clone")
def test_make_run_serves_its_port_and_keeps_the_ledger_origin_when_the_port_changes(clone):
    first = Served(clone, FIRST_PORT)
    try:
        output = first.log.read_text()
        assert "../shared" not in output and f"http://127.0.0.1:{FIRST_PORT}/" in output
        code, gtin, lot = _demo_lot(clone, FIRST_PORT)
        _check_links(first, code, gtin, lot)
        key = first.visitor.get("/ledger/key")[2].decode()
        saved = clone / "saved-checkpoint.txt"
        saved.write_bytes(first.visitor.get("/ledger/checkpoint")[2])
    finally:
        first.stop()
    assert key.startswith(f"127.0.0.1:{FIRST_PORT}/ledger+")

    second = Served(clone, SECOND_PORT)
    try:
        assert second.visitor.get("/ledger/key")[2].decode() == key  # same origin, same key
        _check_links(second, code, gtin, lot)
        token = _flask(clone, "users", "token", "luyuan", port=SECOND_PORT).stdout.strip().split()[-1]
        body = json.dumps({"product": "黄桃", "category": "fruit", "quantity": "12", "unit": "kg",
                           "harvest_date": "2025-08-20", "origin_region": "430225", "base": "鹿原镇九龙村基地"})
        status, _headers, created = _post_json(second, "/api/v1/batches", body, token)
        assert status == 201, created
        assert json.loads(created)["url"].startswith(f"http://127.0.0.1:{SECOND_PORT}/t/")
        checkpoint = second.visitor.get("/ledger/checkpoint")[2].decode()
        assert checkpoint.startswith(f"127.0.0.1:{FIRST_PORT}/ledger\n")
    finally:
        second.stop()
    consistent = _flask(clone, "ledger", "consistency", str(saved), port=SECOND_PORT)
    assert consistent.returncode == 0, consistent.stdout + consistent.stderr


def _post_json(served: Served, path: str, body: str, token: str):
    request = urllib.request.Request(served.visitor.base + path, data=body.encode(), method="POST",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as answer:
        return answer.code, dict(answer.headers), answer.read()
