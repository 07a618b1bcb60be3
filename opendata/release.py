"""The release workflow: draft → checked → approved → published → (updated | withdrawn).

* ``dataset_check`` runs the release gate (:mod:`opendata.gate`: every cell of every tabular
  distribution) and, for record-level data with declared quasi-identifiers, k-anonymity; the grade's
  threshold (``data/catalog.yaml``) must be reached. A refusal names the distribution, column, rows
  and type; it is audited too (the state stays ``draft``).
* ``dataset_approve``: by a different person than the steward who prepared the release.
* ``dataset_publish`` re-verifies the stored files' digests against those that passed the check.
* Every state change writes an audit entry carrying the distribution digests, the scan summary and
  the k reached, so a published file can be proven to be the one that passed the gate.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import audit
from kernel.clock import utcnow
from kernel.db import Session
from kernel.errors import Conflict, NotAuthorized, ValidationFailed
from kernel.permissions import authorize
from kernel.principal import Principal
from opendata.anonymity import measure
from opendata.catalog import blob_path, dataset_dict, dataset_get, distributions_of, vocab
from opendata.gate import gate_table
from opendata.models import Dataset
from opendata.tabular import open_table

__all__ = ["dataset_check", "dataset_approve", "dataset_publish", "dataset_withdraw", "release_proof"]

_TABULAR = {"CSV": "csv", "XLSX": "xlsx", "JSON": "json"}


class ReleaseRefused(ValidationFailed):
    """The gate (residual direct identifiers) or the anonymity threshold refused the release."""


def _digest(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _required_k(ds: Dataset) -> int | None:
    rule = vocab()["grades"].get(ds.grade, {})
    return rule.get("k_min")


def dataset_check(session: Session, principal: Principal, ident: str, *, storage: str | os.PathLike) -> dict[str, Any]:
    """Run the gate and the anonymity check. Returns the check summary; on refusal the summary is
    audited and committed, then :class:`ReleaseRefused` is raised (state stays ``draft``)."""
    ds = dataset_get(session, principal, ident)
    authorize(principal, "opendata:dataset:check", ds)
    if ds.state not in ("draft", "checked"):
        raise Conflict(f"dataset is {ds.state}; only drafts are checked")
    dists = distributions_of(session, ds)
    errors: list[dict[str, Any]] = []
    if not dists:
        errors.append({"pointer": "/distributions", "message": "a dataset needs at least one distribution"})
    if ds.grade == "not_open":
        errors.append({"pointer": "/grade", "message": "graded 'not open' (the default until graded): grade it first"})
    summary: dict[str, Any] = {"distributions": [], "k_required": _required_k(ds), "k": None, "checked_at": utcnow().isoformat()}
    ks = []
    for d in dists:
        path = blob_path(storage, d.sha256)
        entry: dict[str, Any] = {"id": d.id, "filename": d.filename, "format": d.format, "sha256": d.sha256}
        if not path.is_file() or _digest(path) != d.sha256:
            errors.append({"pointer": f"/distributions/{d.id}", "message": "stored file missing or altered"})
            summary["distributions"].append(entry)
            continue
        if d.format in _TABULAR:
            table = open_table(path, format=_TABULAR[d.format])
            rep = gate_table(table)
            entry["gate"] = rep.summary()
            for e in rep.errors():
                errors.append({"pointer": f"/distributions/{d.id}/columns/{e['column']}", "distribution": d.filename,
                               "column": e["column"], "entity": e["entity"], "rows": e["rows"], "cells": e["cells"],
                               "message": f"{d.filename}: {e['message']}"})
            if ds.quasi_identifiers:
                missing = [q for q in ds.quasi_identifiers if q not in table.columns]
                if missing:
                    errors.append({"pointer": "/quasi_identifiers", "message": f"{d.filename}: no column(s) {', '.join(missing)}"})
                else:
                    rows = [[c or "" for c in r] for r in open_table(path, format=_TABULAR[d.format]).rows()]
                    if rows:
                        k = measure(rows, table.columns, ds.quasi_identifiers).k
                        entry["k"] = k
                        ks.append(k)
        summary["distributions"].append(entry)
    if ks:
        summary["k"] = min(ks)
        need = summary["k_required"]
        if need is not None and summary["k"] < need:
            errors.append({"pointer": "/quasi_identifiers", "message": f"k = {summary['k']} is below {need} required for grade {ds.grade}"})
        personal_k = vocab()["rules"]["personal_unconditional_k"]
        if ds.grade == "unconditional" and summary["k"] < personal_k:
            errors.append({"pointer": "/grade", "message": f"record-level personal data is at least conditional unless k >= {personal_k}"})
    summary["passed"] = not errors
    summary["errors"] = errors
    ds.check_summary = summary
    ds.updated_at = utcnow()
    if not errors:
        ds.state = "checked"
        ds.prepared_by = principal.actor
    session.add(ds)
    audit.record(session, principal, "opendata:dataset:check", object_type="opendata_dataset", object_id=ds.id,
                 state=dataset_dict(session, ds),
                 details={"outcome": "passed" if not errors else "refused", "k": summary["k"],
                          "digests": [x["sha256"] for x in summary["distributions"]],
                          "refusals": [{k: e.get(k) for k in ("distribution", "column", "entity", "rows", "message")} for e in errors][:20]})
    session.commit()
    if errors:
        raise ReleaseRefused("the release check refused this dataset", errors=errors)
    return summary


def dataset_approve(session: Session, principal: Principal, ident: str, *, note: str = "") -> Dataset:
    ds = dataset_get(session, principal, ident)
    authorize(principal, "opendata:dataset:approve", ds)
    if ds.state != "checked":
        raise Conflict(f"dataset is {ds.state}; only checked datasets are approved")
    if principal.actor == ds.prepared_by:
        raise NotAuthorized("approval needs a different person than the steward who prepared the release")
    ds.state, ds.approved_by, ds.updated_at = "approved", principal.actor, utcnow()
    session.add(ds)
    audit.record(session, principal, "opendata:dataset:approve", object_type="opendata_dataset", object_id=ds.id,
                 state=dataset_dict(session, ds), details={"prepared_by": ds.prepared_by, "note": note,
                                                           "digests": [d.sha256 for d in distributions_of(session, ds)]})
    session.commit()
    return ds


def dataset_publish(session: Session, principal: Principal, ident: str, *, storage: str | os.PathLike) -> Dataset:
    ds = dataset_get(session, principal, ident)
    authorize(principal, "opendata:dataset:publish", ds)
    if ds.state != "approved":
        raise Conflict(f"dataset is {ds.state}; only approved datasets are published")
    checked = {x["id"]: x["sha256"] for x in (ds.check_summary or {}).get("distributions", [])}
    dists = distributions_of(session, ds)
    for d in dists:
        if checked.get(d.id) != d.sha256 or _digest(blob_path(storage, d.sha256)) != d.sha256:
            raise Conflict(f"distribution {d.filename} is not the file that passed the check")
    first = ds.published_at is None
    ds.state, ds.published_at, ds.updated_at, ds.stale_since = "published", utcnow(), utcnow(), None
    ds.stale_notified_at = None
    if not first:
        ds.version += 1
    session.add(ds)
    audit.record(session, principal, "opendata:dataset:publish" if first else "opendata:dataset:update",
                 object_type="opendata_dataset", object_id=ds.id, state=dataset_dict(session, ds),
                 details={"digests": [d.sha256 for d in dists], "k": (ds.check_summary or {}).get("k"),
                          "grade": ds.grade, "approved_by": ds.approved_by, "prepared_by": ds.prepared_by,
                          "scan": [{"id": x["id"], "rows": (x.get("gate") or {}).get("rows"),
                                    "kept": (x.get("gate") or {}).get("kept", [])}
                                   for x in (ds.check_summary or {}).get("distributions", [])]})
    session.commit()
    return ds


def dataset_withdraw(session: Session, principal: Principal, ident: str, *, reason: str) -> Dataset:
    ds = dataset_get(session, principal, ident)
    authorize(principal, "opendata:dataset:withdraw", ds)
    if ds.state != "published":
        raise Conflict(f"dataset is {ds.state}; only published datasets are withdrawn")
    if len(reason.strip()) < 5:
        raise ValidationFailed("a reason is required", errors=[{"pointer": "/reason", "message": "required"}])
    ds.state, ds.updated_at = "withdrawn", utcnow()
    session.add(ds)
    audit.record(session, principal, "opendata:dataset:withdraw", object_type="opendata_dataset", object_id=ds.id,
                 state=dataset_dict(session, ds), details={"reason": reason.strip()})
    session.commit()
    return ds


def release_proof(session: Session, ds: Dataset) -> list[dict[str, Any]]:
    """The audit entries of this dataset (seq, action, actor, time, public details): the proof of
    its release that the public pages show."""
    from sqlmodel import select

    from audit.models import AuditEvent

    rows = session.exec(select(AuditEvent).where(AuditEvent.object_type == "opendata_dataset",
                                                 AuditEvent.object_id == ds.id).order_by(AuditEvent.seq))
    return [{"seq": e.seq, "action": e.action, "actor": e.actor, "at": str(e.created_at), "details": e.details,
             "state_digest": getattr(e, "state_digest", None)} for e in rows]
