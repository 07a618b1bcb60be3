"""Incidents (strike): incremental, deterministic correlation of alerts into incidents with evidence; the
lifecycle new → triaged → contained → resolved → closed (plus false_positive) with SLA and breach flags,
assignment and comments. Every change is audited in the same transaction."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import and_, func, or_, select

import audit
from kernel import (
    Conflict,
    NotFound,
    Principal,
    Role,
    ValidationFailed,
    authorize,
    new_id,
    utcnow,
)
from kernel.db import Session
from secmon.correlation import Config
from secmon.models import (
    LEVELS,
    SecmonEvent,
    SecmonIncident,
    SecmonIncidentComment,
    SecmonIncidentEvent,
    SecmonIncidentTransition,
)

STATES = ("new", "triaged", "contained", "resolved", "closed", "false_positive")
TRANSITIONS = {
    "new": {"triaged", "false_positive"},
    "triaged": {"contained", "resolved", "false_positive"},
    "contained": {"resolved"},
    "resolved": {"closed", "triaged"},
    "false_positive": {"triaged", "closed"},
    "closed": set(),
}
OPEN_STATES = ("new", "triaged", "contained")
_STAMP = {"triaged": "triaged_at", "contained": "contained_at", "resolved": "resolved_at", "closed": "closed_at",
          "false_positive": "false_positive_at"}


def _utc(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def incident_dict(i: SecmonIncident, now: datetime | None = None) -> dict:
    d = {k: getattr(i, k) for k in (
        "id", "rule_id", "title", "state", "severity", "score", "alert_severity", "src_ip", "dest_ip", "gid", "sid",
        "signature", "category", "system_id", "org_id", "mlps_level", "criticality", "alert_count", "assignee",
        "triage_breached", "contain_breached")}
    d["group_key"] = json.loads(i.group_key)
    for k in ("first_seen", "last_seen", "created_at", "updated_at", "triaged_at", "contained_at", "resolved_at",
              "closed_at", "false_positive_at", "triage_due", "contain_due", "notified_at"):
        v = _utc(getattr(i, k))
        d[k] = v.isoformat() if v else None
    if now is not None:
        tb, cb = _breaches(i, now)
        d["triage_breached"], d["contain_breached"] = tb, cb
    return d


def _breaches(i: SecmonIncident, now: datetime) -> tuple[bool, bool]:
    """(triage breached, contain breached): the state was reached late, or is still not reached past due."""
    tri_at = _utc(i.triaged_at or i.false_positive_at)
    con_at = _utc(i.contained_at or i.resolved_at or i.false_positive_at)
    tdue, cdue = _utc(i.triage_due), _utc(i.contain_due)
    tb = bool(tdue and ((tri_at or now) > tdue))
    cb = bool(cdue and ((con_at or now) > cdue))
    return tb or i.triage_breached, cb or i.contain_breached


# ------------------------------------------------------------------------------------------ correlation


def incidents_correlate(session: Session, principal: Principal, *, config: Config | None = None,
                        batch: int = 50000) -> dict:
    """Correlate every alert not yet part of an incident (incremental: a pass after each ingestion extends the
    open incidents; re-running changes nothing). Alerts are taken in (time, source, offset) order; an alert
    joins the open incident of its rule and group key when within the rule's maximum gap and window, else
    starts a new one (id = hash of rule, key and first time: deterministic). Evidence: the alert, and the
    events of the same flow_id (same sensor) and community_id. The pass itself: :mod:`secmon.incident_correlate`."""
    from secmon.incident_correlate import correlate

    return correlate(session, principal, config=config, batch=batch)


# ------------------------------------------------------------------------------------------ reading


def _is_global(principal: Principal) -> bool:
    return principal.is_system or principal.has_role(Role.SECURITY_ANALYST, Role.COMMISSION_ADMIN)


def get_incident(session: Session, incident_id_: str) -> SecmonIncident:
    inc = session.get(SecmonIncident, incident_id_) if incident_id_ else None
    if inc is None:
        raise NotFound(f"no incident {incident_id_!r}")
    return inc


def incident_list(session: Session, principal: Principal, *, state: str | None = None, severity: str | None = None,
                  limit: int = 50, offset: int = 0) -> dict:
    """Incidents, newest activity first; a department sees those on its own systems only."""
    authorize(principal, "secmon:incident:read")
    q = select(SecmonIncident)
    if state:
        if state not in STATES and state != "open":
            raise ValidationFailed(f"unknown state {state!r}", errors=[{"field": "state", "message": "|".join(STATES)}])
        q = q.where(SecmonIncident.state.in_(OPEN_STATES) if state == "open" else SecmonIncident.state == state)
    if severity:
        if severity not in LEVELS:
            raise ValidationFailed(f"unknown severity {severity!r}",
                                   errors=[{"field": "severity", "message": "|".join(LEVELS)}])
        q = q.where(SecmonIncident.severity == severity)
    if not _is_global(principal):
        q = q.where(SecmonIncident.org_id == (principal.org_id or ""))
    total = session.execute(select(func.count()).select_from(q.subquery())).scalar_one()
    limit, offset = max(1, min(int(limit), 500)), max(0, int(offset))
    rows = session.execute(q.order_by(SecmonIncident.last_seen.desc(), SecmonIncident.id).limit(limit)
                           .offset(offset)).scalars()
    now = utcnow()
    return {"total": total, "limit": limit, "offset": offset, "items": [incident_dict(i, now) for i in rows]}


def incident_get(session: Session, principal: Principal, incident_id_: str, *, evidence_limit: int = 200) -> dict:
    inc = get_incident(session, incident_id_)
    authorize(principal, "secmon:incident:read", inc)
    d = incident_dict(inc, utcnow())
    ev = session.execute(select(SecmonIncidentEvent.source_id, SecmonIncidentEvent.line_offset,
                                SecmonIncidentEvent.event_type, SecmonIncidentEvent.link, SecmonIncidentEvent.ts,
                                SecmonEvent.raw)
                         .join(SecmonEvent, and_(SecmonEvent.source_id == SecmonIncidentEvent.source_id,
                                                 SecmonEvent.line_offset == SecmonIncidentEvent.line_offset))
                         .where(SecmonIncidentEvent.incident_id == inc.id)
                         .order_by(SecmonIncidentEvent.ts, SecmonIncidentEvent.source_id,
                                   SecmonIncidentEvent.line_offset).limit(max(1, min(evidence_limit, 5000)))).all()
    d["evidence"] = [{"event": f"{s}:{o}", "event_type": et, "link": link,
                      "ts": _utc(ts).isoformat() if ts else None, "raw": raw[:4000]} for s, o, et, link, ts, raw in ev]
    d["evidence_total"] = session.execute(select(func.count()).where(
        SecmonIncidentEvent.incident_id == inc.id)).scalar_one()
    d["comments"] = [{"id": c.id, "author": c.author, "body": c.body, "created_at": _utc(c.created_at).isoformat()}
                     for c in session.execute(select(SecmonIncidentComment).where(
                         SecmonIncidentComment.incident_id == inc.id).order_by(SecmonIncidentComment.created_at))
                     .scalars()]
    d["transitions"] = [{"from": t.from_state, "to": t.to_state, "actor": t.actor, "note": t.note,
                         "at": _utc(t.at).isoformat()}
                        for t in session.execute(select(SecmonIncidentTransition).where(
                            SecmonIncidentTransition.incident_id == inc.id).order_by(SecmonIncidentTransition.at))
                        .scalars()]
    return d


# ------------------------------------------------------------------------------------------ lifecycle


def incident_transition(session: Session, principal: Principal, incident_id_: str, to_state: str, *,
                        note: str | None = None, now: datetime | None = None) -> dict:
    inc = get_incident(session, incident_id_)
    authorize(principal, "secmon:incident:manage", inc)
    if to_state not in STATES:
        raise ValidationFailed(f"unknown state {to_state!r}", errors=[{"field": "state", "message": "|".join(STATES)}])
    if to_state not in TRANSITIONS[inc.state]:
        raise Conflict(f"incident is {inc.state}: cannot go to {to_state} "
                       f"(allowed: {', '.join(sorted(TRANSITIONS[inc.state])) or 'none'})")
    now = now or utcnow()
    frm = inc.state
    inc.state = to_state
    if to_state in _STAMP:
        setattr(inc, _STAMP[to_state], now)
    if to_state == "triaged" and frm in ("resolved", "false_positive"):  # reopened
        inc.resolved_at = inc.closed_at = inc.false_positive_at = None
    inc.triage_breached, inc.contain_breached = _breaches(inc, now)
    inc.updated_at = now
    session.add(inc)
    session.add(SecmonIncidentTransition(id=new_id(), incident_id=inc.id, from_state=frm, to_state=to_state,
                                         actor=principal.actor, note=(note or None) and note[:4000], at=now))
    audit.record(session, principal, "secmon:incident:manage", object_type="secmon_incident", object_id=inc.id,
                 state={"state": to_state, "severity": inc.severity, "triage_breached": inc.triage_breached,
                        "contain_breached": inc.contain_breached},
                 details={"from": frm, "note": note})
    session.commit()
    return incident_dict(inc, now)


def incident_assign(session: Session, principal: Principal, incident_id_: str, assignee: str | None) -> dict:
    inc = get_incident(session, incident_id_)
    authorize(principal, "secmon:incident:manage", inc)
    if assignee is not None and (not assignee.strip() or len(assignee) > 200):
        raise ValidationFailed("invalid assignee", errors=[{"field": "assignee", "message": "1-200 characters"}])
    inc.assignee = assignee.strip() if assignee else None
    inc.updated_at = utcnow()
    session.add(inc)
    audit.record(session, principal, "secmon:incident:manage", object_type="secmon_incident", object_id=inc.id,
                 state={"assignee": inc.assignee}, details={"op": "assign"})
    session.commit()
    return incident_dict(inc)


def incident_comment(session: Session, principal: Principal, incident_id_: str, body: str) -> dict:
    inc = get_incident(session, incident_id_)
    authorize(principal, "secmon:incident:manage", inc)
    if not isinstance(body, str) or not body.strip() or len(body) > 20000:
        raise ValidationFailed("empty or oversized comment", errors=[{"field": "body", "message": "1-20000 characters"}])
    c = SecmonIncidentComment(id=new_id(), incident_id=inc.id, author=principal.actor, body=body.strip(),
                              created_at=utcnow())
    session.add(c)
    audit.record(session, principal, "secmon:incident:manage", object_type="secmon_incident", object_id=inc.id,
                 state={"comment": c.id}, details={"op": "comment", "length": len(c.body)})
    session.commit()
    return {"id": c.id, "author": c.author, "body": c.body, "created_at": c.created_at.isoformat()}


def incidents_sla_check(session: Session, principal: Principal, *, now: datetime | None = None) -> dict:
    """Set the breach flags of incidents whose triage/contain deadline passed (scheduler job); audited."""
    authorize(principal, "secmon:incident:manage")
    now = now or utcnow()
    flagged = []
    for inc in session.execute(select(SecmonIncident).where(
            SecmonIncident.state.in_(OPEN_STATES + ("resolved",)),
            or_(SecmonIncident.triage_breached.is_(False), SecmonIncident.contain_breached.is_(False)))).scalars():
        tb, cb = _breaches(inc, now)
        if (tb, cb) != (inc.triage_breached, inc.contain_breached):
            inc.triage_breached, inc.contain_breached = tb, cb
            session.add(inc)
            flagged.append(inc.id)
            audit.record(session, principal, "secmon:incident:manage", object_type="secmon_incident",
                         object_id=inc.id, state={"triage_breached": tb, "contain_breached": cb},
                         details={"op": "sla_check"})
    session.commit()
    return {"flagged": flagged}
