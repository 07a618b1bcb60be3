"""Remediation (governance): tasks for the department owning the affected asset, due by severity; the
department reports the fix with evidence; the task is verified only when no alert of that signature on that
asset occurred for N quiet days after the fix (a recurrence reopens it); overdue tasks are flagged and
escalated. A department sees its own tasks only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select

import audit
from kernel import Conflict, NotFound, Principal, Role, ValidationFailed, authorize, new_id, utcnow
from kernel.db import Session
from secmon.assets import load_resolver
from secmon.correlation import Config, load_config
from secmon.incidents import get_incident
from secmon.models import SecmonAlert, SecmonRemediationTask

STATES = ("open", "fixed", "verified", "reopened", "cancelled")
ESCALATE_EVERY = timedelta(days=1)


def _utc(dt):
    return None if dt is None else (dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt)


def task_dict(t: SecmonRemediationTask) -> dict:
    d = {k: getattr(t, k) for k in ("id", "incident_id", "org_id", "system_id", "asset_ip", "gid", "sid", "signature",
                                    "title", "description", "severity", "state", "created_by", "quiet_days",
                                    "fixed_by", "fix_evidence", "verification_note", "overdue", "escalation_level")}
    for k in ("created_at", "due_at", "fixed_at", "verified_at", "escalated_at"):
        v = _utc(getattr(t, k))
        d[k] = v.isoformat() if v else None
    f = _utc(t.fixed_at)
    d["verify_after"] = (f + timedelta(days=t.quiet_days)).isoformat() if f else None
    return d


def _get(session: Session, task_id: str) -> SecmonRemediationTask:
    t = session.get(SecmonRemediationTask, task_id) if task_id else None
    if t is None:
        raise NotFound(f"no remediation task {task_id!r}")
    return t


def remediation_create(session: Session, principal: Principal, *, incident_id: str, title: str | None = None,
                       description: str | None = None, due_at: datetime | str | None = None,
                       quiet_days: int | None = None, config: Config | None = None) -> dict:
    """A task for the department owning the incident's target system; due by the incident's severity
    (SLA ``remediation_days``) unless given."""
    authorize(principal, "secmon:remediation:manage")
    inc = get_incident(session, incident_id)
    cfg = config or load_config()
    if not inc.org_id or not inc.system_id:
        raise ValidationFailed("the incident's target is not a registered asset: no owning department",
                               errors=[{"field": "incident_id", "message": "target is not an asset"}])
    now = utcnow()
    if due_at in (None, ""):
        due = cfg.remediation_due(inc.severity, now)
    else:
        try:
            due = due_at if isinstance(due_at, datetime) else datetime.fromisoformat(str(due_at).replace("Z", "+00:00"))
        except ValueError:
            raise ValidationFailed("due_at is not an ISO 8601 time", errors=[{"field": "due_at", "message": "ISO 8601"}]) from None
        due = due.replace(tzinfo=UTC) if due.tzinfo is None else due
        if due <= now:
            raise ValidationFailed("due_at is in the past", errors=[{"field": "due_at", "message": "in the future"}])
    q = cfg.quiet_days if quiet_days is None else quiet_days
    if not isinstance(q, int) or not 1 <= q <= 365:
        raise ValidationFailed("quiet_days must be 1..365", errors=[{"field": "quiet_days", "message": "1..365"}])
    resolver = load_resolver(session)
    hit = resolver.lookup(inc.dest_ip)
    asset_ip = inc.dest_ip if hit is not None and hit.system_id == inc.system_id else inc.src_ip
    t = SecmonRemediationTask(
        id=new_id(), incident_id=inc.id, org_id=inc.org_id, system_id=inc.system_id, asset_ip=asset_ip, gid=inc.gid,
        sid=inc.sid, signature=inc.signature, title=(title or f"Remediate: {inc.signature or inc.title}")[:300],
        description=description, severity=inc.severity, state="open", created_by=principal.actor, created_at=now,
        due_at=due, quiet_days=q, overdue=False, escalation_level=0)
    session.add(t)
    session.flush()
    audit.record(session, principal, "secmon:remediation:manage", object_type="secmon_remediation_task", object_id=t.id,
                 state={"state": "open", "org_id": t.org_id, "due_at": due.isoformat()},
                 details={"incident": inc.id, "sid": t.sid},
                 private_details={"asset_ip": asset_ip})  # internal addresses stay out of the public log
    session.commit()
    return task_dict(t)


def remediation_fix(session: Session, principal: Principal, task_id: str, *, evidence: str) -> dict:
    """The owning department reports the fix with its evidence; verification follows after the quiet days."""
    t = _get(session, task_id)
    authorize(principal, "secmon:remediation:fix", t)
    if not isinstance(evidence, str) or not evidence.strip() or len(evidence) > 20000:
        raise ValidationFailed("evidence of the fix is required", errors=[{"field": "evidence",
                                                                          "message": "1-20000 characters"}])
    if t.state not in ("open", "reopened"):
        raise Conflict(f"task is {t.state}: only an open or reopened task can be reported fixed")
    now = utcnow()
    t.state, t.fixed_at, t.fixed_by, t.fix_evidence = "fixed", now, principal.actor, evidence.strip()
    t.verification_note = None
    session.add(t)
    audit.record(session, principal, "secmon:remediation:fix", object_type="secmon_remediation_task", object_id=t.id,
                 state={"state": "fixed", "fixed_at": now.isoformat()}, details={"evidence_length": len(evidence)})
    session.commit()
    return task_dict(t)


def _recurrences(session: Session, t: SecmonRemediationTask, since: datetime) -> tuple[int, datetime | None]:
    q = select(func.count(), func.max(SecmonAlert.ts)).where(
        SecmonAlert.ts > since, or_(SecmonAlert.src_ip == t.asset_ip, SecmonAlert.dest_ip == t.asset_ip))
    if t.sid is not None:
        q = q.where(SecmonAlert.sid == t.sid, SecmonAlert.gid == (t.gid or 1))
    n, last = session.execute(q).one()
    return n, _utc(last) if last is not None and not isinstance(last, str) else last


def remediation_verify(session: Session, principal: Principal, *, now: datetime | None = None) -> dict:
    """For every fixed task: a recurrence of the signature on the asset since the fix reopens it; N quiet
    days without one verify it (scheduler job, also run on demand)."""
    authorize(principal, "secmon:remediation:manage")
    now = now or utcnow()
    verified, reopened = [], []
    for t in session.execute(select(SecmonRemediationTask).where(SecmonRemediationTask.state == "fixed")).scalars():
        fixed = _utc(t.fixed_at)
        n, last = _recurrences(session, t, fixed)
        if n:
            t.state = "reopened"
            t.verification_note = f"recurred: {n} alert(s) of sid {t.sid} on {t.asset_ip} since the fix, last {last}"
            reopened.append(t.id)
        elif now >= fixed + timedelta(days=t.quiet_days):
            t.state, t.verified_at = "verified", now
            t.verification_note = (f"no alert of sid {t.sid} on {t.asset_ip} for {t.quiet_days} day(s) after the fix "
                                   f"({fixed.isoformat()} .. {now.isoformat()})")
            verified.append(t.id)
        else:
            continue
        session.add(t)
        audit.record(session, principal, "secmon:remediation:manage", object_type="secmon_remediation_task",
                     object_id=t.id, state={"state": t.state}, details={"op": "verify", "note": t.verification_note})
    session.commit()
    return {"verified": verified, "reopened": reopened}


def remediation_escalate(session: Session, principal: Principal, *, now: datetime | None = None) -> dict:
    """Flag open/reopened tasks past their due date as overdue and escalate them (again every day)."""
    authorize(principal, "secmon:remediation:manage")
    now = now or utcnow()
    escalated = []
    for t in session.execute(select(SecmonRemediationTask).where(
            SecmonRemediationTask.state.in_(("open", "reopened")), SecmonRemediationTask.due_at < now)).scalars():
        last = _utc(t.escalated_at)
        if t.overdue and last is not None and now - last < ESCALATE_EVERY:
            continue
        t.overdue = True
        t.escalation_level += 1
        t.escalated_at = now
        session.add(t)
        escalated.append(t.id)
        audit.record(session, principal, "secmon:remediation:manage", object_type="secmon_remediation_task",
                     object_id=t.id, state={"overdue": True, "escalation_level": t.escalation_level},
                     details={"op": "escalate", "due_at": _utc(t.due_at).isoformat(), "org_id": t.org_id})
    session.commit()
    return {"escalated": escalated}


def remediation_list(session: Session, principal: Principal, *, state: str | None = None,
                     overdue: bool | None = None, limit: int = 100, offset: int = 0) -> list[dict]:
    """Tasks; a department sees its own organisation's only."""
    authorize(principal, "secmon:remediation:read")
    q = select(SecmonRemediationTask).order_by(SecmonRemediationTask.due_at, SecmonRemediationTask.id)
    if state:
        if state not in STATES:
            raise ValidationFailed(f"unknown state {state!r}", errors=[{"field": "state", "message": "|".join(STATES)}])
        q = q.where(SecmonRemediationTask.state == state)
    if overdue is not None:
        q = q.where(SecmonRemediationTask.overdue.is_(bool(overdue)))
    if not (principal.is_system or principal.has_role(Role.SECURITY_ANALYST, Role.COMMISSION_ADMIN)):
        q = q.where(SecmonRemediationTask.org_id == (principal.org_id or ""))
    return [task_dict(t) for t in session.execute(q.limit(max(1, min(limit, 500))).offset(max(0, offset))).scalars()]


def remediation_get(session: Session, principal: Principal, task_id: str) -> dict:
    t = _get(session, task_id)
    authorize(principal, "secmon:remediation:read", t)
    return task_dict(t)
