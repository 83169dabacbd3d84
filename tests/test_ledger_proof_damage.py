"""The pure diagnosis of a failed consistency proof (traceapp.ledger.proof_damage): no database,
the entries and stored hashes held in lists."""

from __future__ import annotations

import pytest

from traceapp.ledger import tree
from traceapp.ledger.proof_damage import diagnose_consistency, subtree_hash_from_entries

BODIES = [f"entry {i}".encode() for i in range(37)]


def stored_hashes(bodies: list[bytes]) -> list[bytes]:
    edge, hashes = tree.CompactRange(), []
    for body in bodies:
        hashes.extend(edge.append(tree.leaf_hash(body)))
    return hashes


def root(bodies: list[bytes]) -> bytes:
    edge = tree.CompactRange()
    for body in bodies:
        edge.append(tree.leaf_hash(body))
    return edge.root()


def read_entries(bodies: list[bytes]):
    return lambda first, end: iter(bodies[first:end])


@pytest.mark.parametrize(("old", "new"), [(1, 2), (3, 37), (8, 37), (10, 37), (36, 37)])
def test_the_indexes_are_those_the_proof_reads(old, new):
    seen: list[int] = []
    tree.consistency_proof(old, new, lambda wanted: seen.extend(wanted) or [bytes(32)] * len(wanted))
    assert tree.consistency_proof_indexes(old, new) == seen


def test_each_stored_subtree_hash_is_recomputed_from_its_entries():
    hashes = stored_hashes(BODIES)
    for index, want in enumerate(hashes):
        assert subtree_hash_from_entries(index, read_entries(BODIES)) == want


def test_intact_hashes_show_no_damage_and_a_zeroed_one_is_named():
    hashes = stored_hashes(BODIES)
    indexes = tree.consistency_proof_indexes(10, 37)
    intact = diagnose_consistency(10, 37, root(BODIES[:10]), root(BODIES), [hashes[i] for i in indexes],
                                  read_entries(BODIES))
    assert intact.damaged == () and intact.recomputed_holds
    broken = [bytes(32) if i == indexes[1] else hashes[i] for i in indexes]
    found = diagnose_consistency(10, 37, root(BODIES[:10]), root(BODIES), broken, read_entries(BODIES))
    [damaged] = found.damaged
    assert (damaged.index, damaged.level, damaged.stored) == (indexes[1], tree.split_stored_hash_index(indexes[1])[0],
                                                              bytes(32))
    assert found.recomputed_holds


def test_a_rewritten_prefix_does_not_hold_even_when_recomputed():
    other = list(BODIES)
    other[3] = b"rewritten"
    hashes = stored_hashes(BODIES)
    indexes = tree.consistency_proof_indexes(10, 37)
    found = diagnose_consistency(10, 37, root(other[:10]), root(BODIES), [hashes[i] for i in indexes],
                                 read_entries(BODIES))
    assert not found.recomputed_holds


def test_missing_entries_are_a_lookup_error():
    indexes = tree.consistency_proof_indexes(10, 37)
    with pytest.raises(LookupError):
        diagnose_consistency(10, 37, root(BODIES[:10]), root(BODIES), [None] * len(indexes),
                             read_entries(BODIES[:20]))
