"""The RFC 6962 tree over stored hashes, against the published vectors and a plain
recursive implementation of the RFC's definitions."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from tests.conftest import shared_file
from traceapp.ledger import tree


def _vectors() -> dict:
    return json.loads(shared_file("vectors", "rfc6962.json").read_text())


# --- RFC 6962 s2.1 written out literally, for comparison --------------------------------

def ref_mth(leaves: list[bytes]) -> bytes:
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + ref_mth(leaves[:k]) + ref_mth(leaves[k:])).digest()


def ref_path(m: int, leaves: list[bytes]) -> list[bytes]:
    n = len(leaves)
    if n <= 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return ref_path(m, leaves[:k]) + [ref_mth(leaves[k:])]
    return ref_path(m - k, leaves[k:]) + [ref_mth(leaves[:k])]


def ref_subproof(m: int, leaves: list[bytes], b: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if b else [ref_mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return ref_subproof(m, leaves[:k], b) + [ref_mth(leaves[k:])]
    return ref_subproof(m - k, leaves[k:], False) + [ref_mth(leaves[:k])]


class Store:
    """Stored hashes in a dict, written the way the ledger writes them."""

    def __init__(self, leaves: list[bytes]):
        self.hashes: dict[int, bytes] = {}
        self.reads: list[int] = []
        edge = tree.CompactRange()
        for i, leaf in enumerate(leaves):
            base = tree.stored_hash_index(0, i)
            for offset, h in enumerate(edge.append(tree.leaf_hash(leaf))):
                self.hashes[base + offset] = h
        self.edge = edge

    def read(self, indexes):
        self.reads.append(len(indexes))
        return [self.hashes[i] for i in indexes]


def test_roots_of_the_published_tree_match_at_every_size():
    v = _vectors()
    leaves = [bytes.fromhex(x) for x in v["leaves_hex"]]
    store = Store(leaves)
    for size, root in v["roots_hex"].items():
        assert tree.tree_hash(int(size), store.read).hex() == root


def test_stored_leaf_and_node_hashes_match_the_published_node_hashes():
    v = _vectors()
    leaves = [bytes.fromhex(x) for x in v["leaves_hex"]]
    store = Store(leaves)
    for level, hashes in enumerate(v["node_hashes_hex"]["levels"]):
        for n, h in enumerate(hashes):
            assert store.hashes[tree.stored_hash_index(level, n)].hex() == h


def test_inclusion_proofs_match_the_published_ones():
    v = _vectors()
    leaves = [bytes.fromhex(x) for x in v["leaves_hex"]]
    store = Store(leaves)
    for case in v["inclusion_proofs"]:
        proof = tree.inclusion_proof(case["leaf_index"], case["tree_size"], store.read)
        assert [p.hex() for p in proof] == case["proof_hex"]


def test_consistency_proofs_match_the_published_ones():
    v = _vectors()
    leaves = [bytes.fromhex(x) for x in v["leaves_hex"]]
    store = Store(leaves)
    for case in v["consistency_proofs"]:
        proof = tree.consistency_proof(case["size1"], case["size2"], store.read)
        assert [p.hex() for p in proof] == case["proof_hex"]


def _b64(value):
    return base64.b64decode(value) if value is not None else b""


def test_inclusion_probes_are_accepted_or_rejected_as_published():
    probes = _vectors()["probes"]["inclusion"]
    assert any(p["wantErr"] for p in probes) and any(not p["wantErr"] for p in probes)
    for p in probes:
        ok = tree.verify_inclusion(p["leafIdx"], p["treeSize"], _b64(p["leafHash"]),
                                   [_b64(x) for x in p["proof"] or []], _b64(p["root"]))
        assert ok is (not p["wantErr"]), p["desc"] + " " + p["file"]


def test_consistency_probes_are_accepted_or_rejected_as_published():
    probes = _vectors()["probes"]["consistency"]
    assert any(p["wantErr"] for p in probes) and any(not p["wantErr"] for p in probes)
    for p in probes:
        ok = tree.verify_consistency(p["size1"], p["size2"], _b64(p["root1"]), _b64(p["root2"]),
                                     [_b64(x) for x in p["proof"] or []])
        assert ok is (not p["wantErr"]), p["desc"] + " " + p["file"]


def test_stored_tree_agrees_with_the_rfc_definitions_for_every_size_index_and_old_size():
    leaves = [bytes([i % 251]) * (i % 7 + 1) for i in range(65)]
    store = Store(leaves)
    for size in range(0, 65):
        prefix = leaves[:size]
        root = ref_mth(prefix)
        assert tree.tree_hash(size, store.read) == root
        for index in range(size):
            path = tree.inclusion_proof(index, size, store.read)
            assert path == ref_path(index, prefix)
            assert tree.verify_inclusion(index, size, tree.leaf_hash(leaves[index]), path, root)
        for old in range(1, size + 1):
            proof = tree.consistency_proof(old, size, store.read)
            assert proof == ref_subproof(old, prefix, True)
            assert tree.verify_consistency(old, size, ref_mth(leaves[:old]), root, proof)
    assert store.edge.root() == ref_mth(leaves)


def test_stored_hash_count_and_index_inverse_hold():
    for size in range(0, 300):
        assert len(Store([b"x"] * size).hashes) == tree.stored_hash_count(size)
    for index in range(2000):
        assert tree.stored_hash_index(*tree.split_stored_hash_index(index)) == index


def test_proofs_read_logarithmically_many_stored_hashes_in_one_call():
    store = Store([b"%d" % i for i in range(1000)])
    store.reads.clear()
    tree.inclusion_proof(517, 1000, store.read)
    tree.consistency_proof(333, 1000, store.read)
    tree.tree_hash(999, store.read)
    assert len(store.reads) == 3
    assert max(store.reads) <= 2 * 10


def test_a_tampered_proof_or_root_is_rejected():
    leaves = [b"%d" % i for i in range(13)]
    store = Store(leaves)
    root = tree.tree_hash(13, store.read)
    path = tree.inclusion_proof(5, 13, store.read)
    assert tree.verify_inclusion(5, 13, tree.leaf_hash(leaves[5]), path, root)
    assert not tree.verify_inclusion(6, 13, tree.leaf_hash(leaves[5]), path, root)
    bad = [path[0][:-1] + bytes([path[0][-1] ^ 1])] + path[1:]
    assert not tree.verify_inclusion(5, 13, tree.leaf_hash(leaves[5]), bad, root)
    proof = tree.consistency_proof(7, 13, store.read)
    assert not tree.verify_consistency(7, 13, tree.tree_hash(6, store.read), root, proof)


@pytest.mark.parametrize("index,size", [(-1, 3), (3, 3), (0, 0)])
def test_impossible_inclusion_proofs_are_refused(index, size):
    with pytest.raises(tree.ProofError):
        tree.inclusion_proof(index, size, Store([b"a", b"b", b"c"]).read)


@pytest.mark.parametrize("old,new", [(0, 3), (4, 3), (-1, 2)])
def test_impossible_consistency_proofs_are_refused(old, new):
    with pytest.raises(tree.ProofError):
        tree.consistency_proof(old, new, Store([b"a", b"b", b"c"]).read)
