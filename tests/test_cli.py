"""The CLI of DESIGN.md part 1: db upgrade, seed-demo, ledger verify / export / consistency."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import close_app, new_app
from tests.factories import make_org
from tests.ledger_helpers import body_of, rewrite
from traceapp import db
from traceapp.db import check_app_signer
from traceapp.ledger.continuity import SignerMismatch
from traceapp.ledger.note import Verifier, open_checkpoint

ROOT = Path(__file__).resolve().parents[1]


def invoke(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_db_upgrade_creates_secret_and_signing_keys_readable_only_by_the_owner(app):
    instance = Path(app.instance_path)
    for name in ("secret_key", "ledger-signing-key.pem"):
        mode = stat.S_IMODE((instance / name).stat().st_mode)
        assert mode == 0o600, (name, oct(mode))
    key_before = (instance / "ledger-signing-key.pem").read_bytes()
    assert invoke(app, "db", "upgrade").exit_code == 0  # idempotent, keeps the key
    assert (instance / "ledger-signing-key.pem").read_bytes() == key_before
    assert invoke(app, "init-db").exit_code == 0


def test_seed_demo_loads_once(app):
    first = invoke(app, "seed-demo")
    assert first.exit_code == 0 and "loaded the demo data set" in first.output
    second = invoke(app, "seed-demo")
    assert second.exit_code == 0 and "already has entries" in second.output
    with app.app_context():
        kinds = set(db.session().execute(text("SELECT DISTINCT kind FROM ledger_entries")).scalars())
    assert {"org.registered", "brand.registered", "brand.licensed", "batch.registered",
            "inspection.recorded", "certification.issued"} <= kinds


def test_ledger_verify_exits_0_with_a_summary_then_1_naming_the_damaged_seq(app):
    invoke(app, "seed-demo")
    ok = invoke(app, "ledger", "verify")
    assert ok.exit_code == 0 and ok.output.startswith("OK: ledger intact:")
    engine = app.extensions["traceapp.db"].engine
    rewrite(engine, 12, body_of(engine, 12).replace(b'"data":{', b'"data":{"x":"y",'), rehash=False)
    bad = invoke(app, "ledger", "verify")
    assert bad.exit_code == 1
    assert "seq 12: altered entry" in bad.output


def test_exported_bundle_verifies_offline_and_proves_a_saved_checkpoint(app, client, tmp_path):
    invoke(app, "seed-demo")
    saved = tmp_path / "saved-checkpoint.txt"
    with app.app_context():
        saved.write_text(db.ledger().checkpoint_at(db.session(), 10))
    key = tmp_path / "key.txt"
    key.write_text(client.get("/ledger/key").get_data(as_text=True))
    bundle = tmp_path / "audit.jsonl.gz"
    result = invoke(app, "ledger", "export", str(bundle))
    assert result.exit_code == 0, result.output
    out = subprocess.run([sys.executable, "-m", "traceapp.ledger.verify", str(bundle), "--key", str(key),
                          "--checkpoint", str(saved)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "size 10 is consistent" in out.stdout


def test_ledger_consistency_accepts_a_past_checkpoint_and_refuses_a_forged_one(app, tmp_path):
    invoke(app, "seed-demo")
    saved = tmp_path / "old.txt"
    with app.app_context():
        ledger = db.ledger()
        saved.write_text(ledger.checkpoint_at(db.session(), 5))
        from traceapp.ledger.note import sign_checkpoint

        forged = tmp_path / "forged.txt"
        forged.write_text(sign_checkpoint(ledger.signer, 5, b"\x01" * 32))
        too_big = tmp_path / "big.txt"
        too_big.write_text(sign_checkpoint(ledger.signer, 10**6, b"\x01" * 32))
    ok = invoke(app, "ledger", "consistency", str(saved))
    assert ok.exit_code == 0 and "consistent" in ok.output
    bad = invoke(app, "ledger", "consistency", str(forged))
    assert bad.exit_code == 1 and "rewritten" in bad.output
    big = invoke(app, "ledger", "consistency", str(too_big))
    assert big.exit_code == 1 and "larger than the current tree" in big.output
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\n")
    assert invoke(app, "ledger", "consistency", str(junk)).exit_code == 1


def _same_database(app, instance: Path | None = None, **config):
    """Another app on ``app``'s database: its instance folder (or ``instance``), ``config`` on top."""
    return new_app(app.config["DATABASE_URL"], instance or app.instance_path, **config)


def _checkpoints(app) -> int:
    with app.app_context():
        return db.session().execute(text("SELECT count(*) FROM ledger_checkpoints")).scalar_one()


def test_a_new_public_url_keeps_the_ledger_origin_and_another_key_is_refused(app, tmp_path):
    """The origin is chosen when the first checkpoint is signed and read from the database afterwards:
    serving the instance under another host or port (or naming another origin) starts and signs under
    the stored origin, so earlier checkpoints keep verifying. Another instance folder's key cannot
    continue the ledger: the CLI and the WSGI entry point refuse it."""
    invoke(app, "seed-demo")
    stored = app.config["TRACEAPP_LEDGER_ORIGIN"]
    with app.app_context():
        old_note = db.ledger().latest_checkpoint(db.session())[1]
    old_file = tmp_path / "old-checkpoint.txt"
    old_file.write_text(old_note)
    verifier = Verifier.parse(app.test_client().get("/ledger/key").get_data(as_text=True))

    moved = _same_database(app, TRACEAPP_PUBLIC_URL="https://trace.example.cn:8443")
    renamed = _same_database(app, TRACEAPP_LEDGER_ORIGIN="another.example/ledger")
    for other in (moved, renamed):
        assert other.config["TRACEAPP_LEDGER_ORIGIN"] == stored
        check_app_signer(other)
        upgraded = invoke(other, "db", "upgrade")
        assert upgraded.exit_code == 0 and f"ledger origin: {stored}" in upgraded.output, upgraded.output
        with other.app_context(), db.write_session() as session:  # a write: a new checkpoint
            make_org(session)
        assert other.test_client().get("/ledger/key").get_data(as_text=True) == verifier.encode()
        with other.app_context():
            size, note = db.ledger().latest_checkpoint(db.session())
        assert open_checkpoint(note, verifier).origin == stored
        consistent = invoke(other, "ledger", "consistency", str(old_file))
        assert consistent.exit_code == 0, consistent.output

    before = _checkpoints(app)
    stranger = _same_database(app, instance=tmp_path / "another-instance")  # a new key
    refused = invoke(stranger, "db", "upgrade")
    assert refused.exit_code == 1 and "not signed by this instance's key" in refused.output
    with pytest.raises(SignerMismatch, match="not signed by this instance's key"):
        check_app_signer(stranger)
    assert _checkpoints(app) == before
    for other in (moved, renamed, stranger):
        close_app(other)
