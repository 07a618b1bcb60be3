"""Signed notes, checkpoints, key rotation, full verification, export and offline verification."""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import delete, insert, select, update

import audit
from audit import checkpoints, log, merkle, notes, proofs
from audit.models import AuditCheckpoint, AuditEvent, AuditNode
from audit.verify import export_log, verify_export, verify_log
from kernel.errors import Conflict, NotAuthorized
from tests.audit.conftest import ADMIN, REVIEWER, SYSTEM

ORIGIN = "city.example/audit"


def _fill(session, n, **kw):
    return [
        audit.record(session, SYSTEM, "registry:project:approve", object_type="project", object_id=f"p{i}",
                     state={"i": i}, details={"n": i}, **kw)
        for i in range(n)
    ]


# ----------------------------------------------------------------------------------------- notes


def test_signed_note_round_trip_and_key_formats(tmp_path):
    signer = notes.generate_key(tmp_path, ORIGIN)
    assert (tmp_path / "signing.key").stat().st_mode & 0o777 == 0o600
    v = notes.load_verifiers(tmp_path)
    assert v == [signer.verifier]
    assert notes.Verifier.from_string(signer.verifier.to_string()) == signer.verifier
    assert notes.Signer.from_string(signer.to_string()) == signer
    text = notes.format_checkpoint(ORIGIN, 5, b"\x01" * 32)
    note = notes.sign_note(text, signer)
    assert note.startswith(f"{ORIGIN}\n5\nAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n\n\u2014 {ORIGIN} ")
    got, by = notes.open_note(note, v)
    assert got == text and by == v
    cp = notes.parse_checkpoint(got)
    assert (cp.origin, cp.size, cp.root) == (ORIGIN, 5, b"\x01" * 32)


def test_note_known_vector_from_go_note_package():
    # golang.org/x/mod/sumdb/note: the example key and signed note of note_test.go / the package docs
    vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    msg = (
        "If you think cryptography is the answer to your problem,\n"
        "then you don't know what your problem is.\n"
        "\n"
        "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
    )
    v = notes.Verifier.from_string(vkey)
    text, by = notes.open_note(msg, [v])
    assert text.startswith("If you think") and by == [v]
    tampered = msg.replace("answer", "ANSWER")
    with pytest.raises(notes.NoteError, match="does not verify"):
        notes.open_note(tampered, [v])


@pytest.mark.parametrize(
    "bad",
    ["", "no newline", "a\nb\n", "text\n\n", "text\n\n\u2014 name\n", "text\n\n\u2014 name !!!\n", "text\n\n- name AAAA\n"],
)
def test_malformed_notes_rejected(tmp_path, bad):
    v = notes.generate_key(tmp_path, ORIGIN).verifier
    with pytest.raises(notes.NoteError):
        notes.open_note(bad, [v])


def test_unknown_keys_are_ignored_but_one_known_is_required(tmp_path):
    a = notes.Signer.generate(ORIGIN)
    b = notes.Signer.generate(ORIGIN)
    text = notes.format_checkpoint(ORIGIN, 1, b"\x02" * 32)
    note_a = notes.sign_note(text, a)
    with pytest.raises(notes.NoteError, match="not signed by any known key"):
        notes.open_note(note_a, [b.verifier])
    # a cosignature by another key is ignored when the known key's signature is present
    cosigned = note_a + notes.sign_note(text, b).split("\n\n", 1)[1]
    assert notes.open_note(cosigned, [a.verifier])[1] == [a.verifier]
    assert len(notes.open_note(cosigned, [a.verifier, b.verifier])[1]) == 2


@pytest.mark.parametrize(
    "text",
    ["o\n01\nAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n", "o\n1\nAQE=\n", "o\n1\n", "o\n-1\nAA==\n", "o\n\n1\nx\n"],
)
def test_malformed_checkpoints_rejected(text):
    with pytest.raises(notes.NoteError):
        notes.parse_checkpoint(text)


# ----------------------------------------------------------------------------------- checkpoints


def test_sign_checkpoint_and_never_sign_inconsistent(db_session, key_dir):
    _fill(db_session, 5)
    cp1 = checkpoints.checkpoint_sign(db_session, SYSTEM, key_dir=key_dir, origin=ORIGIN)
    n1 = proofs.current_size(db_session)
    assert cp1.tree_size == n1 and cp1.origin == ORIGIN
    text, _ = notes.open_note(cp1.note, notes.load_verifiers(key_dir))
    assert notes.parse_checkpoint(text).root == proofs.root_at(db_session, n1)
    # nothing new: the same checkpoint comes back, unless forced
    assert checkpoints.checkpoint_sign(db_session, SYSTEM, key_dir=key_dir).id == cp1.id
    assert checkpoints.checkpoint_sign(db_session, SYSTEM, key_dir=key_dir, force=True).id != cp1.id
    _fill(db_session, 4)
    cp2 = checkpoints.checkpoint_sign(db_session, SYSTEM, key_dir=key_dir)
    assert cp2.tree_size == n1 + 4
    # rewrite history below the checkpoint (edit a leaf hash and the nodes above it): refuse to sign
    _fill(db_session, 1)
    db_session.execute(update(AuditNode).where(AuditNode.level == 0, AuditNode.idx == 0).values(hash=b"\x00" * 32))
    for level in range(1, 6):
        db_session.execute(update(AuditNode).where(AuditNode.level == level, AuditNode.idx == 0).values(hash=b"\x11" * 32))
    with pytest.raises(Conflict, match="not consistent|differs"):
        checkpoints.checkpoint_sign(db_session, SYSTEM, key_dir=key_dir)


def test_refuses_when_log_shrank_or_latest_checkpoint_forged(db_session, key_dir):
    _fill(db_session, 3)
    cp = checkpoints.checkpoint_sign(db_session, SYSTEM, key_dir=key_dir, origin=ORIGIN)
    # a forged "latest" row signed by an unknown key
    other = notes.Signer.generate(ORIGIN)
    forged = notes.sign_note(notes.format_checkpoint(ORIGIN, cp.tree_size, b"\x05" * 32), other)
    db_session.add(AuditCheckpoint(created_at=cp.created_at, origin=ORIGIN, tree_size=cp.tree_size,
                                   root_hash=b"\x05" * 32, key_id=other.key_id, note=forged))
    db_session.flush()
    with pytest.raises(Conflict, match="does not verify"):
        checkpoints.checkpoint_sign(db_session, SYSTEM, key_dir=key_dir, force=True)


def test_refuses_when_rows_deleted_at_the_end(db_session, key_dir):
    _fill(db_session, 4)
    cp = checkpoints.checkpoint_sign(db_session, SYSTEM, key_dir=key_dir, origin=ORIGIN)
    last = cp.tree_size - 1
    db_session.execute(delete(AuditEvent).where(AuditEvent.seq == last))
    db_session.execute(delete(AuditNode).where(AuditNode.level == 0, AuditNode.idx == last))
    with pytest.raises(Conflict, match="covers"):
        checkpoints.checkpoint_sign(db_session, SYSTEM, key_dir=key_dir, force=True)


def test_authorization(db_session, key_dir):
    with pytest.raises(NotAuthorized):
        checkpoints.checkpoint_sign(db_session, REVIEWER, key_dir=key_dir, origin=ORIGIN)
    with pytest.raises(NotAuthorized):
        checkpoints.key_rotate(db_session, REVIEWER, key_dir=key_dir, origin=ORIGIN)
    assert checkpoints.checkpoint_sign(db_session, ADMIN, key_dir=key_dir, origin=ORIGIN).tree_size >= 0


def test_key_rotation_keeps_old_public_keys(db_session, key_dir):
    _fill(db_session, 3)
    cp_old = checkpoints.checkpoint_sign(db_session, SYSTEM, key_dir=key_dir, origin=ORIGIN)
    old_id = notes.load_signer(key_dir).key_id
    info = checkpoints.key_rotate(db_session, ADMIN, key_dir=key_dir)
    assert info["previous_key_id"] == old_id and info["key_id"] != old_id
    assert notes.load_signer(key_dir).key_id == info["key_id"]
    assert {v.key_id for v in notes.load_verifiers(key_dir)} == {old_id, info["key_id"]}
    # the rotation is itself in the log, with the new verifier key
    ev = db_session.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).scalars().one()
    assert ev.action == "audit:key:rotate" and ev.details["verifier_key"].startswith(f"{ORIGIN}+{info['key_id']}+")
    cp_new = checkpoints.checkpoint_sign(db_session, SYSTEM, key_dir=key_dir)
    assert cp_new.key_id == info["key_id"] and cp_new.tree_size == cp_old.tree_size + 1
    report = verify_log(db_session, notes.load_verifiers(key_dir))
    assert report.ok, report.problems
    assert report.checkpoints_verified == report.checkpoints_total >= 2
    # with only the new key, the old checkpoint is "signed by an unknown key": a failure, not a pass
    only_new = [v for v in notes.load_verifiers(key_dir) if v.key_id == info["key_id"]]
    assert not verify_log(db_session, only_new).ok


# ---------------------------------------------------------------------------------- verification


def _signed_log(session, key_dir, n=12):
    base = proofs.current_size(session)
    _fill(session, n, private_details={"note": "internal"})
    checkpoints.checkpoint_sign(session, SYSTEM, key_dir=key_dir, origin=ORIGIN)
    return base


def test_verify_clean_log(db_session, key_dir):
    _signed_log(db_session, key_dir)
    report = verify_log(db_session, notes.load_verifiers(key_dir))
    assert report.ok, report.problems
    assert report.first_bad_index is None
    assert report.root_hash == base64.b64encode(proofs.root_at(db_session, report.tree_size)).decode()
    assert "OK" in report.summary()


def _tamper_edit(s, i):
    s.execute(update(AuditEvent).where(AuditEvent.seq == i).values(details={"n": "forged"}))


def _tamper_delete(s, i):
    s.execute(delete(AuditEvent).where(AuditEvent.seq == i))


def _tamper_swap(s, i):
    t = AuditEvent.__table__
    s.execute(update(t).where(t.c.seq == i).values(seq=-1))
    s.execute(update(t).where(t.c.seq == i + 2).values(seq=i))
    s.execute(update(t).where(t.c.seq == -1).values(seq=i + 2))


def _tamper_private(s, i):
    s.execute(update(AuditEvent).where(AuditEvent.seq == i).values(private_details={"note": "changed"}))


def _tamper_actor(s, i):
    s.execute(update(AuditEvent).where(AuditEvent.seq == i).values(actor="user:someone-else"))


def _tamper_time(s, i):
    ev = s.get(AuditEvent, i)
    s.execute(update(AuditEvent).where(AuditEvent.seq == i).values(created_at=ev.created_at.replace(year=2020)))


@pytest.mark.parametrize("tamper", [_tamper_edit, _tamper_delete, _tamper_swap, _tamper_private, _tamper_actor, _tamper_time])
def test_verify_names_first_bad_index(db_session, key_dir, tamper):
    base = _signed_log(db_session, key_dir)
    bad = base + 4
    tamper(db_session, bad)
    db_session.expire_all()
    report = verify_log(db_session, notes.load_verifiers(key_dir))
    assert not report.ok
    assert report.first_bad_index == bad, report.problems


def test_verify_detects_inserted_and_deleted_tail_rows(db_session, key_dir):
    base = _signed_log(db_session, key_dir)
    n = proofs.current_size(db_session)
    # an event row inserted at the end, bypassing record(): it has no leaf hash
    db_session.execute(insert(AuditEvent.__table__).values(
        seq=n, created_at=db_session.get(AuditEvent, base).created_at, actor="user:x", action="registry:project:approve",
        object_type="project", object_id="ghost", details={}))
    report = verify_log(db_session, notes.load_verifiers(key_dir))
    assert not report.ok and report.first_bad_index == n
    db_session.execute(delete(AuditEvent).where(AuditEvent.seq >= n - 1))
    report = verify_log(db_session, notes.load_verifiers(key_dir))
    assert not report.ok and report.first_bad_index == n - 1


def test_verify_catches_a_consistent_rewrite_through_the_checkpoint(db_session, key_dir):
    """An attacker who edits an event AND recomputes every stored hash is caught by the signed root."""
    base = _signed_log(db_session, key_dir, n=8)
    n = proofs.current_size(db_session)
    _tamper_edit(db_session, base + 5)
    db_session.expire_all()
    events = db_session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
    tree = merkle.MemoryTree([merkle.hash_leaf(log.event_leaf(e)) for e in events])
    db_session.execute(delete(AuditNode))
    db_session.execute(insert(AuditNode.__table__), [
        {"level": lv, "idx": i, "hash": h} for lv, hs in enumerate(tree.levels) for i, h in enumerate(hs)])
    report = verify_log(db_session, notes.load_verifiers(key_dir))
    assert not report.ok
    assert report.first_bad_index is not None and report.first_bad_index <= base + 5
    assert any(f"size {n}" in p["message"] for p in report.problems)


def test_verify_catches_corrupted_subtree_node(db_session, key_dir):
    _signed_log(db_session, key_dir, n=8)
    db_session.execute(update(AuditNode).where(AuditNode.level == 2, AuditNode.idx == 0).values(hash=b"\x09" * 32))
    report = verify_log(db_session, notes.load_verifiers(key_dir))
    assert not report.ok and report.first_bad_index == 0
    assert any("subtree node (2, 0)" in p["message"] for p in report.problems)


def test_verify_unknown_key_is_a_failure(db_session, key_dir, tmp_path):
    _signed_log(db_session, key_dir)
    stranger = notes.generate_key(tmp_path / "other", ORIGIN)
    report = verify_log(db_session, [stranger.verifier])
    assert not report.ok and any("not signed by any known key" in p["message"] for p in report.problems)


def test_erased_private_details_still_verify(db_session, key_dir):
    base = _signed_log(db_session, key_dir)
    db_session.execute(update(AuditEvent).where(AuditEvent.seq == base).values(private_details=None, private_salt=None))
    report = verify_log(db_session, notes.load_verifiers(key_dir))
    assert report.ok, report.problems
    assert report.withheld_private == 1


# ---------------------------------------------------------------------------------------- export


def test_export_verifies_offline_with_only_the_public_key(db_session, key_dir, tmp_path):
    _signed_log(db_session, key_dir)
    data = export_log(db_session)
    text = json.dumps(data)
    assert "internal" not in text  # private details are not exported
    pub = tmp_path / "audit.pub"
    pub.write_text(notes.load_signer(key_dir).verifier.to_string() + "\n")
    report = verify_export(text, notes.read_public_keys(pub))
    assert report.ok, report.problems
    assert report.tree_size == data["tree_size"] == len(data["leaves"])
    assert report.latest_verified_size == data["tree_size"]


def _export(db_session, key_dir):
    _signed_log(db_session, key_dir)
    return export_log(db_session), notes.load_verifiers(key_dir)


def test_export_tampering_is_detected(db_session, key_dir, tmp_path):
    data, keys = _export(db_session, key_dir)
    i = len(data["events"]) - 3

    edited = json.loads(json.dumps(data))
    edited["events"][i]["details"] = {"n": "forged"}
    r = verify_export(edited, keys)
    assert not r.ok and r.first_bad_index == i

    both = json.loads(json.dumps(data))  # event and leaf rewritten together: the signed root catches it
    both["events"][i]["details"] = {"n": "forged"}
    both["leaves"][i] = base64.b64encode(audit.canonical.canonical_bytes(both["events"][i])).decode()
    r = verify_export(both, keys)
    assert not r.ok and r.first_bad_index is not None and r.first_bad_index <= i

    reordered = json.loads(json.dumps(data))
    reordered["events"][i], reordered["events"][i + 1] = reordered["events"][i + 1], reordered["events"][i]
    reordered["leaves"][i], reordered["leaves"][i + 1] = reordered["leaves"][i + 1], reordered["leaves"][i]
    r = verify_export(reordered, keys)
    assert not r.ok and r.first_bad_index == i

    truncated = json.loads(json.dumps(data))
    del truncated["events"][-2:], truncated["leaves"][-2:]
    truncated["tree_size"] -= 2
    r = verify_export(truncated, keys)
    assert not r.ok and "covers" in r.summary()

    r = verify_export(json.dumps(data)[:-200], keys)
    assert not r.ok and "not valid JSON" in r.summary()

    stranger = notes.Signer.generate(ORIGIN).verifier
    r = verify_export(data, [stranger])
    assert not r.ok and "known key" in r.summary()

    unsigned = dict(data, checkpoint=None, checkpoints=[])
    r = verify_export(unsigned, keys)
    assert not r.ok and "nothing is verified" in r.summary()

    assert not verify_export({"format": "something else"}, keys).ok
    assert not verify_export(data, []).ok
