"""RFC 9162 §2.1 Merkle trees: hashing, proof generation over a subtree store, proof verification.

Pure functions, no database. Storage is abstracted by a *node reader*: a function taking a list of node
keys ``(level, index)`` and returning ``{key: hash}``. Node ``(L, i)`` is the hash of the complete,
aligned subtree over leaves ``[i * 2**L, (i + 1) * 2**L)``; level 0 holds the leaf hashes. Because every
range the RFC recursion visits starts at a multiple of the largest power of two not above its size, the
hash of any such range is the right fold of at most ``log2(n)`` stored complete subtrees
(:func:`range_keys`). Roots, inclusion proofs and consistency proofs therefore need O(log n) node reads,
fetched in a single batch, and an append writes at most ``log2(n) + 1`` nodes (:func:`append_nodes`).

Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 literally, plus the edge-case conventions of the
transparency-dev/merkle test vectors (documented on :func:`verify_consistency` and
:func:`verify_inclusion`). An empty old tree is *not* treated as consistent with anything: consistency
from size 0 is an error, as in those vectors.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MemoryTree",
    "NodeKey",
    "NodeReader",
    "ProofError",
    "append_nodes",
    "check_consistency",
    "check_inclusion",
    "consistency_proof",
    "consistency_ranges",
    "hash_children",
    "hash_leaf",
    "inclusion_proof",
    "inclusion_ranges",
    "range_keys",
    "reference_consistency_proof",
    "reference_inclusion_proof",
    "reference_root",
    "root_from_leaf_hashes",
    "tree_root",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeKey = tuple[int, int]
NodeReader = Callable[[Sequence[NodeKey]], dict[NodeKey, bytes]]
Range = tuple[int, int]


class ProofError(ValueError):
    """A proof does not verify, or a proof request is out of range. ``str()`` says why."""


def hash_leaf(leaf: bytes) -> bytes:
    """``SHA-256(0x00 || leaf)``."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


# --------------------------------------------------------------------------------------------------
# Reference implementations over a full list of leaf hashes (RFC text, recursive). Used by tests,
# by full verification and as the O(n) baseline in the benchmark.


def reference_root(leaf_hashes: Sequence[bytes]) -> bytes:
    """``MTH(D_n)`` computed recursively from all leaf hashes (RFC 9162 §2.1.1)."""
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = _split(n)
    return hash_children(reference_root(leaf_hashes[:k]), reference_root(leaf_hashes[k:]))


def root_from_leaf_hashes(leaf_hashes: Iterable[bytes]) -> bytes:
    """``MTH`` in one pass with a stack of complete subtrees (RFC 9162 §2.1.2), O(n) time, O(log n) memory."""
    stack: list[tuple[int, bytes]] = []  # (size, hash), sizes strictly decreasing
    for h in leaf_hashes:
        size, node = 1, h
        while stack and stack[-1][0] == size:
            left_size, left = stack.pop()
            node = hash_children(left, node)
            size += left_size
        stack.append((size, node))
    if not stack:
        return EMPTY_ROOT
    _, root = stack[-1]
    for _, left in reversed(stack[:-1]):
        root = hash_children(left, root)
    return root


def reference_inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """``PATH(m, D_n)`` (RFC 9162 §2.1.3.1)."""
    n = len(leaf_hashes)
    if not 0 <= index < n:
        raise ProofError(f"leaf index {index} out of range for tree size {n}")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return reference_inclusion_proof(index, leaf_hashes[:k]) + [reference_root(leaf_hashes[k:])]
    return reference_inclusion_proof(index - k, leaf_hashes[k:]) + [reference_root(leaf_hashes[:k])]


def reference_consistency_proof(first: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """``PROOF(m, D_n)`` (RFC 9162 §2.1.4.1), 0 < m <= n (empty for m == n)."""
    n = len(leaf_hashes)
    if not 0 < first <= n:
        raise ProofError(f"first size {first} out of range for tree size {n}")

    def sub(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
        if m == len(d):
            return [] if b else [reference_root(d)]
        k = _split(len(d))
        if m <= k:
            return sub(m, d[:k], b) + [reference_root(d[k:])]
        return sub(m - k, d[k:], False) + [reference_root(d[:k])]

    return sub(first, leaf_hashes, True)


# --------------------------------------------------------------------------------------------------
# Planning over stored complete subtrees.


def range_keys(start: int, end: int) -> list[NodeKey]:
    """The complete aligned subtrees covering ``[start, end)``, left to right (greedy, largest first).

    For every range the RFC recursion produces, ``MTH(D[start:end])`` is the right fold of these nodes'
    hashes with :func:`hash_children`.
    """
    if not 0 <= start < end:
        raise ValueError(f"empty or negative range [{start}, {end})")
    keys: list[NodeKey] = []
    pos = start
    while pos < end:
        level = (pos & -pos).bit_length() - 1 if pos else 63
        while (1 << level) > end - pos:
            level -= 1
        keys.append((level, pos >> level))
        pos += 1 << level
    return keys


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The leaf ranges whose MTH form ``PATH(index, D_size)``, in proof order."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} out of range for tree size {size}")
    ranges: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index - start < k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start = start + k
    ranges.reverse()
    return ranges


def consistency_ranges(first: int, second: int) -> list[Range]:
    """The leaf ranges whose MTH form ``PROOF(first, D_second)``, in proof order (empty if equal)."""
    if not 0 < first <= second:
        raise ProofError(f"consistency needs 0 < first <= second, got first={first}, second={second}")
    ranges: list[Range] = []
    start, end, m, b = 0, second, first, True
    while True:
        size = end - start
        if m == size:
            if not b:
                ranges.append((start, end))
            break
        k = _split(size)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m, b = start + k, m - k, False
    ranges.reverse()
    return ranges


def _resolve(ranges: Sequence[Range], read: NodeReader) -> list[bytes]:
    plans = [range_keys(s, e) for s, e in ranges]
    wanted = list(dict.fromkeys(key for plan in plans for key in plan))
    nodes = read(wanted) if wanted else {}
    out: list[bytes] = []
    for plan in plans:
        try:
            h = nodes[plan[-1]]
            for key in reversed(plan[:-1]):
                h = hash_children(nodes[key], h)
        except KeyError as exc:
            raise LookupError(f"subtree store is missing node {exc.args[0]}") from None
        out.append(h)
    return out


def tree_root(read: NodeReader, size: int) -> bytes:
    """``MTH(D_size)`` from stored complete subtrees: at most ``log2(size) + 1`` node reads."""
    if size < 0:
        raise ProofError(f"negative tree size {size}")
    if size == 0:
        return EMPTY_ROOT
    return _resolve([(0, size)], read)[0]


def inclusion_proof(read: NodeReader, index: int, size: int) -> list[bytes]:
    """``PATH(index, D_size)`` from stored complete subtrees, one batched read of O(log n) nodes."""
    return _resolve(inclusion_ranges(index, size), read)


def consistency_proof(read: NodeReader, first: int, second: int) -> list[bytes]:
    """``PROOF(first, D_second)`` from stored complete subtrees, one batched read of O(log n) nodes."""
    return _resolve(consistency_ranges(first, second), read)


def append_nodes(size: int, leaf_hash: bytes, read: NodeReader) -> list[tuple[int, int, bytes]]:
    """The nodes ``(level, index, hash)`` to store when leaf ``size`` is appended to a tree of ``size`` leaves.

    Reads the left siblings (one per trailing 1-bit of ``size``) in one batch and returns the new leaf
    node plus every subtree it completes: O(log n) reads and writes, amortised O(1).
    """
    siblings = [(level, (size >> level) - 1) for level in range((~size & (size + 1)).bit_length() - 1)]
    known = read(siblings) if siblings else {}
    out = [(0, size, leaf_hash)]
    h = leaf_hash
    for level, idx in siblings:
        h = hash_children(known[(level, idx)], h)
        out.append((level + 1, (idx + 1) >> 1, h))
    return out


# --------------------------------------------------------------------------------------------------
# Verification (RFC 9162 §2.1.3.2 and §2.1.4.2).


def _check_hash(name: str, value: bytes) -> None:
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        raise ProofError(f"{name} must be {HASH_SIZE} bytes")


def check_inclusion(index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """Raise :class:`ProofError` unless ``proof`` shows leaf ``index`` with ``leaf_hash`` in the tree
    (``size``, ``root``). Leaf hash and root must be 32 bytes (the vectors' single-entry edge case)."""
    _check_hash("leaf hash", leaf_hash)
    _check_hash("root hash", root)
    if index < 0 or size < 0:
        raise ProofError("negative index or size")
    if index >= size:
        raise ProofError(f"leaf index {index} is not below tree size {size}")
    for p in proof:
        _check_hash("proof element", p)
    fn, sn, r = index, size - 1, bytes(leaf_hash)
    for p in proof:
        if sn == 0:
            raise ProofError("proof is too long")
        if fn & 1 or fn == sn:
            r = hash_children(p, r)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = hash_children(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof is too short")
    if r != root:
        raise ProofError("calculated root does not match the given root")


def verify_inclusion(index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """True iff the inclusion proof verifies (see :func:`check_inclusion`)."""
    try:
        check_inclusion(index, size, leaf_hash, proof, root)
    except ProofError:
        return False
    return True


def check_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]) -> None:
    """Raise :class:`ProofError` unless ``proof`` shows tree (``first``, ``first_root``) is a prefix of
    (``second``, ``second_root``).

    Conventions, in this order (transparency-dev/merkle, which the published vectors encode):
    ``second < first`` → error; ``first == 0`` → error (an empty tree proves nothing, even 0 → 0);
    ``first == second`` → valid iff the proof is empty and the roots are equal; empty proof → error;
    otherwise RFC 9162 §2.1.4.2 with 32-byte roots and proof elements.
    """
    if first < 0 or second < 0:
        raise ProofError("negative tree size")
    if second < first:
        raise ProofError(f"second size {second} is smaller than first size {first}")
    if first == 0:
        raise ProofError("consistency from an empty tree is not checked (size 0 proves nothing)")
    if first == second:
        if proof:
            raise ProofError("sizes are equal but the proof is not empty")
        if first_root != second_root:
            raise ProofError("sizes are equal but the roots differ")
        return
    if not proof:
        raise ProofError("empty consistency proof")
    _check_hash("first root", first_root)
    _check_hash("second root", second_root)
    for p in proof:
        _check_hash("proof element", p)
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, bytes(first_root))
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("proof is too long")
        if fn & 1 or fn == sn:
            fr = hash_children(c, fr)
            sr = hash_children(c, sr)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = hash_children(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof is too short")
    if fr != first_root:
        raise ProofError("calculated first root does not match")
    if sr != second_root:
        raise ProofError("calculated second root does not match")


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]) -> bool:
    """True iff the consistency proof verifies (see :func:`check_consistency`)."""
    try:
        check_consistency(first, second, first_root, second_root, proof)
    except ProofError:
        return False
    return True


# --------------------------------------------------------------------------------------------------
# An in-memory subtree store (tests, benchmarks, offline verification of exports).


class MemoryTree:
    """Complete-subtree store in memory: ``levels[L][i]`` is node ``(L, i)``."""

    def __init__(self, leaf_hashes: Iterable[bytes] = ()):
        self.levels: list[list[bytes]] = [[]]
        self.extend(leaf_hashes)

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def read(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        return {(lv, i): self.levels[lv][i] for lv, i in keys}

    def append(self, leaf_hash: bytes) -> None:
        for level, idx, h in append_nodes(self.size, leaf_hash, self.read):
            if level == len(self.levels):
                self.levels.append([])
            assert len(self.levels[level]) == idx
            self.levels[level].append(h)

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Bulk build: leaves, then each level from the one below (O(n))."""
        self.levels[0].extend(leaf_hashes)
        level = 0
        while len(self.levels[level]) >= 2:
            if level + 1 == len(self.levels):
                self.levels.append([])
            below, above = self.levels[level], self.levels[level + 1]
            for i in range(len(above), len(below) // 2):
                above.append(hash_children(below[2 * i], below[2 * i + 1]))
            level += 1

    def root(self, size: int | None = None) -> bytes:
        return tree_root(self.read, self.size if size is None else size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_proof(self.read, index, self.size if size is None else size)

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        return consistency_proof(self.read, first, self.size if second is None else second)
