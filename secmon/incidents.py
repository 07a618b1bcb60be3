"""Incidents (strike): incremental, deterministic correlation of alerts into incidents with evidence; the
lifecycle new → triaged → contained → resolved → closed (plus false_positive) with SLA and breach flags,
assignment and comments. Every change is audited in the same transaction."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from sqlalchemy import and_, func, or_, select

import audit
from kernel import Conflict, NotFound, Principal, Role, ValidationFailed, authorize, new_id, utcnow
from kernel.db import Session
from secmon.assets import load_resolver
from secmon.correlation import LEVEL_ORDER, Config, load_config, render_title
from secmon.models import (LEVELS, SecmonAlert, SecmonEvent, SecmonIncident, SecmonIncidentComment,
                           SecmonIncidentEvent, SecmonIncidentTransition, SecmonSensor, SecmonSystem)
from secmon.netaddr import addr_int

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
MAX_EVIDENCE = 500  # related events linked per incident and pass


def _utc(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def incident_id(rule_id: str, group_key: str, first_seen: datetime) -> str:
    """Deterministic: the same alerts in the same order give the same incident ids on any database."""
    return hashlib.sha256(f"{rule_id}\0{group_key}\0{first_seen.isoformat()}".encode()).hexdigest()[:32]


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


class _Group:
    __slots__ = ("inc", "alerts", "new", "dirty")

    def __init__(self, inc: SecmonIncident | None, new: bool):
        self.inc = inc
        self.alerts: list[tuple] = []
        self.new = new
        self.dirty = False


def incidents_correlate(session: Session, principal: Principal, *, config: Config | None = None,
                        batch: int = 50000) -> dict:
    """Correlate every alert not yet part of an incident (incremental: a pass after each ingestion extends the
    open incidents; re-running changes nothing). Alerts are taken in (time, source, offset) order; an alert
    joins the open incident of its rule and group key when within the rule's maximum gap and window, else
    starts a new one (id = hash of rule, key and first time: deterministic). Evidence: the alert, and the
    events of the same flow_id (same sensor) and community_id."""
    authorize(principal, "secmon:incident:manage")
    cfg = config or load_config()
    now = utcnow()
    resolver = load_resolver(session)
    cache: dict[str, object] = {}

    def asset_of(ip):
        try:
            return cache[ip]
        except KeyError:
            hit = cache[ip] = resolver.lookup_int(addr_int(ip)) if ip else None
            return hit

    sensors = dict(session.execute(select(SecmonSensor.id, SecmonSensor.name)).all())
    systems = {s.id: s for s in session.execute(select(SecmonSystem)).scalars()}
    open_groups: dict[tuple[str, str], _Group] = {}
    for inc in session.execute(select(SecmonIncident).where(SecmonIncident.state.in_(OPEN_STATES))
                               .order_by(SecmonIncident.last_seen)).scalars():
        open_groups[(inc.rule_id, _key_tuple(inc.group_key))] = _Group(inc, False)
    linked = select(SecmonIncidentEvent.incident_id).where(
        SecmonIncidentEvent.source_id == SecmonAlert.source_id,
        SecmonIncidentEvent.line_offset == SecmonAlert.line_offset, SecmonIncidentEvent.link == "alert").exists()
    q = (select(SecmonAlert.source_id, SecmonAlert.line_offset, SecmonAlert.ts, SecmonAlert.src_ip,
                SecmonAlert.dest_ip, SecmonAlert.signature, SecmonAlert.gid, SecmonAlert.sid, SecmonAlert.category,
                SecmonAlert.severity, SecmonAlert.sensor_id)
         .where(SecmonAlert.ts.is_not(None), ~linked)
         .order_by(SecmonAlert.ts, SecmonAlert.source_id, SecmonAlert.line_offset))
    rules = cfg.rules
    finished: list[_Group] = []
    scanned = matched = 0
    result = session.connection().execute(q.execution_options(stream_results=True))  # this statement only
    for part in result.partitions(batch):
        for row in part:
            scanned += 1
            src_off, line_off, ts, src_ip, dest_ip, sig, gid, sid, cat, sev, sensor_id = row
            ts = _utc(ts)
            dst_asset = asset_of(dest_ip)
            src_asset = asset_of(src_ip)
            target = dst_asset or src_asset
            target_ip = dest_ip if dst_asset is not None or src_asset is None else src_ip
            for rule in rules:
                if not rule.matches(sev, cat, sid, sig, target is not None):
                    continue
                matched += 1
                values = {"src_ip": src_ip, "dest_ip": dest_ip, "target_ip": target_ip, "signature": sig, "sid": sid,
                          "category": cat, "sensor": sensors.get(sensor_id),
                          "target_system": target.system_id if target is not None else f"ip:{target_ip}"}
                key = tuple([values[k] for k in rule.group_by])
                g = open_groups.get((rule.id, key))
                if g is not None:
                    inc = g.inc
                    last = g.alerts[-1][2] if g.alerts else _utc(inc.last_seen)
                    first = _utc(inc.first_seen) if inc is not None else g.alerts[0][2]
                    if ts - last > rule.gap or ts - first > rule.window:
                        if g.inc is not None or len(g.alerts) >= rule.min_alerts:
                            finished.append(g)
                        g = None
                if g is None:
                    g = open_groups[(rule.id, key)] = _Group(None, True)
                g.alerts.append((src_off, line_off, ts, rule, key, values, target, sev, src_ip, dest_ip, sig, gid, sid,
                                 cat))
                break
    finished.extend(g for g in open_groups.values() if g.alerts and (g.inc is not None or len(g.alerts) >= g.alerts[0][3].min_alerts))
    # new incidents are built as rows and inserted in bulk; open incidents that grew are updated in place
    cands: dict[str, tuple[_Group, dict]] = {}
    extended = 0
    links: list[dict] = []
    alert_of: list[tuple[str, int, int]] = []
    groups: list[tuple[_Group, object]] = []
    for g in finished:
        if not g.alerts:
            continue
        if g.inc is None:
            a0 = g.alerts[0]
            _s, _o, ts0, rule, key, values, target, *_rest = a0
            key = _key_json(key)
            if len(g.alerts) < rule.min_alerts:
                continue
            system = systems.get(target.system_id) if target is not None else None
            iid = incident_id(rule.id, key, ts0)
            row = {"id": iid, "rule_id": rule.id, "group_key": key, "state": "new", "severity": "low", "score": 0,
                   "alert_severity": None, "src_ip": a0[8], "dest_ip": a0[9], "gid": a0[11], "sid": a0[12],
                   "signature": a0[10], "category": a0[13],
                   "system_id": target.system_id if target is not None else None,
                   "org_id": target.org_id if target is not None else None,
                   "mlps_level": target.mlps_level if target is not None else None,
                   "criticality": target.criticality if target is not None else None, "first_seen": ts0,
                   "last_seen": ts0, "alert_count": 0, "assignee": None, "created_at": now, "updated_at": now,
                   "triage_breached": False, "contain_breached": False,
                   "title": render_title(rule.title, values | {"system": system.name if system else values["target_ip"]})}
            for k in ("triaged_at", "contained_at", "resolved_at", "closed_at", "false_positive_at", "notified_at"):
                row[k] = None
            cands[iid] = (g, row)
        else:
            groups.append((g, g.inc))
    ids = list(cands)
    known: set[str] = set()
    for j in range(0, len(ids), 500):
        known.update(session.execute(select(SecmonIncident.id).where(SecmonIncident.id.in_(ids[j:j + 500]))).scalars())
    new_rows = []
    for iid, (g, row) in cands.items():
        if iid in known:  # already stored (its alerts were unlinked since): extend it
            groups.append((g, session.get(SecmonIncident, iid)))
        else:
            groups.append((g, row))
            new_rows.append(row)
    for g, inc in groups:
        is_row = isinstance(inc, dict)
        get = inc.get if is_row else (lambda k, _i=inc: getattr(_i, k))
        iid = get("id")
        count, last, sev = get("alert_count"), _utc(get("last_seen")), get("alert_severity")
        for a in g.alerts:
            count += 1
            if a[2] > last:
                last = a[2]
            if a[7] is not None and (sev is None or a[7] < sev):
                sev = a[7]
            links.append({"incident_id": iid, "source_id": a[0], "line_offset": a[1], "event_type": "alert",
                          "link": "alert", "ts": a[2]})
            alert_of.append((iid, a[0], a[1]))
        score = cfg.score(sev, get("criticality"), get("mlps_level"))
        level = cfg.level(score)
        upd = {"alert_count": count, "last_seen": last, "alert_severity": sev, "updated_at": now}
        if not get("score") or score > get("score") or LEVEL_ORDER[level] > LEVEL_ORDER.get(get("severity"), 0):
            upd["score"], upd["severity"] = score, level
            upd["triage_due"], upd["contain_due"] = cfg.due(level, _utc(get("created_at")))
        if is_row:
            inc.update(upd)
        else:
            extended += 1
            for k, v in upd.items():
                setattr(inc, k, v)
            session.add(inc)
    if new_rows:
        session.execute(SecmonIncident.__table__.insert(), new_rows)
        session.execute(SecmonIncidentTransition.__table__.insert(), [
            {"id": new_id(), "incident_id": r["id"], "from_state": None, "to_state": "new", "actor": principal.actor,
             "note": "correlated", "at": now} for r in new_rows])
    session.flush()
    if links:
        _insert_links(session, links)
        links_added = _link_evidence(session, alert_of)
    else:
        links_added = 0
    if new_rows or extended:  # one audit event per pass, naming every incident it created or extended
        audit.record(session, principal, "secmon:incident:create", object_type="secmon_incident",
                     object_id=new_rows[0]["id"] if new_rows else groups[0][1].id,
                     state={"created": len(new_rows), "extended": extended, "alerts_linked": len(links)},
                     details={"created": [{"id": r["id"], "severity": r["severity"], "alerts": r["alert_count"]}
                                          for r in new_rows[:5000]],
                              "extended": [inc.id for _g, inc in groups if not isinstance(inc, dict)][:5000]})
    session.commit()
    alarm = list(session.execute(select(SecmonIncident.id).where(
        SecmonIncident.notified_at.is_(None), SecmonIncident.severity.in_(sorted(cfg.notify_levels)),
        SecmonIncident.state.in_(OPEN_STATES)).order_by(SecmonIncident.id)).scalars())
    return {"alerts_scanned": scanned, "alerts_matched": matched, "incidents_created": len(new_rows),
            "incidents_extended": extended, "alerts_linked": len(links), "evidence_linked": links_added,
            "to_notify": alarm}


def _key_json(key: tuple) -> str:
    return json.dumps(list(key), ensure_ascii=False, separators=(",", ":"))[:500]


def _key_tuple(group_key: str) -> tuple:
    try:
        return tuple(json.loads(group_key))
    except ValueError:
        return (group_key,)


def _insert_links(session: Session, links: list[dict]) -> None:
    """Evidence rows through the DBAPI (bound parameters; the time in the dialect's storage form)."""
    from kernel.db import dialect_name

    sqlite = dialect_name(session) == "sqlite"
    ph = "?" if sqlite else "%s"
    cols = ("incident_id", "source_id", "line_offset", "event_type", "link", "ts")
    sql = f"INSERT INTO secmon_incident_event ({', '.join(cols)}) VALUES ({', '.join([ph] * len(cols))})"

    def ts(v):
        if v is None or not sqlite:
            return v
        return v.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

    rows = [(r["incident_id"], r["source_id"], r["line_offset"], r["event_type"], r["link"], ts(r["ts"]))
            for r in links]
    session.connection().exec_driver_sql(sql, rows)


def _link_evidence(session: Session, alert_of: list[tuple[str, int, int]]) -> int:
    """Link the non-alert events of the alerts' flows (flow_id on the same sensor) and community ids."""
    by_key: dict[tuple[int, int], str] = {(s, o): inc for inc, s, o in alert_of}
    rows: list[dict] = []
    seen: set[tuple[str, int, int]] = set()
    per_inc: dict[str, int] = {}
    by_source: dict[int, list[int]] = {}
    for s_, o_ in by_key:
        by_source.setdefault(s_, []).append(o_)
    chunks = [(s_, offs[i:i + 900]) for s_, offs in sorted(by_source.items()) for i in range(0, len(offs), 900)]
    for src_id, offs in chunks:
        flows = session.execute(select(SecmonEvent.source_id, SecmonEvent.line_offset, SecmonEvent.flow_id,
                                       SecmonEvent.sensor_id, SecmonEvent.community_id).where(
            SecmonEvent.source_id == src_id, SecmonEvent.line_offset.in_(offs))).all()
        want_flow: dict[tuple[str, int], list[str]] = {}
        want_cid: dict[str, list[str]] = {}
        for s, o, flow, sensor, cid in flows:
            inc = by_key[(s, o)]
            if flow is not None:
                want_flow.setdefault((sensor, flow), []).append(inc)
            if cid:
                want_cid.setdefault(cid, []).append(inc)
        for link, col, wanted in (("flow_id", SecmonEvent.flow_id, want_flow), ("community_id", SecmonEvent.community_id,
                                                                                 want_cid)):
            if not wanted:
                continue
            values = list({k[1] if link == "flow_id" else k for k in wanted})
            for j in range(0, len(values), 500):
                q = select(SecmonEvent.source_id, SecmonEvent.line_offset, SecmonEvent.event_type, SecmonEvent.ts,
                           SecmonEvent.sensor_id, col).where(col.in_(values[j:j + 500]),
                                                             SecmonEvent.event_type != "alert")
                for s, o, et, ts, sensor, v in session.execute(q):
                    incs = wanted.get((sensor, v)) if link == "flow_id" else wanted.get(v)
                    for inc in set(incs or ()):
                        k = (inc, s, o)
                        if k in seen or per_inc.get(inc, 0) >= MAX_EVIDENCE:
                            continue
                        seen.add(k)
                        per_inc[inc] = per_inc.get(inc, 0) + 1
                        rows.append({"incident_id": inc, "source_id": s, "line_offset": o, "event_type": et,
                                     "link": link, "ts": ts})
    if rows:
        existing = set()
        incs = sorted({r["incident_id"] for r in rows})
        for j in range(0, len(incs), 500):
            existing.update(session.execute(select(SecmonIncidentEvent.incident_id, SecmonIncidentEvent.source_id,
                                                   SecmonIncidentEvent.line_offset).where(
                SecmonIncidentEvent.incident_id.in_(incs[j:j + 500]))).all())
        rows = [r for r in rows if (r["incident_id"], r["source_id"], r["line_offset"]) not in existing]
        if rows:
            _insert_links(session, [r | {"ts": _utc(r["ts"])} for r in rows])
    return len(rows)


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
