"""Telling a damaged stored tree hash from a rewritten log when a consistency proof fails.

A consistency proof is built from stored tree hashes (``ledger_hashes``), so one zeroed or
altered row makes a genuine saved checkpoint look like a rewrite. Recomputing the hashes the
proof reads from the entries themselves tells the two apart: if the proof rebuilt from the
recomputed hashes holds, the entries still extend the saved tree and only stored hashes are
damaged; if it fails as well, the entries do not extend it and the log was rewritten.

Pure: the caller supplies the stored hashes and the entries' bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from traceapp.ledger import tree

#: Yields the bytes of entries first … end-1, in sequence order.
EntryReader = Callable[[int, int], Iterable[bytes]]


@dataclass(frozen=True)
class DamagedHash:
    """A stored tree hash that differs from the hash its entries give (``stored`` is None when the
    row is missing)."""

    index: int
    level: int
    stored: bytes | None
    computed: bytes


@dataclass(frozen=True)
class ProofDiagnosis:
    """The stored hashes a consistency proof reads that are damaged, in index order, and whether
    the proof recomputed from the entries shows the old tree is a prefix of the new one."""

    damaged: tuple[DamagedHash, ...]
    recomputed_proof: tuple[bytes, ...]
    recomputed_holds: bool


def subtree_hash_from_entries(index: int, read_entries: EntryReader) -> bytes:
    """Return the hash the entries give for the complete subtree stored at ``index``, folding the
    leaves as they stream (memory in the tree's height, not its width).

    Raises LookupError when entries of the subtree are missing.
    """
    first, end = tree.stored_hash_leaves(index)
    edge = tree.CompactRange()
    for body in read_entries(first, end):
        edge.append(tree.leaf_hash(body))
    if edge.size != end - first:
        raise LookupError(f"entries {first} … {end - 1} are not all stored")
    return edge.root()


def diagnose_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                         stored: Sequence[bytes | None], read_entries: EntryReader) -> ProofDiagnosis:
    """Recompute from the entries every hash the consistency proof from ``old_size`` to ``new_size``
    reads, compare them with ``stored`` (the stored hashes at
    :func:`tree.consistency_proof_indexes`, in that order, None for a missing row) and check the
    proof rebuilt from the recomputed hashes against the two roots.

    Raises LookupError when entries the proof covers are missing.
    """
    indexes = tree.consistency_proof_indexes(old_size, new_size)
    if len(stored) != len(indexes):
        raise ValueError(f"{len(stored)} stored hashes given for {len(indexes)} proof indexes")
    computed = {index: subtree_hash_from_entries(index, read_entries) for index in indexes}
    damaged = tuple(
        DamagedHash(index, tree.split_stored_hash_index(index)[0], have, computed[index])
        for index, have in sorted(zip(indexes, stored, strict=True), key=lambda pair: pair[0])
        if have is None or bytes(have) != computed[index]
    )
    proof = tree.consistency_proof(old_size, new_size, lambda wanted: [computed[i] for i in wanted])
    holds = tree.verify_consistency(old_size, new_size, old_root, new_root, proof)
    return ProofDiagnosis(damaged, tuple(proof), holds)
