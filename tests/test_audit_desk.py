"""The regulator's audit desk (/audit/): who may see it, full verifications run in the background
(one at a time across workers, kept and shown to every regulator, damage listed), and the
consistency check of a saved checkpoint through the form and the CLI. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update

from tests.factories import make_user
from tests.ledger_helpers import body_of, rewrite
from traceapp import db
from traceapp.audit import verification
from traceapp.audit.models import VerificationRun
from traceapp.ledger import tree
from traceapp.ledger.note import Signer, sign_checkpoint
from traceapp.records.models import Batch

PASSWORD = "traceapp-demo"


@pytest.fixture
def demo(demo):
    app = demo
    with app.app_context(), db.write_session() as s:
        make_user(s, "regulator", name="regulator2", password=PASSWORD)
    yield app
    verification.wait(app)  # no verification thread may outlive the test's database


def log_in(client, username: str) -> str:
    """Log in through the form; return a CSRF token for later posts."""
    page = client.get("/login")
    token = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"csrf_token": token, "username": username, "password": PASSWORD})
    assert response.status_code == 302 and response.location == "/home"
    return csrf_token(client.get("/audit/").text)


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def runs(app) -> list[VerificationRun]:
    with app.app_context(), db.database().sessions() as s:
        return list(s.scalars(select(VerificationRun).order_by(VerificationRun.id)))


def ledger_size(app) -> int:
    with app.app_context():
        return db.ledger().latest_checkpoint(db.session())[0]


def poll(client, run_id: int, timeout: float = 60) -> dict:
    """Poll the run's state as the desk's script does, until it is no longer running."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/audit/verification/{run_id}.json")
        assert response.status_code == 200
        state = response.json
        if state["status"] != "running":
            return state
        assert time.monotonic() < deadline, state
        time.sleep(0.05)


def start(client, token: str) -> int:
    response = client.post("/audit/verification", data={"csrf_token": token})
    assert response.status_code == 303 and response.location.startswith("/audit/")
    page = client.get("/audit/").text
    return int(re.search(r'data-url="/audit/verification/(\d+)\.json"', page).group(1))


# --- access ---------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in(demo):
    client = demo.test_client()
    for path in ("/audit/", "/audit/checkpoint.txt", "/audit/verification/1.json"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.location, path
    assert client.post("/audit/verification").status_code in (302, 400)
    assert runs(demo) == []


def test_a_producer_gets_403_and_starts_nothing(demo):
    client = demo.test_client()
    token = log_in_producer(client)
    page = client.get("/audit/")
    assert page.status_code == 403 and "监管人员" in page.text
    assert client.get("/audit/verification/1.json").status_code == 403
    assert client.post("/audit/verification", data={"csrf_token": token}).status_code == 403
    assert client.post("/audit/consistency", data={"csrf_token": token, "checkpoint": "x"}).status_code == 403
    assert runs(demo) == []
    assert "/audit/" not in client.get("/home").text


def log_in_producer(client) -> str:
    page = client.get("/login")
    token = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    assert client.post("/login", data={"csrf_token": token, "username": "luyuan",
                                       "password": PASSWORD}).status_code == 302
    return csrf_token(client.get("/home").text)


@pytest.mark.parametrize("username", ["regulator", "admin"])
def test_regulators_and_admins_see_the_desk_in_chinese_then_english(demo, username):
    client = demo.test_client()
    log_in(client, username)
    assert 'href="/audit/"' in client.get("/home").text
    page = client.get("/audit/")
    assert page.status_code == 200
    assert "<h1>审计台</h1>" in page.text and "还没有进行过完整校验" in page.text
    size = ledger_size(demo)
    assert f'<dd id="ledger-size">{size}</dd>' in page.text
    assert "traceapp.test/ledger" in page.text
    english = client.get("/audit/?lang=en")
    assert "<h1>Audit desk</h1>" in english.text and "Run a full verification" in english.text
    download = client.get("/audit/checkpoint.txt")
    assert download.mimetype == "text/plain"
    assert download.headers["Content-Disposition"] == f'attachment; filename="traceapp-checkpoint-{size}.txt"'
    assert download.text == client.get("/ledger/checkpoint").text


# --- the background verification ------------------------------------------------------------


def test_a_verification_runs_in_the_background_and_its_result_is_shown_to_every_regulator(demo):
    client = demo.test_client()
    token = log_in(client, "regulator")
    run_id = start(client, token)
    state = poll(client, run_id)
    size = ledger_size(demo)
    assert state["status"] == "ok", state
    assert state["entries_checked"] == state["total"] == size
    assert state["result"]["problems"] == [] and state["result"]["summary"].startswith("ledger intact")
    [run] = runs(demo)
    assert (run.status, run.started_by, run.entries_checked) == ("ok", "regulator", size)
    assert run.finished_at >= run.started_at

    other = demo.test_client()
    log_in(other, "regulator2")
    page = other.get("/audit/").text
    assert 'id="verify-result" role="status" aria-live="polite" data-status="ok"' in page
    assert "<dd>regulator</dd>" in page and f'value="{size}"' in page and "账本完好" in page


def test_a_second_start_while_one_runs_returns_the_same_run_and_adds_no_row(demo):
    with demo.app_context(), db.write_session() as s:  # another worker's run, alive and well
        running, created = verification.start_verification(s, db.ledger(), "regulator2")
        assert created
    client = demo.test_client()
    token = log_in(client, "regulator")
    page = client.get("/audit/").text
    assert re.search(r'<button class="primary" id="verify-start" type="submit" disabled>', page)
    assert start(client, token) == running.id
    assert start(client, token) == running.id
    [row] = runs(demo)
    assert (row.id, row.status, row.started_by) == (running.id, "running", "regulator2")
    assert client.get(f"/audit/verification/{running.id}.json").json["status"] == "running"


def test_concurrent_starts_in_separate_transactions_record_one_run(demo):
    results, errors = [], []

    def starter():
        try:
            with demo.app_context(), db.write_session() as s:
                run, created = verification.start_verification(s, db.ledger(), "regulator")
                results.append((run.id, created))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=starter) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len({run_id for run_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert len(runs(demo)) == 1


def test_a_run_whose_worker_died_is_abandoned_and_a_new_one_may_start(demo):
    with demo.app_context(), db.write_session() as s:
        dead, _ = verification.start_verification(s, db.ledger(), "regulator2")
    with demo.app_context(), db.database().sessions() as s:
        s.execute(update(VerificationRun).values(heartbeat_at=verification.now_utc() - timedelta(minutes=10)))
        s.commit()
    client = demo.test_client()
    token = log_in(client, "regulator")
    stale = client.get(f"/audit/verification/{dead.id}.json").json
    assert stale["status"] == "error" and "abandoned" in stale["result"]["problems"][0]
    run_id = start(client, token)
    assert run_id != dead.id
    assert poll(client, run_id)["status"] == "ok"
    first, second = runs(demo)
    assert (first.status, second.status) == ("error", "ok")
    assert "abandoned" in json.loads(first.result)["problems"][0]


def test_a_tampered_projection_row_fails_the_verification_with_the_problem_listed(demo):
    with demo.app_context():
        code = db.session().scalar(select(Batch.code).order_by(Batch.id).limit(1))
    engine = demo.extensions["traceapp.db"].engine
    with engine.begin() as conn:  # behind the services' back, as a database intruder would
        conn.execute(text("UPDATE batches SET base = '伪造基地' WHERE code = :c"), {"c": code})
    client = demo.test_client()
    token = log_in(client, "regulator")
    state = poll(client, start(client, token))
    assert state["status"] == "failed"
    [problem] = state["result"]["problems"]
    assert problem.startswith(f"projection: batches: {code} differs from entry ") and problem.endswith(" in base")
    page = client.get("/audit/?lang=en").text
    assert 'data-status="failed"' in page and f"batches: {code} differs" in page and "1 problem" in page


def test_a_damaged_entry_fails_the_verification_naming_its_seq(demo):
    engine = demo.extensions["traceapp.db"].engine
    rewrite(engine, 12, body_of(engine, 12).replace(b'"data":{', b'"data":{"x":"y",'), rehash=False)
    client = demo.test_client()
    token = log_in(client, "regulator")
    state = poll(client, start(client, token))
    assert state["status"] == "failed"
    assert state["result"]["problems"] == [state["result"]["problems"][0]]
    assert state["result"]["problems"][0].startswith("seq 12: altered entry")
    assert state["result"]["summary"] is None


# --- checkpoint consistency -----------------------------------------------------------------


def genuine(app) -> str:
    with app.app_context():
        return db.ledger().checkpoint_at(db.session(), 10)


def forged_signature(app) -> str:
    """The genuine checkpoint of size 10, signed by another key under this ledger's name."""
    with app.app_context():
        ledger = db.ledger()
        root = ledger.tree_hash(db.session(), 10)
        return sign_checkpoint(Signer.from_seed(ledger.signer.name, b"\x07" * 32), 10, root)


def altered_text(app) -> str:
    """The genuine signature over a checkpoint whose size line was changed."""
    note = genuine(app)
    return note.replace("\n10\n", "\n11\n", 1)


def rewritten(app) -> str:
    """A checkpoint of size 10 signed with this ledger's own key over a different tree: what a
    rewritten log would have given out. Entry 3 differs; the other nine are the real ones."""
    with app.app_context():
        ledger = db.ledger()
        bodies = [body for _seq, body, _hash in ledger.entries(db.session(), 0, 10)]
        bodies[3] = bodies[3].replace(b'"data":{', b'"data":{"rewritten":"yes",')
        edge = tree.CompactRange()
        for body in bodies:
            edge.append(tree.leaf_hash(body))
        return sign_checkpoint(ledger.signer, 10, edge.root())


def larger(app) -> str:
    with app.app_context():
        ledger = db.ledger()
        size = ledger.latest_checkpoint(db.session())[0]
        return sign_checkpoint(ledger.signer, size + 5, b"\x01" * 32)


def other_origin(app) -> str:
    return sign_checkpoint(Signer.from_seed("other.example/ledger", b"\x05" * 32), 10, b"\x02" * 32)


CASES = [
    (genuine, "consistent", 0, "is consistent with the current checkpoint"),
    (forged_signature, "signature", 1, "does not verify with this ledger's key"),
    (altered_text, "signature", 1, "does not verify with this ledger's key"),
    (rewritten, "inconsistent", 1, "SECURITY ALARM: the log was rewritten"),
    (larger, "larger", 1, "larger than the current tree"),
    (other_origin, "origin", 1, "not this ledger's"),
]


@pytest.mark.parametrize(("make", "outcome", "exit_code", "said"), CASES, ids=[c[0].__name__ for c in CASES])
def test_a_saved_checkpoint_is_checked_through_the_form_and_the_cli(demo, tmp_path, make, outcome, exit_code, said):
    note = make(demo)
    client = demo.test_client()
    token = log_in(client, "regulator")
    # Pasted into a textarea, as a browser sends it: CRLF line ends.
    page = client.post("/audit/consistency", data={"csrf_token": token, "checkpoint": note.replace("\n", "\r\n")})
    assert page.status_code == 200
    assert f'data-outcome="{outcome}"' in page.text
    current = client.get("/ledger/checkpoint").text
    assert current.split("\n")[2] in page.text  # both checkpoints are shown
    assert note.split("\n")[2] in page.text
    path = tmp_path / "saved.txt"
    path.write_text(note)
    result = demo.test_cli_runner().invoke(args=["ledger", "consistency", str(path)])
    assert result.exit_code == exit_code, result.output
    assert said in result.output


def test_a_genuine_checkpoint_is_proven_with_the_proof_shown(demo):
    client = demo.test_client()
    token = log_in(client, "regulator")
    page = client.post("/audit/consistency", data={"csrf_token": token, "checkpoint": genuine(demo)}).text
    assert "一致：你保存的检查点是当前账本的前缀" in page
    hashes = re.findall(r'<li><code class="hash">([0-9a-f]{64})</code></li>', page)
    size = ledger_size(demo)
    proof = client.get(f"/ledger/proof/consistency?old=10&new={size}").json["proof"]
    assert hashes == proof and len(proof) > 0
    assert f"由 {len(proof)} 个哈希组成" in page


def test_a_rewritten_log_raises_a_security_alarm_showing_both_checkpoints(demo):
    client = demo.test_client()
    token = log_in(client, "regulator")
    note = rewritten(demo)
    page = client.post("/audit/consistency?lang=en", data={"csrf_token": token, "checkpoint": note}).text
    assert 'class="consistency alarm"' in page and 'role="alert"' in page
    assert "Security alarm: the ledger was rewritten" in page
    current = client.get("/ledger/checkpoint").text
    assert note.strip().replace("\n", "") in page.replace("\n", "")
    assert current.strip().replace("\n", "") in page.replace("\n", "")


def test_the_downloaded_checkpoint_file_is_accepted_as_an_upload(demo):
    from io import BytesIO

    client = demo.test_client()
    token = log_in(client, "regulator")
    saved = client.get("/audit/checkpoint.txt").data
    page = client.post("/audit/consistency", data={"csrf_token": token, "checkpoint": "",
                                                   "checkpoint_file": (BytesIO(saved), "traceapp-checkpoint.txt")},
                       content_type="multipart/form-data")
    assert page.status_code == 200 and 'data-outcome="consistent"' in page.text


def test_junk_or_nothing_comes_back_beside_its_field_with_a_400(demo, tmp_path):
    from io import BytesIO

    client = demo.test_client()
    token = log_in(client, "regulator")
    empty = client.post("/audit/consistency?lang=en", data={"csrf_token": token, "checkpoint": "  "})
    assert empty.status_code == 400
    assert 'id="e-checkpoint"' in empty.text and "Paste the checkpoint you saved" in empty.text
    junk = client.post("/audit/consistency?lang=zh", data={"csrf_token": token, "checkpoint": "hello"})
    assert junk.status_code == 400 and 'id="e-checkpoint"' in junk.text and "这不是一个签名检查点" in junk.text
    assert ">hello</textarea>" in junk.text
    binary = client.post("/audit/consistency", data={"csrf_token": token,
                                                     "checkpoint_file": (BytesIO(b"\xff\xfe\x00"), "x.txt")},
                         content_type="multipart/form-data")
    assert binary.status_code == 400 and 'id="e-checkpoint_file"' in binary.text
    assert client.post("/audit/consistency", data={"checkpoint": genuine(demo)}).status_code == 400  # no CSRF
    path = tmp_path / "junk.txt"
    path.write_text("hello\n")
    result = demo.test_cli_runner().invoke(args=["ledger", "consistency", str(path)])
    assert result.exit_code == 1 and "not a signed checkpoint" in result.output


def test_verification_runs_table_has_one_row_per_start(demo):
    client = demo.test_client()
    token = log_in(client, "regulator")
    first = start(client, token)
    poll(client, first)
    second = start(client, token)
    poll(client, second)
    assert first != second
    with demo.app_context():
        assert db.session().scalar(select(func.count()).select_from(VerificationRun)) == 2
