"""The published RFC 6962/9162 vectors (transparency-dev/merkle) in ../shared/data/ct-merkle."""

from __future__ import annotations

import base64
import itertools
import json
from pathlib import Path

import pytest

from audit import merkle
from tests.shared import shared_data_path

CT = shared_data_path() / "ct-merkle"
pytestmark = pytest.mark.skipif(not (CT / "testdata").is_dir(), reason=f"{CT} not found; set CITYGOV_SHARED_DATA")

b64 = base64.b64decode


def _cases(kind: str) -> list[Path]:
    return sorted((CT / "testdata" / kind).glob("**/*.json")) if (CT / "testdata").is_dir() else []


def _id(path: Path) -> str:
    return str(path.relative_to(CT / "testdata"))


INCLUSION = _cases("inclusion")
CONSISTENCY = _cases("consistency")


def test_probe_counts():
    assert len(INCLUSION) == 98
    assert len(CONSISTENCY) == 98


@pytest.mark.parametrize("path", INCLUSION, ids=_id)
def test_inclusion_probe(path):
    d = json.loads(path.read_text())
    ok = merkle.verify_inclusion(
        d["leafIdx"], d["treeSize"], b64(d["leafHash"]), [b64(p) for p in d["proof"] or []], b64(d["root"])
    )
    assert ok is (not d["wantErr"]), d["desc"]


@pytest.mark.parametrize("path", CONSISTENCY, ids=_id)
def test_consistency_probe(path):
    d = json.loads(path.read_text())
    ok = merkle.verify_consistency(
        d["size1"], d["size2"], b64(d["root1"]), b64(d["root2"]), [b64(p) for p in d["proof"] or []]
    )
    assert ok is (not d["wantErr"]), d["desc"]


@pytest.fixture(scope="module")
def reference():
    return json.loads((CT / "reference_tree.json").read_text())


@pytest.fixture(scope="module")
def leaf_hashes(reference):
    return [merkle.hash_leaf(bytes.fromhex(x)) for x in reference["leaf_inputs_hex"]]


def test_reference_roots(reference, leaf_hashes):
    roots = reference["root_hash_by_tree_size_hex"]
    assert len(roots) == 9
    tree = merkle.MemoryTree(leaf_hashes)
    for size, expected in enumerate(roots):
        assert merkle.reference_root(leaf_hashes[:size]).hex() == expected
        assert merkle.root_from_leaf_hashes(leaf_hashes[:size]).hex() == expected
        assert tree.root(size).hex() == expected


def test_reference_node_hashes(reference, leaf_hashes):
    tree = merkle.MemoryTree(leaf_hashes)
    for level, hashes in enumerate(reference["node_hashes_by_level_hex"]):
        assert [h.hex() for h in tree.levels[level]] == hashes


def test_reference_paths(reference, leaf_hashes):
    tree = merkle.MemoryTree(leaf_hashes)
    assert len(reference["inclusion_proofs"]) == 5
    for case in reference["inclusion_proofs"]:
        idx, size = case["leaf_index"], case["tree_size"]
        want = case["inclusion_path_hex"]
        assert [h.hex() for h in merkle.reference_inclusion_proof(idx, leaf_hashes[:size])] == want
        assert [h.hex() for h in tree.inclusion_proof(idx, size)] == want
    assert len(reference["consistency_proofs"]) == 5
    for case in reference["consistency_proofs"]:
        keys = {k for k in case if k.endswith("_hex")}
        (path_key,) = keys
        first, second = case.get("size1", case.get("first")), case.get("size2", case.get("second"))
        want = case[path_key]
        assert [h.hex() for h in merkle.reference_consistency_proof(first, leaf_hashes[:second])] == want
        assert [h.hex() for h in tree.consistency_proof(first, second)] == want


def test_round_trip_inclusion_up_to_8(leaf_hashes):
    tree = merkle.MemoryTree(leaf_hashes)
    count = 0
    for size in range(1, 9):
        root = tree.root(size)
        for idx in range(size):
            proof = tree.inclusion_proof(idx, size)
            merkle.check_inclusion(idx, size, leaf_hashes[idx], proof, root)
            count += 1
    assert count == 36


def test_round_trip_consistency_up_to_8(leaf_hashes):
    tree = merkle.MemoryTree(leaf_hashes)
    count = 0
    for first, second in itertools.combinations(range(1, 9), 2):
        proof = tree.consistency_proof(first, second)
        merkle.check_consistency(first, second, tree.root(first), tree.root(second), proof)
        count += 1
    assert count == 28
