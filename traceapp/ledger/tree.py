"""RFC 6962 Merkle tree hashing, proofs and their verification, over stored hashes.

The tree is the one of RFC 6962 section 2.1 (RFC 9162 section 2.1.1): a leaf hash is
SHA-256(0x00 || entry bytes) and an interior node is SHA-256(0x01 || left || right).

Every complete subtree's hash is stored once, when its last leaf is appended, at a dense
linear "stored hash index" (Crosby and Wallach, "Efficient Data Structures for
Tamper-Evident Logging", section 3.3; the layout Go's golang.org/x/mod/sumdb/tlog uses).
The root at any size, an audit path and a consistency proof are then each built from at
most O(log n) stored hashes, fetched with a single call to a ``read_hashes`` function, so
nothing ever rescans the log.

Hashes are 32-byte ``bytes`` throughout. Sizes and indexes are non-negative ``int``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()  # RFC 6962 s2.1: MTH({}) = SHA-256()

#: Reads the stored hashes at the given stored hash indexes, in the same order.
HashReader = Callable[[Sequence[int]], Sequence[bytes]]


class ProofError(ValueError):
    """Raised when a proof is asked for with sizes or indexes that make no sense."""


def leaf_hash(entry_bytes: bytes) -> bytes:
    """Return the RFC 6962 leaf hash SHA-256(0x00 || entry_bytes)."""
    return hashlib.sha256(b"\x00" + entry_bytes).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 6962 interior node hash SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """Return k, the largest power of two strictly smaller than n (n >= 2), RFC 6962 s2.1."""
    return 1 << ((n - 1).bit_length() - 1)


def stored_hash_index(level: int, n: int) -> int:
    """Return the storage index of the n-th hash at a level (level 0 = leaves).

    Level L's n-th hash is stored right after level L+1's (2n+1)-th hash; level 0's n-th
    hash is stored at n + n/2 + n/4 + ... (Crosby-Wallach s3.3).
    """
    for _ in range(level):
        n = 2 * n + 1
    i = 0
    while n > 0:
        i += n
        n >>= 1
    return i + level


def split_stored_hash_index(index: int) -> tuple[int, int]:
    """Return (level, n) for a storage index: the inverse of :func:`stored_hash_index`."""
    n = index // 2
    index_n = stored_hash_index(0, n)
    while True:
        # Appending record n+1 stores 1 + trailing-zeros(n+2) hashes after record n's leaf.
        nxt = index_n + 1 + _trailing_zeros(n + 1)
        if nxt > index:
            break
        n += 1
        index_n = nxt
    level = index - index_n
    return level, n >> level


def stored_hash_count(size: int) -> int:
    """Return how many hashes are stored for a tree of ``size`` leaves."""
    if size == 0:
        return 0
    count = stored_hash_index(0, size - 1) + 1
    i = size - 1
    while i & 1:
        count += 1
        i >>= 1
    return count


def _trailing_zeros(x: int) -> int:
    return (x & -x).bit_length() - 1


def _subtree_indexes(lo: int, hi: int, need: list[int]) -> list[int]:
    """Append the storage indexes of the maximal complete subtrees covering [lo, hi)."""
    while lo < hi:
        k = 1 << ((hi - lo).bit_length() - 1)
        level = k.bit_length() - 1
        need.append(stored_hash_index(level, lo >> level))
        lo += k
    return need


def _subtree_hash(lo: int, hi: int, hashes: list[bytes], pos: int) -> tuple[bytes, int]:
    """Fold the hashes read for :func:`_subtree_indexes` (lo, hi) starting at ``pos``."""
    count = 0
    while lo < hi:
        k = 1 << ((hi - lo).bit_length() - 1)
        count += 1
        lo += k
    h = hashes[pos + count - 1]
    for i in range(pos + count - 2, pos - 1, -1):
        h = node_hash(hashes[i], h)
    return h, pos + count


def _read(read_hashes: HashReader, indexes: list[int]) -> list[bytes]:
    if not indexes:
        return []
    hashes = list(read_hashes(indexes))
    if len(hashes) != len(indexes):
        raise LookupError(f"read {len(hashes)} stored hashes for {len(indexes)} indexes")
    return hashes


def tree_hash(size: int, read_hashes: HashReader) -> bytes:
    """Return the RFC 6962 root hash MTH of the first ``size`` leaves.

    Reads at most 1 + log2(size) stored hashes in one call.
    """
    if size < 0:
        raise ProofError("tree size must not be negative")
    if size == 0:
        return EMPTY_ROOT
    hashes = _read(read_hashes, _subtree_indexes(0, size, []))
    h, _ = _subtree_hash(0, size, hashes, 0)
    return h


def _inclusion_indexes(lo: int, hi: int, n: int, need: list[int]) -> list[int]:
    if lo + 1 == hi:
        return need
    k = _split(hi - lo)
    if n < lo + k:
        _inclusion_indexes(lo, lo + k, n, need)
        _subtree_indexes(lo + k, hi, need)
    else:
        _subtree_indexes(lo, lo + k, need)
        _inclusion_indexes(lo + k, hi, n, need)
    return need


def _inclusion_path(lo: int, hi: int, n: int, hashes: list[bytes], pos: int) -> tuple[list[bytes], int]:
    # RFC 6962 s2.1.1 PATH(m, D[n]): descend towards leaf n, recording the sibling subtree.
    if lo + 1 == hi:
        return [], pos
    k = _split(hi - lo)
    if n < lo + k:
        path, pos = _inclusion_path(lo, lo + k, n, hashes, pos)
        sibling, pos = _subtree_hash(lo + k, hi, hashes, pos)
    else:
        sibling, pos = _subtree_hash(lo, lo + k, hashes, pos)
        path, pos = _inclusion_path(lo + k, hi, n, hashes, pos)
    path.append(sibling)
    return path, pos


def inclusion_proof(index: int, size: int, read_hashes: HashReader) -> list[bytes]:
    """Return the RFC 6962 s2.1.1 audit path for leaf ``index`` in the tree of ``size``.

    Raises ProofError unless 0 <= index < size.
    """
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of size {size}")
    hashes = _read(read_hashes, _inclusion_indexes(0, size, index, []))
    path, _ = _inclusion_path(0, size, index, hashes, 0)
    return path


def _consistency_indexes(lo: int, hi: int, m: int, need: list[int]) -> list[int]:
    if m == hi:
        return need if lo == 0 else _subtree_indexes(lo, hi, need)
    k = _split(hi - lo)
    if m <= lo + k:
        _consistency_indexes(lo, lo + k, m, need)
        _subtree_indexes(lo + k, hi, need)
    else:
        _subtree_indexes(lo, lo + k, need)
        _consistency_indexes(lo + k, hi, m, need)
    return need


def _consistency_path(lo: int, hi: int, m: int, hashes: list[bytes], pos: int) -> tuple[list[bytes], int]:
    # RFC 6962 s2.1.2 SUBPROOF(m, D[n], b); b is true exactly while lo == 0.
    if m == hi:
        if lo == 0:
            return [], pos
        h, pos = _subtree_hash(lo, hi, hashes, pos)
        return [h], pos
    k = _split(hi - lo)
    if m <= lo + k:
        path, pos = _consistency_path(lo, lo + k, m, hashes, pos)
        other, pos = _subtree_hash(lo + k, hi, hashes, pos)
    else:
        other, pos = _subtree_hash(lo, lo + k, hashes, pos)
        path, pos = _consistency_path(lo + k, hi, m, hashes, pos)
    path.append(other)
    return path, pos


def consistency_proof(old_size: int, new_size: int, read_hashes: HashReader) -> list[bytes]:
    """Return the RFC 6962 s2.1.2 consistency proof PROOF(old_size, D[new_size]).

    Raises ProofError unless 0 < old_size <= new_size. Equal sizes give an empty proof.
    """
    if not 0 < old_size <= new_size:
        raise ProofError(f"no consistency proof from size {old_size} to size {new_size}")
    hashes = _read(read_hashes, _consistency_indexes(0, new_size, old_size, []))
    path, _ = _consistency_path(0, new_size, old_size, hashes, 0)
    return path


def consistency_proof_indexes(old_size: int, new_size: int) -> list[int]:
    """Return the stored hash indexes :func:`consistency_proof` reads, in the order it reads them.

    Raises ProofError unless 0 < old_size <= new_size.
    """
    if not 0 < old_size <= new_size:
        raise ProofError(f"no consistency proof from size {old_size} to size {new_size}")
    return _consistency_indexes(0, new_size, old_size, [])


def stored_hash_leaves(index: int) -> tuple[int, int]:
    """Return (first, end): the leaves first … end-1 whose subtree hash is stored at ``index``."""
    level, n = split_stored_hash_index(index)
    return n << level, (n + 1) << level


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """Return whether ``proof`` shows leaf hash ``leaf`` at ``index`` in the tree (size, root).

    The algorithm of RFC 9162 s2.1.3.2, with the input checks of transparency-dev/merkle.
    """
    if index < 0 or size < 0 or index >= size:
        return False
    if len(leaf) != HASH_SIZE or len(root) != HASH_SIZE or any(len(p) != HASH_SIZE for p in proof):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """Return whether ``proof`` shows the tree (old_size, old_root) is a prefix of (new_size, new_root).

    RFC 9162 s2.1.4.2, with transparency-dev/merkle's edge cases: old_size 0 is rejected,
    equal sizes need an empty proof and equal roots.
    """
    if old_size <= 0 or new_size < old_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if len(old_root) != HASH_SIZE or len(new_root) != HASH_SIZE:
        return False
    if any(len(p) != HASH_SIZE for p in proof):
        return False
    path = list(proof)
    if not path:
        return False
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


class CompactRange:
    """The right edge of a growing tree: the roots of its maximal complete subtrees.

    Appending a leaf returns the hashes newly stored for it (its leaf hash, then the hash
    of every subtree it completes), in storage-index order starting at
    ``stored_hash_index(0, leaf_index)``, so a streaming writer or verifier never reads
    back what it has already computed.
    """

    __slots__ = ("size", "hashes")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()):
        self.size = size
        self.hashes = list(hashes)

    @staticmethod
    def indexes_for(size: int) -> list[int]:
        """Return the storage indexes of the subtree roots that make up a tree of ``size``."""
        return _subtree_indexes(0, size, [])

    @classmethod
    def load(cls, size: int, read_hashes: HashReader) -> CompactRange:
        """Return the compact range of an existing tree of ``size``, read from storage."""
        return cls(size, _read(read_hashes, cls.indexes_for(size)))

    def append(self, leaf: bytes) -> list[bytes]:
        """Add the leaf hash ``leaf`` and return the hashes to store for it."""
        stored = [leaf]
        h = leaf
        n = self.size
        while n & 1:
            h = node_hash(self.hashes.pop(), h)
            stored.append(h)
            n >>= 1
        self.hashes.append(h)
        self.size += 1
        return stored

    def root(self) -> bytes:
        """Return the RFC 6962 root of the tree so far."""
        if not self.hashes:
            return EMPTY_ROOT
        h = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            h = node_hash(left, h)
        return h
