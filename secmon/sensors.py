"""Sensors: registration (push tokens, only their digest is stored) and the principal of a pushing sensor."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select

import audit
from kernel import Principal, ValidationFailed, authorize, new_id, utcnow
from kernel.db import Session
from kernel.errors import NotAuthenticated
from secmon.models import SecmonSensor

def get_sensor(session: Session, name: str) -> SecmonSensor | None:
    return session.execute(select(SecmonSensor).where(SecmonSensor.name == name)).scalars().first()


def _validate_sensor_name(name: str) -> None:
    if not name or len(name) > 100 or not all(c.isalnum() or c in "-_." for c in name):
        raise ValidationFailed("invalid sensor name", errors=[{"field": "sensor",
                                                               "message": "1-100 characters of letters, digits, - _ ."}])


def _ensure_sensor(session: Session, name: str) -> SecmonSensor:
    _validate_sensor_name(name)
    s = get_sensor(session, name)
    if s is None:
        s = SecmonSensor(id=new_id(), name=name, created_at=utcnow())
        session.add(s)
        session.flush()
    return s


def sensor_register(session: Session, principal: Principal, name: str) -> dict:
    """Create (or re-key) a sensor and return its push token (shown once; only its digest is stored)."""
    authorize(principal, "secmon:sensor:manage", name)
    s = _ensure_sensor(session, name)
    token = "sm_" + secrets.token_urlsafe(32)
    s.token_hash = hashlib.sha256(token.encode()).hexdigest()
    session.add(s)
    audit.record(session, principal, "secmon:sensor:manage", object_type="secmon_sensor", object_id=s.id,
                 state={"name": s.name, "token": "rotated"}, details={"sensor": s.name})
    session.commit()
    return {"sensor": s.name, "id": s.id, "token": token}


def sensor_principal(session: Session, name: str, token: str | None) -> Principal:
    """The principal of a sensor pushing EVE with its token; a token of another sensor is refused."""
    s = get_sensor(session, name)
    if s is None or not s.token_hash or not token:
        raise NotAuthenticated("unknown sensor or missing token")
    if not secrets.compare_digest(s.token_hash, hashlib.sha256(token.encode()).hexdigest()):
        raise NotAuthenticated("token does not belong to this sensor")
    return Principal(kind="token", id=s.id, name=f"sensor:{s.name}", roles=frozenset(),
                     scopes=frozenset({"secmon:eve:push"}), token_id=s.id)
