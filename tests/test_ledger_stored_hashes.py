"""``ledger verify`` recomputes every stored tree hash (``ledger_hashes``) from the entries and
names the first bad one by its stored hash index and level: zeroed, bit-flipped and swapped hashes
at every level, a missing row, a row beyond the tree, and the newest checkpoint's right edge that
the next append builds on; the CLI and the audit desk's job report it too. A damaged stored hash
breaks the inclusion and consistency proofs served from it while the entries themselves are
intact. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from tests.ledger_helpers import body_of, build, failure, rewrite, verify, without_triggers
from traceapp import db
from traceapp.ledger import tree
from traceapp.ledger.note import open_checkpoint
from traceapp.ledger.verify import ALTERED, BROKEN_LINK, STORED_HASH, StoredHashError, VerificationError

TXS = [1, 3, 4, 4, 2, 6, 12, 8]  # 40 entries: complete subtrees up to level 5 (entries 0..31)
SIZE = sum(TXS)
LEVELS = range(6)


@pytest.fixture
def log(engine, sessions, ledger):
    build(sessions, ledger, TXS)
    return engine



def stored(engine, index: int) -> bytes:
    with engine.connect() as conn:
        return bytes(conn.execute(text("SELECT hash FROM ledger_hashes WHERE idx = :i"), {"i": index}).scalar_one())


def set_hash(engine, index: int, value: bytes) -> None:
    without_triggers(engine, [("UPDATE ledger_hashes SET hash = :h WHERE idx = :i", {"h": value, "i": index})])


def flip_bit(value: bytes) -> bytes:
    return value[:13] + bytes([value[13] ^ 0x10]) + value[14:]


def last_leaf_of(level: int, n: int) -> int:
    """The entry whose append stored hash ``n`` of ``level`` (the last leaf of its subtree)."""
    return ((n + 1) << level) - 1


def assert_names(err: VerificationError, index: int) -> None:
    level, n = tree.split_stored_hash_index(index)
    assert isinstance(err, StoredHashError)
    assert (err.kind, err.index, err.level, err.seq) == (STORED_HASH, index, level, last_leaf_of(level, n))
    assert f"stored tree hash: index {index} at level {level} " in str(err)


def test_an_intact_log_verifies_its_stored_hashes_too(log, sessions, ledger):
    summary = verify(sessions, ledger)
    assert summary.size == SIZE
    with log.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM ledger_hashes")).scalar_one() == tree.stored_hash_count(SIZE)


@pytest.mark.parametrize("level", LEVELS)
def test_a_zeroed_stored_hash_is_named_by_index_and_level(log, sessions, ledger, level):
    index = tree.stored_hash_index(level, 0)
    set_hash(log, index, bytes(32))
    assert_names(failure(sessions, ledger), index)


@pytest.mark.parametrize("level", LEVELS)
def test_a_stored_hash_with_one_bit_flipped_is_named(log, sessions, ledger, level):
    # The last hash of each level, so damage late in the log is found as well as early.
    n = (SIZE >> level) - 1
    index = tree.stored_hash_index(level, n)
    set_hash(log, index, flip_bit(stored(log, index)))
    assert_names(failure(sessions, ledger), index)


@pytest.mark.parametrize("level", LEVELS)
def test_swapped_stored_hashes_are_named_at_the_first_of_the_two(log, sessions, ledger, level):
    first = tree.stored_hash_index(level, 0)
    # Its neighbour on the same level where there is one; the top level has a single hash.
    second = tree.stored_hash_index(level, 1) if (SIZE >> level) > 1 else tree.stored_hash_count(SIZE) - 1
    a, b = stored(log, first), stored(log, second)
    set_hash(log, first, b)
    set_hash(log, second, a)
    assert_names(failure(sessions, ledger), first)


def test_a_missing_stored_hash_is_named(log, sessions, ledger):
    index = tree.stored_hash_index(2, 3)
    without_triggers(log, [("DELETE FROM ledger_hashes WHERE idx = :i", {"i": index})])
    err = failure(sessions, ledger)
    assert_names(err, index)
    assert "is missing" in str(err)


def test_a_stored_hash_beyond_the_tree_is_reported(log, sessions, ledger):
    beyond = tree.stored_hash_count(SIZE)
    with log.begin() as conn:  # an INSERT is not refused by the triggers; the next append would collide
        conn.execute(text("INSERT INTO ledger_hashes (idx, hash) VALUES (:i, :h)"), {"i": beyond, "h": bytes(32)})
    err = failure(sessions, ledger)
    assert (err.kind, err.seq, err.index) == (STORED_HASH, SIZE, beyond)
    assert "beyond the tree" in str(err)


def newest_checkpoint_row(engine):
    with engine.connect() as conn:
        return conn.execute(text("SELECT size, last_hash, edge FROM ledger_checkpoints "
                                 "ORDER BY size DESC LIMIT 1")).one()


def test_a_damaged_right_edge_in_the_newest_checkpoint_is_named(log, sessions, ledger):
    # The next append starts from this edge, not from ledger_hashes.
    size, _, edge = newest_checkpoint_row(log)
    edge = bytes(edge)
    assert tree.CompactRange.indexes_for(size) == [tree.stored_hash_index(5, 0), tree.stored_hash_index(3, 4)]
    without_triggers(log, [("UPDATE ledger_checkpoints SET edge = :e WHERE size = :s",
                            {"e": edge[:32] + flip_bit(edge[32:]), "s": size})])
    err = failure(sessions, ledger)
    assert_names(err, tree.stored_hash_index(3, 4))
    assert "right edge" in str(err)


def test_a_wrong_last_chain_hash_in_the_newest_checkpoint_is_reported(log, sessions, ledger):
    size, last_hash, _ = newest_checkpoint_row(log)
    without_triggers(log, [("UPDATE ledger_checkpoints SET last_hash = :h WHERE size = :s",
                            {"h": "0" * 64, "s": size})])
    err = failure(sessions, ledger)
    assert (err.seq, err.kind) == (SIZE, BROKEN_LINK)
    assert last_hash in str(err)


def test_the_first_of_several_damaged_hashes_is_named(log, sessions, ledger):
    late, early = tree.stored_hash_index(0, 37), tree.stored_hash_index(3, 1)
    set_hash(log, late, bytes(32))
    set_hash(log, early, bytes(32))
    assert_names(failure(sessions, ledger), early)


def test_an_altered_entry_is_still_blamed_on_the_entry_not_on_its_stored_leaf(log, sessions, ledger):
    # Its recomputed leaf differs from the stored one, but the signed root shows the entry changed.
    rewrite(log, 21, body_of(log, 21).replace(b"121.5", b"999.5"), rehash=True)
    err = failure(sessions, ledger)
    assert (err.seq, err.kind) == (21, ALTERED)


@pytest.fixture
def small_chunks(monkeypatch):
    """Compare the stored hashes every 4 entries, so chunks end inside and between transactions."""
    from traceapp.ledger import verify as verify_module

    monkeypatch.setattr(verify_module, "_CHUNK_ENTRIES", 4)


@pytest.fixture(params=["one chunk", "chunks of 4"])
def chunks(request):
    """Both ways a bad hash meets other damage: compared before it, or only once that damage is found."""
    if request.param == "chunks of 4":
        request.getfixturevalue("small_chunks")


@pytest.mark.parametrize("level", LEVELS)
def test_damage_is_named_when_chunks_end_before_the_checkpoint_vouching_for_them(log, sessions, ledger,
                                                                                 small_chunks, level):
    index = tree.stored_hash_index(level, 0)
    set_hash(log, index, flip_bit(stored(log, index)))
    assert_names(failure(sessions, ledger), index)


def test_a_bad_stored_hash_before_an_altered_entry_is_named_first(log, sessions, ledger, chunks):
    index = tree.stored_hash_index(1, 2)  # entries 4..5, vouched for by the checkpoint of size 8
    set_hash(log, index, bytes(32))
    rewrite(log, 30, body_of(log, 30).replace(b"130.5", b"999.5"), rehash=True)
    assert_names(failure(sessions, ledger), index)


def test_an_altered_entry_before_a_bad_stored_hash_is_named_first(log, sessions, ledger, chunks):
    set_hash(log, tree.stored_hash_index(2, 7), bytes(32))  # entries 28..31
    rewrite(log, 9, body_of(log, 9).replace(b"109.5", b"999.5"), rehash=True)
    err = failure(sessions, ledger)
    assert (err.seq, err.kind) == (9, ALTERED)


def test_an_intact_log_verifies_in_small_chunks(log, sessions, ledger, small_chunks):
    assert verify(sessions, ledger).stored_hashes == tree.stored_hash_count(SIZE)


def test_the_damage_verify_now_names_is_what_breaks_served_proofs(log, sessions, ledger):
    """What the check protects: a zeroed hash on the last 64 entries' audit paths breaks their
    inclusion proofs and the consistency proofs against the signed root, entries untouched."""
    index = tree.stored_hash_index(3, 4)  # entries 32..39
    set_hash(log, index, bytes(32))
    with sessions() as s:
        size, note = ledger.latest_checkpoint(s)
        root = open_checkpoint(note, ledger.verifier).root
        leaf, path = ledger.inclusion_proof(s, 5, size)
        assert not tree.verify_inclusion(5, size, leaf, path, root)
        old_root = open_checkpoint(ledger.checkpoint_at(s, 20), ledger.verifier).root
        assert not tree.verify_consistency(20, size, old_root, root, ledger.consistency_proof(s, 20, size))
    assert_names(failure(sessions, ledger), index)


def test_the_old_verify_path_without_the_tree_check_still_passes_such_damage(log, sessions, ledger):
    """The path the benchmark times as today's verify: entries, chain, roots and signatures only."""
    set_hash(log, tree.stored_hash_index(1, 2), bytes(32))
    with sessions() as s:
        assert ledger.verify(s, check_stored_hashes=False).size == SIZE


# --- through the app: the CLI and the audit desk --------------------------------------------


def zero_a_recent_hash(app) -> int:
    """Zero the stored hash of level 2 that covers four recent entries, as in issue 22."""
    with app.app_context():
        size = db.ledger().latest_checkpoint(db.session())[0]
    index = tree.stored_hash_index(2, (size >> 2) - 1)
    without_triggers(app.extensions["traceapp.db"].engine,
                     [("UPDATE ledger_hashes SET hash = :h WHERE idx = :i", {"h": bytes(32), "i": index})])
    return index


def test_ledger_verify_cli_exits_1_naming_a_zeroed_stored_hash(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    index = zero_a_recent_hash(app)
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    level = tree.split_stored_hash_index(index)[0]
    assert re.search(rf"FAILED: seq \d+: stored tree hash: index {index} at level {level} ", result.output)


def test_the_audit_desks_job_names_a_zeroed_stored_hash(demo):
    from tests.test_audit_desk import log_in, poll, start
    from traceapp.audit import verification

    try:
        index = zero_a_recent_hash(demo)
        client = demo.test_client()
        state = poll(client, start(client, log_in(client, "regulator")))
    finally:
        verification.wait(demo)
    assert state["status"] == "failed" and state["result"]["summary"] is None
    [problem] = state["result"]["problems"]
    assert f": stored tree hash: index {index} at level 2 " in problem
