"""Conditional access: an applicant (a registered company or person) applies for a conditionally open
dataset with a purpose; a steward of the owning department approves with an expiry (or rejects with a
reason); the applicant then collects an API key scoped to that dataset (shown once, stored as its
SHA-256 -- the steward never sees it; collecting again replaces it); every download is logged; a
revocation takes effect on the next request. Every step is audited."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlmodel import select

import audit
from kernel.clock import as_utc, utcnow
from kernel.db import Session
from kernel.errors import Conflict, NotAuthorized, NotFound, ValidationFailed
from kernel.permissions import authorize, is_allowed
from kernel.principal import Principal
from opendata.catalog import dataset_get
from opendata.models import AccessApplication, Dataset, Distribution, Download
from opendata.policies import AppRef

__all__ = ["KEY_PREFIX", "access_apply", "download_log", "access_decide", "access_dict", "access_for_key", "access_get", "access_key_issue",
           "access_list", "access_revoke", "download_authorize"]

KEY_PREFIX = "odk_"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def access_apply(session: Session, principal: Principal, ident: str, *, purpose: str) -> AccessApplication:
    ds = dataset_get(session, principal, ident)
    authorize(principal, "opendata:access:apply", ds)
    if ds.grade != "conditional" or ds.state != "published":
        raise Conflict("only published, conditionally open datasets take access applications")
    if len(purpose.strip()) < 10:
        raise ValidationFailed("state the purpose of use", errors=[{"pointer": "/purpose", "message": "at least 10 characters"}])
    if len(purpose) > 4000:
        raise ValidationFailed("the purpose is too long", errors=[{"pointer": "/purpose", "message": "at most 4000 characters"}])
    if session.exec(select(AccessApplication).where(AccessApplication.dataset_id == ds.id,
                                                    AccessApplication.applicant == principal.owner,
                                                    AccessApplication.state == "pending")).first() is not None:
        raise Conflict("you already have a pending application for this dataset")
    app = AccessApplication(dataset_id=ds.id, applicant=principal.owner, applicant_name=principal.name,
                            applicant_org=principal.org_id, purpose=purpose.strip())
    session.add(app)
    session.flush()
    audit.record(session, principal, "opendata:access:apply", object_type="opendata_access_application", object_id=app.id,
                 details={"dataset": ds.name, "purpose": app.purpose})
    session.commit()
    return app


def access_decide(session: Session, principal: Principal, app_id: str, *, approve: bool, expires_at: datetime | None = None,
                  note: str = "") -> AccessApplication:
    """Approve (with an expiry in the future) or reject (with a written reason, ``note``). The key is
    collected by the applicant (:func:`access_key_issue`), never shown to the steward."""
    app = session.get(AccessApplication, app_id)
    if app is None:
        raise NotFound("no such application")
    ds = session.get(Dataset, app.dataset_id)
    authorize(principal, "opendata:access:decide", ds)
    if app.state != "pending":
        raise Conflict(f"application is {app.state}")
    note = (note or "").strip()
    if approve:
        if expires_at is None or as_utc(expires_at) <= utcnow():
            raise ValidationFailed("an approval needs an expiry in the future", errors=[{"pointer": "/expires_at", "message": "future date"}])
        app.expires_at = as_utc(expires_at)
    elif len(note) < 5:
        raise ValidationFailed("a rejection needs a written reason", errors=[{"pointer": "/reason", "message": "at least 5 characters"}])
    app.state = "approved" if approve else "rejected"
    app.decided_by, app.decided_at, app.decision_note = principal.actor, utcnow(), note
    session.add(app)
    audit.record(session, principal, f"opendata:access:{'approve' if approve else 'reject'}",
                 object_type="opendata_access_application", object_id=app.id,
                 details={"dataset": ds.name, "applicant": app.applicant, "expires_at": app.expires_at.isoformat() if app.expires_at else None,
                          "reason" if not approve else "note": note})
    session.commit()
    return app


def access_key_issue(session: Session, principal: Principal, app_id: str) -> tuple[AccessApplication, str]:
    """The applicant collects the key of an approved application (shown once; collecting again
    replaces the previous key, which stops working at once)."""
    app = access_get(session, principal, app_id)
    if principal.owner != app.applicant:
        raise NotAuthorized("only the applicant collects the access key")
    if app.state != "approved":
        raise Conflict(f"application is {app.state}")
    if app.expires_at is None or as_utc(app.expires_at) <= utcnow():
        raise Conflict("the approval has expired; apply again")
    replaced = app.key_prefix
    key = KEY_PREFIX + secrets.token_urlsafe(24)
    app.key_hash, app.key_prefix = _hash(key), key[:10]
    session.add(app)
    audit.record(session, principal, "opendata:access:key", object_type="opendata_access_application", object_id=app.id,
                 details={"key_prefix": app.key_prefix, "replaced": replaced, "expires_at": as_utc(app.expires_at).isoformat()})
    session.commit()
    return app, key


def access_get(session: Session, principal: Principal, app_id: str) -> AccessApplication:
    """An application its applicant or a deciding steward may see (others: not found)."""
    app = session.get(AccessApplication, app_id)
    if app is None or not is_allowed(principal, "opendata:access:read", AppRef(app.applicant, session.get(Dataset, app.dataset_id))):
        raise NotFound("no such application")
    return app


def access_list(session: Session, principal: Principal, *, inbox: bool = False, state: str | None = None) -> list[AccessApplication]:
    """The principal's own applications, or (``inbox``) those it decides on, newest first."""
    if principal.is_anonymous:
        return []
    q = select(AccessApplication).order_by(AccessApplication.created_at.desc())
    if state:
        q = q.where(AccessApplication.state == state)
    if not inbox:
        return list(session.exec(q.where(AccessApplication.applicant == principal.owner)))
    datasets = {d.id: d for d in session.exec(select(Dataset).where(
        Dataset.id.in_(select(AccessApplication.dataset_id).distinct())))}
    allowed = [i for i, d in datasets.items() if is_allowed(principal, "opendata:access:decide", d)]
    return list(session.exec(q.where(AccessApplication.dataset_id.in_(allowed or [""]))))


def access_dict(session: Session, app: AccessApplication) -> dict:
    ds = session.get(Dataset, app.dataset_id)
    now = utcnow()
    expired = app.state == "approved" and app.expires_at is not None and as_utc(app.expires_at) <= now
    return {"id": app.id, "dataset": ds.name if ds else None, "dataset_title": ds.title_zh if ds else None,
            "applicant": app.applicant, "applicant_name": app.applicant_name, "applicant_org": app.applicant_org,
            "purpose": app.purpose, "state": "expired" if expired else app.state, "decided_by": app.decided_by,
            "decision_note": app.decision_note, "key_prefix": app.key_prefix,
            "created_at": as_utc(app.created_at).isoformat(),
            "decided_at": as_utc(app.decided_at).isoformat() if app.decided_at else None,
            "expires_at": as_utc(app.expires_at).isoformat() if app.expires_at else None}


def access_revoke(session: Session, principal: Principal, app_id: str, *, reason: str) -> AccessApplication:
    app = session.get(AccessApplication, app_id)
    if app is None:
        raise NotFound("no such application")
    authorize(principal, "opendata:access:decide", session.get(Dataset, app.dataset_id))
    if app.state != "approved":
        raise Conflict(f"application is {app.state}")
    if len((reason or "").strip()) < 5:
        raise ValidationFailed("a revocation needs a written reason", errors=[{"pointer": "/reason", "message": "at least 5 characters"}])
    app.state = "revoked"
    session.add(app)
    audit.record(session, principal, "opendata:access:revoke", object_type="opendata_access_application", object_id=app.id,
                 details={"reason": reason, "key_prefix": app.key_prefix})
    session.commit()
    return app


def access_for_key(session: Session, key: str) -> AccessApplication:
    """The application a key belongs to, if it is valid now (revoked / expired keys are refused)."""
    app = session.exec(select(AccessApplication).where(AccessApplication.key_hash == _hash(key))).first()
    if app is None:
        raise NotAuthorized("unknown access key")
    if app.state == "revoked":
        raise NotAuthorized("this access key was revoked")
    if app.state != "approved" or app.expires_at is None or as_utc(app.expires_at) <= utcnow():
        raise NotAuthorized(f"this access key expired on {as_utc(app.expires_at).isoformat() if app.expires_at else '-'}")
    return app


def download_authorize(session: Session, principal: Principal, dist: Distribution, *, key: str | None) -> Download:
    """May this download happen? Conditionally open data needs a valid key for that dataset. Logs it."""
    ds = session.get(Dataset, dist.dataset_id)
    if ds is None or ds.state != "published":
        dataset_get(session, principal, dist.dataset_id)  # stewards may fetch their own drafts; else NotFound
    app = None
    if ds.grade == "conditional" and ds.state == "published":
        if not key:
            raise NotAuthorized("conditionally open data: apply for access and send the key (X-CKAN-API-Key or ?key=)")
        app = access_for_key(session, key)
        if app.dataset_id != ds.id:
            raise NotAuthorized("this access key is for another dataset")
    row = Download(dataset_id=ds.id, distribution_id=dist.id, application_id=app.id if app else None,
                   actor=app.applicant if app else principal.owner)
    session.add(row)
    session.commit()
    return row


def download_log(session: Session, principal: Principal, *, dataset: str | None = None, limit: int = 100,
                 offset: int = 0) -> tuple[list[dict], int]:
    """Who downloaded what, when: the downloads of every dataset the principal decides on (a steward of the
    owning department, the commission's admins), newest first, and their total; ``dataset`` (name or id)
    narrows it to one dataset (not found for a dataset the principal may not see)."""
    from sqlalchemy import func, or_

    if principal.is_anonymous:
        raise NotAuthorized("sign in to read the download log")
    if not 1 <= limit <= 1000 or offset < 0:
        raise ValidationFailed("limit is 1..1000 and offset >= 0", errors=[{"pointer": "/limit", "message": "1..1000"}])
    if dataset:
        ds = session.exec(select(Dataset).where(or_(Dataset.name == dataset, Dataset.id == dataset))).first()
        if ds is None or not is_allowed(principal, "opendata:download:list", ds):
            raise NotFound(f"no dataset {dataset!r} whose downloads you may read")
        allowed = [ds.id]
    else:
        seen = session.exec(select(Dataset).where(Dataset.id.in_(select(Download.dataset_id).distinct())))
        allowed = [d.id for d in seen if is_allowed(principal, "opendata:download:list", d)]
    where = Download.dataset_id.in_(allowed or [""])
    total = session.exec(select(func.count()).select_from(Download).where(where)).one()
    q = (select(Download, Dataset, Distribution, AccessApplication)
         .join(Dataset, Dataset.id == Download.dataset_id)
         .join(Distribution, Distribution.id == Download.distribution_id)
         .outerjoin(AccessApplication, AccessApplication.id == Download.application_id)
         .where(where).order_by(Download.at.desc(), Download.id.desc()).offset(offset).limit(limit))
    rows = [{"at": as_utc(d.at).isoformat(), "dataset": ds.name, "dataset_title": ds.title_zh, "grade": ds.grade,
             "distribution": dist.title, "filename": dist.filename, "sha256": dist.sha256, "actor": d.actor,
             "application": app.id if app else None, "applicant_name": app.applicant_name if app else None,
             "applicant_org": app.applicant_org if app else None,
             "key_prefix": app.key_prefix if app else None}
            for d, ds, dist, app in session.exec(q)]
    return rows, int(total)
