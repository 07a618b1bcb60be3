"""Full verification of the stored log, JSON export, and offline verification of an export.

``verify_log`` trusts nothing it reads: it rebuilds every leaf from the event rows, the whole tree from
those leaves, and checks

1. the sequence is contiguous from 0 (a deleted row names the first missing index);
2. each rebuilt leaf hash equals the stored leaf hash (an edited, reordered or replaced row names its
   index), and private details, where still present, match the salted digest the leaf commits to;
3. every stored complete-subtree hash equals the rebuilt one (the proofs served come from there);
4. every stored checkpoint carries a valid signature by a known key and its root equals the rebuilt root
   at its size (rows deleted at the end, or rows rewritten together with their hashes, are caught here).

When only a checkpoint catches a change (the attacker rewrote leaf and subtree hashes too), the damage is
localised to the range between the last checkpoint that still verifies and the first that does not, and
the report names the start of that range. ``first_bad_index`` is the smallest index named.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select

from audit import merkle, notes
from audit.canonical import CanonicalizationError, canonical_bytes
from audit.checkpoints import latest_checkpoint
from audit.log import event_leaf, private_digest
from audit.proofs import b64
from audit.models import AuditCheckpoint, AuditEvent, AuditNode, leaf_object
from kernel.db import Session

__all__ = ["EXPORT_FORMAT", "VerifyReport", "export_log", "verify_export", "verify_log"]

EXPORT_FORMAT = "citygov-audit-export/1"
_CHUNK = 5000


@dataclass
class VerifyReport:
    source: str
    ok: bool = True
    tree_size: int = 0
    root_hash: str | None = None
    checkpoints_total: int = 0
    checkpoints_verified: int = 0
    latest_verified_size: int | None = None
    first_bad_index: int | None = None
    withheld_private: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def fail(self, message: str, index: int | None = None) -> None:
        self.ok = False
        self.problems.append({"index": index, "message": message})
        if index is not None and (self.first_bad_index is None or index < self.first_bad_index):
            self.first_bad_index = index

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        if self.ok:
            cp = (
                f"{self.checkpoints_verified} signed checkpoint(s) verified, latest at size {self.latest_verified_size}"
                if self.checkpoints_verified
                else "no signed checkpoint"
            )
            return f"OK: {self.tree_size} entries, root {self.root_hash}; {cp}"
        where = f"first bad index {self.first_bad_index}" if self.first_bad_index is not None else "no index localised"
        return f"FAILED ({where}): " + "; ".join(p["message"] for p in self.problems[:5])


def _check_checkpoints(
    report: VerifyReport, tree: merkle.MemoryTree, items: list[tuple[str, str]], verifiers: list[notes.Verifier]
) -> None:
    """``items``: (label, note). Verify signatures and roots against the rebuilt ``tree``."""
    n = tree.size
    parsed: list[tuple[str, notes.Checkpoint]] = []
    origins = set()
    for label, note in items:
        report.checkpoints_total += 1
        try:
            text, _ = notes.open_note(note, verifiers)
            cp = notes.parse_checkpoint(text)
        except notes.NoteError as exc:
            report.fail(f"{label}: {exc}")
            continue
        origins.add(cp.origin)
        parsed.append((label, cp))
    if len(origins) > 1:
        report.fail(f"checkpoints name different origins: {sorted(origins)}")
    good_sizes = sorted({cp.size for _, cp in parsed if cp.size <= n and tree.root(cp.size) == cp.root})
    for label, cp in parsed:
        if cp.size > n:
            report.fail(f"{label} covers {cp.size} entries but only {n} can be rebuilt (entries deleted)", index=n)
            continue
        if tree.root(cp.size) != cp.root:
            lower = max((s for s in good_sizes if s < cp.size), default=0)
            localised = any(p["index"] is not None and lower <= p["index"] < cp.size for p in report.problems)
            report.fail(
                f"{label}: root at size {cp.size} does not match the rebuilt tree; the first changed entry is in "
                f"[{lower}, {cp.size - 1}]",
                index=None if localised else lower,
            )
            continue
        report.checkpoints_verified += 1
        if report.latest_verified_size is None or cp.size > report.latest_verified_size:
            report.latest_verified_size = cp.size


def verify_log(session: Session, verifiers: list[notes.Verifier]) -> VerifyReport:
    """Rebuild the tree from the stored events and check it against the stored hashes and checkpoints."""
    report = VerifyReport(source="database")
    t = AuditEvent.__table__
    leaves: list[bytes] = []
    expected, stop = 0, False
    while not stop:
        rows = session.execute(select(t).where(t.c.seq >= expected).order_by(t.c.seq).limit(_CHUNK)).mappings().all()
        if not rows:
            break
        for row in rows:
            seq = int(row["seq"])
            if seq != expected:
                report.fail(f"event {expected} is missing (the next stored event is {seq})", index=expected)
                stop = True
                break
            try:
                leaf = event_leaf(row)
            except (CanonicalizationError, TypeError, ValueError) as exc:
                report.fail(f"event {seq} cannot be canonicalised: {exc}", index=seq)
                leaf = b""
            digest, salt, private = row["private_digest"], row["private_salt"], row["private_details"]
            if digest is None:
                if salt is not None or private is not None:
                    report.fail(f"event {seq} has private details the leaf does not commit to", index=seq)
            elif private is None or salt is None:
                report.withheld_private += 1
            else:
                try:
                    if private_digest(salt, private) != digest:
                        report.fail(f"event {seq}: private details do not match their committed digest", index=seq)
                except (CanonicalizationError, ValueError) as exc:
                    report.fail(f"event {seq}: private details unreadable: {exc}", index=seq)
            leaves.append(merkle.hash_leaf(leaf))
            expected += 1

    # Stored leaf hashes (level 0).
    n = len(leaves)
    nt = AuditNode.__table__
    next_idx = 0
    last_seen = -1
    stored: list[bytes] = []
    stored_contiguous = True
    while True:
        rows = session.execute(
            select(nt.c.idx, nt.c.hash).where(nt.c.level == 0, nt.c.idx > last_seen).order_by(nt.c.idx).limit(_CHUNK)
        ).all()
        if not rows:
            break
        for idx, h in rows:
            idx = int(idx)
            last_seen = idx
            if idx == len(stored):
                stored.append(bytes(h))
            else:
                stored_contiguous = False
            if idx != next_idx and next_idx < n:
                report.fail(f"stored leaf hash {next_idx} is missing", index=next_idx)
            next_idx = idx + 1
            if idx >= n:
                report.fail(f"a leaf hash is stored for index {idx} but there is no such event", index=idx)
            elif bytes(h) != leaves[idx]:
                report.fail(f"event {idx} does not match its stored leaf hash (edited, reordered or replaced)", index=idx)
    if next_idx < n:
        report.fail(f"events from {next_idx} on have no stored leaf hash", index=next_idx)

    tree = merkle.MemoryTree(leaves)

    # Stored internal nodes, against a tree built from the stored leaf hashes (so that an edited event,
    # already reported above, is not reported again at every node above it).
    node_tree = merkle.MemoryTree(stored) if stored_contiguous and stored != leaves else tree
    for level in range(1, max(len(node_tree.levels), 2)):
        want = node_tree.levels[level] if level < len(node_tree.levels) else []
        seen = 0
        last_seen = -1
        while True:
            rows = session.execute(
                select(nt.c.idx, nt.c.hash)
                .where(nt.c.level == level, nt.c.idx > last_seen)
                .order_by(nt.c.idx)
                .limit(_CHUNK)
            ).all()
            if not rows:
                break
            for idx, h in rows:
                idx = int(idx)
                last_seen = idx
                seen += 1
                if idx >= len(want):
                    report.fail(f"subtree node ({level}, {idx}) is stored but not implied by the leaves",
                                index=max(idx << level, min(n, node_tree.size)))
                elif bytes(h) != want[idx]:
                    report.fail(
                        f"subtree node ({level}, {idx}) over entries [{idx << level}, {((idx + 1) << level) - 1}] "
                        "does not match the events",
                        index=idx << level,
                    )
        if seen < len(want):
            report.fail(f"{len(want) - seen} subtree node(s) at level {level} are missing")
    extra_levels = session.execute(select(nt.c.level).where(nt.c.level >= len(node_tree.levels)).limit(1)).first()
    if extra_levels is not None and len(node_tree.levels) > 1:
        report.fail(f"subtree nodes stored at level {extra_levels[0]}, above the rebuilt tree")

    report.tree_size = n
    report.root_hash = b64(tree.root())
    cps = session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.id)).scalars().all()
    items = []
    for cp in cps:
        label = f"checkpoint #{cp.id} (size {cp.tree_size})"
        items.append((label, cp.note))
    _check_checkpoints(report, tree, items, verifiers)
    if report.checkpoints_total == 0:
        report.warnings.append("no checkpoint has been signed: the log is internally consistent but nothing anchors it")
    elif report.latest_verified_size is not None and report.latest_verified_size < n:
        report.warnings.append(f"entries {report.latest_verified_size}..{n - 1} are not yet covered by a checkpoint")
    return report


# --------------------------------------------------------------------------------------------------
# Export and offline verification


def export_log(session: Session) -> dict[str, Any]:
    """Every public event, its leaf bytes (base64) and every signed checkpoint (latest first in ``checkpoint``).

    Private details are not exported (the leaves commit only to their salted digest).
    """
    t = AuditEvent.__table__
    events: list[dict[str, Any]] = []
    leaves: list[str] = []
    hashes: list[bytes] = []
    last = -1
    while True:
        rows = session.execute(select(t).where(t.c.seq > last).order_by(t.c.seq).limit(_CHUNK)).mappings().all()
        if not rows:
            break
        for row in rows:
            last = int(row["seq"])
            obj = leaf_object(row)
            leaf = canonical_bytes(obj)
            events.append(obj)
            leaves.append(b64(leaf))
            hashes.append(merkle.hash_leaf(leaf))
    latest = latest_checkpoint(session)
    cps = session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.id)).scalars().all()
    return {
        "format": EXPORT_FORMAT,
        "origin": latest.origin if latest else None,
        "tree_size": len(events),
        "root_hash": b64(merkle.root_from_leaf_hashes(hashes)),
        "checkpoint": latest.note if latest else None,
        "checkpoints": [cp.note for cp in cps],
        "events": events,
        "leaves": leaves,
    }


def verify_export(data: Any, verifiers: list[notes.Verifier]) -> VerifyReport:
    """Verify an export with nothing but verifier (public) keys. Accepts the dict, or its JSON text/bytes.

    Fails (never a false "verified") on malformed or truncated JSON, events that do not canonicalise to
    their leaves, a sequence that is not 0..n-1, checkpoints by unknown keys, checkpoints beyond the
    exported entries, a root mismatch, or when no checkpoint signed by a given key is present.
    """
    report = VerifyReport(source="export")
    if not verifiers:
        report.fail("no public key given")
        return report
    if isinstance(data, bytes | str):
        try:
            data = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            report.fail(f"export is not valid JSON (truncated?): {exc}")
            return report
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        report.fail(f"not a {EXPORT_FORMAT} document")
        return report
    events, leaves_b64 = data.get("events"), data.get("leaves")
    if not isinstance(events, list) or not isinstance(leaves_b64, list):
        report.fail("export lacks the events / leaves lists")
        return report
    if len(events) != len(leaves_b64):
        report.fail(f"export has {len(events)} events but {len(leaves_b64)} leaves (truncated?)",
                    index=min(len(events), len(leaves_b64)))
    if data.get("tree_size") != len(leaves_b64):
        report.fail(f"export says tree_size {data.get('tree_size')!r} but holds {len(leaves_b64)} leaves (truncated?)",
                    index=min(len(leaves_b64), data.get("tree_size")) if isinstance(data.get("tree_size"), int) else None)
    hashes: list[bytes] = []
    for i, leaf_b64 in enumerate(leaves_b64):
        try:
            leaf = base64.b64decode(leaf_b64, validate=True)
        except (binascii.Error, ValueError, TypeError):
            report.fail(f"leaf {i} is not base64", index=i)
            leaf = b""
        if i < len(events):
            ev = events[i]
            if not isinstance(ev, dict) or ev.get("seq") != i:
                report.fail(f"event {i} is missing, reordered or has the wrong seq", index=i)
            else:
                try:
                    if canonical_bytes(ev) != leaf:
                        report.fail(f"event {i} does not match its leaf", index=i)
                except CanonicalizationError as exc:
                    report.fail(f"event {i} cannot be canonicalised: {exc}", index=i)
        hashes.append(merkle.hash_leaf(leaf))
    tree = merkle.MemoryTree(hashes)
    report.tree_size = tree.size
    report.root_hash = b64(tree.root())
    notes_list = data.get("checkpoints")
    if not isinstance(notes_list, list):
        notes_list = []
    if data.get("checkpoint") and data["checkpoint"] not in notes_list:
        notes_list = [*notes_list, data["checkpoint"]]
    items = [(f"checkpoint {i + 1} of {len(notes_list)}", n) for i, n in enumerate(notes_list) if isinstance(n, str)]
    _check_checkpoints(report, tree, items, verifiers)
    if report.checkpoints_verified == 0:
        report.fail("no checkpoint signed by the given public key(s) verifies: nothing is verified")
    elif report.latest_verified_size is not None and report.latest_verified_size < tree.size:
        report.warnings.append(
            f"entries {report.latest_verified_size}..{tree.size - 1} are not covered by a signed checkpoint"
        )
    return report
