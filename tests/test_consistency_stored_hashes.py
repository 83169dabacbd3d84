"""A damaged stored tree hash is not a rewritten log. The consistency proof of a saved checkpoint
is built from ``ledger_hashes``; when one of the hashes it reads was zeroed or altered, the CLI and
the audit desk name that hash (index and level) and send the user to ``ledger verify`` instead of
raising the "log was rewritten" alarm. A checkpoint that no recomputation can prove still raises
the alarm, damaged hashes or not. SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import text

from tests.ledger_helpers import without_triggers
from tests.test_audit_desk import genuine, log_in, rewritten
from traceapp import db
from traceapp.ledger import tree

OLD = 10  # the size of the saved checkpoint (`genuine` and `rewritten` are of this size)


def ledger_size(app) -> int:
    with app.app_context():
        return db.ledger().latest_checkpoint(db.session())[0]


def proof_indexes(old: int, new: int) -> list[int]:
    """The stored hash indexes the consistency proof from ``old`` to ``new`` reads."""
    seen: list[int] = []

    def read(indexes):
        seen.extend(indexes)
        return [bytes(32)] * len(indexes)

    tree.consistency_proof(old, new, read)
    return seen


def zero(app, index: int) -> None:
    without_triggers(app.extensions["traceapp.db"].engine,
                     [("UPDATE ledger_hashes SET hash = :h WHERE idx = :i", {"h": bytes(32), "i": index})])


def check_cli(app, tmp_path, note: str):
    path = tmp_path / "saved.txt"
    path.write_text(note)
    return app.test_cli_runner().invoke(args=["ledger", "consistency", str(path)])


def check_desk(app, note: str, lang: str = "en") -> str:
    client = app.test_client()
    token = log_in(client, "regulator")
    page = client.post(f"/audit/consistency?lang={lang}", data={"csrf_token": token, "checkpoint": note})
    assert page.status_code == 200
    return page.text


def test_every_hash_the_proof_reads_is_damage_not_a_rewrite_in_the_cli(demo, tmp_path):
    note = genuine(demo)
    indexes = proof_indexes(OLD, ledger_size(demo))  # the demo ledger is larger than OLD
    assert len({tree.split_stored_hash_index(i)[0] for i in indexes}) > 1  # more than one level is covered
    for index in indexes:
        original = _stored(demo, index)
        zero(demo, index)
        level, _n = tree.split_stored_hash_index(index)
        result = check_cli(demo, tmp_path, note)
        assert result.exit_code == 1, result.output
        assert "the log was rewritten" not in result.output and "ALARM" not in result.output
        assert f"FAILED: stored tree hash damaged at index {index}, level {level} — run ledger verify" in result.output
        _restore(demo, index, original)
    assert check_cli(demo, tmp_path, note).exit_code == 0


def test_the_desk_names_the_damaged_hash_and_raises_no_alarm(demo):
    index = proof_indexes(OLD, ledger_size(demo))[-1]
    level, _n = tree.split_stored_hash_index(index)
    zero(demo, index)
    page = check_desk(demo, genuine(demo))
    assert 'data-outcome="damaged"' in page
    assert 'class="consistency alarm"' not in page
    assert "Security alarm" not in page and "the ledger was rewritten" not in page
    assert f"A stored tree hash is damaged (index {index}, level {level})" in page
    assert "flask --app traceapp ledger verify" in page
    zh = check_desk(demo, genuine(demo), lang="zh")
    assert "安全警报" not in zh
    assert f"存储的树哈希已损坏（索引 {index}，第 {level} 层）" in zh


def test_a_rewrite_still_alarms_with_a_damaged_hash_in_its_proof(demo, tmp_path):
    zero(demo, proof_indexes(OLD, ledger_size(demo))[0])
    note = rewritten(demo)
    result = check_cli(demo, tmp_path, note)
    assert result.exit_code == 1
    assert "SECURITY ALARM: the log was rewritten" in result.output
    page = check_desk(demo, note)
    assert 'data-outcome="inconsistent"' in page and 'class="consistency alarm"' in page


def test_a_rewrite_with_intact_stored_hashes_still_alarms(demo, tmp_path):
    note = rewritten(demo)
    result = check_cli(demo, tmp_path, note)
    assert result.exit_code == 1 and "SECURITY ALARM: the log was rewritten" in result.output
    assert "stored tree hash damaged" not in result.output


def test_a_damaged_hash_the_proof_does_not_read_leaves_a_genuine_checkpoint_consistent(demo, tmp_path):
    # Level 0's first hash is inside the saved tree, which the proof covers by larger subtrees.
    index = tree.stored_hash_index(0, 0)
    assert index not in proof_indexes(OLD, ledger_size(demo))
    zero(demo, index)
    result = check_cli(demo, tmp_path, genuine(demo))
    assert result.exit_code == 0, result.output


def test_ledger_verify_help_mentions_the_stored_tree_hashes(demo):
    result = demo.test_cli_runner().invoke(args=["ledger", "verify", "--help"])
    assert result.exit_code == 0
    assert "stored tree hash" in result.output


def _stored(app, index: int) -> bytes:
    with app.extensions["traceapp.db"].engine.connect() as conn:
        return bytes(conn.execute(text("SELECT hash FROM ledger_hashes WHERE idx = :i"), {"i": index}).scalar_one())


def _restore(app, index: int, value: bytes) -> None:
    without_triggers(app.extensions["traceapp.db"].engine,
                     [("UPDATE ledger_hashes SET hash = :h WHERE idx = :i", {"h": value, "i": index})])


def test_a_missing_stored_hash_in_the_proof_is_named_not_reported_as_no_checkpoint(demo, tmp_path):
    index = proof_indexes(OLD, ledger_size(demo))[0]
    level, _n = tree.split_stored_hash_index(index)
    without_triggers(demo.extensions["traceapp.db"].engine,
                     [("DELETE FROM ledger_hashes WHERE idx = :i", {"i": index})])
    result = check_cli(demo, tmp_path, genuine(demo))
    assert result.exit_code == 1
    assert f"FAILED: stored tree hash damaged at index {index}, level {level} — run ledger verify" in result.output
    assert "stored missing" in result.output
    assert f"(index {index}, level {level})" in check_desk(demo, genuine(demo))
