"""The correlation pass (strike): every alert not yet part of an incident, in (time, source, offset) order, joins
the open incident of its rule and group key or starts a new one; the alerts' flows and community ids are linked
as evidence. Incremental (a pass after each ingestion extends the open incidents) and deterministic (incident id
= hash of rule, key and first time; re-running changes nothing).

Built for throughput: the alerts are read through the DBAPI with the time in its stored form (no per-row ORM
objects or type processing; SQLite's text time is parsed by the C ``fromisoformat``), rule matching is memoised
per (severity, category, sid, signature, has-asset), asset resolution per address (one ``bisect`` over the
flattened prefix intervals), group keys are ``itemgetter`` tuples, and everything is written in bulk: incidents,
transitions and alert links with ``executemany``, flow/community evidence with one ``INSERT … SELECT``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from operator import itemgetter

from sqlalchemy import bindparam, or_, select, update

import audit
from kernel import Principal, authorize, new_id, utcnow
from kernel.db import Session, dialect_name
from secmon.assets import load_resolver
from secmon.correlation import LEVEL_ORDER, Config, load_config, render_title
from secmon.models import (
    SecmonIncident,
    SecmonSensor,
    SecmonSource,
    SecmonSystem,
)
from secmon.netaddr import addr_int

MAX_EVIDENCE = 500  # related events linked per incident and pass
OPEN_STATES = ("new", "triaged", "contained")
# the alert's values a rule may group by, in the order of the per-alert tuple
FIELDS = ("src_ip", "dest_ip", "target_ip", "signature", "sid", "category", "sensor", "target_system")
_MISSING = object()


def _utc(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def incident_id(rule_id: str, group_key: str, first_seen: datetime) -> str:
    """Deterministic: the same alerts in the same order give the same incident ids on any database."""
    import hashlib

    first_seen = _utc(first_seen).astimezone(UTC)
    return hashlib.sha256(f"{rule_id}\0{group_key}\0{first_seen.isoformat()}".encode()).hexdigest()[:32]


def key_json(key: tuple) -> str:
    return json.dumps(list(key), ensure_ascii=False, separators=(",", ":"))[:500]


def key_tuple(group_key: str) -> tuple:
    try:
        return tuple(json.loads(group_key))
    except ValueError:
        return (group_key,)


class _Group:
    __slots__ = ("alerts", "first", "head", "inc", "key", "last", "rule", "sev")

    def __init__(self, inc, rule, key, first, last, sev, head):
        self.inc = inc  # the stored incident this group extends (None: a new one)
        self.rule = rule
        self.key = key
        self.first = first
        self.last = last
        self.sev = sev  # the most severe (lowest) Suricata severity seen
        self.head = head  # the first alert of a new group: (vals, target, gid)
        self.alerts: list[tuple] = []  # (source_id, line_offset, stored time)


def _getter(rule):
    idx = [FIELDS.index(f) for f in rule.group_by]
    if len(idx) == 1:
        i = idx[0]
        return lambda v: (v[i],)
    return itemgetter(*idx)


def correlate(session: Session, principal: Principal, *, config: Config | None = None, batch: int = 50000) -> dict:
    authorize(principal, "secmon:incident:manage")
    cfg = config or load_config()
    now = utcnow()
    sqlite = dialect_name(session) == "sqlite"
    if sqlite:  # the stored text is naive UTC; the loop compares naive datetimes
        parse = datetime.fromisoformat

        def loop_time(dt):
            return _utc(dt).astimezone(UTC).replace(tzinfo=None)
    else:
        parse = None

        def loop_time(dt):
            return _utc(dt)

    resolver = load_resolver(session)
    lookup = resolver.lookup_int
    asset_cache: dict = {None: None, "": None}
    sensors = dict(session.execute(select(SecmonSensor.id, SecmonSensor.name)).all())
    systems = {s.id: s for s in session.execute(select(SecmonSystem)).scalars()}
    rules = cfg.rules
    getters = {r.id: _getter(r) for r in rules}
    open_groups: dict[tuple, _Group] = {}
    by_rule = {r.id: r for r in rules}
    for inc in session.execute(select(SecmonIncident).where(SecmonIncident.state.in_(OPEN_STATES))
                               .order_by(SecmonIncident.last_seen)).scalars():
        rule = by_rule.get(inc.rule_id)
        if rule is None:  # a rule no longer configured: its incidents are not extended
            continue
        open_groups[(inc.rule_id, key_tuple(inc.group_key))] = _Group(
            inc, rule, None, loop_time(inc.first_seen), loop_time(inc.last_seen), inc.alert_severity, None)
    memo: dict = {}
    finished: list[_Group] = []
    scanned = matched = 0
    # what a pass reads: each source's alerts after its watermark (see _advance), from the start under a
    # configuration other than the one the watermark was made with
    src = SecmonSource.__table__.c
    session.execute(update(SecmonSource.__table__).where(or_(src.correlated_config.is_(None),
                                                             src.correlated_config != cfg.digest))
                    .values(correlated_through=-1, correlated_config=cfg.digest))
    seen: dict[int, int] = {}  # source -> highest offset read
    matched_at: list[tuple[int, int]] = []  # (source, offset) of every alert a rule matched
    cur = _alert_cursor(session, sqlite)
    while part := cur.fetchmany(batch):
        for src_off, line_off, ts_raw, src_ip, dest_ip, sig, gid, sid, cat, sev, sensor_id in part:
            scanned += 1
            if line_off > seen.get(src_off, -1):
                seen[src_off] = line_off
            try:
                dst_asset = asset_cache[dest_ip]
            except KeyError:
                dst_asset = asset_cache[dest_ip] = lookup(addr_int(dest_ip))
            try:
                src_asset = asset_cache[src_ip]
            except KeyError:
                src_asset = asset_cache[src_ip] = lookup(addr_int(src_ip))
            if dst_asset is not None:
                target, target_ip = dst_asset, dest_ip
            elif src_asset is not None:
                target, target_ip = src_asset, src_ip
            else:
                target, target_ip = None, dest_ip
            mk = (sev, cat, sid, sig, target is not None)
            rule = memo.get(mk, _MISSING)
            if rule is _MISSING:
                rule = memo[mk] = next((r for r in rules if r.matches(sev, cat, sid, sig, target is not None)), None)
            if rule is None:
                continue
            matched += 1
            matched_at.append((src_off, line_off))
            ts = parse(ts_raw) if parse is not None else ts_raw
            vals = (src_ip, dest_ip, target_ip, sig, sid, cat, sensors.get(sensor_id),
                    target.system_id if target is not None else f"ip:{target_ip}")
            key = getters[rule.id](vals)
            gk = (rule.id, key)
            g = open_groups.get(gk)
            if g is not None and (ts - g.last > rule.gap or ts - g.first > rule.window):
                if g.inc is not None or len(g.alerts) >= rule.min_alerts:
                    finished.append(g)
                g = None
            if g is None:
                g = open_groups[gk] = _Group(None, rule, key, ts, ts, sev, (vals, target, gid))
            elif ts > g.last:
                g.last = ts
            if sev is not None and (g.sev is None or sev < g.sev):
                g.sev = sev
            g.alerts.append((src_off, line_off, ts_raw))
    finished.extend(g for g in open_groups.values()
                    if g.alerts and (g.inc is not None or len(g.alerts) >= g.rule.min_alerts))
    cur.close()
    _advance(session, seen, matched_at, finished)
    return _store(session, principal, cfg, finished, systems, now, sqlite, scanned, matched)


def _advance(session: Session, seen: dict[int, int], matched_at: list[tuple[int, int]], finished: list[_Group]) -> None:
    """Move each source's watermark past the alerts this pass settled: those no rule matches and those now linked
    to an incident. A matched alert left unlinked (its group has fewer alerts than the rule asks for, so far)
    holds its source's watermark below it: the next pass reads it again, as every pass did before."""
    if not seen:
        return
    linked = {(a[0], a[1]) for g in finished for a in g.alerts}
    held: dict[int, int] = {}
    for src, off in matched_at:
        if (src, off) not in linked:
            held[src] = min(off, held.get(src, off))
    marks = [{"sid": src, "mark": min(top, held[src] - 1) if src in held else top} for src, top in seen.items()]
    c = SecmonSource.__table__.c
    session.execute(update(SecmonSource.__table__).where(c.id == bindparam("sid"), c.correlated_through < bindparam("mark"))
                    .values(correlated_through=bindparam("mark")), marks)


# every alert after its source's watermark and not linked to an incident yet, in (time, source, offset) order; the
# time in its stored form
_ALERTS_SQL = (
    "SELECT a.source_id, a.line_offset, a.ts, a.src_ip, a.dest_ip, a.signature, a.gid, a.sid, a.category, a.severity, "
    "a.sensor_id FROM secmon_source s JOIN secmon_alert a ON a.source_id = s.id AND a.line_offset > s.correlated_through "
    "WHERE a.ts IS NOT NULL AND NOT EXISTS (SELECT 1 FROM secmon_incident_event l "
    "WHERE l.source_id = a.source_id AND l.line_offset = a.line_offset AND l.link = 'alert') "
    "ORDER BY a.ts, a.source_id, a.line_offset")


def _alert_cursor(session: Session, sqlite: bool):
    """A DBAPI cursor over the unlinked alerts (plain tuples, no result processing); on PostgreSQL a server-side
    cursor in the session's transaction, so memory stays bounded."""
    dbapi = session.connection().connection.driver_connection
    cur = dbapi.cursor() if sqlite else dbapi.cursor(name="secmon_correlate_alerts")
    cur.execute(_ALERTS_SQL)
    return cur


def _store(session, principal, cfg, finished, systems, now, sqlite, scanned, matched) -> dict:
    """Write a pass's result: new incidents and their first transition in bulk, grown ones updated, the alert
    links, then the flow/community evidence; one audit event names what the pass created and extended."""
    cands: dict[str, tuple[_Group, dict]] = {}
    extended: list[tuple[_Group, SecmonIncident]] = []
    for g in finished:
        if not g.alerts:
            continue
        if g.inc is not None:
            extended.append((g, g.inc))
            continue
        rule, (vals, target, gid) = g.rule, g.head
        key = key_json(g.key)
        first = _utc(g.first).astimezone(UTC)
        iid = incident_id(rule.id, key, first)
        system = systems.get(target.system_id) if target is not None else None
        values = dict(zip(FIELDS, vals, strict=True))
        row = {"id": iid, "rule_id": rule.id, "group_key": key, "state": "new", "severity": "low", "score": 0,
               "alert_severity": None, "src_ip": vals[0], "dest_ip": vals[1], "gid": gid, "sid": vals[4],
               "signature": vals[3], "category": vals[5],
               "system_id": target.system_id if target is not None else None,
               "org_id": target.org_id if target is not None else None,
               "mlps_level": target.mlps_level if target is not None else None,
               "criticality": target.criticality if target is not None else None, "first_seen": first,
               "last_seen": first, "alert_count": 0, "assignee": None, "created_at": now, "updated_at": now,
               "triage_breached": False, "contain_breached": False,
               "title": render_title(rule.title, values | {"system": system.name if system else values["target_ip"]})}
        for k in ("triaged_at", "contained_at", "resolved_at", "closed_at", "false_positive_at", "notified_at"):
            row[k] = None
        cands[iid] = (g, row)
    ids = list(cands)
    known: set[str] = set()
    for j in range(0, len(ids), 500):
        known.update(session.execute(select(SecmonIncident.id).where(SecmonIncident.id.in_(ids[j:j + 500]))).scalars())
    new_rows = []
    for iid, (g, row) in cands.items():
        if iid in known:  # already stored (its alerts were unlinked since): extend it
            extended.append((g, session.get(SecmonIncident, iid)))
        else:
            new_rows.append((g, row))
    links: list[tuple] = []
    for g, row in new_rows:
        _grow(cfg, g, row, now, row.get, links)
    for g, inc in extended:
        upd = {}
        _grow(cfg, g, upd, now, lambda k, _i=inc: getattr(_i, k), links)
        for k, v in upd.items():
            setattr(inc, k, v)
        session.add(inc)
    rows = [r for _g, r in new_rows]
    if rows:
        cols = tuple(rows[0])
        _executemany(session, sqlite, "secmon_incident", cols, [tuple(r[c] for c in cols) for r in rows],
                     times=("first_seen", "last_seen", "created_at", "updated_at", "triage_due", "contain_due"))
        _executemany(session, sqlite, "secmon_incident_transition",
                     ("id", "incident_id", "from_state", "to_state", "actor", "note", "at"),
                     [(new_id(), r["id"], None, "new", principal.actor, "correlated", now) for r in rows],
                     times=("at",))
    evidence = 0
    if links:
        _executemany(session, sqlite, "secmon_incident_event",
                     ("incident_id", "source_id", "line_offset", "event_type", "link", "ts"), links)
        evidence = _link_evidence(session, sqlite, [r["id"] for r in rows] + [inc.id for _g, inc in extended])
    if rows or extended:  # one audit event per pass, naming every incident it created or extended
        audit.record(session, principal, "secmon:incident:create", object_type="secmon_incident",
                     object_id=rows[0]["id"] if rows else extended[0][1].id,
                     state={"created": len(rows), "extended": len(extended), "alerts_linked": len(links)},
                     details={"created": [{"id": r["id"], "severity": r["severity"], "alerts": r["alert_count"]}
                                          for r in rows[:5000]],
                              "extended": [inc.id for _g, inc in extended][:5000]})
    session.commit()
    alarm = list(session.execute(select(SecmonIncident.id).where(
        SecmonIncident.notified_at.is_(None), SecmonIncident.severity.in_(sorted(cfg.notify_levels)),
        SecmonIncident.state.in_(OPEN_STATES)).order_by(SecmonIncident.id)).scalars())
    return {"alerts_scanned": scanned, "alerts_matched": matched, "incidents_created": len(rows),
            "incidents_extended": len(extended), "alerts_linked": len(links), "evidence_linked": evidence,
            "to_notify": alarm}


def _grow(cfg: Config, g: _Group, out: dict, now: datetime, get, links: list) -> None:
    """Count a group's alerts into its incident (``get`` reads the current values, ``out`` takes the new ones)
    and append its alert links; the score and level only ever rise (and then the SLA due times follow)."""
    iid = get("id")
    out["alert_count"] = get("alert_count") + len(g.alerts)
    last = _utc(g.last).astimezone(UTC)
    prev_last = _utc(get("last_seen"))
    out["last_seen"] = last if prev_last is None or last > prev_last else prev_last
    sev, prev = g.sev, get("alert_severity")
    if prev is not None and (sev is None or prev < sev):
        sev = prev
    out["alert_severity"] = sev
    out["updated_at"] = now
    score = cfg.score(sev, get("criticality"), get("mlps_level"))
    level = cfg.level(score)
    if not get("score") or score > get("score") or LEVEL_ORDER[level] > LEVEL_ORDER.get(get("severity"), 0):
        out["score"], out["severity"] = score, level
        out["triage_due"], out["contain_due"] = cfg.due(level, _utc(get("created_at")))
    links.extend([(iid, s, o, "alert", "alert", t) for s, o, t in g.alerts])


def _executemany(session: Session, sqlite: bool, table: str, cols: tuple[str, ...], rows: list[tuple],
                 times: tuple[str, ...] = ()) -> None:
    """Rows through the DBAPI's executemany (bound parameters); on SQLite the ``times`` columns (aware datetimes)
    in its stored text form."""
    ph = "?" if sqlite else "%s"
    if sqlite and times and rows:
        idx = [cols.index(c) for c in times]
        memo: dict = {None: None}

        def conv(v):
            try:
                return memo[v]
            except KeyError:
                t = memo[v] = _sqlite_time(v)
                return t

        out = []
        for r in rows:
            r = list(r)
            for i in idx:
                r[i] = conv(r[i])
            out.append(tuple(r))
        rows = out
    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join([ph] * len(cols))})"
    session.connection().exec_driver_sql(sql, rows)


def _sqlite_time(v: datetime) -> str:
    if v.tzinfo is not None:
        v = v.astimezone(UTC).replace(tzinfo=None)
    return v.isoformat(" ", "microseconds")


_EVIDENCE_SQL = """
INSERT INTO secmon_incident_event (incident_id, source_id, line_offset, event_type, link, ts)
SELECT incident_id, source_id, line_offset, event_type, link, ts FROM (
  SELECT c.incident_id, c.source_id, c.line_offset, c.event_type, c.link, c.ts,
         ROW_NUMBER() OVER (PARTITION BY c.incident_id
                            ORDER BY (c.ts IS NULL), c.ts, c.source_id, c.line_offset) AS rn
  FROM (
    SELECT m.incident_id, m.source_id, m.line_offset, MAX(m.event_type) AS event_type, MAX(m.link) AS link,
           MAX(m.ts) AS ts
    FROM (
      SELECT f.incident_id, e.source_id, e.line_offset, e.event_type, 'flow_id' AS link, e.ts
      FROM (SELECT DISTINCT l.incident_id, a.flow_id, a.sensor_id
            FROM secmon_incident_event l
            JOIN secmon_event a ON a.source_id = l.source_id AND a.line_offset = l.line_offset
            WHERE l.incident_id IN ({ids}) AND l.link = 'alert' AND a.flow_id IS NOT NULL) f
      JOIN secmon_event e ON e.flow_id = f.flow_id AND e.sensor_id = f.sensor_id
      WHERE e.event_type <> 'alert'
      UNION ALL
      SELECT f.incident_id, e.source_id, e.line_offset, e.event_type, 'community_id' AS link, e.ts
      FROM (SELECT DISTINCT l.incident_id, a.community_id
            FROM secmon_incident_event l
            JOIN secmon_event a ON a.source_id = l.source_id AND a.line_offset = l.line_offset
            WHERE l.incident_id IN ({ids}) AND l.link = 'alert' AND a.community_id IS NOT NULL) f
      JOIN secmon_event e ON e.community_id = f.community_id
      WHERE e.community_id IS NOT NULL AND e.event_type <> 'alert'
    ) m
    WHERE NOT EXISTS (SELECT 1 FROM secmon_incident_event x WHERE x.incident_id = m.incident_id
                      AND x.source_id = m.source_id AND x.line_offset = m.line_offset)
    GROUP BY m.incident_id, m.source_id, m.line_offset
  ) c
) r WHERE r.rn <= {cap}
"""


def _link_evidence(session: Session, sqlite: bool, incident_ids: list[str]) -> int:
    """Link the non-alert events of the incidents' alert flows (flow_id on the same sensor) and community ids:
    one INSERT … SELECT per 500 incidents (at most MAX_EVIDENCE new events per incident and pass, earliest
    first; a flow event linked already is not linked twice)."""
    ph = "?" if sqlite else "%s"
    n = 0
    conn = session.connection()
    for j in range(0, len(incident_ids), 500):
        chunk = incident_ids[j:j + 500]
        marks = ", ".join([ph] * len(chunk))
        cur = conn.exec_driver_sql(_EVIDENCE_SQL.format(ids=marks, cap=int(MAX_EVIDENCE)), tuple(chunk + chunk))
        n += max(cur.rowcount, 0)
    return n
