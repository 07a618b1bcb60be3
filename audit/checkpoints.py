"""Checkpoint signing and key rotation (services: authorize, change, commit).

A checkpoint is only ever signed if it is consistent with the latest stored one: same origin, size not
smaller, and an RFC 9162 consistency proof from the latest checkpoint's (size, root) to the new
(size, root), generated from the subtree store, verifies. The stored latest checkpoint must itself carry a
valid signature by a known key, so a forged row cannot steer the signer. Signing takes the same
sequencing lock as appends, so the size and root cannot move underneath it.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import select

from audit import merkle, notes
from audit.log import lock_log, node_reader, record
from audit.proofs import b64, current_size
from audit.models import AuditCheckpoint
from kernel.clock import isoformat, utcnow
from kernel.db import Session
from kernel.errors import Conflict, NotFound
from kernel.permissions import authorize
from kernel.principal import Principal

__all__ = ["DEFAULT_ORIGIN", "checkpoint_sign", "key_rotate", "latest_checkpoint", "checkpoint_json"]

DEFAULT_ORIGIN = "citygov.local/audit"


def latest_checkpoint(session: Session) -> AuditCheckpoint | None:
    """The most recently signed checkpoint (highest id)."""
    stmt = select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)
    return session.execute(stmt).scalars().first()


def checkpoint_json(cp: AuditCheckpoint) -> dict[str, Any]:
    return {
        "origin": cp.origin,
        "tree_size": int(cp.tree_size),
        "root_hash": b64(bytes(cp.root_hash)),
        "key_id": cp.key_id,
        "signed_at": isoformat(cp.created_at),
        "note": cp.note,
    }


def _check_against(
    session: Session, row: AuditCheckpoint, verifiers: list[notes.Verifier], origin: str, size: int, root: bytes
) -> notes.Checkpoint:
    try:
        text, _ = notes.open_note(row.note, verifiers)
        cp = notes.parse_checkpoint(text)
    except notes.NoteError as exc:
        raise Conflict(f"stored checkpoint #{row.id} does not verify ({exc}); refusing to sign") from None
    if (cp.size, cp.root, cp.origin) != (int(row.tree_size), bytes(row.root_hash), row.origin):
        raise Conflict(f"stored checkpoint #{row.id} columns disagree with its signed note; refusing to sign")
    if cp.origin != origin:
        raise Conflict(f"origin {origin!r} differs from the earlier checkpoint's {cp.origin!r}")
    if cp.size > size:
        raise Conflict(f"the log has {size} entries but checkpoint #{row.id} covers {cp.size}; refusing to sign")
    if cp.size == size:
        if cp.root != root:
            raise Conflict(f"root at size {size} differs from checkpoint #{row.id}; refusing to sign")
    elif cp.size > 0:
        read = node_reader(session)
        try:
            proof = merkle.consistency_proof(read, cp.size, size)
            merkle.check_consistency(cp.size, size, cp.root, root, proof)
        except (merkle.ProofError, LookupError) as exc:
            raise Conflict(
                f"tree of size {size} is not consistent with checkpoint #{row.id} (size {cp.size}): {exc}; refusing to sign"
            ) from None
    return cp


def checkpoint_sign(
    session: Session,
    principal: Principal,
    *,
    key_dir: str | os.PathLike,
    origin: str | None = None,
    force: bool = False,
) -> AuditCheckpoint:
    """Sign and store a checkpoint of the current tree; commits.

    Returns the latest checkpoint unchanged when it already covers the current size (unless ``force``,
    e.g. right after a key rotation). Creates the first signing key (named ``origin``) if ``key_dir`` has
    none. Raises :class:`Conflict` rather than sign anything inconsistent with an earlier checkpoint.
    """
    authorize(principal, "audit:checkpoint:sign")
    lock_log(session)
    if not notes.has_signer(key_dir):
        notes.generate_key(key_dir, origin or DEFAULT_ORIGIN)
    signer = notes.load_signer(key_dir)
    origin = origin or signer.name
    if signer.name != origin:
        raise Conflict(f"the signing key is named {signer.name!r}, not {origin!r}")
    verifiers = notes.load_verifiers(key_dir)
    if signer.verifier not in verifiers:
        verifiers.append(signer.verifier)

    size = current_size(session)
    root = merkle.tree_root(node_reader(session), size)
    latest = latest_checkpoint(session)
    if latest is not None:
        cp = _check_against(session, latest, verifiers, origin, size, root)
        largest = session.execute(
            select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size.desc(), AuditCheckpoint.id.desc()).limit(1)
        ).scalars().first()
        if largest is not None and largest.id != latest.id:
            _check_against(session, largest, verifiers, origin, size, root)
        if cp.size == size and not force:
            session.commit()  # nothing changed; ends the transaction and releases the lock
            return latest

    note = notes.sign_note(notes.format_checkpoint(origin, size, root), signer)
    row = AuditCheckpoint(
        created_at=utcnow(), origin=origin, tree_size=size, root_hash=root, key_id=signer.key_id, note=note
    )
    session.add(row)
    session.commit()
    return row


def key_rotate(
    session: Session,
    principal: Principal,
    *,
    key_dir: str | os.PathLike,
    origin: str | None = None,
) -> dict[str, Any]:
    """Replace the signing key; the old verifier key is kept. Records ``audit:key:rotate``; commits.

    The new key's verifier key is published (``<id>.pub``) and recorded in the log before the private key
    file is switched, so every checkpoint the new key signs can be verified by someone who follows the log.
    """
    authorize(principal, "audit:key:rotate")
    lock_log(session)
    name = origin or (notes.load_signer(key_dir).name if notes.has_signer(key_dir) else DEFAULT_ORIGIN)
    new, old = notes.prepare_rotation(key_dir, name)
    details = {
        "key_id": new.key_id,
        "verifier_key": new.verifier.to_string(),
        "previous_key_id": old.key_id if old else None,
    }
    record(session, principal, "audit:key:rotate", object_type="audit_key", object_id=new.key_id, details=details)
    session.commit()
    notes.rotate_key(key_dir, new)
    return details


def public_checkpoint(session: Session) -> AuditCheckpoint:
    cp = latest_checkpoint(session)
    if cp is None:
        raise NotFound("no checkpoint has been signed yet")
    return cp
