"""Server-side records of browser sessions (ASVS V3.3.1): the signed cookie carries a random session id, the
database its SHA-256. A session is valid while its row exists and has not expired; logging out deletes the
row (a copied cookie is then worth nothing), a password change deletes every row of the user."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import Session

from kernel.clock import as_utc, utcnow
from portal.accounts.models import User, WebSession


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode("utf-8")).hexdigest()


def open_session(session: Session, user: User, *, lifetime: timedelta) -> str:
    """A new session of ``user`` valid for ``lifetime``: its id (for the cookie; only its hash is stored).
    The user's expired rows go at the same time."""
    now = utcnow()
    session.execute(delete(WebSession).where(WebSession.user_id == user.id, WebSession.expires_at < now))
    sid = secrets.token_urlsafe(32)
    session.add(WebSession(id_hash=_hash(sid), user_id=user.id, created_at=now, expires_at=now + lifetime))
    session.commit()
    return sid


def session_valid(session: Session, sid: object, user_id: str) -> bool:
    if not isinstance(sid, str) or not sid:
        return False
    row = session.get(WebSession, _hash(sid))
    return row is not None and row.user_id == user_id and as_utc(row.expires_at) > utcnow()


def close_session(session: Session, sid: object) -> None:
    if isinstance(sid, str) and sid:
        session.execute(delete(WebSession).where(WebSession.id_hash == _hash(sid)))
        session.commit()


def close_all(session: Session, user_id: str) -> None:
    """End every browser session of the user (the caller commits)."""
    session.execute(delete(WebSession).where(WebSession.user_id == user_id))
