"""Scans of consumer pages: the first scan of a code is recorded once however many race for it, each
scan is written at once in its own transaction, clients are salted hashes, the anomaly rules fire at
their boundaries, and each client is rate-limited. SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import multiprocessing
import os
import re
import stat
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from flask import request
from sqlalchemy import select

from tests.factories import count, make_batch, make_user, make_world
from traceapp import create_app, db
from traceapp.auth.models import User
from traceapp.errors import TooManyRequests
from traceapp.public import scans
from traceapp.public.models import FirstScan, Scan
from traceapp.records.label_sheets import print_labels
from traceapp.records.models import Batch

T0 = datetime(2026, 8, 5, 6, 3, 0)  # naive UTC, as stored
LABELS = {"labels": "10", "package_quantity": "5", "layout": "a4-24"}
WECHAT = ("Mozilla/5.0 (Linux; Android 13; V2183A Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Version/4.0 Chrome/111.0.5563.116 Mobile Safari/537.36 XWEB/5235 MMWEBSDK/20230701 MicroMessenger/8.0.40")
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.0 Mobile/15E148 Safari/604.1")
WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 "
           "Safari/537.36")


@pytest.fixture
def batch_id(app) -> int:
    with app.app_context(), db.write_session() as s:
        producer = make_world(s)["producer"]
        batch = make_batch(s, producer)
        s.flush()
        print_labels(s, batch, LABELS, user=producer)  # scans count from then on
    return batch.id


def twin(app):
    """Another app on the same database and instance folder: another worker process's view."""
    other = create_app({"DATABASE_URL": app.config["DATABASE_URL"], "TESTING": True,
                        "TRACEAPP_INSTANCE_PATH": app.instance_path, "TRACEAPP_PUBLIC_URL": "http://traceapp.test"})
    return other


_clients = itertools.count(1)


def scan(app, batch_id: int, client: str | None = None, at: datetime = T0, **seen) -> scans.ScanSummary:
    """One scan, by a client never seen before unless ``client`` is given."""
    client = client or f"{next(_clients):064x}"
    with app.app_context():
        return scans.record_scan(batch_id, client, "mobile; Android; WeChat; zh-CN", now=at, **seen)


def rows(app, model) -> int:
    with app.app_context():
        return count(model)


# -- the first scan ----------------------------------------------------------------------------

def test_concurrent_first_scans_make_one_first_scan_record(app, batch_id):
    apps = [app] + [twin(app) for _ in range(3)]  # four "workers", two threads each
    threads_per_app = 2
    start = threading.Barrier(len(apps) * threads_per_app)
    summaries, errors = [], []

    def run(each, n: int):
        try:
            start.wait()
            summaries.append((n, scan(each, batch_id, client=f"{n:064x}", at=T0 + timedelta(milliseconds=n))))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(each, i * threads_per_app + j))
               for i, each in enumerate(apps) for j in range(threads_per_app)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    try:
        assert rows(app, FirstScan) == 1 and rows(app, Scan) == len(threads)
        with app.app_context(), db.database().sessions() as s:
            first = s.get(FirstScan, batch_id)
        recorded = first.scanned_at.replace(tzinfo=UTC)
        # One racer's claim is stored, and every racer was told that one, not its own.
        assert {x.first_at for _n, x in summaries} == {recorded}
        assert recorded in {T0.replace(tzinfo=UTC) + timedelta(milliseconds=n) for n in range(len(threads))}
        assert first.client in {f"{n:064x}" for n in range(len(threads))} and first.scan_count == len(threads)
        assert sorted(x.count for _n, x in summaries) == list(range(1, len(threads) + 1))
        assert {scan(each, batch_id, at=T0 + timedelta(minutes=1)).first_at for each in apps} == {recorded}
    finally:
        for each in apps[1:]:
            each.extensions["traceapp.db"].engine.dispose()


def _scan_in_a_process(url: str, instance: str, batch_id: int, n: int, start, answers) -> None:
    app = create_app({"DATABASE_URL": url, "TESTING": True, "TRACEAPP_INSTANCE_PATH": instance,
                      "TRACEAPP_PUBLIC_URL": "http://traceapp.test"})
    start.wait(60)
    summary = scan(app, batch_id, client=f"{n:064x}", at=T0 + timedelta(milliseconds=n))
    answers.put((n, summary.first_at, summary.count))
    app.extensions["traceapp.db"].engine.dispose()


def test_concurrent_first_scans_from_several_processes_make_one_first_scan_row(app, batch_id):
    context = multiprocessing.get_context("spawn")
    processes_n = 4
    start, answers = context.Barrier(processes_n), context.Queue()
    processes = [context.Process(target=_scan_in_a_process, args=(app.config["DATABASE_URL"], app.instance_path,
                                                                   batch_id, n, start, answers))
                 for n in range(processes_n)]
    for each in processes:
        each.start()
    told = [answers.get(timeout=120) for _ in processes]
    for each in processes:
        each.join(60)
    assert [each.exitcode for each in processes] == [0] * processes_n
    with app.app_context(), db.database().sessions() as s:
        first = s.get(FirstScan, batch_id)
        assert s.query(FirstScan).count() == 1 and s.query(Scan).count() == processes_n
    assert {first_at for _n, first_at, _count in told} == {first.scanned_at.replace(tzinfo=UTC)}
    assert sorted(count for _n, _first, count in told) == list(range(1, processes_n + 1))


def test_each_scan_is_written_at_once_with_its_codes_first_scan_and_count(app, batch_id):
    first = scan(app, batch_id, at=T0)
    assert (first.first_at, first.count, first.anomalous, first.why) == (T0.replace(tzinfo=UTC), 1, False, None)
    assert rows(app, FirstScan) == 1 and rows(app, Scan) == 1
    later = [scan(app, batch_id, at=T0 + timedelta(minutes=n)) for n in (1, 2)]
    assert [s.count for s in later] == [2, 3] and {s.first_at for s in later} == {first.first_at}
    assert rows(app, Scan) == 3 and rows(app, FirstScan) == 1
    with app.app_context(), db.database().sessions() as s:
        stored = s.get(FirstScan, batch_id)
        assert (stored.scanned_at, stored.scan_count) == (T0, 3)


def test_the_count_includes_other_workers_scans(app, batch_id):
    other = twin(app)
    try:
        for n in range(5):
            scan(other, batch_id, at=T0 + timedelta(seconds=n))
        assert scan(app, batch_id, at=T0 + timedelta(minutes=1)).count == 6
        assert scan(other, batch_id, at=T0 + timedelta(minutes=2)).count == 7
    finally:
        other.extensions["traceapp.db"].engine.dispose()


def test_a_timezone_aware_moment_is_stored_as_utc(app, batch_id):
    summary = scan(app, batch_id, at=datetime(2026, 8, 5, 22, 3, tzinfo=timezone(timedelta(hours=8))))
    assert summary.first_at == datetime(2026, 8, 5, 14, 3, tzinfo=UTC)


# -- who is scanning ---------------------------------------------------------------------------

def client_of(app, address: str, **headers) -> str:
    with app.test_request_context("/t/X", environ_base={"REMOTE_ADDR": address}, headers=headers):
        return scans.client_id(request)


def test_the_client_is_a_salted_hash_never_the_address(app, tmp_path):
    mine = client_of(app, "203.0.113.7")
    assert len(mine) == 64 and int(mine, 16) >= 0 and "203.0.113.7" not in mine
    assert mine == client_of(app, "203.0.113.7") != client_of(app, "203.0.113.8")
    salt = Path(app.instance_path) / "scan_salt"
    assert len(salt.read_bytes()) == 32 and stat.S_IMODE(os.stat(salt).st_mode) == 0o600
    elsewhere = create_app({"DATABASE_URL": app.config["DATABASE_URL"], "TESTING": True,
                            "TRACEAPP_INSTANCE_PATH": str(tmp_path / "other-instance")})
    try:
        assert client_of(elsewhere, "203.0.113.7") != mine  # another installation, another salt
    finally:
        elsewhere.extensions["traceapp.db"].engine.dispose()


def test_x_forwarded_for_counts_only_behind_a_proxy(app):
    direct = client_of(app, "198.51.100.1")
    assert client_of(app, "198.51.100.1", **{"X-Forwarded-For": "203.0.113.7"}) == direct
    app.config["TRACEAPP_BEHIND_PROXY"] = True
    forwarded = client_of(app, "198.51.100.1", **{"X-Forwarded-For": "10.0.0.1, 203.0.113.7"})
    assert forwarded == client_of(app, "127.0.0.1", **{"X-Forwarded-For": "203.0.113.7"}) != direct
    assert client_of(app, "198.51.100.1") == direct  # no header: the proxy's own address


def test_ipv6_clients_count_by_their_64_network(app):
    assert client_of(app, "2001:db8:1:2:aaaa::1") == client_of(app, "2001:db8:1:2:bbbb::2")
    assert client_of(app, "2001:db8:1:2::1") != client_of(app, "2001:db8:1:3::1")
    assert client_of(app, "::ffff:203.0.113.7") == client_of(app, "203.0.113.7")


@pytest.mark.parametrize("agent,language,hints", [
    (WECHAT, "zh-CN,zh;q=0.9", "mobile; Android; WeChat; zh-CN"),
    (IPHONE, "en-GB,en;q=0.8", "mobile; iOS; Safari; en-GB"),
    (WINDOWS, None, "desktop; Windows; Chrome; -"),
    ("curl/8.5.0", "*", "desktop; other; bot; -"),
    (None, None, "unknown; other; other; -"),
    ("Mozilla/5.0 (Linux; Android 14; Tablet) Chrome/126.0 Safari/537.36", "fr", "tablet; Android; Chrome; fr"),
])
def test_client_hints_are_coarse(app, agent, language, hints):
    headers = {k: v for k, v in (("User-Agent", agent), ("Accept-Language", language)) if v}
    with app.test_request_context("/t/X", headers=headers):
        assert scans.client_hints(request) == hints


def test_client_hints_stay_short_and_keep_no_free_text(app):
    headers = {"User-Agent": "x" * 5000 + " iPhone", "Accept-Language": "zh-<script>alert(1)</script>" + "a" * 300}
    with app.test_request_context("/t/X", headers=headers):
        hints = scans.client_hints(request)
    assert len(hints) <= scans.HINTS_MAX and "<" not in hints and "x" not in hints


# -- anomalies ---------------------------------------------------------------------------------

def test_one_clients_scans_count_once_per_window_and_are_never_anomalous(app, batch_id):
    app.config.update(SCAN_ALERT_CLIENTS=10, SCAN_ALERT_WINDOW=3600)
    one = "a" * 64
    burst = [scan(app, batch_id, client=one, at=T0 + timedelta(seconds=n / 25)) for n in range(25)]
    assert [s.count for s in burst] == [1] * 25 and not any(s.anomalous for s in burst)
    assert rows(app, Scan) == 1
    hourly = [scan(app, batch_id, client=one, at=T0 + timedelta(hours=n)) for n in range(1, 30)]
    assert [s.count for s in hourly] == list(range(2, 31)) and not any(s.anomalous for s in hourly)


def test_a_clients_repeat_seen_by_another_worker_is_counted_once(app, batch_id):
    other = twin(app)
    try:
        assert scan(app, batch_id, client="a" * 64, at=T0).count == 1
        assert scan(other, batch_id, client="a" * 64, at=T0 + timedelta(minutes=1)).count == 1
        assert rows(app, Scan) == 1
        with app.app_context(), db.database().sessions() as s:
            assert s.get(FirstScan, batch_id).scan_count == 1
        assert scan(other, batch_id, client="b" * 64, at=T0 + timedelta(minutes=2)).count == 2
    finally:
        other.extensions["traceapp.db"].engine.dispose()


def test_uncounted_scans_write_nothing_and_are_told_the_record(app, batch_id):
    first = scan(app, batch_id, signed_in=True)
    assert (first.first_at, first.count, first.uncounted) == (None, 0, "signed_in")
    counted = scan(app, batch_id, at=T0 + timedelta(minutes=1))
    assert (counted.count, counted.uncounted) == (1, None)
    again = scan(app, batch_id, signed_in=True, at=T0 + timedelta(minutes=2))
    assert (again.first_at, again.count) == (counted.first_at, 1)
    assert rows(app, Scan) == 1


def test_a_client_looking_up_many_codes_is_taken_for_a_script(app, batch_id):
    app.config["SCAN_ALERT_CLIENT_CODES"] = 3
    with app.app_context(), db.write_session() as s:
        producer = s.scalar(select(User).where(User.role == "producer"))
        others = [make_batch(s, producer) for _ in range(3)]
        s.flush()
        for each in others:
            print_labels(s, each, LABELS, user=producer)
        ids = [each.id for each in others]
    bot = "b" * 64
    told = [scan(app, code, client=bot, at=T0 + timedelta(seconds=n)) for n, code in enumerate([batch_id, *ids])]
    assert [s.uncounted for s in told] == [None, None, None, "automated"]
    assert scan(app, batch_id, client=bot, at=T0 + timedelta(seconds=9)).uncounted == "automated"
    assert scan(app, ids[-1], at=T0 + timedelta(seconds=10)).uncounted is None  # a consumer after it
    assert scan(app, ids[-1], client=bot, at=T0 + timedelta(hours=2)).uncounted is None  # another window


def test_many_distinct_clients_within_the_window_are_anomalous(app, batch_id):
    app.config.update(SCAN_ALERT_CLIENTS=10, SCAN_ALERT_WINDOW=3600)
    nine = [scan(app, batch_id, client=f"{n:064x}", at=T0 + timedelta(minutes=n)) for n in range(9)]
    assert not any(s.anomalous for s in nine)
    again = scan(app, batch_id, client=f"{0:064x}", at=T0 + timedelta(minutes=10))  # a client seen already
    assert (again.count, again.anomalous) == (9, False)
    tenth = scan(app, batch_id, client=f"{9:064x}", at=T0 + timedelta(minutes=11))
    assert (tenth.count, tenth.anomalous, tenth.why) == (10, True, "clients")


def test_distinct_clients_spread_wider_than_the_window_are_not_anomalous(app, batch_id):
    app.config.update(SCAN_ALERT_CLIENTS=10, SCAN_ALERT_WINDOW=3600)
    spread = [scan(app, batch_id, client=f"{n:064x}", at=T0 + timedelta(seconds=401 * n)) for n in range(12)]
    assert [s.count for s in spread] == list(range(1, 13)) and not any(s.anomalous for s in spread)


def test_the_warning_never_calls_the_product_fake(app):
    quiet = scans.ScanSummary(datetime(2026, 8, 5, 6, 3, tzinfo=UTC), 3, False)
    busy = scans.ScanSummary(datetime(2026, 8, 5, 6, 3, tzinfo=UTC), 25, True, "clients")
    with app.test_request_context("/t/X"):
        assert scans.scan_alert(quiet) is None
        assert scans.scan_alert(busy) == "存在异常查询记录，建议核对购买渠道。"
    with app.test_request_context("/t/X?lang=en"):
        english = scans.scan_alert(busy)
    assert english.isascii() and "fake" not in english.lower() and "counterfeit" not in english.lower()


# -- rate limiting -----------------------------------------------------------------------------

def test_the_rate_limit_refuses_at_the_boundary_and_refills(app):
    app.config.update(SCAN_RATE_LIMIT=5, SCAN_RATE_WINDOW=60)
    with app.test_request_context("/t/X"):
        for _ in range(5):
            scans.check_rate("a", now=100.0)
        with pytest.raises(TooManyRequests) as info:
            scans.check_rate("a", now=100.0)
        assert info.value.status == 429 and info.value.retry_after == 12
        scans.check_rate("b", now=100.0)  # another client has its own allowance
        with pytest.raises(TooManyRequests):
            scans.check_rate("a", now=111.0)
        scans.check_rate("a", now=112.0)  # one request's worth refilled after 60/5 s


def test_the_rate_limiter_remembers_a_bounded_number_of_clients():
    limiter = scans.RateLimiter(2, 60, max_clients=3)
    for n in range(10):
        assert limiter.take(f"client{n}", 0.0) == 0
    assert list(limiter.buckets) == ["client7", "client8", "client9"]


@pytest.mark.parametrize("path,json_answer", [("/rate-probe", False), ("/api/rate-probe", True)])
def test_a_limited_client_gets_429_with_retry_after(app, path, json_answer):
    app.config.update(SCAN_RATE_LIMIT=3, SCAN_RATE_WINDOW=30)

    def probe():
        scans.check_rate(scans.client_id(request))
        return "ok"

    app.add_url_rule(path, "rate_probe", probe)
    client = app.test_client()
    assert [client.get(path).status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get(path, headers={"Accept-Language": "en"})
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "10"
    if json_answer:
        assert refused.get_json()["error"]["code"] == "too_many_requests"
        assert "10 seconds" in refused.get_json()["error"]["message"]
    else:
        assert refused.mimetype == "text/html" and "10 seconds" in refused.get_data(as_text=True)
    other = client.get(path, environ_base={"REMOTE_ADDR": "192.0.2.99"})
    assert other.status_code == 200


# -- what counts (issue 22 item 9): through the consumer page --------------------------------------

PASSWORD = "password-123"
ALERT = "存在异常查询记录"


@pytest.fixture
def staffed(app) -> dict:
    """A producer with a signed-in-able member of staff, a batch whose labels are printed and one
    whose labels are not."""
    with app.app_context(), db.write_session() as s:
        world = make_world(s)
        staff = make_user(s, "producer", world["producer_org"].id, name="web-producer", password=PASSWORD)
        printed = make_batch(s, world["producer"])
        unprinted = make_batch(s, world["producer"])
        s.flush()
        print_labels(s, printed, LABELS, user=staff)
    return {"printed": printed.code, "unprinted": unprinted.code, "printed_id": printed.id,
            "unprinted_id": unprinted.id}


def view(client, code: str, address: str = "198.51.100.7", **headers) -> dict:
    """Open the page and post its scan as its script does; return the scan's answer."""
    environ = {"REMOTE_ADDR": address}
    assert client.get(f"/t/{code}", environ_base=environ, headers=headers).status_code == 200
    response = client.post(f"/t/{code}/scans", environ_base=environ, headers=headers)
    assert response.status_code == 200
    return response.get_json()


def scans_paragraph(page: str) -> str:
    return re.search(r'<p class="scans"[^>]*>', page, re.S).group(0)


def sign_in(client, username: str) -> None:
    page = client.get("/login")
    token = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"csrf_token": token, "username": username, "password": PASSWORD})
    assert response.status_code == 302


def test_one_clients_many_views_count_once_and_raise_no_warning(app, staffed):
    """25 views of a code from one client in a second: one scan, and no warning for later visitors."""
    client = app.test_client()
    for _ in range(25):
        answer = view(client, staffed["printed"])
    assert answer["count"] == 1 and answer["notice"] is None
    later = view(app.test_client(), staffed["printed"], address="203.0.113.50")
    assert later["count"] == 2 and later["notice"] is None
    assert later["first_scan"] == answer["first_scan"] and re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", answer["first_scan"])  # RFC 3339 in the deployment's zone
    assert rows(app, Scan) == 2
    with app.app_context(), db.database().sessions() as s:
        assert s.get(FirstScan, staffed["printed_id"]).scan_count == 2


def test_a_scan_before_the_labels_are_printed_does_not_set_the_first_scan(app, staffed):
    client = app.test_client()
    before = view(client, staffed["unprinted"])
    assert rows(app, FirstScan) == 0 and rows(app, Scan) == 0
    assert (before["first_scan"], before["count"]) == (None, 0)
    assert "标签尚未" in scans_paragraph(client.get(f"/t/{staffed['unprinted']}").text)
    with app.app_context(), db.write_session() as s:
        batch = s.get(Batch, staffed["unprinted_id"])
        staff = s.scalar(select(User).where(User.username == "web-producer"))
        print_labels(s, batch, {"labels": "4", "package_quantity": "5", "layout": "a4-24"}, user=staff)
    after = view(client, staffed["unprinted"])
    assert after["first_scan"] is not None and after["count"] == 1
    assert rows(app, FirstScan) == 1


def test_a_signed_in_producers_views_are_not_counted(app, staffed):
    staff = app.test_client()
    sign_in(staff, "web-producer")
    for _ in range(3):
        own = view(staff, staffed["printed"])
    assert rows(app, FirstScan) == 0 and rows(app, Scan) == 0 and own["count"] == 0
    page = staff.get(f"/t/{staffed['printed']}")
    assert "您已登录" in scans_paragraph(page.text) and "no-store" in page.headers["Cache-Control"]
    consumer = view(app.test_client(), staffed["printed"], address="203.0.113.9")
    assert consumer["count"] == 1
    again = view(staff, staffed["printed"])
    assert again["count"] == 1  # what consumers' scans say, without the staff's own
    assert rows(app, Scan) == 1


def test_many_distinct_clients_within_the_window_raise_the_warning(app, staffed):
    app.config.update(SCAN_ALERT_CLIENTS=10, SCAN_ALERT_WINDOW=3600, TRACEAPP_BEHIND_PROXY=True)
    answers = [view(app.test_client(), staffed["printed"], **{"X-Forwarded-For": f"203.0.113.{n}"})
               for n in range(1, 11)]
    assert not any(answer["notice"] for answer in answers[:9])
    assert ALERT in answers[9]["notice"] and answers[9]["count"] == 10
    assert ALERT in view(app.test_client(), staffed["printed"], address="192.0.2.1")["notice"]


def test_many_distinct_regions_within_the_window_raise_the_warning(app, staffed):
    app.config.update(SCAN_ALERT_CLIENTS=100, SCAN_ALERT_REGIONS=3, SCAN_ALERT_REGION_HEADER="X-Client-Region",
                      TRACEAPP_BEHIND_PROXY=True)
    regions = ["CN-HN", "CN-GD", "CN-HN", "CN-SH"]
    answers = [view(app.test_client(), staffed["printed"],
                    **{"X-Forwarded-For": f"203.0.113.{n}", "X-Client-Region": region})
               for n, region in enumerate(regions, start=1)]
    assert [bool(answer["notice"]) for answer in answers] == [False, False, False, True]
    with app.app_context(), db.database().sessions() as s:
        assert sorted(s.scalars(select(Scan.region))) == sorted(regions)
