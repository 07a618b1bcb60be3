"""Real commits from several connections: parallel writers never fork the log; a change and its event
are committed together or not at all (failures injected on both sides)."""

from __future__ import annotations


import pytest
import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

import audit
from audit import checkpoints, log, merkle, notes, proofs
from audit.models import AuditEvent
from audit.verify import verify_log
from tests.audit.conftest import SYSTEM
from tests.audit.parallel import run_writers_with_signer

ORIGIN = "city.example/audit"


@pytest.fixture
def engine(fresh_db_url):
    from portal.db import make_engine

    eng = make_engine(fresh_db_url)
    yield eng
    eng.dispose()


def test_parallel_writers_never_fork_the_log(engine, key_dir):
    make_session = sessionmaker(bind=engine, class_=Session, expire_on_commit=False)
    threads_n, txns, per_txn = 6, 6, 3

    def writer(t: int) -> None:
        for k in range(txns):
            with make_session() as s:
                for j in range(per_txn):
                    audit.record(s, SYSTEM, "registry:project:approve", object_type="project",
                                 object_id=f"{t}-{k}-{j}", details={"t": t, "k": k, "j": j})
                s.commit()

    signed = run_writers_with_signer(make_session, writer, threads_n, key_dir=key_dir, origin=ORIGIN)

    total = threads_n * txns * per_txn
    with make_session() as s:
        seqs = s.execute(select(AuditEvent.seq, AuditEvent.details).order_by(AuditEvent.seq)).all()
        assert [q for q, _ in seqs] == list(range(total))
        # each transaction's events are consecutive: sequencing was serialised, not interleaved
        for start in range(0, total, per_txn):
            group = [d for _, d in seqs[start : start + per_txn]]
            assert len({(d["t"], d["k"]) for d in group}) == 1
            assert [d["j"] for d in group] == list(range(per_txn))
        final = checkpoints.checkpoint_sign(s, SYSTEM, key_dir=key_dir, origin=ORIGIN)
        assert final.tree_size == total
        report = verify_log(s, notes.load_verifiers(key_dir))
        assert report.ok, report.problems
        assert report.checkpoints_verified == report.checkpoints_total >= 1
    assert signed == sorted(signed)


def _widgets(engine) -> sa.Table:
    md = sa.MetaData()
    table = sa.Table(
        "audit_test_widget", md,
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(50), nullable=False, unique=True),
    )
    md.create_all(engine)
    return table


def _create_widget(session, table, wid, name, *, event_first=False):
    """A service shaped like every citygov use case: change, record, commit."""
    if event_first:
        audit.record(session, SYSTEM, "registry:widget:create", object_type="widget", object_id=wid,
                     state={"id": wid, "name": name})
        session.execute(sa.insert(table).values(id=wid, name=name))
        session.flush()
    else:
        session.execute(sa.insert(table).values(id=wid, name=name))
        audit.record(session, SYSTEM, "registry:widget:create", object_type="widget", object_id=wid,
                     state={"id": wid, "name": name})
    session.commit()


def _counts(engine, table):
    with Session(engine) as s:
        return (s.execute(select(func.count()).select_from(table)).scalar(),
                s.execute(select(func.count()).select_from(AuditEvent)).scalar(),
                proofs.current_size(s))


def test_no_change_without_its_event(engine, monkeypatch):
    table = _widgets(engine)
    with Session(engine) as s:
        _create_widget(s, table, "w1", "first")
    assert _counts(engine, table) == (1, 1, 1)

    def broken(*args, **kwargs):
        raise RuntimeError("injected audit failure")

    monkeypatch.setattr(merkle, "append_nodes", broken)
    with Session(engine) as s, pytest.raises(RuntimeError, match="injected"):
        try:
            _create_widget(s, table, "w2", "second")
        finally:
            s.rollback()
    monkeypatch.undo()
    assert _counts(engine, table) == (1, 1, 1)  # the widget was not created


def test_no_event_without_its_change(engine):
    table = _widgets(engine)
    with Session(engine) as s:
        _create_widget(s, table, "w1", "dup")
    with Session(engine) as s:
        with pytest.raises(sa.exc.IntegrityError):
            _create_widget(s, table, "w2", "dup", event_first=True)  # the change fails after the event
        s.rollback()
        assert proofs.current_size(s) == 1
        # the session goes on: the next event takes index 1 (no gap, no stale cached frontier)
        _create_widget(s, table, "w3", "third")
    assert _counts(engine, table) == (2, 2, 2)
    with Session(engine) as s:
        leaves = [merkle.hash_leaf(log.event_leaf(e))
                  for e in s.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars()]
        assert proofs.root_at(s, 2) == merkle.reference_root(leaves)
        assert verify_log(s, []).ok
