"""Indicators from the response side of secmon: incidents, alarms, responses, remediation and the asset inventory.

Read with plain SQL from the tables of migration ``secmon_0003`` (assets, incidents, responses, remediation).
When a table holds nothing at all, the indicator says "no data" with the reason; a zero is reported only when
the source has records and none of them fell in the period and scope (a measured zero).
"""

from __future__ import annotations

import ipaddress
import statistics
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import inspect, text

from kernel import NotFound, ValidationFailed
from kernel.db import Session
from secmon.evaluation.indicators import AlertFacts, Indicator, no_data, ts_param
from secmon.evaluation.periods import Period
from secmon.evaluation.scope import Scope

LEVELS = ("critical", "high", "medium", "low")
#: internal address space (RFC 1918, shared CGN space RFC 6598, IPv6 unique local): addresses an organisation
#: runs itself, so one that no asset covers is unmanaged (Python's ``is_private`` also counts documentation ranges)
INTERNAL_NETS = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                                         "100.64.0.0/10", "fc00::/7"))
OPEN_STATES = ("new", "triaged", "contained")
CLOSING_STATES = ("resolved", "closed", "false_positive")

RESPONSE_KEYS = (
    ("incidents_by_severity", "detection_response", "incidents"),
    ("mtta_hours", "detection_response", "hours"),
    ("mttr_hours", "detection_response", "hours"),
    ("sla_breach_ratio", "detection_response", "ratio"),
    ("open_incidents_over_30d", "detection_response", "incidents"),
    ("false_positive_rate", "detection_response", "ratio"),
    ("repeat_incident_assets", "detection_response", "assets"),
    ("remediation_overdue_ratio", "governance", "ratio"),
    ("remediation_verified", "governance", "tasks"),
    ("responses_approved", "governance", "responses"),
    ("approval_hours_median", "governance", "hours"),
    ("assets_incomplete_ratio", "asset_hygiene", "ratio"),
    ("unmanaged_addresses", "asset_hygiene", "addresses"),
    ("mlps3_without_project", "asset_hygiene", "systems"),
)
_UNIT = {k: (fam, unit) for k, fam, unit in RESPONSE_KEYS}


def _nd(key: str, reason: str) -> Indicator:
    fam, unit = _UNIT[key]
    return no_data(key, fam, unit, reason)


def _dt(value: Any) -> datetime | None:
    if value is None:
        return None
    d = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return d.replace(tzinfo=UTC) if d.tzinfo is None else d.astimezone(UTC)


def _hours(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 3600


def available_tables(session: Session) -> set[str]:
    return set(inspect(session.connection()).get_table_names())


def _count(session: Session, table: str) -> int:
    return session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


# ---------------------------------------------------------------------------------------- scopes


def _networks(session: Session, where: str, params: dict) -> tuple[list, list[str]]:
    rows = session.execute(text(
        "SELECT n.cidr, s.id FROM secmon_asset_network n JOIN secmon_system s ON s.id = n.system_id "
        f"WHERE {where} ORDER BY n.cidr"), params).all()
    nets = sorted({ipaddress.ip_network(c, strict=False) for c, _ in rows}, key=lambda n: (n.version, str(n)))
    return nets, sorted({s for _, s in rows})


def resolve_department(session: Session, department: str) -> Scope:
    from secmon.evaluation.scope import Scope

    if "secmon_system" not in available_tables(session):
        raise ValidationFailed(f"department {department!r} has no assets: the asset inventory is not installed",
                               errors=[{"field": "department", "message": "no asset inventory"}])
    org = None
    if "portal_organisation" in available_tables(session):
        org = session.execute(text("SELECT id, code, name FROM portal_organisation WHERE id = :d OR code = :d"),
                              {"d": department}).first()
    org_id, code, name = (org[0], org[1], org[2]) if org else (department, department, department)
    if org is None and not session.execute(text("SELECT 1 FROM secmon_system WHERE org_id = :o LIMIT 1"),
                                           {"o": department}).first():
        raise NotFound(f"no department {department!r} (give an organisation code or id)")
    systems = session.execute(text("SELECT id FROM secmon_system WHERE org_id = :o ORDER BY id"), {"o": org_id}).all()
    nets, _ = _networks(session, "s.org_id = :o", {"o": org_id})
    if not systems or not nets:
        raise ValidationFailed(
            f"department {code!r} ({name}) has no assets in the inventory"
            + (" with networks" if systems else "") + ": register its information systems and networks first "
            "(citygov secmon assets …); a department report is computed over the department's addresses",
            errors=[{"field": "department", "message": "department without assets"}])
    return Scope(kind="department", key=code, name=name, networks=tuple(nets),
                 systems=tuple(s[0] for s in systems), org_id=org_id)


def resolve_system(session: Session, system: str) -> Scope:
    from secmon.evaluation.scope import Scope

    if "secmon_system" not in available_tables(session):
        raise ValidationFailed(f"information system {system!r}: the asset inventory is not installed",
                               errors=[{"field": "system", "message": "no asset inventory"}])
    row = session.execute(text("SELECT id, name, org_id FROM secmon_system WHERE id = :s OR name = :s "
                               "ORDER BY id LIMIT 2"), {"s": system}).all()
    if not row:
        raise NotFound(f"no information system {system!r} in the asset inventory")
    if len(row) > 1:
        raise ValidationFailed(f"several information systems are named {system!r}: give its id",
                               errors=[{"field": "system", "message": "ambiguous"}])
    sid, name, org_id = row[0]
    nets, _ = _networks(session, "s.id = :s", {"s": sid})
    if not nets:
        raise ValidationFailed(f"information system {name!r} has no networks or hosts in the inventory",
                               errors=[{"field": "system", "message": "system without networks"}])
    return Scope(kind="system", key=sid, name=name, networks=tuple(nets), systems=(sid,), org_id=org_id)


def departments_with_assets(session: Session) -> list[dict]:
    if "secmon_system" not in available_tables(session):
        return []
    org_join = "portal_organisation" in available_tables(session)
    sql = ("SELECT s.org_id, " + ("max(o.code), max(o.name)" if org_join else "s.org_id, s.org_id") +
           ", count(DISTINCT s.id) FROM secmon_system s " +
           ("LEFT JOIN portal_organisation o ON o.id = s.org_id " if org_join else "") +
           "WHERE EXISTS (SELECT 1 FROM secmon_asset_network n WHERE n.system_id = s.id) GROUP BY s.org_id ORDER BY 2")
    return [{"org_id": o, "code": c or o, "name": n or o, "systems": k} for o, c, n, k in session.execute(text(sql))]


# ---------------------------------------------------------------------------------------- incidents


def _scope_filter(scope: Scope, org_col: str, system_col: str) -> tuple[str, dict]:
    if scope.kind == "department":
        return f" AND {org_col} = :org", {"org": scope.org_id}
    if scope.kind == "system":
        return f" AND {system_col} = :sys", {"sys": scope.key}
    return "", {}


def _incidents(session: Session, scope: Scope, period: Period, as_of: datetime) -> list[dict]:
    where, params = _scope_filter(scope, "org_id", "system_id")
    params |= {"s": ts_param(session, period.start), "e": ts_param(session, as_of)}
    cols = ("id", "state", "severity", "dest_ip", "created_at", "triaged_at", "contained_at", "resolved_at",
            "closed_at", "false_positive_at", "triage_due", "contain_due", "notified_at")
    rows = session.execute(text(f"SELECT {', '.join(cols)} FROM secmon_incident WHERE created_at >= :s "
                                f"AND created_at < :e{where}"), params).all()
    out = []
    for r in rows:
        d = dict(zip(cols, r))
        for k in cols[4:]:
            d[k] = _dt(d[k])
        out.append(d)
    return out


def _incident_indicators(session: Session, scope: Scope, period: Period, as_of: datetime) -> tuple[list, dict]:
    total_all = _count(session, "secmon_incident")
    keys = ("incidents_by_severity", "mtta_hours", "mttr_hours", "sla_breach_ratio", "open_incidents_over_30d",
            "false_positive_rate", "repeat_incident_assets")
    if total_all == 0:
        reason = "no incident has been recorded in this installation (correlation has not produced any)"
        return [_nd(k, reason) for k in keys], {"critical_alarm_delivery_ratio": {"value": None, "reason": reason}}
    inc = _incidents(session, scope, period, as_of)
    n = len(inc)
    sev = Counter(i["severity"] for i in inc)
    out = [Indicator("incidents_by_severity", "detection_response", n, "incidents",
                     detail={"by_severity": {lv: sev.get(lv, 0) for lv in LEVELS},
                             "by_state": dict(Counter(i["state"] for i in inc))},
                     chart={"kind": "bar", "labels": list(LEVELS), "values": [sev.get(lv, 0) for lv in LEVELS],
                            "xlabel": "severity", "ylabel": "incidents"})]
    none_reason = "no incident opened in the period and scope"

    def _mean_of(key: str, field: str, what: str) -> Indicator:
        vals = [_hours(i["created_at"], i[field]) for i in inc if i[field] and i[field] <= as_of]
        if not vals:
            return _nd(key, none_reason if not inc else f"no incident of the period was {what} by the end of it")
        return Indicator(key, "detection_response", round(statistics.fmean(vals), 3), "hours",
                         detail={"mean_hours": round(statistics.fmean(vals), 3),
                                 "median_hours": round(statistics.median(vals), 3), "incidents": len(vals),
                                 "from": "incident opened (created_at)", "to": field})

    out.append(_mean_of("mtta_hours", "triaged_at", "triaged"))
    out.append(_mean_of("mttr_hours", "contained_at", "contained"))
    if inc:
        breaches = Counter()
        for i in inc:
            if i["state"] == "false_positive" and i["false_positive_at"] and i["triage_due"] and \
                    i["false_positive_at"] <= i["triage_due"]:
                continue
            t_done = i["triaged_at"] or i["false_positive_at"] or i["contained_at"] or i["resolved_at"]
            if i["triage_due"] and (t_done or as_of) > i["triage_due"]:
                breaches["triage"] += 1
            elif i["contain_due"] and i["state"] != "false_positive" and \
                    (i["contained_at"] or i["resolved_at"] or i["closed_at"] or as_of) > i["contain_due"]:
                breaches["contain"] += 1
        b = breaches["triage"] + breaches["contain"]
        out.append(Indicator("sla_breach_ratio", "detection_response", round(b / n, 6), "ratio",
                             detail={"incidents": n, "breached": b, "triage_breaches": breaches["triage"],
                                     "contain_breaches": breaches["contain"],
                                     "rule": "triage or containment later than the incident's due time (SLA per "
                                             "severity set when the incident opened); open ones measured at the "
                                             "end of the period"}))
        fp = sum(1 for i in inc if i["state"] == "false_positive")
        out.append(Indicator("false_positive_rate", "detection_response", round(fp / n, 6), "ratio",
                             detail={"incidents": n, "false_positive": fp}))
        per_asset = Counter(i["dest_ip"] for i in inc if i["dest_ip"])
        repeat = {ip: c for ip, c in per_asset.items() if c >= 2}
        out.append(Indicator("repeat_incident_assets", "detection_response", len(repeat), "assets",
                             detail={"assets": dict(sorted(repeat.items(), key=lambda x: (-x[1], x[0]))[:20])}))
    else:
        out += [_nd(k, none_reason) for k in ("sla_breach_ratio", "false_positive_rate", "repeat_incident_assets")]
    out.append(_open_by_age(session, scope, as_of))
    # alarm delivered for each high/critical incident
    serious = [i for i in inc if i["severity"] in ("high", "critical")]
    if not serious:
        ev = {"value": None, "reason": "no high or critical incident in the period and scope"}
    else:
        ids = [i["id"] for i in serious]
        delivered = set()
        for chunk in range(0, len(ids), 500):
            part = ids[chunk:chunk + 500]
            ph = ", ".join(f":i{j}" for j in range(len(part)))
            delivered |= {r[0] for r in session.execute(text(
                f"SELECT DISTINCT incident_id FROM secmon_notification WHERE status = 'delivered' "
                f"AND incident_id IN ({ph})"), {f"i{j}": v for j, v in enumerate(part)})}
        ev = {"value": round(len(delivered) / len(serious), 6),
              "detail": {"serious_incidents": len(serious), "alarm_delivered": len(delivered),
                         "without_alarm": sorted(set(ids) - delivered)[:20]}}
    return out, {"critical_alarm_delivery_ratio": ev}


def _open_by_age(session: Session, scope: Scope, as_of: datetime) -> Indicator:
    """Incidents open at the end of the period (by their transitions), by age."""
    where, params = _scope_filter(scope, "i.org_id", "i.system_id")
    params |= {"e": ts_param(session, as_of)}
    rows = session.execute(text(
        "SELECT i.id, i.created_at FROM secmon_incident i WHERE i.created_at < :e" + where +
        " AND NOT EXISTS (SELECT 1 FROM secmon_incident_transition t WHERE t.incident_id = i.id AND t.at < :e "
        "AND t.to_state IN ('resolved', 'closed', 'false_positive'))"), params).all()
    buckets = {"< 7 d": 0, "7-30 d": 0, "> 30 d": 0}
    for _id, created in rows:
        age = (as_of - _dt(created)).total_seconds() / 86400
        buckets["< 7 d" if age < 7 else "7-30 d" if age <= 30 else "> 30 d"] += 1
    return Indicator("open_incidents_over_30d", "detection_response", buckets["> 30 d"], "incidents",
                     detail={"open_at_end_of_period": len(rows), "by_age": buckets},
                     chart={"kind": "bar", "labels": list(buckets), "values": list(buckets.values()),
                            "xlabel": "age", "ylabel": "open incidents"})


# ---------------------------------------------------------------------------------------- governance


def _governance(session: Session, scope: Scope, period: Period, as_of: datetime) -> list[Indicator]:
    out = []
    p = {"s": ts_param(session, period.start), "e": ts_param(session, as_of)}
    if _count(session, "secmon_remediation_task") == 0:
        reason = "no remediation task has been recorded in this installation"
        out += [_nd("remediation_overdue_ratio", reason), _nd("remediation_verified", reason)]
    else:
        where, params = _scope_filter(scope, "org_id", "system_id")
        rows = session.execute(text(
            "SELECT id, state, due_at, fixed_at, verified_at FROM secmon_remediation_task WHERE due_at >= :s "
            f"AND due_at < :e AND state <> 'cancelled'{where}"), p | params).all()
        overdue = [r[0] for r in rows if (_dt(r[3]) or as_of) > _dt(r[2])]
        if rows:
            out.append(Indicator("remediation_overdue_ratio", "governance", round(len(overdue) / len(rows), 6),
                                 "ratio", detail={"due": len(rows), "overdue": len(overdue),
                                                  "rule": "not fixed by its due time (measured at period end)"}))
        else:
            out.append(_nd("remediation_overdue_ratio", "no remediation task was due in the period and scope"))
        verified = session.execute(text(
            "SELECT count(*) FROM secmon_remediation_task WHERE verified_at >= :s AND verified_at < :e"
            f"{where}"), p | params).scalar_one()
        out.append(Indicator("remediation_verified", "governance", verified, "tasks",
                             detail={"verified_in_period": verified, "due_in_period": len(rows)}))
    if _count(session, "secmon_response") == 0:
        reason = "no response has been proposed in this installation"
        out += [_nd("responses_approved", reason), _nd("approval_hours_median", reason)]
        return out
    where, params = _scope_filter(scope, "i.org_id", "i.system_id")
    join = " JOIN secmon_incident i ON i.id = r.incident_id" if where else ""
    rows = session.execute(text(
        f"SELECT r.id, r.state, r.proposed_at, r.decided_at FROM secmon_response r{join} WHERE r.decided_at >= :s "
        f"AND r.decided_at < :e AND r.state IN ('approved', 'expired'){where}"), p | params).all()
    ids = [r[0] for r in rows]
    kinds = {}
    for table in ("secmon_block_entry", "secmon_rule_change", "secmon_suppression"):
        kinds[table.removeprefix("secmon_")] = 0
        for chunk in range(0, len(ids), 500):
            part = ids[chunk:chunk + 500]
            ph = ", ".join(f":i{j}" for j in range(len(part)))
            kinds[table.removeprefix("secmon_")] += session.execute(text(
                f"SELECT count(*) FROM {table} WHERE response_id IN ({ph})"),
                {f"i{j}": v for j, v in enumerate(part)}).scalar_one()
    out.append(Indicator("responses_approved", "governance", len(rows), "responses",
                         detail={"approved_in_period": len(rows), "items": kinds,
                                 "scope_rule": "responses linked to incidents of the scope" if where else "all"}))
    hours = [_hours(_dt(r[2]), _dt(r[3])) for r in rows]
    out.append(Indicator("approval_hours_median", "governance", round(statistics.median(hours), 3), "hours",
                         detail={"median_hours": round(statistics.median(hours), 3),
                                 "mean_hours": round(statistics.fmean(hours), 3), "responses": len(hours)})
               if hours else _nd("approval_hours_median", "no response was approved in the period and scope"))
    return out


# ---------------------------------------------------------------------------------------- assets


def _assets(session: Session, scope: Scope, period: Period, as_of: datetime, facts: AlertFacts) -> list[Indicator]:
    if _count(session, "secmon_system") == 0:
        reason = "the asset inventory is empty"
        return [_nd(k, reason) for k in ("assets_incomplete_ratio", "unmanaged_addresses", "mlps3_without_project")]
    tables = available_tables(session)
    where = {"department": " WHERE s.org_id = :org", "system": " WHERE s.id = :sys"}.get(scope.kind, "")
    params = {"org": getattr(scope, "org_id", None), "sys": scope.key} if where else {}
    org_ok = ("EXISTS (SELECT 1 FROM portal_organisation o WHERE o.id = s.org_id)"
              if "portal_organisation" in tables else "s.org_id IS NOT NULL AND s.org_id <> ''")
    proj_ok = ("EXISTS (SELECT 1 FROM registry_project p WHERE p.id = s.project_id)"
               if "registry_project" in tables else "s.project_id IS NOT NULL")
    rows = session.execute(text(
        f"SELECT s.id, s.name, s.mlps_level, CASE WHEN {org_ok} THEN 1 ELSE 0 END, "
        f"CASE WHEN {proj_ok} THEN 1 ELSE 0 END FROM secmon_system s{where} ORDER BY s.id"), params).all()
    out = []
    if rows:
        bad = [{"system": r[1], "owner_known": bool(r[3]), "mlps_level": r[2]} for r in rows
               if not r[3] or r[2] not in (1, 2, 3, 4)]
        out.append(Indicator("assets_incomplete_ratio", "asset_hygiene", round(len(bad) / len(rows), 6), "ratio",
                             detail={"systems": len(rows), "incomplete": bad[:20],
                                     "rule": "owner is not a known organisation, or MLPS level not 1-4"}))
        lvl3 = [r for r in rows if (r[2] or 0) >= 3]
        missing = [r[1] for r in lvl3 if not r[4]]
        out.append(Indicator("mlps3_without_project", "asset_hygiene", len(missing), "systems",
                             detail={"mlps3_systems": len(lvl3), "without_project": missing[:20],
                                     "note": "linked project-library entry checked; MLPS evaluation records are not "
                                             "held by the platform"}))
    else:
        out += [_nd("assets_incomplete_ratio", "no information system in scope"),
                _nd("mlps3_without_project", "no information system in scope")]
    if scope.kind != "city":
        out.append(_nd("unmanaged_addresses", "measured city-wide only (a department's scope is its own networks)"))
        return out
    nets = [ipaddress.ip_network(c, strict=False)
            for (c,) in session.execute(text("SELECT cidr FROM secmon_asset_network"))]
    p = {"s": ts_param(session, period.start), "e": ts_param(session, as_of)}
    seen = Counter()
    for ip, n in session.execute(text(
            "SELECT ip, sum(n) FROM (SELECT src_ip AS ip, count(*) AS n FROM secmon_alert WHERE ts >= :s AND ts < :e "
            "GROUP BY src_ip UNION ALL SELECT dest_ip, count(*) FROM secmon_alert WHERE ts >= :s AND ts < :e "
            "GROUP BY dest_ip) x GROUP BY ip"), p):
        try:
            a = ipaddress.ip_address(ip)
        except (TypeError, ValueError):
            continue
        if not any(a in n for n in INTERNAL_NETS if n.version == a.version):
            continue
        if not any(a in net for net in nets if net.version == a.version):
            seen[ip] += int(n)
    out.append(Indicator("unmanaged_addresses", "asset_hygiene", len(seen), "addresses",
                         detail={"rule": "internal addresses (RFC 1918, RFC 6598, fc00::/7) in alerts of the period "
                                 "that no asset covers",
                                 "top": seen.most_common(20)}))
    return out


def response_indicators(session: Session, scope: Scope, period: Period, as_of: datetime, weights: dict,
                        facts: AlertFacts | None = None) -> tuple[list[Indicator], dict]:
    """The response-side indicators and evidence (``critical_alarm_delivery_ratio``)."""
    tables = available_tables(session)
    needed = {"secmon_incident", "secmon_remediation_task", "secmon_response", "secmon_system"}
    if not needed <= tables:
        reason = "no data: incidents, remediation, responses and assets are not recorded in this installation"
        return ([_nd(k, reason) for k, _f, _u in RESPONSE_KEYS],
                {"critical_alarm_delivery_ratio": {"value": None, "reason": reason}})
    inc, evidence = _incident_indicators(session, scope, period, as_of)
    gov = _governance(session, scope, period, as_of)
    assets = _assets(session, scope, period, as_of, facts)
    by_key = {i.key: i for i in inc + gov + assets}
    return [by_key[k] for k, _f, _u in RESPONSE_KEYS], evidence


__all__ = ["RESPONSE_KEYS", "departments_with_assets", "resolve_department", "resolve_system",
           "response_indicators"]
