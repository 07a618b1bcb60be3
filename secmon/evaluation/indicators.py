"""Indicators computed from the platform's own monitoring data (EVE tables, rule-set versions, quarantine).

Each indicator is a value with its unit, the breakdown it came from and, when the data needed does not exist,
``value = None`` and the reason ("no data" — never a zero that was not measured). Indicators that need the
response side (incidents, remediation, responses, assets) live in :mod:`secmon.evaluation.response_indicators`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text

from kernel.db import Session, dialect_name
from secmon.evaluation.periods import Period
from secmon.evaluation.scope import Scope

SEVERITY_NAMES = {1: "high", 2: "medium", 3: "low"}


@dataclass
class Indicator:
    key: str
    family: str  # detection_response | governance | defense_health | asset_hygiene
    value: float | int | None
    unit: str
    detail: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None  # why there is no value
    chart: dict[str, Any] | None = None  # {"kind": "bar", "labels": [...], "values": [...], "xlabel":..., "ylabel":...}

    @property
    def has_data(self) -> bool:
        return self.value is not None

    def to_dict(self) -> dict:
        return {"key": self.key, "family": self.family, "value": self.value, "unit": self.unit,
                "no_data": self.value is None, "reason": self.reason, "detail": self.detail, "chart": self.chart}


def no_data(key: str, family: str, unit: str, reason: str) -> Indicator:
    return Indicator(key=key, family=family, value=None, unit=unit, reason=reason)


def ts_param(session: Session, dt: datetime) -> Any:
    """A time bound as the dialect stores it (SQLite: naive UTC text, as SQLAlchemy writes it)."""
    if dialect_name(session) == "sqlite":
        return dt.replace(tzinfo=None).isoformat(" ", "microseconds")
    return dt


def _as_dt(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


@dataclass
class AlertFacts:
    """The alerts of a period in scope, aggregated once and shared by the indicators."""

    total: int
    by_severity: Counter
    by_sensor: Counter
    by_sid: Counter  # (gid, sid) -> alerts
    signatures: dict
    by_day: Counter
    by_day_high: Counter
    dest_ips: Counter
    src_ips: Counter
    sensors: set


def alert_facts(session: Session, scope: Scope, period: Period, as_of: datetime) -> AlertFacts:
    params = {"s": ts_param(session, period.start), "e": ts_param(session, min(period.end, as_of))}
    day = "substr(CAST(ts AS TEXT), 1, 10)" if dialect_name(session) == "sqlite" else \
        "to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    inside = scope.matcher()
    facts = AlertFacts(0, Counter(), Counter(), Counter(), {}, Counter(), Counter(), Counter(), Counter(), set())
    if scope.networks is None:
        sql = (f"SELECT sensor_id, severity, gid, sid, {day} AS d, max(signature), count(*), NULL, NULL "
               "FROM secmon_alert WHERE ts >= :s AND ts < :e GROUP BY sensor_id, severity, gid, sid, d")
        top_sql = ("SELECT dest_ip, count(*) FROM secmon_alert WHERE ts >= :s AND ts < :e GROUP BY dest_ip "
                   "ORDER BY count(*) DESC, dest_ip LIMIT 20")
        for ip, n in session.execute(text(top_sql), params):
            facts.dest_ips[ip] = n
        top_src = ("SELECT src_ip, count(*) FROM secmon_alert WHERE ts >= :s AND ts < :e GROUP BY src_ip "
                   "ORDER BY count(*) DESC, src_ip LIMIT 20")
        for ip, n in session.execute(text(top_src), params):
            facts.src_ips[ip] = n
    else:
        sql = (f"SELECT sensor_id, severity, gid, sid, {day} AS d, max(signature), count(*), src_ip, dest_ip "
               "FROM secmon_alert WHERE ts >= :s AND ts < :e "
               "GROUP BY sensor_id, severity, gid, sid, d, src_ip, dest_ip")
    for sensor, sev, gid, sid, d, sig, n, src, dst in session.execute(text(sql), params):
        if scope.networks is not None:
            src_in, dst_in = inside(src), inside(dst)
            if not (src_in or dst_in):
                continue
            if dst_in:
                facts.dest_ips[dst] += n
            if src_in:
                facts.src_ips[src] += n
        facts.total += n
        facts.by_severity[sev] += n
        facts.by_sensor[sensor] += n
        facts.sensors.add(sensor)
        if sid is not None:
            facts.by_sid[(gid, sid)] += n
            facts.signatures.setdefault((gid, sid), sig)
        facts.by_day[d] += n
        if sev == 1:
            facts.by_day_high[d] += n
    return facts


def _sensor_names(session: Session) -> dict[str, str]:
    return {i: n for i, n in session.execute(text("SELECT id, name FROM secmon_sensor"))}


def scope_sensors(session: Session, scope: Scope, period: Period, as_of: datetime, facts: AlertFacts) -> list[str]:
    """Sensors evaluated: city-wide every sensor with events in the period; otherwise those that saw the scope."""
    if scope.networks is not None:
        return sorted(facts.sensors)
    params = {"s": ts_param(session, period.start), "e": ts_param(session, min(period.end, as_of))}
    rows = session.execute(text("SELECT DISTINCT s.sensor_id FROM secmon_source s WHERE EXISTS (SELECT 1 FROM "
                                "secmon_event e WHERE e.source_id = s.id AND e.ts >= :s AND e.ts < :e)"), params)
    return sorted(r[0] for r in rows)


# ---------------------------------------------------------------------------------------- detection


def alerts_by_severity(facts: AlertFacts) -> Indicator:
    labels = ["high", "medium", "low", "other"]
    counts = {k: 0 for k in labels}
    for sev, n in facts.by_severity.items():
        counts[SEVERITY_NAMES.get(sev, "other")] += n
    return Indicator("alerts_by_severity", "detection_response", facts.total, "alerts",
                     detail={"by_severity": counts,
                             "by_day": dict(sorted(facts.by_day.items())),
                             "top_destinations": facts.dest_ips.most_common(10),
                             "top_sources": facts.src_ips.most_common(10),
                             "top_signatures": [{"gid": g, "sid": s, "signature": facts.signatures.get((g, s)),
                                                 "alerts": n} for (g, s), n in facts.by_sid.most_common(10)]},
                     chart={"kind": "bar", "labels": labels, "values": [counts[k] for k in labels],
                            "xlabel": "severity", "ylabel": "alerts"})


def alerts_high_per_day(facts: AlertFacts, period_days: float) -> Indicator:
    high = facts.by_severity.get(1, 0)
    return Indicator("high_alerts_per_day", "detection_response", round(high / period_days, 3), "alerts/day",
                     detail={"high_alerts": high, "days": round(period_days, 3)},
                     chart={"kind": "line", "labels": sorted(facts.by_day), "values":
                            [facts.by_day_high.get(d, 0) for d in sorted(facts.by_day)], "xlabel": "day",
                            "ylabel": "high-severity alerts"} if facts.by_day else None)


# ---------------------------------------------------------------------------------------- defense health


def ruleset_in_force(session: Session, as_of: datetime) -> dict | None:
    row = session.execute(text(
        "SELECT id, name, imported_at, enabled_count, rule_count FROM secmon_ruleset_version "
        "WHERE imported_at < :t ORDER BY imported_at DESC LIMIT 1"), {"t": ts_param(session, as_of)}).first()
    if row is None:
        return None
    return {"id": row[0], "name": row[1], "imported_at": _as_dt(row[2]), "enabled": row[3], "rules": row[4]}


def ruleset_age(session: Session, as_of: datetime, version: dict | None) -> Indicator:
    if version is None:
        return no_data("ruleset_age_days", "defense_health", "days",
                       f"no rule set was imported before {as_of.date().isoformat()}")
    imported = version["imported_at"]
    if imported.tzinfo is None:
        from datetime import UTC

        imported = imported.replace(tzinfo=UTC)
    age = round((as_of - imported).total_seconds() / 86400, 2)
    return Indicator("ruleset_age_days", "defense_health", age, "days",
                     detail={"version_id": version["id"], "name": version["name"],
                             "imported_at": imported.isoformat(), "as_of": as_of.isoformat()})


def rule_coverage(session: Session, version: dict | None, facts: AlertFacts) -> tuple[Indicator, Indicator]:
    if version is None:
        reason = "no rule set in force during the period"
        return (no_data("rule_coverage", "defense_health", "ratio", reason),
                no_data("categories_enabled", "defense_health", "categories", reason))
    effective = set()
    classtypes = Counter()
    for gid, sid, ct in session.execute(text("SELECT gid, sid, classtype FROM secmon_rule WHERE version_id = :v "
                                             "AND effective = :t"), {"v": version["id"], "t": True}):
        effective.add((gid, sid))
        classtypes[ct or "(none)"] += 1
    fired = {k for k in facts.by_sid if k in effective}
    cov = Indicator("rule_coverage", "defense_health",
                    round(len(fired) / len(effective), 6) if effective else None, "ratio",
                    detail={"version_id": version["id"], "enabled_rules": len(effective),
                            "enabled_rules_fired": len(fired), "fired_sids": len(facts.by_sid)},
                    reason=None if effective else "the rule set in force enables no rule")
    cats = Indicator("categories_enabled", "defense_health", len(classtypes), "categories",
                     detail={"classtypes": dict(classtypes.most_common())},
                     chart={"kind": "barh", "labels": [c for c, _ in classtypes.most_common(12)],
                            "values": [n for _, n in classtypes.most_common(12)], "xlabel": "enabled rules",
                            "ylabel": "classtype"} if classtypes else None)
    return cov, cats


def unknown_sids(session: Session, facts: AlertFacts) -> Indicator:
    if not facts.by_sid:
        return no_data("unknown_sids", "defense_health", "sids", "no alert with a sid in the period")
    known = {(g, s) for g, s in session.execute(text("SELECT DISTINCT gid, sid FROM secmon_rule"))}
    if not known:
        return no_data("unknown_sids", "defense_health", "sids",
                       "no rule set has been imported: the sids that alerted cannot be checked")
    unknown = {k: n for k, n in facts.by_sid.items() if k not in known}
    return Indicator("unknown_sids", "defense_health", len(unknown), "sids",
                     detail={"alerted_sids": len(facts.by_sid), "unknown_alerts": sum(unknown.values()),
                             "examples": [{"gid": g, "sid": s, "signature": facts.signatures.get((g, s)), "alerts": n}
                                          for (g, s), n in sorted(unknown.items(), key=lambda x: (-x[1], x[0]))[:10]]})


def sensor_health(session: Session, sensors: list[str], period: Period, as_of: datetime) -> tuple[Indicator, ...]:
    """From the last ``stats`` event of each sensor in the period: drop ratio, decoder errors, flow memcap."""
    names = _sensor_names(session)
    params = {"s": ts_param(session, period.start), "e": ts_param(session, min(period.end, as_of))}
    per: dict[str, dict] = {}
    for sensor in sensors:
        row = session.execute(text(
            "SELECT st.ts, st.kernel_packets, st.kernel_drops, st.decoder_errors, e.raw FROM secmon_stats st "
            "LEFT JOIN secmon_event e ON e.source_id = st.source_id AND e.line_offset = st.line_offset "
            "WHERE st.sensor_id = :sensor AND st.ts >= :s AND st.ts < :e "
            "ORDER BY st.ts DESC, st.source_id DESC, st.line_offset DESC LIMIT 1"), params | {"sensor": sensor}).first()
        if row is None:
            continue
        ts, pk, dr, dec, raw = row
        memcap = None
        if raw:
            try:
                memcap = ((orjson.loads(raw).get("stats") or {}).get("flow") or {}).get("memcap")
            except (orjson.JSONDecodeError, AttributeError):
                memcap = None
        per[names.get(sensor, sensor)] = {"last_stats": str(_as_dt(ts)), "kernel_packets": pk, "kernel_drops": dr,
                                          "drop_ratio": round(dr / pk, 6) if pk and dr is not None else None,
                                          "decoder_errors": dec, "flow_memcap": memcap}
    reason = "no EVE stats event from the sensors in scope during the period"
    missing = sorted(names.get(s, s) for s in sensors if names.get(s, s) not in per)
    ratios = {k: v["drop_ratio"] for k, v in per.items() if v["drop_ratio"] is not None}
    drop = Indicator("sensor_drop_ratio", "defense_health", max(ratios.values()) if ratios else None, "ratio",
                     detail={"sensors": per, "sensors_without_stats": missing},
                     reason=None if ratios else reason,
                     chart={"kind": "bar", "labels": list(ratios), "values": list(ratios.values()),
                            "xlabel": "sensor", "ylabel": "kernel_drops / kernel_packets"} if ratios else None)
    decs = [v["decoder_errors"] for v in per.values() if v["decoder_errors"] is not None]
    dec_i = Indicator("decoder_errors", "defense_health", sum(decs) if decs else None, "errors",
                      detail={k: v["decoder_errors"] for k, v in per.items()}, reason=None if decs else reason)
    mems = [v["flow_memcap"] for v in per.values() if v["flow_memcap"] is not None]
    mem_i = Indicator("flow_memcap_hits", "defense_health", sum(mems) if mems else None, "events",
                      detail={k: v["flow_memcap"] for k, v in per.items()}, reason=None if mems else reason)
    return drop, dec_i, mem_i


def ingestion_gaps(session: Session, sensors: list[str], period: Period, as_of: datetime,
                   gap_minutes: float) -> Indicator:
    """Silences longer than ``gap_minutes`` between consecutive events of a sensor within the period."""
    if not sensors:
        return no_data("ingestion_gaps", "defense_health", "gaps", "no sensor delivered events in the period")
    names = _sensor_names(session)
    params = {"s": ts_param(session, period.start), "e": ts_param(session, min(period.end, as_of))}
    # one pass: the first and last event of every (sensor, minute); a silence longer than a minute lies between
    # two consecutive non-empty minutes, so its exact length is the next minute's first event minus the previous
    # minute's last one (gap_minutes >= 1, enforced by the weights schema)
    if dialect_name(session) == "sqlite":
        minute = "substr(CAST(ts AS TEXT), 1, 16)"
    else:
        minute = "date_trunc('minute', ts)"
    sql = (f"SELECT sensor_id, {minute} AS m, min(ts), max(ts) FROM secmon_event WHERE ts >= :s AND ts < :e "
           "GROUP BY sensor_id, m ORDER BY sensor_id, m")
    per: dict[str, dict] = {names.get(s, s): {"gaps": 0, "longest_minutes": 0.0, "silent_hours": 0.0, "worst": None}
                            for s in sensors}
    wanted = set(sensors)
    prev_sensor, prev_last = None, None
    threshold = gap_minutes * 60
    for sensor, _m, first, last in session.execute(text(sql), params):
        first, last = _as_dt(first), _as_dt(last)
        if sensor == prev_sensor and sensor in wanted:
            secs = (first - prev_last).total_seconds()
            if secs > threshold:
                d = per[names.get(sensor, sensor)]
                d["gaps"] += 1
                d["silent_hours"] = round(d["silent_hours"] + secs / 3600, 3)
                if secs / 60 > d["longest_minutes"]:
                    d["longest_minutes"] = round(secs / 60, 2)
                    d["worst"] = {"from": str(prev_last), "to": str(first)}
        prev_sensor, prev_last = sensor, last
    total = sum(d["gaps"] for d in per.values())
    return Indicator("ingestion_gaps", "defense_health", total, "gaps",
                     detail={"threshold_minutes": gap_minutes, "sensors": per},
                     chart={"kind": "bar", "labels": list(per), "values": [d["gaps"] for d in per.values()],
                            "xlabel": "sensor", "ylabel": f"silences > {gap_minutes:g} min"})


def quarantine_ratio(session: Session, sensors: list[str], period: Period, as_of: datetime) -> Indicator:
    """Quarantined (unreadable) lines of the sources that delivered events in the period, per line read."""
    if not sensors:
        return no_data("quarantine_ratio", "defense_health", "ratio", "no sensor delivered events in the period")
    params = {"s": ts_param(session, period.start), "e": ts_param(session, min(period.end, as_of))}
    rows = session.execute(text(
        "SELECT s.sensor_id, s.first_name, s.events, s.quarantined FROM secmon_source s WHERE EXISTS (SELECT 1 "
        "FROM secmon_event e WHERE e.source_id = s.id AND e.ts >= :s AND e.ts < :e)"), params).all()
    wanted = set(sensors)
    rows = [r for r in rows if r[0] in wanted]
    events = sum(r[2] for r in rows)
    quarantined = sum(r[3] for r in rows)
    if events + quarantined == 0:
        return no_data("quarantine_ratio", "defense_health", "ratio", "no line read from the sources in scope")
    return Indicator("quarantine_ratio", "defense_health", round(quarantined / (events + quarantined), 8), "ratio",
                     detail={"sources": len(rows), "events": events, "quarantined_lines": quarantined,
                             "by_source": {r[1][-80:]: r[3] for r in rows if r[3]}})


def monitoring_indicators(session: Session, scope: Scope, period: Period, as_of: datetime, *,
                          gap_minutes: float) -> tuple[list[Indicator], AlertFacts, list[str]]:
    facts = alert_facts(session, scope, period, as_of)
    sensors = scope_sensors(session, scope, period, as_of, facts)
    version = ruleset_in_force(session, min(period.end, as_of))
    days = max((min(period.end, as_of) - period.start).total_seconds() / 86400, 1 / 24)
    cov, cats = rule_coverage(session, version, facts)
    drop, dec, mem = sensor_health(session, sensors, period, as_of)
    out = [alerts_by_severity(facts), alerts_high_per_day(facts, days), ruleset_age(session, min(period.end, as_of),
                                                                                  version),
           cov, cats, unknown_sids(session, facts), drop, dec, mem,
           ingestion_gaps(session, sensors, period, as_of, gap_minutes),
           quarantine_ratio(session, sensors, period, as_of)]
    return out, facts, sensors


def period_has_events(session: Session, period: Period, as_of: datetime) -> int:
    params = {"s": ts_param(session, period.start), "e": ts_param(session, min(period.end, as_of))}
    return session.execute(text("SELECT count(*) FROM (SELECT 1 FROM secmon_event WHERE ts >= :s AND ts < :e "
                                "LIMIT 1) x"), params).scalar_one()


__all__ = ["AlertFacts", "Indicator", "monitoring_indicators", "no_data", "period_has_events", "ts_param"]
