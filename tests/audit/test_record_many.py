"""audit.record_many(): the batch append. Same tree as one-by-one record(), validation before writing,
atomic with the caller's transaction, parallel batch writers never fork the log (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

import audit
from audit import browse, checkpoints, log, merkle, notes, proofs
from audit.models import AuditEvent, AuditNode, RecordedEvent
from audit.verify import verify_log
from kernel.context import request_id_var
from kernel.errors import ValidationFailed
from tests.audit.conftest import SYSTEM
from tests.audit.parallel import run_writers_with_signer
from tests.audit.test_concurrency import ORIGIN, _counts, _widgets, engine  # noqa: F401  (fixture)


def _items(n, start=0, **extra):
    return [
        {"action": "registry:project:approve", "object_type": "project", "object_id": f"p{start + i}",
         "state": {"i": start + i, "status": "approved"}, "details": {"n": start + i, "score": 0.5 + i}, **extra}
        for i in range(n)
    ]


def _leaves(session, start=0):
    rows = session.execute(select(AuditEvent).where(AuditEvent.seq >= start).order_by(AuditEvent.seq)).scalars()
    return [merkle.hash_leaf(log.event_leaf(e)) for e in rows]


def _snapshot(session, base):
    ev = AuditEvent.__table__
    nd = AuditNode.__table__
    events = session.execute(select(ev).where(ev.c.seq >= base).order_by(ev.c.seq)).all()
    nodes = session.execute(select(nd.c.level, nd.c.idx, nd.c.hash).order_by(nd.c.level, nd.c.idx)).all()
    return [tuple(r) for r in events], [(lv, ix, bytes(h)) for lv, ix, h in nodes]


class _Clock:
    """A deterministic utcnow() so that two runs produce byte-identical leaves."""

    def __init__(self):
        self.t = datetime(2025, 1, 1, tzinfo=UTC)

    def __call__(self):
        self.t += timedelta(microseconds=1001)
        return self.t


def test_same_tree_as_one_by_one_record(db_session, monkeypatch):
    base = proofs.current_size(db_session)
    items = _items(45)
    items[7]["private_details"] = {"phone": "13800000000"}
    monkeypatch.setattr("secrets.token_hex", lambda n: "ab" * n)  # deterministic salt for the comparison

    monkeypatch.setattr(log, "utcnow", _Clock())
    nested = db_session.begin_nested()
    one_by_one = [audit.record(db_session, SYSTEM, it["action"], **{k: v for k, v in it.items() if k != "action"})
                  for it in items]
    expected = _snapshot(db_session, base)
    nested.rollback()

    monkeypatch.setattr(log, "utcnow", _Clock())
    # in uneven batches, so batches start and end at every alignment of the tree
    batched = []
    for lo, hi in ((0, 1), (1, 4), (4, 5), (5, 16), (16, 17), (17, 45)):
        batched += audit.record_many(db_session, SYSTEM, items[lo:hi])
    assert _snapshot(db_session, base) == expected
    assert batched == one_by_one  # same returned events, field by field
    assert [e.seq for e in batched] == list(range(base, base + 45))
    leaves = _leaves(db_session)
    n = len(leaves)
    for size in range(max(1, base), n + 1):
        assert proofs.root_at(db_session, size) == merkle.reference_root(leaves[:size])


def test_interleaved_with_record_and_verified(db_session):
    base = proofs.current_size(db_session)
    audit.record(db_session, SYSTEM, "registry:project:create", object_type="project", object_id="x0")
    audit.record_many(db_session, SYSTEM, _items(6, 1))
    audit.record(db_session, SYSTEM, "registry:project:create", object_type="project", object_id="x7")
    audit.record_many(db_session, SYSTEM, _items(9, 8))
    assert proofs.current_size(db_session) == base + 17
    leaves = _leaves(db_session)
    assert proofs.root_at(db_session, len(leaves)) == merkle.reference_root(leaves)
    count = db_session.execute(select(func.count()).select_from(AuditNode)).scalar()
    assert len(leaves) <= count <= 2 * len(leaves)
    assert verify_log(db_session, []).ok


def test_returns_light_events_usable_like_stored_ones(db_session):
    token = request_id_var.set("req-batch")
    try:
        evs = audit.record_many(db_session, SYSTEM, _items(2) + [{**_items(1, 2)[0], "request_id": "own"}])
    finally:
        request_id_var.reset(token)
    assert all(isinstance(e, RecordedEvent) for e in evs)
    assert [e.request_id for e in evs] == ["req-batch", "req-batch", "own"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        evs[0].seq = 99
    stored = db_session.get(AuditEvent, evs[1].seq)
    assert log.event_leaf(evs[1]) == log.event_leaf(stored)
    assert evs[1].leaf_object() == stored.leaf_object()
    assert evs[1].area == "registry" and evs[1]["object_id"] == "p1"
    assert browse.event_dict(evs[1], private=True) == browse.event_dict(stored, private=True)
    single = audit.record(db_session, SYSTEM, "registry:project:approve", object_type="project", object_id="z")
    assert isinstance(single, RecordedEvent) and single.seq == evs[-1].seq + 1


def test_empty_batch_writes_nothing(db_session):
    base = proofs.current_size(db_session)
    assert audit.record_many(db_session, SYSTEM, []) == []
    assert proofs.current_size(db_session) == base


def test_validates_every_item_before_writing(db_session):
    base = proofs.current_size(db_session)
    items = _items(5)
    items[1]["action"] = "approve"
    items[3]["details"] = {"big": 2**60}  # only caught when the leaf is encoded
    items[4]["bogus"] = 1
    with pytest.raises(ValidationFailed) as exc:
        audit.record_many(db_session, SYSTEM, items)
    fields = {e["field"] for e in exc.value.errors}
    assert {"items[1].action", "items[4]"} <= fields
    assert proofs.current_size(db_session) == base
    del items[4]["bogus"]
    items[1]["action"] = "registry:project:approve"
    with pytest.raises(ValidationFailed) as exc:  # leaf-level failure: still nothing written
        audit.record_many(db_session, SYSTEM, items)
    assert [e["field"] for e in exc.value.errors] == ["items[3].details"]
    assert proofs.current_size(db_session) == base
    for bad in ([{"action": "registry:project:approve"}], ["not a mapping"],
                [{**_items(1)[0], "state": {"x": float("nan")}}], [{**_items(1)[0], "object_id": ""}]):
        with pytest.raises(ValidationFailed):
            audit.record_many(db_session, SYSTEM, bad)
    with pytest.raises(ValidationFailed):
        audit.record_many(db_session, "not a principal", _items(1))
    assert proofs.current_size(db_session) == base
    # and the session goes on at the right index
    assert audit.record_many(db_session, SYSTEM, _items(2))[0].seq == base


def test_savepoint_rollback_drops_the_batch(db_session):
    base = proofs.current_size(db_session)
    audit.record_many(db_session, SYSTEM, _items(3))
    nested = db_session.begin_nested()
    audit.record_many(db_session, SYSTEM, _items(5, 3))
    nested.rollback()
    evs = audit.record_many(db_session, SYSTEM, _items(2, 8))
    assert [e.seq for e in evs] == [base + 3, base + 4]
    leaves = _leaves(db_session)
    assert proofs.root_at(db_session, len(leaves)) == merkle.reference_root(leaves)


# --------------------------------------------------------------------------------------------------
# Real commits (fresh databases, SQLite and PostgreSQL).


def _create_widgets(session, table, names, *, fail_after=False):
    session.execute(sa.insert(table), [{"id": f"id-{n}", "name": n} for n in names])
    audit.record_many(session, SYSTEM, [
        {"action": "registry:widget:create", "object_type": "widget", "object_id": f"id-{n}", "state": {"name": n}}
        for n in names
    ])
    if fail_after:
        raise RuntimeError("injected failure after the events")
    session.commit()


def test_batch_is_atomic_with_the_callers_transaction(engine, monkeypatch):  # noqa: F811
    table = _widgets(engine)
    with Session(engine) as s:
        _create_widgets(s, table, ["a", "b", "c"])
    assert _counts(engine, table) == (3, 3, 3)

    # a failure inside record_many (third leaf) → neither the widgets nor any event
    real, calls = merkle.append_nodes, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("injected audit failure")
        return real(*args, **kwargs)

    monkeypatch.setattr(merkle, "append_nodes", flaky)
    with Session(engine) as s, pytest.raises(RuntimeError, match="injected audit"):
        try:
            _create_widgets(s, table, ["d", "e", "f", "g"])
        finally:
            s.rollback()
    monkeypatch.undo()
    assert _counts(engine, table) == (3, 3, 3)

    # a failure after the events → no events either; the session goes on at the right index
    with Session(engine) as s:
        with pytest.raises(RuntimeError, match="after the events"):
            _create_widgets(s, table, ["h", "i"], fail_after=True)
        s.rollback()
        assert proofs.current_size(s) == 3
        _create_widgets(s, table, ["j", "k"])
    assert _counts(engine, table) == (5, 5, 5)

    # a failing write of the change after the batch (duplicate name) → nothing
    with Session(engine) as s:
        audit.record_many(s, SYSTEM, _items(4))
        with pytest.raises(sa.exc.IntegrityError):
            s.execute(sa.insert(table).values(id="dup", name="a"))
        s.rollback()
    assert _counts(engine, table) == (5, 5, 5)
    with Session(engine) as s:
        assert verify_log(s, []).ok


def test_parallel_batch_writers_never_fork_the_log(engine, key_dir):  # noqa: F811
    make_session = sessionmaker(bind=engine, class_=Session, expire_on_commit=False)
    threads_n, txns = 5, 5

    def size_of(t, k):  # batch sizes 1..7, different per thread and transaction
        return 1 + (t * 3 + k) % 7

    def writer(t: int) -> None:
        for k in range(txns):
            with make_session() as s:
                n = size_of(t, k)
                if k % 2:  # mix single record() calls into some transactions
                    audit.record(s, SYSTEM, "registry:project:approve", object_type="project",
                                 object_id=f"{t}-{k}-single", details={"t": t, "k": k, "j": -1})
                audit.record_many(s, SYSTEM, [
                    {"action": "registry:project:approve", "object_type": "project", "object_id": f"{t}-{k}-{j}",
                     "details": {"t": t, "k": k, "j": j}} for j in range(n)])
                s.commit()

    signed = run_writers_with_signer(make_session, writer, threads_n, key_dir=key_dir, origin=ORIGIN)

    expected = {(t, k): size_of(t, k) + (k % 2) for t in range(threads_n) for k in range(txns)}
    total = sum(expected.values())
    with make_session() as s:
        rows = s.execute(select(AuditEvent.seq, AuditEvent.details).order_by(AuditEvent.seq)).all()
        assert [q for q, _ in rows] == list(range(total))
        # each transaction's events are consecutive and in order: sequencing was serialised
        pos = 0
        while pos < total:
            d = rows[pos][1]
            key = (d["t"], d["k"])
            group = [g for _, g in rows[pos : pos + expected[key]]]
            assert {(g["t"], g["k"]) for g in group} == {key}
            assert [g["j"] for g in group] == ([-1] if key[1] % 2 else []) + list(range(size_of(*key)))
            pos += expected[key]
        final = checkpoints.checkpoint_sign(s, SYSTEM, key_dir=key_dir, origin=ORIGIN)
        assert final.tree_size == total
        report = verify_log(s, notes.load_verifiers(key_dir))
        assert report.ok, report.problems
        leaves = _leaves(s)
        assert proofs.root_at(s, total) == merkle.reference_root(leaves)
    assert signed == sorted(signed)
