"""Reading the tree: sizes, roots, inclusion and consistency proofs, public entries.

Nothing here reveals private details: a public entry carries the leaf input (whose private part is only a
salted digest), its hash and the public event object.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from sqlalchemy import func, select

from audit import merkle
from audit.log import event_leaf, node_reader
from audit.models import AuditEvent, AuditNode, leaf_object
from kernel.db import Session
from kernel.errors import BadRequest, NotFound

#: the largest page of entries or events one request returns
MAX_PAGE = 1000

def current_size(session: Session) -> int:
    """The number of leaves in the subtree store (committed, or in this transaction)."""
    t = AuditNode.__table__
    last = session.execute(select(func.max(t.c.idx)).where(t.c.level == 0)).scalar()
    return 0 if last is None else int(last) + 1


def parse_int(name: str, value: Any) -> int:
    """A non-negative integer up to 10^18 (the documented maximum) from an int or a decimal string."""
    if isinstance(value, bool):
        raise BadRequest(f"{name} must be an integer")
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,19}", value.strip()):
        value = int(value.strip())
    if isinstance(value, int):
        if value < 0 or value > 10**18:
            raise BadRequest(f"{name} must be a non-negative integer up to 10^18, got {value}")
        return value
    raise BadRequest(f"{name} must be a non-negative integer, got {value!r}")


def _size(session: Session, size: Any, name: str = "size") -> tuple[int, int]:
    current = current_size(session)
    if size is None or size == "":
        return current, current
    n = parse_int(name, size)
    if n > current:
        raise BadRequest(f"{name} {n} is beyond the current tree size {current}")
    return n, current


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def parse_hash(value: Any, name: str = "hash") -> bytes:
    """A 32-byte hash from standard/URL-safe base64 or 64 hex digits; :class:`BadRequest` otherwise."""
    if isinstance(value, bytes) and len(value) == 32:
        return value
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{name} must be a base64 or hex SHA-256 hash")
    s = value.strip()
    if re.fullmatch(r"[0-9a-fA-F]{64}", s):
        return bytes.fromhex(s)
    try:
        raw = base64.b64decode(s.replace("-", "+").replace("_", "/").replace(" ", "+"), validate=True)
    except ValueError:
        raise BadRequest(f"{name} is neither base64 nor hex") from None
    if len(raw) != 32:
        raise BadRequest(f"{name} must decode to 32 bytes, got {len(raw)}")
    return raw


def root_at(session: Session, size: int) -> bytes:
    return merkle.tree_root(node_reader(session), size)


def inclusion_proof(session: Session, index: Any, size: Any = None) -> dict[str, Any]:
    """The inclusion proof of leaf ``index`` in the tree of ``size`` leaves (default: current), as JSON."""
    idx = parse_int("index", index)
    n, current = _size(session, size)
    if n == 0:
        raise BadRequest("the log is empty" if current == 0 else "size must be at least 1")
    if idx >= n:
        raise BadRequest(f"index {idx} is not below tree size {n}")
    read = node_reader(session)
    leaf = read([(0, idx)])[(0, idx)]
    proof = merkle.inclusion_proof(read, idx, n)
    return {
        "leaf_index": idx,
        "tree_size": n,
        "leaf_hash": b64(leaf),
        "root_hash": b64(merkle.tree_root(read, n)),
        "proof": [b64(p) for p in proof],
    }


def inclusion_proof_by_hash(session: Session, leaf_hash: Any, size: Any = None) -> dict[str, Any]:
    """As :func:`inclusion_proof`, locating the first leaf with ``leaf_hash`` below ``size``."""
    h = parse_hash(leaf_hash, "hash")
    n, _ = _size(session, size)
    t = AuditNode.__table__
    idx = session.execute(
        select(func.min(t.c.idx)).where(t.c.level == 0, t.c.hash == h, t.c.idx < n)
    ).scalar()
    if idx is None:
        raise NotFound(f"no leaf with that hash in the first {n} entries")
    return inclusion_proof(session, int(idx), n)


def consistency_proof(session: Session, first: Any, second: Any = None) -> dict[str, Any]:
    """The consistency proof from size ``first`` to ``second`` (default: current), as JSON."""
    m = parse_int("first", first)
    n, current = _size(session, second, "second")
    if m == 0:
        raise BadRequest("first must be at least 1 (an empty tree proves nothing)")
    if m > n:
        raise BadRequest(f"first {m} is larger than second {n}")
    read = node_reader(session)
    proof = merkle.consistency_proof(read, m, n)
    return {
        "first": m,
        "second": n,
        "first_root": b64(merkle.tree_root(read, m)),
        "second_root": b64(merkle.tree_root(read, n)),
        "proof": [b64(p) for p in proof],
    }


def public_entry(row: Any) -> dict[str, Any]:
    leaf = event_leaf(row)
    return {
        "index": int(row["seq"] if not isinstance(row, AuditEvent) else row.seq),
        "leaf_input": b64(leaf),
        "leaf_hash": b64(merkle.hash_leaf(leaf)),
        "event": leaf_object(row) if not isinstance(row, AuditEvent) else row.leaf_object(),
    }


def entries(session: Session, start: Any = 0, end: Any = None) -> dict[str, Any]:
    """Public entries ``[start, end)`` (end exclusive, at most :data:`MAX_PAGE` per page).

    Each entry carries its leaf input (base64 canonical JSON), leaf hash and the public event object;
    private details are never included (only their salted digest, which is part of the leaf).
    """
    s = parse_int("start", start)
    n = current_size(session)
    e = n if end is None or end == "" else parse_int("end", end)
    if e < s:
        raise BadRequest(f"end {e} is before start {s}")
    if s > n:
        raise BadRequest(f"start {s} is beyond the tree size {n}")
    e = min(e, n, s + MAX_PAGE)
    t = AuditEvent.__table__
    cols = [t.c.seq, t.c.created_at, t.c.actor, t.c.action, t.c.object_type, t.c.object_id, t.c.state_digest,
            t.c.request_id, t.c.details, t.c.private_digest]
    rows = session.execute(select(*cols).where(t.c.seq >= s, t.c.seq < e).order_by(t.c.seq)).mappings().all()
    out = [public_entry(r) for r in rows]
    return {"start": s, "end": e, "tree_size": n, "next": e if e < n else None, "entries": out}
