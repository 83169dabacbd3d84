"""The ledger in the database: appends, checkpoints, proofs, append-only triggers, and
every kind of damage found at the right sequence number. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from tests.ledger_helpers import ACTOR, body_of, build, failure, rewrite, verify, without_triggers
from tests.test_ledger_tree import ref_mth, ref_path, ref_subproof
from traceapp.ledger import tree
from traceapp.ledger.note import open_checkpoint
from traceapp.ledger.store import LedgerCheckpoint, LedgerEntry, LedgerLockError, begin_write
from traceapp.ledger.verify import (
    ALTERED,
    BAD_SIGNATURE,
    BROKEN_LINK,
    MISSING,
    REORDERED,
    TRUNCATED,
    UNSIGNED,
)

TXS = [1, 3, 4, 4, 2, 6]  # 20 entries, checkpoints at 1, 4, 8, 12, 14, 20


@pytest.fixture
def log(engine, sessions, ledger):
    build(sessions, ledger, TXS)
    return engine



def test_each_committed_transaction_is_sealed_by_one_signed_checkpoint(log, sessions, ledger, signer):
    with sessions() as s:
        sizes = s.execute(select(LedgerCheckpoint.size).order_by(LedgerCheckpoint.size)).scalars().all()
        assert sizes == [1, 4, 8, 12, 14, 20]
        bodies = [bytes(b) for b in s.execute(select(LedgerEntry.body).order_by(LedgerEntry.seq)).scalars()]
        for size in sizes:
            checkpoint = open_checkpoint(ledger.checkpoint_at(s, size), signer.verifier)
            assert checkpoint.root == ref_mth(bodies[:size])
    summary = verify(sessions, ledger)
    assert (summary.size, summary.checkpoints) == (20, 6)


def test_entries_chain_by_the_sha256_of_their_stored_bytes(log, sessions, ledger):
    with sessions() as s:
        rows = ledger.entries(s, 0, 100)
    prev = "0" * 64
    for seq, body, digest in rows:
        assert hashlib.sha256(body).hexdigest() == digest
        assert f'"prev":"{prev}"'.encode() in body and f'"seq":{seq},'.encode() in body
        prev = digest


def test_proofs_through_the_store_match_the_rfc_definitions(log, sessions, ledger):
    with sessions() as s:
        bodies = [b for _, b, _ in ledger.entries(s, 0, 100)]
        for size in (1, 7, 8, 20):
            for seq in range(size):
                leaf, path = ledger.inclusion_proof(s, seq, size)
                assert leaf == tree.leaf_hash(bodies[seq]) and path == ref_path(seq, bodies[:size])
            for old in range(1, size + 1):
                assert ledger.consistency_proof(s, old, size) == ref_subproof(old, bodies[:size], True)
            assert ledger.tree_hash(s, size) == ref_mth(bodies[:size])


def test_a_rolled_back_transaction_leaves_no_entry_and_no_checkpoint(log, sessions, ledger):
    with sessions() as s:
        begin_write(s)
        ledger.append(s, "batch.registered", ACTOR, "batch:X", {"product": "茶"})
        s.rollback()
    with sessions() as s:
        begin_write(s)
        appended = ledger.append(s, "batch.registered", ACTOR, "batch:Y", {"product": "茶"})
        s.commit()
    assert appended.seq == 20
    assert verify(sessions, ledger).size == 21


def test_sqlite_appends_without_a_write_transaction_are_refused(engine, sessions, ledger):
    if engine.dialect.name != "sqlite":
        pytest.skip("the BEGIN IMMEDIATE guard is SQLite's; PostgreSQL takes an advisory lock")
    with sessions() as s, pytest.raises(LedgerLockError):
        ledger.append(s, "batch.registered", ACTOR, "batch:X", {})


@pytest.mark.parametrize("sql", [
    "UPDATE ledger_entries SET kind = 'x.y' WHERE seq = 3",
    "DELETE FROM ledger_entries WHERE seq = 3",
    "UPDATE ledger_hashes SET hash = hash WHERE idx = 0",
    "DELETE FROM ledger_hashes",
    "UPDATE ledger_checkpoints SET note = 'x' WHERE size = 4",
    "DELETE FROM ledger_checkpoints WHERE size = 4",
])
def test_the_database_refuses_updates_and_deletes_on_ledger_tables(log, sql):
    with pytest.raises(DBAPIError, match="append-only"), log.begin() as conn:
        conn.execute(text(sql))
    with log.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM ledger_entries")).scalar() == 20


def test_postgres_refuses_truncate(log):
    if log.dialect.name != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's")
    with pytest.raises(DBAPIError, match="append-only"), log.begin() as conn:
        conn.execute(text("TRUNCATE ledger_entries"))


def test_an_altered_entry_is_reported_at_its_seq(log, sessions, ledger):
    rewrite(log, 7, body_of(log, 7).replace(b"107.5", b"999.5"), rehash=False)
    err = failure(sessions, ledger)
    assert (err.seq, err.kind) == (7, ALTERED)


def test_an_altered_entry_with_a_recomputed_hash_is_still_reported_at_its_seq(log, sessions, ledger):
    rewrite(log, 7, body_of(log, 7).replace(b"107.5", b"999.5"), rehash=True)
    err = failure(sessions, ledger)
    assert (err.seq, err.kind) == (7, ALTERED)


def test_the_last_entry_altered_with_a_recomputed_hash_is_reported(log, sessions, ledger):
    rewrite(log, 19, body_of(log, 19).replace(b"119.5", b"1.5"), rehash=True)
    err = failure(sessions, ledger)
    assert (err.seq, err.kind) == (19, ALTERED)


def test_a_broken_chain_link_is_reported_at_the_entry_holding_it(log, sessions, ledger):
    body = body_of(log, 9)
    start = body.index(b'"prev":"') + 8
    forged = body[:start] + b"ab" * 32 + body[start + 64:]
    rewrite(log, 9, forged, rehash=True)
    err = failure(sessions, ledger)
    assert (err.seq, err.kind) == (9, BROKEN_LINK)


def test_a_missing_entry_is_reported_at_its_seq(log, sessions, ledger):
    without_triggers(log, [("DELETE FROM ledger_entries WHERE seq = 5", {})])
    err = failure(sessions, ledger)
    assert (err.seq, err.kind) == (5, MISSING)


def test_reordered_entries_are_reported_at_the_first_swapped_seq(log, sessions, ledger):
    with log.connect() as conn:
        rows = {r.seq: r for r in conn.execute(text("SELECT seq, body, hash FROM ledger_entries WHERE seq IN (3, 4)"))}
    swap = "UPDATE ledger_entries SET body = :b, hash = :h WHERE seq = :s"
    without_triggers(log, [(swap, {"b": rows[4].body, "h": rows[4].hash, "s": 3}),
                           (swap, {"b": rows[3].body, "h": rows[3].hash, "s": 4})])
    err = failure(sessions, ledger)
    assert (err.seq, err.kind) == (3, REORDERED)


def test_a_log_shorter_than_a_signed_checkpoint_is_reported_as_truncated(log, sessions, ledger):
    without_triggers(log, [("DELETE FROM ledger_entries WHERE seq >= 16", {})])
    err = failure(sessions, ledger)
    assert (err.seq, err.kind) == (16, TRUNCATED)


def test_a_bad_checkpoint_signature_is_reported(log, sessions, ledger):
    with log.connect() as conn:
        note = conn.execute(text("SELECT note FROM ledger_checkpoints WHERE size = 8")).scalar_one()
    text_part, sig = note.split("\n\n")
    prefix, b64 = sig.rsplit(" ", 1)
    flipped = b64[:20] + ("A" if b64[20] != "A" else "B") + b64[21:]
    without_triggers(log, [("UPDATE ledger_checkpoints SET note = :n WHERE size = 8",
                            {"n": f"{text_part}\n\n{prefix} {flipped}"})])
    err = failure(sessions, ledger)
    assert (err.seq, err.kind) == (7, BAD_SIGNATURE)


def test_an_entry_slipped_in_without_a_checkpoint_is_reported_as_unsigned(log, sessions, ledger):
    last = body_of(log, 19)
    forged = last.replace(b'"seq":19,', b'"seq":20,')
    start = forged.index(b'"prev":"') + 8
    forged = forged[:start] + hashlib.sha256(last).hexdigest().encode() + forged[start + 64:]
    with log.begin() as conn:  # an INSERT is not refused by the triggers; the signature is missing
        conn.execute(text("INSERT INTO ledger_entries (seq, body, hash, kind, subject) "
                          "VALUES (20, :b, :h, 'batch.registered', 'batch:F')"),
                     {"b": forged, "h": hashlib.sha256(forged).hexdigest()})
    err = failure(sessions, ledger)
    assert (err.seq, err.kind) == (20, UNSIGNED)


def test_a_write_transaction_holds_the_single_writer_lock_from_its_start(engine, sessions, ledger):
    import threading
    import time

    events = []
    with sessions() as first:
        begin_write(first)

        def second_writer():
            with sessions() as second:
                begin_write(second)
                events.append(("second has the lock", time.monotonic()))
                ledger.append(second, "batch.registered", ACTOR, "batch:2", {})
                second.commit()

        thread = threading.Thread(target=second_writer)
        thread.start()
        time.sleep(0.5)
        ledger.append(first, "batch.registered", ACTOR, "batch:1", {})
        events.append(("first commits", time.monotonic()))
        first.commit()
        thread.join(timeout=30)
    assert [name for name, _ in events] == ["first commits", "second has the lock"]
    assert verify(sessions, ledger).size == 2
