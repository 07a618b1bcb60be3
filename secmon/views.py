"""Read-only views for the analysts' pages: alert search (by address, signature id, text, time) and the
difference between two stored rule-set versions (from their stored rules, same rules as ``ruleset_diff``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select

from kernel.clock import isoformat
from kernel.db import Session
from kernel.errors import NotFound, ValidationFailed
from kernel.permissions import authorize
from kernel.principal import Principal
from secmon.models import SecmonAlert, SecmonRule, SecmonRulesetVersion, SecmonSensor
from secmon.ruleset_diff import diff_rulemaps

MAX_PAGE = 500


def alerts_search(session: Session, principal: Principal, *, ip: str | None = None, sid: int | None = None,
                  text: str | None = None, since=None, until=None, limit: int = 50,
                  offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Alerts matching every given criterion (``ip`` as source or destination), newest first."""
    from secmon.services import parse_time

    authorize(principal, "secmon:events:read")
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed("limit out of range", errors=[{"field": "limit", "message": f"1..{MAX_PAGE}"}])
    if ip is not None and len(ip) > 64:
        raise ValidationFailed("not an address", errors=[{"field": "ip", "message": "at most 64 characters"}])
    a = SecmonAlert
    q = select(a, SecmonSensor.name).join(SecmonSensor, SecmonSensor.id == a.sensor_id, isouter=True)
    if ip:
        q = q.where(or_(a.src_ip == ip, a.dest_ip == ip))
    if sid is not None:
        q = q.where(a.sid == sid)
    if text:
        q = q.where(a.signature.contains(text, autoescape=True))  # type: ignore[union-attr]
    since_t, until_t = parse_time(since, "since"), parse_time(until, "until")
    if since_t:
        q = q.where(a.ts >= since_t)
    if until_t:
        q = q.where(a.ts < until_t)
    total = session.execute(select(func.count()).select_from(q.subquery())).scalar_one()
    rows = session.execute(q.order_by(a.ts.desc(), a.source_id, a.line_offset).offset(max(0, offset)).limit(limit))
    out = [{"ts": isoformat(r.ts) if r.ts else None, "sensor": name, "src_ip": r.src_ip, "dest_ip": r.dest_ip,
            "gid": r.gid, "sid": r.sid, "rev": r.rev, "signature": r.signature, "category": r.category,
            "severity": r.severity, "action": r.action} for r, name in rows]
    return out, int(total)


@dataclass(frozen=True)
class _StoredRule:
    rule_id: str
    rev: int | None
    enabled: bool
    msg: str | None
    raw: str


def _rulemap(session: Session, version_id: str) -> dict[tuple[int, int], _StoredRule]:
    rows = session.execute(select(SecmonRule).where(SecmonRule.version_id == version_id)).scalars()
    return {(r.gid, r.sid): _StoredRule(f"{r.gid}:{r.sid}", r.rev, r.effective, r.msg, r.raw) for r in rows}


def version_diff(session: Session, principal: Principal, old_id: str, new_id: str) -> dict[str, Any]:
    authorize(principal, "secmon:ruleset:read")
    for vid in (old_id, new_id):
        if session.get(SecmonRulesetVersion, vid) is None:
            raise NotFound(f"no rule-set version {vid!r}")
    return diff_rulemaps(_rulemap(session, old_id), _rulemap(session, new_id))
