"""Appending events: ``record()`` and ``record_many()``; roots and proofs are in :mod:`audit.proofs`.

Sequencing. ``record()`` appends in the caller's transaction and never commits. The next index and the
right edge of the tree (the *frontier*: the complete subtrees of the current tree, at most log2(n)+1
hashes) are read once per transaction, under a lock that is held until the transaction ends:

* PostgreSQL: ``pg_advisory_xact_lock(AUDIT_LOCK_KEY)``, so concurrent writers queue instead of forking
  the log (two transactions can never both append index n);
* SQLite: every transaction is ``BEGIN IMMEDIATE`` (``portal.db``), i.e. there is a single writer.

Within the transaction the tail is cached in ``session.info`` and dropped whenever any transaction or
savepoint of the session ends (commit or rollback), so a rolled-back append never leaves a stale cache.
An append then costs one INSERT of the event and one executemany of ``1 + trailing_ones(n)`` nodes;
``record_many()`` appends a whole batch with one executemany of events and one of nodes.
"""

from __future__ import annotations

import hashlib
import operator
import re
import secrets
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, event, func, insert, or_, select, text
from sqlalchemy.orm import Session as _SASession

from audit import merkle
from audit.canonical import CanonicalizationError, canonical_bytes, normalize
from audit.models import AuditEvent, AuditNode, RecordedEvent, leaf_object
from kernel.clock import utcnow
from kernel.context import current_request_id
from kernel.db import Session, dialect_name
from kernel.errors import ValidationFailed
from kernel.principal import Principal

__all__ = [
    "ACTION_RE",
    "AUDIT_LOCK_KEY",
    "event_leaf",
    "lock_log",
    "node_reader",
    "record",
    "record_many",
]

#: ``area:subject:verb`` — lower-case words of letters, digits, ``_`` and ``-``.
ACTION_RE = re.compile(r"^[a-z][a-z0-9_-]{0,38}:[a-z][a-z0-9_-]{0,38}:[a-z][a-z0-9_-]{0,38}$")
#: The PostgreSQL advisory lock serialising appends and checkpoint signing ("cgaudit").
AUDIT_LOCK_KEY = int.from_bytes(b"cgaudit", "big")

_TAIL_KEY = "citygov.audit.tail"


@dataclass
class _Tail:
    size: int
    frontier: list[tuple[int, int, bytes]] = field(default_factory=list)


@event.listens_for(_SASession, "after_transaction_end")
def _drop_tail_on_end(session, transaction) -> None:
    # A flush runs in an internal subtransaction (parent set, not nested): it does not end the database
    # transaction, so the lock and the cached tail stay valid. Any rollback is handled below.
    if transaction.parent is not None and not transaction.nested:
        return
    session.info.pop(_TAIL_KEY, None)


@event.listens_for(_SASession, "after_soft_rollback")
def _drop_tail_on_rollback(session, _previous_transaction) -> None:
    session.info.pop(_TAIL_KEY, None)


def lock_log(session: Session) -> None:
    """Take the sequencing lock for the rest of the transaction (no-op on SQLite: single writer)."""
    if dialect_name(session) == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY})


def node_reader(session: Session) -> merkle.NodeReader:
    """A :data:`audit.merkle.NodeReader` over ``audit_node`` (one SELECT per batch)."""
    table = AuditNode.__table__

    def read(keys):
        if not keys:
            return {}
        out: dict[tuple[int, int], bytes] = {}
        keys = list(keys)
        by_level: dict[int, list[int]] = {}
        for lv, ix in keys:
            by_level.setdefault(lv, []).append(ix)
        # One statement; "level = ? AND idx IN (...)" per level lets both SQLite and PostgreSQL use the
        # primary key index (a row-value IN makes SQLite scan the table).
        cond = or_(*(and_(table.c.level == lv, table.c.idx.in_(ixs)) for lv, ixs in by_level.items()))
        rows = session.execute(select(table.c.level, table.c.idx, table.c.hash).where(cond)).all()
        out.update({(int(lv), int(ix)): bytes(h) for lv, ix, h in rows})
        return out

    return read


def _tail(session: Session) -> _Tail:
    tail = session.info.get(_TAIL_KEY)
    if tail is not None:
        return tail
    lock_log(session)
    last = session.execute(select(func.max(AuditEvent.__table__.c.seq))).scalar()
    size = 0 if last is None else int(last) + 1
    keys = merkle.range_keys(0, size) if size else []
    nodes = node_reader(session)(keys)
    missing = [k for k in keys if k not in nodes]
    if missing:
        raise LookupError(f"audit subtree store is missing nodes {missing}; run `citygov audit verify`")
    tail = _Tail(size, [(lv, ix, nodes[(lv, ix)]) for lv, ix in keys])
    session.info[_TAIL_KEY] = tail
    return tail


def _validate_str(errors: list, name: str, value: Any, max_len: int, *, required: bool = True) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str) or (required and not value.strip()):
        errors.append({"field": name, "message": "must be a non-empty string"})
    elif len(value) > max_len:
        errors.append({"field": name, "message": f"must be at most {max_len} characters"})


def _json_object(errors: list, name: str, value: Any, *, encode: bool = True) -> tuple[dict | None, bytes | None]:
    """``(normalized value, its canonical bytes)``; bytes are skipped when ``encode`` is false."""
    if value is None:
        return None, None
    if not isinstance(value, dict):
        errors.append({"field": name, "message": "must be an object"})
        return None, None
    try:
        value = normalize(value)
        return value, canonical_bytes(value) if encode else None
    except CanonicalizationError as exc:
        errors.append({"field": name, "message": f"not canonical JSON: {exc}"})
        return None, None


def event_leaf(row: Any) -> bytes:
    """The leaf bytes (RFC 8785 canonical JSON) of an event or a mapping of its columns."""
    obj = row.leaf_object() if isinstance(row, AuditEvent | RecordedEvent) else leaf_object(row)
    return canonical_bytes(obj)


def private_digest(salt_hex: str, private_details: dict) -> str:
    """``SHA-256(salt || JCS(private_details))`` as hex: what the leaf commits to instead of the details."""
    return hashlib.sha256(bytes.fromhex(salt_hex) + canonical_bytes(private_details)).hexdigest()


# --------------------------------------------------------------------------------------------------
# Appending. The hot path avoids the ORM entirely: the INSERTs are compiled once per dialect and run as
# driver SQL on the session's connection (SQLAlchemy still wraps errors and fires its events), with the
# columns' own bind processors applied, so the stored values are exactly what a Core insert would store.

_EVENT_FIELDS = ("action", "object_type", "object_id", "state", "details", "private_details", "request_id")


class _Insert:
    """``INSERT INTO <table> (all columns)`` compiled for one dialect, plus the columns' bind processors."""

    __slots__ = ("sql", "names", "procs", "positional", "_get")

    def __init__(self, table, dialect) -> None:
        compiled = insert(table).compile(dialect=dialect)
        self.sql = compiled.string
        self.positional = bool(compiled.positional)
        self.names = tuple(compiled.positiontup) if self.positional else tuple(compiled.binds)
        types = {c.key: c.type for c in table.columns}
        procs = (types[n].dialect_impl(dialect).bind_processor(dialect) for n in self.names)
        self.procs = tuple((i, p) for i, p in enumerate(procs) if p is not None)
        self._get = operator.itemgetter(*self.names)

    def params(self, rows: list[dict[str, Any]]) -> list:
        get, procs, out = self._get, self.procs, []
        for row in rows:
            vals = list(get(row))
            for i, p in procs:
                vals[i] = p(vals[i])
            out.append(vals)
        if self.positional:
            return [tuple(v) for v in out]
        names = self.names
        return [dict(zip(names, v, strict=True)) for v in out]

    def run(self, conn, rows: list[dict[str, Any]]) -> None:
        params = self.params(rows)
        conn.exec_driver_sql(self.sql, params if len(params) > 1 else params[0])


_INSERTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _inserts(dialect) -> tuple[_Insert, _Insert]:
    got = _INSERTS.get(dialect)
    if got is None:
        got = (_Insert(AuditEvent.__table__, dialect), _Insert(AuditNode.__table__, dialect))
        _INSERTS[dialect] = got
    return got


def _check_event(
    errors: list, prefix: str, action: Any, object_type: Any, object_id: Any, state: Any, details: Any,
    private_details: Any, request_id: Any,
) -> tuple | None:
    """Validate one event's input; ``(state_digest, details, private_details, private_bytes)`` or None."""
    n = len(errors)
    if not isinstance(action, str) or not ACTION_RE.match(action):
        errors.append({"field": prefix + "action",
                       "message": "must be an area:subject:verb tag, e.g. registry:project:approve"})
    _validate_str(errors, prefix + "object_type", object_type, 60)
    _validate_str(errors, prefix + "object_id", object_id, 200)
    _validate_str(errors, prefix + "request_id", request_id, 100, required=False)
    _, state_bytes = _json_object(errors, prefix + "state", state)
    details_n, _ = _json_object(errors, prefix + "details", details, encode=False)  # encoded in the leaf
    private_n, private_bytes = _json_object(errors, prefix + "private_details", private_details)
    if len(errors) > n:
        return None
    state_digest = hashlib.sha256(state_bytes).hexdigest() if state_bytes is not None else None
    return state_digest, details_n, private_n, private_bytes


def _check_principal(principal: Any) -> str:
    if not isinstance(principal, Principal):
        raise ValidationFailed("invalid audit event",
                               errors=[{"field": "principal", "message": "must be a kernel Principal"}])
    actor = principal.actor
    if len(actor) > 200:
        raise ValidationFailed("invalid audit event", errors=[{"field": "actor", "message": "too long"}])
    return actor


def _append(session: Session, rows: list[dict[str, Any]], detail_fields: list[str]) -> list[RecordedEvent]:
    """Sequence ``rows`` (event columns without ``seq``) after the current tail, hash them, write the
    events and the new subtree nodes (one statement each), and advance the cached tail."""
    tail = _tail(session)
    size = tail.size
    frontier = list(tail.frontier)
    hash_leaf, append_nodes = merkle.hash_leaf, merkle.append_nodes

    def read(keys):  # the left siblings of an append are the smallest subtrees of the frontier
        got = {(lv, ix): h for lv, ix, h in frontier[len(frontier) - len(keys):]} if keys else {}
        return {k: got[k] for k in keys}

    node_rows: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        row["seq"] = size
        try:
            leaf = canonical_bytes(leaf_object(row))
        except CanonicalizationError as exc:  # only the details can fail here (big integers, lone surrogates)
            raise ValidationFailed("invalid audit event",
                                   errors=[{"field": detail_fields[i], "message": str(exc)}]) from None
        nodes = append_nodes(size, hash_leaf(leaf), read)
        node_rows.extend({"level": lv, "idx": ix, "hash": h} for lv, ix, h in nodes)
        merged = len(nodes) - 1
        if merged:
            del frontier[-merged:]
        frontier.append(nodes[-1])
        size += 1
    # Executed now, in the caller's transaction, so failures surface here; nothing is committed.
    conn = session.connection()
    ins_event, ins_node = _inserts(conn.dialect)
    ins_event.run(conn, rows)
    ins_node.run(conn, node_rows)
    # Success: advance the cached tail.
    tail.size, tail.frontier = size, frontier
    return [RecordedEvent(**row) for row in rows]


def _new_row(actor: str, action: str, object_type: str, object_id: str, request_id: str | None,
             checked: tuple) -> dict[str, Any]:
    state_digest, details_n, private_n, private_bytes = checked
    salt = digest = None
    if private_n is not None:
        salt = secrets.token_hex(16)
        digest = hashlib.sha256(bytes.fromhex(salt) + private_bytes).hexdigest()
    return {
        "seq": None,
        "created_at": utcnow(),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "state_digest": state_digest,
        "request_id": request_id,
        "details": details_n or {},
        "private_digest": digest,
        "private_salt": salt,
        "private_details": private_n,
    }


def record(
    session: Session,
    principal: Principal,
    action: str,
    *,
    object_type: str,
    object_id: str,
    state: dict | None = None,
    details: dict | None = None,
    private_details: dict | None = None,
    request_id: str | None = None,
) -> RecordedEvent:
    """Append an audit event in the caller's transaction (executes its INSERTs now, never commits).

    ``state`` is the object's new state; only ``SHA-256(JCS(normalize(state)))`` is kept. ``details`` is
    public and stored verbatim (after :func:`audit.canonical.normalize`). ``private_details`` are stored
    for commission admins but withheld from public entries; the leaf commits to their salted digest.
    ``request_id`` defaults to the current request's id (``kernel.context``).

    Returns the new event as a :class:`audit.models.RecordedEvent` (the columns, ``area``,
    ``leaf_object()``); ``session.get(AuditEvent, ev.seq)`` loads the stored row. Raises
    :class:`ValidationFailed` before writing anything if the input is invalid.
    """
    if request_id is None:
        request_id = current_request_id()
    errors: list[dict[str, str]] = []
    if not isinstance(principal, Principal):
        errors.append({"field": "principal", "message": "must be a kernel Principal"})
    checked = _check_event(errors, "", action, object_type, object_id, state, details, private_details, request_id)
    if errors:
        raise ValidationFailed("invalid audit event", errors=errors)
    actor = _check_principal(principal)
    row = _new_row(actor, action, object_type, object_id, request_id, checked)
    return _append(session, [row], ["details"])[0]


def record_many(session: Session, principal: Principal, items: Iterable[Mapping[str, Any]]) -> list[RecordedEvent]:
    """Append several events, in order, in the caller's transaction: the batch form of :func:`record`.

    ``items`` are mappings with :func:`record`'s keyword fields (``action``, ``object_type``,
    ``object_id``, and optionally ``state``, ``details``, ``private_details``, ``request_id``), all by
    ``principal``. Every item is validated before anything is written (errors name ``items[i].field``);
    the leaves and subtree nodes are computed in memory from the cached tail, then the events and the
    nodes are written with one executemany each. Same sequencing lock as :func:`record`; never commits.
    The tree is exactly the one the same events appended one by one would build.
    """
    items = list(items)
    if not items:
        return []
    default_request_id = None
    errors: list[dict[str, str]] = []
    actor = _check_principal(principal)
    prepared = []
    for i, item in enumerate(items):
        prefix = f"items[{i}]."
        if not isinstance(item, Mapping):
            errors.append({"field": f"items[{i}]", "message": "must be an object"})
            continue
        unknown = [k for k in item if k not in _EVENT_FIELDS]
        if unknown:
            errors.append({"field": f"items[{i}]", "message": f"unknown fields {sorted(map(str, unknown))}"})
            continue
        request_id = item.get("request_id")
        if request_id is None:
            if default_request_id is None:
                default_request_id = (current_request_id(),)
            request_id = default_request_id[0]
        action, object_type, object_id = item.get("action"), item.get("object_type"), item.get("object_id")
        checked = _check_event(errors, prefix, action, object_type, object_id, item.get("state"),
                               item.get("details"), item.get("private_details"), request_id)
        if checked is not None:
            prepared.append((action, object_type, object_id, request_id, checked))
    if errors:
        raise ValidationFailed("invalid audit events", errors=errors)
    rows = [_new_row(actor, *p[:4], p[4]) for p in prepared]
    return _append(session, rows, [f"items[{i}].details" for i in range(len(rows))])
