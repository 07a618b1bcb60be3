"""record(), the subtree store, proofs and public entries, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import math

import pytest
from sqlalchemy import func, select

import audit
from audit import browse, log, merkle, proofs
from audit.models import AuditEvent, AuditNode
from kernel.context import request_id_var
from kernel.errors import BadRequest, NotFound, ValidationFailed
from tests.audit.conftest import ADMIN, SYSTEM


def _record(session, i, **kw):
    kw.setdefault("object_type", "project")
    kw.setdefault("object_id", f"p{i}")
    kw.setdefault("state", {"i": i, "status": "approved"})
    kw.setdefault("details", {"n": i})
    return audit.record(session, SYSTEM, kw.pop("action", "registry:project:approve"), **kw)


def _leaves(session):
    rows = session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
    return [merkle.hash_leaf(log.event_leaf(e)) for e in rows]


def test_record_appends_contiguous_leaves_without_committing(db_session, monkeypatch):
    base = proofs.current_size(db_session)
    monkeypatch.setattr(db_session, "commit", lambda: pytest.fail("record() must not commit"))
    events = [_record(db_session, i) for i in range(11)]
    assert [e.seq for e in events] == list(range(base, base + 11))
    assert proofs.current_size(db_session) == base + 11
    ev = events[3]
    assert ev.actor == "system:tests:audit"
    assert ev.created_at.tzinfo is not None
    assert ev.state_digest == __import__("hashlib").sha256(b'{"i":3,"status":"approved"}').hexdigest()
    assert ev.area == "registry"


def test_store_matches_recomputed_tree_for_every_size(db_session):
    for i in range(37):
        _record(db_session, i)
    leaves = _leaves(db_session)
    n = len(leaves)
    # every root, from the stored complete subtrees, equals the RFC recursion over all leaves
    for size in range(0, n + 1):
        assert proofs.root_at(db_session, size) == merkle.reference_root(leaves[:size])
    # ~2n nodes, never more
    count = db_session.execute(select(func.count()).select_from(AuditNode)).scalar()
    assert n <= count <= 2 * n


def test_proofs_from_the_store_verify(db_session):
    for i in range(21):
        _record(db_session, i)
    leaves = _leaves(db_session)
    n = len(leaves)
    for size in (1, 2, 5, 8, 13, n):
        for idx in range(size):
            p = proofs.inclusion_proof(db_session, idx, size)
            proof = [base64.b64decode(x) for x in p["proof"]]
            assert proof == merkle.reference_inclusion_proof(idx, leaves[:size])
            merkle.check_inclusion(idx, size, base64.b64decode(p["leaf_hash"]), proof, base64.b64decode(p["root_hash"]))
    for first in range(1, n + 1):
        c = proofs.consistency_proof(db_session, first, str(n))
        proof = [base64.b64decode(x) for x in c["proof"]]
        assert proof == merkle.reference_consistency_proof(first, leaves)
        merkle.check_consistency(first, n, base64.b64decode(c["first_root"]), base64.b64decode(c["second_root"]), proof)


def test_inclusion_by_hash(db_session):
    evs = [_record(db_session, i) for i in range(6)]
    target = evs[4]
    h = merkle.hash_leaf(log.event_leaf(target))
    for form in (base64.b64encode(h).decode(), h.hex(), base64.urlsafe_b64encode(h).decode()):
        p = proofs.inclusion_proof_by_hash(db_session, form)
        assert p["leaf_index"] == target.seq
    with pytest.raises(NotFound):
        proofs.inclusion_proof_by_hash(db_session, "00" * 32)
    with pytest.raises(NotFound):  # exists, but not within the requested size
        proofs.inclusion_proof_by_hash(db_session, h.hex(), size=target.seq)


@pytest.mark.parametrize(
    ("call", "exc"),
    [
        (lambda s, n: proofs.inclusion_proof(s, n, n), BadRequest),
        (lambda s, n: proofs.inclusion_proof(s, 0, n + 1), BadRequest),
        (lambda s, n: proofs.inclusion_proof(s, -1), BadRequest),
        (lambda s, n: proofs.inclusion_proof(s, "abc"), BadRequest),
        (lambda s, n: proofs.inclusion_proof(s, 0, 0), BadRequest),
        (lambda s, n: proofs.inclusion_proof(s, True), BadRequest),
        (lambda s, n: proofs.inclusion_proof_by_hash(s, "not-a-hash"), BadRequest),
        (lambda s, n: proofs.inclusion_proof_by_hash(s, base64.b64encode(b"short").decode()), BadRequest),
        (lambda s, n: proofs.inclusion_proof_by_hash(s, ""), BadRequest),
        (lambda s, n: proofs.consistency_proof(s, 0, n), BadRequest),
        (lambda s, n: proofs.consistency_proof(s, n, n - 1), BadRequest),
        (lambda s, n: proofs.consistency_proof(s, 1, n + 5), BadRequest),
        (lambda s, n: proofs.consistency_proof(s, "1x", n), BadRequest),
        (lambda s, n: proofs.entries(s, 5, 2), BadRequest),
        (lambda s, n: proofs.entries(s, n + 10), BadRequest),
    ],
)
def test_bad_proof_requests_are_bad_requests(db_session, call, exc):
    for i in range(5):
        _record(db_session, i)
    n = proofs.current_size(db_session)
    with pytest.raises(exc):
        call(db_session, n)


def test_record_validates_before_writing(db_session):
    base = proofs.current_size(db_session)
    bad = [
        dict(action="approve"),
        dict(action="Registry:project:approve"),
        dict(action="registry:project"),
        dict(action="a:b:c:d"),
        dict(object_type=""),
        dict(object_id=None),
        dict(state={"x": math.nan}),
        dict(details={"big": 2**60}),
        dict(details=["not", "an", "object"]),
        dict(private_details={1: "non-string key"}),
        dict(request_id="r" * 101),
    ]
    for kw in bad:
        with pytest.raises(ValidationFailed):
            _record(db_session, 0, **kw)
    assert proofs.current_size(db_session) == base


def test_request_id_defaults_to_context(db_session):
    token = request_id_var.set("req-123")
    try:
        ev = _record(db_session, 1)
        ev2 = _record(db_session, 2, request_id="explicit")
    finally:
        request_id_var.reset(token)
    assert ev.request_id == "req-123"
    assert ev2.request_id == "explicit"
    assert log.event_leaf(ev).count(b'"request_id":"req-123"') == 1


def test_private_details_withheld_but_committed(db_session):
    ev = _record(db_session, 1, details={"decision": "approved"}, private_details={"applicant_phone": "13800000000"})
    page = proofs.entries(db_session, ev.seq, ev.seq + 1)
    entry = page["entries"][0]
    raw = base64.b64decode(entry["leaf_input"])
    assert b"13800000000" not in raw and "applicant_phone" not in str(entry)
    assert entry["event"]["private_sha256"] == ev.private_digest
    assert ev.private_digest == log.private_digest(ev.private_salt, {"applicant_phone": "13800000000"})
    # the public leaf still proves inclusion
    p = proofs.inclusion_proof(db_session, ev.seq)
    assert base64.b64decode(p["leaf_hash"]) == merkle.hash_leaf(raw) == base64.b64decode(entry["leaf_hash"])
    # commission admins see them when browsing
    assert browse.event_dict(ev, private=True)["private_details"] == {"applicant_phone": "13800000000"}
    assert "private_details" not in browse.event_dict(ev, private=False)


def test_entries_paging(db_session):
    base = proofs.current_size(db_session)
    for i in range(7):
        _record(db_session, i)
    page = proofs.entries(db_session, base, base + 3)
    assert [e["index"] for e in page["entries"]] == [base, base + 1, base + 2]
    assert page["next"] == base + 3
    last = proofs.entries(db_session, base + 5)
    assert [e["index"] for e in last["entries"]] == [base + 5, base + 6]
    assert last["next"] is None
    for e in page["entries"]:
        assert merkle.hash_leaf(base64.b64decode(e["leaf_input"])) == base64.b64decode(e["leaf_hash"])


def test_cached_tail_is_dropped_when_a_savepoint_rolls_back(db_session):
    base = proofs.current_size(db_session)
    _record(db_session, 0)
    nested = db_session.begin_nested()
    _record(db_session, 1)
    _record(db_session, 2)
    nested.rollback()
    ev = _record(db_session, 3)
    assert ev.seq == base + 1  # no gap, no reuse of the rolled-back frontier
    leaves = _leaves(db_session)
    assert proofs.root_at(db_session, len(leaves)) == merkle.reference_root(leaves)


def test_browse_principal_roles():
    from kernel.permissions import is_allowed
    from tests.audit.conftest import REVIEWER

    assert is_allowed(ADMIN, "audit:event:browse")
    assert is_allowed(SYSTEM, "audit:checkpoint:sign")
    assert not is_allowed(REVIEWER, "audit:event:browse")
    assert not is_allowed(REVIEWER, "audit:key:rotate")


def test_browse_filters_and_authorization(db_session):
    from datetime import timedelta

    from kernel.errors import NotAuthorized
    from tests.audit.conftest import REVIEWER

    _record(db_session, 1, action="registry:project:approve", object_id="P-1")
    _record(db_session, 2, action="registry_x:project:approve", object_id="P-2")
    ev = _record(db_session, 3, action="standards:standard:publish", object_type="standard", object_id="S-1",
                 private_details={"reviewer_note": "ok"})
    got = browse.events_browse(db_session, ADMIN, area="registry")
    assert {i["object_id"] for i in got["items"]} >= {"P-1"} and "P-2" not in {i["object_id"] for i in got["items"]}
    got = browse.events_browse(db_session, ADMIN, object_type="standard", object_id="S-1")
    assert got["total"] == 1 and got["items"][0]["private_details"] == {"reviewer_note": "ok"}
    assert browse.events_browse(db_session, ADMIN, actor="system:tests:audit", since=ev.created_at)["total"] >= 1
    later = (ev.created_at + timedelta(days=1)).isoformat()
    assert browse.events_browse(db_session, ADMIN, since=later)["total"] == 0
    with pytest.raises(BadRequest):
        browse.events_browse(db_session, ADMIN, since="yesterday")
    with pytest.raises(BadRequest):
        browse.events_browse(db_session, ADMIN, limit=0)
    with pytest.raises(NotAuthorized):
        browse.events_browse(db_session, REVIEWER)
