"""Conditional access: an applicant (a registered company or person) applies for a conditionally open
dataset with a purpose; a steward of the owning department approves with an expiry, which issues an
API key scoped to that dataset (shown once, stored as its SHA-256); every download is logged; a
revocation takes effect on the next request. Every decision is audited."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlmodel import select

import audit
from kernel.clock import as_utc, utcnow
from kernel.db import Session
from kernel.errors import Conflict, NotAuthorized, NotFound, ValidationFailed
from kernel.permissions import authorize, policy
from kernel.principal import Principal
from opendata.catalog import dataset_get
from opendata.models import AccessApplication, Dataset, Distribution, Download

__all__ = ["access_apply", "access_decide", "access_revoke", "access_for_key", "download_authorize", "KEY_PREFIX"]

KEY_PREFIX = "odk_"


@policy("opendata:access:apply")
def _can_apply(principal: Principal, _ds) -> bool:
    return not principal.is_anonymous


@policy("opendata:access:decide")
def _can_decide(principal: Principal, ds) -> bool:
    from opendata.policies import can_approve

    return can_approve(principal, ds)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def access_apply(session: Session, principal: Principal, ident: str, *, purpose: str) -> AccessApplication:
    ds = dataset_get(session, principal, ident)
    authorize(principal, "opendata:access:apply", ds)
    if ds.grade != "conditional" or ds.state != "published":
        raise Conflict("only published, conditionally open datasets take access applications")
    if len(purpose.strip()) < 10:
        raise ValidationFailed("state the purpose of use", errors=[{"pointer": "/purpose", "message": "at least 10 characters"}])
    app = AccessApplication(dataset_id=ds.id, applicant=principal.actor, applicant_name=principal.name,
                            applicant_org=principal.org_id, purpose=purpose.strip())
    session.add(app)
    session.flush()
    audit.record(session, principal, "opendata:access:apply", object_type="opendata_access_application", object_id=app.id,
                 details={"dataset": ds.name, "purpose": app.purpose})
    session.commit()
    return app


def access_decide(session: Session, principal: Principal, app_id: str, *, approve: bool, expires_at: datetime | None = None,
                  note: str = "") -> tuple[AccessApplication, str | None]:
    """Approve (with an expiry in the future; returns the API key, shown once) or reject."""
    app = session.get(AccessApplication, app_id)
    if app is None:
        raise NotFound("no such application")
    ds = session.get(Dataset, app.dataset_id)
    authorize(principal, "opendata:access:decide", ds)
    if app.state != "pending":
        raise Conflict(f"application is {app.state}")
    key = None
    if approve:
        if expires_at is None or as_utc(expires_at) <= utcnow():
            raise ValidationFailed("an approval needs an expiry in the future", errors=[{"pointer": "/expires_at", "message": "future date"}])
        key = KEY_PREFIX + secrets.token_urlsafe(24)
        app.key_hash, app.key_prefix, app.expires_at = _hash(key), key[:10], as_utc(expires_at)
    app.state = "approved" if approve else "rejected"
    app.decided_by, app.decided_at, app.decision_note = principal.actor, utcnow(), note
    session.add(app)
    audit.record(session, principal, f"opendata:access:{'approve' if approve else 'reject'}",
                 object_type="opendata_access_application", object_id=app.id,
                 details={"dataset": ds.name, "applicant": app.applicant, "expires_at": app.expires_at.isoformat() if app.expires_at else None,
                          "key_prefix": app.key_prefix, "note": note})
    session.commit()
    return app, key


def access_revoke(session: Session, principal: Principal, app_id: str, *, reason: str) -> AccessApplication:
    app = session.get(AccessApplication, app_id)
    if app is None:
        raise NotFound("no such application")
    authorize(principal, "opendata:access:decide", session.get(Dataset, app.dataset_id))
    if app.state != "approved":
        raise Conflict(f"application is {app.state}")
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
                   actor=app.applicant if app else principal.actor)
    session.add(row)
    session.commit()
    return row
