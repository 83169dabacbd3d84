"""Personal data and the public ledger: commitments instead of clear text, pseudonymous actors, reveals for
regulators, and erasure that leaves the chain verifiable. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import make_url, select, text

from tests.factories import make_batch, make_brand, make_brand_owner, make_compliance, make_license, make_org, make_user
from traceapp import db
from traceapp.auth.services import issue_token
from traceapp.ledger import verify as offline
from traceapp.ledger.commitments import commitment
from traceapp.ledger.store import LedgerEntry
from traceapp.personal.fields import ERASED, public_name
from traceapp.personal.models import PersonalDatum
from traceapp.records.models import ComplianceCertificate, Organization

PHONE = "13975312468"
ADDRESS = "湖南省炎陵县鹿原镇九龙村三组十二号"
PERSON = "欧阳建国"
LOGIN = "ouyang-jianguo"


def _secrets() -> list[bytes]:
    found = []
    for value in (PHONE, ADDRESS, PERSON, LOGIN):
        found += [value.encode(), json.dumps(value).encode()]  # raw UTF-8 and \\u-escaped JSON
    return found


@pytest.fixture
def farm(app):
    """An individual producer with a phone number and an address, its login, a batch of a brand and a 合格证
    (whose contact is the same phone), an admin and a regulator, each user with an API token."""
    with app.app_context(), db.write_session() as s:
        org = make_org(s, kind="individual", name=PERSON, uscc=None, address=ADDRESS, contact=PHONE)
        producer = make_user(s, "producer", org.id, name=LOGIN, password=None)
        owner_org, manager = make_brand_owner(s)
        brand = make_brand(s, manager)
        make_license(s, manager, brand, org.id)
        batch = make_batch(s, producer, brand=brand.slug)
        cert = make_compliance(s, producer, batch, contact=PHONE)
        body = make_org(s, kind="inspection_body", name="检测站")
        others = {"inspector": make_user(s, "inspector", body.id, password=None),
                  "brand_manager": manager, "producer": producer,
                  "admin": make_user(s, "admin", password=None), "regulator": make_user(s, "regulator", password=None)}
        certifier_org = make_org(s, kind="certification_body", name="认证中心")
        others["certifier"] = make_user(s, "certifier", certifier_org.id, password=None)
        tokens = {role: issue_token(s, user.username) for role, user in others.items()}
        return {"org": org.id, "batch": batch.code, "cert": cert.code, "cert_seq": cert.ledger_seq,
                "org_seq": org.ledger_seq, "brand": brand.slug, "tokens": tokens}


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def _auth(farm, role):
    return {"Authorization": f"Bearer {farm['tokens'][role]}"}


def test_no_public_page_ledger_read_or_bundle_holds_the_persons_data(app, client, farm, tmp_path):
    bundle = tmp_path / "bundle.jsonl"
    assert _cli(app, "ledger", "export", str(bundle)).exit_code == 0
    public = {
        "/ledger/entries": client.get("/ledger/entries?start=0&limit=1000").data,
        "/t/<code>.json": client.get(f"/t/{farm['batch']}.json").data,
        "/t/<code>": client.get(f"/t/{farm['batch']}").data,
        "brand page": client.get(f"/brands/{farm['brand']}").data,
        "audit bundle": bundle.read_bytes(),
    }
    for where, data in public.items():
        assert len(data) > 500, where
        for secret in _secrets():
            assert secret not in data, (where, secret.decode())
    page = client.get(f"/t/{farm['batch']}.json").get_json()
    assert page["producer"]["name"] == "欧阳某" and page["registered_by"] == "欧阳某"
    assert "欧阳某".encode() in public["/t/<code>"] and "欧阳某".encode() in public["brand page"]
    entry = page["proof"]["entry"]
    assert entry["actor"]["user"].startswith("user:") and entry["actor"]["user"] != LOGIN
    # Staff keep the clear values; the entry holds commitments to them.
    with app.app_context():
        org = db.session().get(Organization, farm["org"])
        assert (org.name, org.address, org.contact) == (PERSON, ADDRESS, PHONE)
        data = json.loads(db.session().get(LedgerEntry, farm["org_seq"]).body)["data"]
        assert sorted(k for k, v in data.items() if isinstance(v, dict)) == ["address", "contact", "name"]


def test_every_commitment_recomputes_from_its_reveal(app, client, farm):
    with app.app_context():
        rows = db.session().scalars(select(PersonalDatum)).all()
        assert {(r.seq, r.path) for r in rows} >= {(farm["org_seq"], "contact"), (farm["cert_seq"], "contact")}
        for row in rows:
            data = json.loads(db.session().get(LedgerEntry, row.seq).body)["data"]
            assert data[row.path] == {"commitment": commitment(row.salt, json.loads(row.value))}
    result = _cli(app, "ledger", "verify")
    assert result.exit_code == 0, result.output
    assert "every personal data commitment matches its reveal" in result.output


@pytest.mark.parametrize("column", ["value", "salt"])
def test_a_changed_reveal_fails_verify_naming_the_entry_and_field(app, farm, column):
    changed = json.dumps("13975312469") if column == "value" else bytes(32)
    with app.app_context(), db.database().engine.begin() as conn:
        conn.execute(text(f"UPDATE personal_data SET {column} = :v WHERE seq = :seq AND path = 'contact'"),
                     {"v": changed, "seq": farm["cert_seq"]})
    result = _cli(app, "ledger", "verify")
    assert result.exit_code == 1
    assert (f"personal data: entry {farm['cert_seq']} field contact: the revealed value and salt do not "
            "recompute to the entry's commitment") in result.output


def test_the_verify_summary_counts_entries_with_personal_data_in_clear_text(app, farm):
    # The factories' organizations are registered by a named actor ("tests"), as before pseudonyms.
    with app.app_context():
        actors = [json.loads(body)["actor"]["user"] for body in db.session().scalars(select(LedgerEntry.body))]
    named = sum(not (user or "user:").startswith(("user:", "system:")) for user in actors)
    result = _cli(app, "ledger", "verify")
    assert result.exit_code == 0, result.output
    assert f"personal data in clear text: {named} entries" in result.output
    assert named > 0


def _files_hold(paths: list[Path], needle: bytes) -> list[str]:
    return [p.name for p in paths if p.is_file() and needle in p.read_bytes()]


def _database_files(app) -> list[Path]:
    database = Path(make_url(app.config["DATABASE_URL"]).database)
    siblings = [database.with_name(database.name + suffix) for suffix in ("-wal", "-journal", "-shm")]
    return [database, *siblings, *Path(app.instance_path).rglob("*")]


def _pg_rows_holding(app, needle: str) -> list[str]:
    found = []
    with app.app_context(), db.database().engine.connect() as conn:
        tables = conn.execute(text("SELECT table_name FROM information_schema.tables "
                                   "WHERE table_schema = 'public'")).scalars().all()
        for table in tables:
            if conn.execute(text(f'SELECT count(*) FROM "{table}" t WHERE t::text LIKE :n'),
                            {"n": f"%{needle}%"}).scalar():
                found.append(table)
    return found


def test_erasure_leaves_no_byte_of_the_phone_and_the_ledger_still_verifies(app, client, farm, tmp_path):
    sqlite = app.config["DATABASE_URL"].startswith("sqlite")
    # The 合格证 holds the same phone: it can go only once its retention period is over.
    with app.app_context(), db.write_session() as s:
        cert = s.scalar(select(ComplianceCertificate).where(ComplianceCertificate.code == farm["cert"]))
        assert cert.contact == PHONE
    if sqlite:
        assert _files_hold(_database_files(app), PHONE.encode()), "the phone is stored before the erasure"
    else:
        assert _pg_rows_holding(app, PHONE)
    result = _cli(app, "personal-data", "erase", f"compliance_certificate:{farm['cert']}", "--reason", "本人要求")
    assert result.exit_code == 1 and "2028-08-05" in result.output  # refused: within the retention period
    app.config["TRACEAPP_COMPLIANCE_RETENTION_YEARS"] = 0
    for subject in (f"org:{farm['org']}", f"compliance_certificate:{farm['cert']}"):
        result = _cli(app, "personal-data", "erase", subject, "--reason", "本人要求删除")
        assert result.exit_code == 0, result.output
    if sqlite:
        assert _files_hold(_database_files(app), PHONE.encode()) == []
        assert _files_hold(_database_files(app), ADDRESS.encode()) == []
    else:
        assert _pg_rows_holding(app, PHONE) == [] and _pg_rows_holding(app, ADDRESS) == []
    verified = _cli(app, "ledger", "verify")
    assert verified.exit_code == 0, verified.output
    with app.app_context():
        org = db.session().get(Organization, farm["org"])
        assert (org.name, org.address, org.contact) == (ERASED, ERASED, ERASED)
        erasure = db.session().scalar(select(LedgerEntry.seq).where(LedgerEntry.kind == "personal_data.erased",
                                                                     LedgerEntry.subject == f"org:{farm['org']}"))
    reveal = client.get(f"/api/v1/personal-data/{farm['org_seq']}", headers=_auth(farm, "regulator")).get_json()
    erased = {p: {"erased": erasure} for p in ("address", "contact", "name")}
    assert reveal == {"seq": farm["org_seq"], "fields": erased}
    # Every proof still verifies: the consumer page's proof of the batch's registration.
    assert client.get(f"/t/{farm['batch']}.json").get_json()["proof"] is not None
    bundle, reveals = tmp_path / "b.jsonl", tmp_path / "reveals.jsonl"
    assert _cli(app, "ledger", "export", str(bundle), "--personal-data", str(reveals)).exit_code == 0
    assert offline.main([str(bundle), "--personal-data", str(reveals)]) == 0


def test_an_erasure_within_the_retention_period_says_when_it_becomes_possible(app, farm):
    result = _cli(app, "personal-data", "erase", f"compliance_certificate:{farm['cert']}", "--reason", "本人要求")
    assert result.exit_code == 1
    assert "2026-08-05" in result.output and "2028-08-05" in result.output
    with app.app_context():
        assert db.session().scalar(select(LedgerEntry.seq).where(LedgerEntry.kind == "personal_data.erased")) is None


def test_only_regulators_and_admins_read_reveals(app, client, farm):
    for role in ("regulator", "admin"):
        response = client.get(f"/api/v1/personal-data/{farm['cert_seq']}", headers=_auth(farm, role))
        assert response.status_code == 200, role
        found = response.get_json()["fields"]["contact"]
        assert found["value"] == PHONE
        with app.app_context():
            data = json.loads(db.session().get(LedgerEntry, farm["cert_seq"]).body)["data"]
        assert data["contact"]["commitment"] == commitment(bytes.fromhex(found["salt"]), found["value"])
    for role in ("producer", "inspector", "certifier", "brand_manager"):
        response = client.get(f"/api/v1/personal-data/{farm['cert_seq']}", headers=_auth(farm, role))
        assert response.status_code == 403, role
        assert PHONE not in response.get_data(as_text=True)
    assert client.get(f"/api/v1/personal-data/{farm['cert_seq']}").status_code == 401


def test_the_offline_verifier_checks_reveals_and_names_a_changed_one(app, farm, tmp_path, capsys):
    bundle, reveals = tmp_path / "b.jsonl", tmp_path / "reveals.jsonl"
    assert _cli(app, "ledger", "export", str(bundle), "--personal-data", str(reveals)).exit_code == 0
    assert PHONE.encode() not in bundle.read_bytes() and PHONE.encode() in reveals.read_bytes()
    assert offline.main([str(bundle), "--personal-data", str(reveals)]) == 0
    assert "personal data commitments match their reveals" in capsys.readouterr().out
    reveals.write_text(reveals.read_text(encoding="utf-8").replace(PHONE, "13900000000"), encoding="utf-8")
    assert offline.main([str(bundle), "--personal-data", str(reveals)]) == 1
    assert f"seq {farm['org_seq']}: personal data field contact" in capsys.readouterr().out


def test_the_admin_page_erases_after_a_confirmation_step(app, client, farm):
    with app.app_context(), db.write_session() as s:
        admin = make_user(s, "admin", name="page-admin")
    form = client.get("/login").text
    token = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    client.post("/login", data={"csrf_token": token, "username": admin.username, "password": "password-123"})
    erase_form = client.get("/admin/personal-data").text
    token = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', erase_form)[1]
    page = client.post("/admin/personal-data", data={"csrf_token": token, "subject": f"org:{farm['org']}",
                                                     "reason": "本人要求"})
    assert page.status_code == 200 and PHONE in page.get_data(as_text=True)  # shown before it goes
    with app.app_context():
        assert db.session().get(Organization, farm["org"]).contact == PHONE  # nothing written yet
    done = client.post("/admin/personal-data", data={"csrf_token": token, "subject": f"org:{farm['org']}",
                                                     "reason": "本人要求", "confirm": "yes"})
    assert done.status_code == 200 and PHONE not in done.get_data(as_text=True)
    with app.app_context():
        assert db.session().get(Organization, farm["org"]).contact == ERASED
    refused = client.post("/admin/personal-data", data={"csrf_token": token, "reason": "本人要求",
                                                        "subject": f"compliance_certificate:{farm['cert']}"})
    assert refused.status_code == 422 and "2028-08-05" in refused.get_data(as_text=True)


@pytest.mark.parametrize(("name", "kind", "shown"), [
    ("李建国", "individual", "李某"), ("欧阳娜娜", "individual", "欧阳某"),
    ("李家茶园家庭农场", "family_farm", "李家茶园家庭农场"),
    ("Maria Lopez", "individual", "Maria 某"), (ERASED, "individual", "某")])
def test_public_pages_name_an_individual_by_surname(name, kind, shown):
    assert public_name(name, kind) == shown
