"""Merkle store arithmetic against the RFC's recursive definitions, beyond the published vectors."""

from __future__ import annotations

import hashlib
import random

import pytest

from audit import merkle


def _leaves(n: int) -> list[bytes]:
    return [merkle.hash_leaf(i.to_bytes(4, "big")) for i in range(n)]


LEAVES = _leaves(70)
WRONG = hashlib.sha256(b"wrong").digest()


def test_empty_and_single():
    assert merkle.EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert merkle.tree_root(merkle.MemoryTree().read, 0) == merkle.EMPTY_ROOT
    assert merkle.root_from_leaf_hashes([]) == merkle.EMPTY_ROOT
    assert merkle.MemoryTree(LEAVES[:1]).root() == LEAVES[0]


def test_incremental_append_equals_bulk_build():
    inc = merkle.MemoryTree()
    for h in LEAVES:
        inc.append(h)
    assert inc.levels == merkle.MemoryTree(LEAVES).levels


@pytest.mark.parametrize("n", range(1, 70))
def test_roots_and_proofs_match_reference(n):
    tree = merkle.MemoryTree(LEAVES)  # larger than n: proofs for older sizes come from the same store
    root = merkle.reference_root(LEAVES[:n])
    assert tree.root(n) == root == merkle.root_from_leaf_hashes(LEAVES[:n])
    for m in range(n):
        proof = tree.inclusion_proof(m, n)
        assert proof == merkle.reference_inclusion_proof(m, LEAVES[:n])
        assert merkle.verify_inclusion(m, n, LEAVES[m], proof, root)
    for m in range(1, n + 1):
        proof = tree.consistency_proof(m, n)
        assert proof == merkle.reference_consistency_proof(m, LEAVES[:n])
        assert merkle.verify_consistency(m, n, tree.root(m), root, proof)


def test_proof_sizes_are_logarithmic():
    n = 1 << 20
    assert len(merkle.inclusion_ranges(12345, n)) == 20
    for m in (1, 3, 1000, n - 1):
        assert len(merkle.consistency_ranges(m, n + 7)) <= 22
    # reading one proof touches O(log n) nodes
    keys = {k for s, e in merkle.inclusion_ranges(777_777, 1_000_003) for k in merkle.range_keys(s, e)}
    assert len(keys) <= 2 * 20


def test_append_nodes_reads_only_left_siblings():
    seen = []
    tree = merkle.MemoryTree(LEAVES[:7])

    def read(keys):
        seen.append(list(keys))
        return tree.read(keys)

    out = merkle.append_nodes(7, LEAVES[7], read)
    assert seen == [[(0, 6), (1, 2), (2, 0)]]
    assert [(lv, i) for lv, i, _ in out] == [(0, 7), (1, 3), (2, 1), (3, 0)]
    assert out[-1][2] == merkle.reference_root(LEAVES[:8])


def test_tampered_proofs_rejected_randomly():
    rng = random.Random(7)
    tree = merkle.MemoryTree(LEAVES)
    for _ in range(200):
        n = rng.randint(2, 70)
        m = rng.randrange(n)
        proof = tree.inclusion_proof(m, n)
        root = tree.root(n)
        if proof:
            bad = list(proof)
            i = rng.randrange(len(bad))
            bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
            assert not merkle.verify_inclusion(m, n, LEAVES[m], bad, root)
            assert not merkle.verify_inclusion(m, n, LEAVES[m], proof[:-1], root)
        assert not merkle.verify_inclusion(m, n, LEAVES[m], proof + [root], root)
        assert not merkle.verify_inclusion(m, n, LEAVES[(m + 1) % n], proof, root)
        f = rng.randint(1, n - 1)
        cproof = tree.consistency_proof(f, n)
        assert not merkle.verify_consistency(f, n, tree.root(f), WRONG, cproof)
        assert not merkle.verify_consistency(f, n, WRONG, root, cproof)
        assert not merkle.verify_consistency(f, n, tree.root(f), root, cproof[:-1])


def test_errors_are_specific():
    with pytest.raises(merkle.ProofError, match="out of range"):
        merkle.inclusion_ranges(5, 5)
    with pytest.raises(merkle.ProofError):
        merkle.consistency_ranges(0, 5)
    with pytest.raises(merkle.ProofError, match="32 bytes"):
        merkle.check_inclusion(0, 1, b"", [], b"")
    with pytest.raises(LookupError, match="missing node"):
        merkle.tree_root(lambda keys: {}, 3)
