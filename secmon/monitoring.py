"""Monitoring queries over ingested EVE: alerts over time, top talkers, unknown sids, rule coverage, sensor
health, quarantine."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select, text

from kernel import NotFound, Principal, ValidationFailed, authorize
from kernel.db import Session, dialect_name
from secmon.models import SecmonAlert, SecmonQuarantine, SecmonRule, SecmonRulesetVersion, SecmonSensor
from secmon.sensors import get_sensor

def _bucket_expr(dialect: str, bucket: str) -> str:
    if bucket not in ("minute", "hour", "day"):
        raise ValidationFailed("bucket must be minute, hour or day", errors=[{"field": "bucket",
                                                                            "message": "minute|hour|day"}])
    if dialect == "sqlite":
        fmt = {"minute": "%Y-%m-%dT%H:%M:00Z", "hour": "%Y-%m-%dT%H:00:00Z", "day": "%Y-%m-%dT00:00:00Z"}[bucket]
        return f"strftime('{fmt}', a.ts)"
    return f"to_char(date_trunc('{bucket}', a.ts AT TIME ZONE 'UTC'), 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"


def parse_time(value: str | datetime | None, field: str) -> datetime | None:
    """An RFC 3339 / ISO 8601 time (naive = UTC) or None; a 422 naming the field otherwise."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        try:
            dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise ValidationFailed(f"{field} is not an ISO 8601 time", errors=[{"field": field,
                                                                              "message": "ISO 8601 time"}]) from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _sensor_filter(session: Session, sensor: str | None, since=None, until=None) -> tuple[str, dict]:
    where, params = "", {}
    if sensor:
        s = get_sensor(session, sensor)
        if s is None:
            raise NotFound(f"no sensor {sensor!r}")
        where, params = " AND a.sensor_id = :sensor_id", {"sensor_id": s.id}
    since, until = parse_time(since, "since"), parse_time(until, "until")
    sqlite = dialect_name(session) == "sqlite"
    if since is not None:
        where += " AND a.ts >= :since"
        params["since"] = since.replace(tzinfo=None).isoformat(" ", "microseconds") if sqlite else since
    if until is not None:
        where += " AND a.ts < :until"
        params["until"] = until.replace(tzinfo=None).isoformat(" ", "microseconds") if sqlite else until
    return where, params


def alerts_over_time(session: Session, principal: Principal, *, bucket: str = "hour", sensor: str | None = None,
                     since: str | datetime | None = None, until: str | datetime | None = None) -> list[dict]:
    """Alert counts per time bucket and severity, optionally for one sensor and a [since, until) window."""
    authorize(principal, "secmon:events:read")
    expr = _bucket_expr(dialect_name(session), bucket)
    where, params = _sensor_filter(session, sensor, since, until)
    sql = (f"SELECT {expr} AS b, a.severity, count(*) FROM secmon_alert a WHERE a.ts IS NOT NULL{where} "
           "GROUP BY b, a.severity ORDER BY b, a.severity")
    return [{"bucket": b, "severity": sev, "count": c} for b, sev, c in session.execute(text(sql), params)]


_TOP = {"signature": "a.signature", "src_ip": "a.src_ip", "dest_ip": "a.dest_ip", "sensor": "s.name",
        "sid": "a.sid"}


def top_alerts(session: Session, principal: Principal, *, by: str = "signature", limit: int = 10,
               sensor: str | None = None, since: str | datetime | None = None,
               until: str | datetime | None = None) -> list[dict]:
    """Top signatures / sources / destinations / sensors / sids among alerts."""
    authorize(principal, "secmon:events:read")
    col = _TOP.get(by)
    if col is None:
        raise ValidationFailed(f"unknown dimension {by!r}", errors=[{"field": "by", "message": "|".join(_TOP)}])
    limit = max(1, min(int(limit), 1000))
    where, params = _sensor_filter(session, sensor, since, until)
    sql = (f"SELECT {col} AS v, count(*) AS n FROM secmon_alert a JOIN secmon_sensor s ON s.id = a.sensor_id "
           f"WHERE 1 = 1{where} GROUP BY {col} ORDER BY n DESC, v LIMIT :limit")
    return [{"value": v, "count": n} for v, n in session.execute(text(sql), params | {"limit": limit})]


def resolve_version(session: Session, *, version_id: str | None = None,
                    sensor: str | None = None) -> tuple[SecmonRulesetVersion, SecmonSensor | None]:
    """The rule-set version a view is about: ``version_id`` when given, else the version built for ``sensor``,
    else the one version built for every sensor that has one. Never "whatever was imported last"."""
    s = None
    if sensor:
        s = get_sensor(session, sensor)
        if s is None:
            raise NotFound(f"no sensor {sensor!r}")
    if version_id:
        v = session.get(SecmonRulesetVersion, version_id)
        if v is None:
            raise NotFound(f"no rule-set version {version_id!r}")
        return v, s
    if s is not None:
        if not s.ruleset_version_id:
            raise NotFound(f"no rule-set version is built for sensor {s.name!r} "
                           "(import one with --sensor, or pass version)")
        return session.get(SecmonRulesetVersion, s.ruleset_version_id), s
    built = session.execute(select(SecmonSensor.ruleset_version_id).where(
        SecmonSensor.ruleset_version_id.is_not(None)).distinct()).scalars().all()
    if not built:
        raise NotFound("no rule-set version is built for any sensor (import one with --sensor, or pass version)")
    if len(built) > 1:
        raise ValidationFailed("sensors run different rule-set versions: pass version or sensor",
                               errors=[{"field": "version", "message": "required: sensors differ"}])
    return session.get(SecmonRulesetVersion, built[0]), None


def _fired(session: Session, s: SecmonSensor | None):
    q = select(SecmonAlert.gid, SecmonAlert.sid).where(SecmonAlert.sid.is_not(None))
    if s is not None:
        q = q.where(SecmonAlert.sensor_id == s.id)
    return q.distinct().subquery()


def alerts_unknown_sid(session: Session, principal: Principal, *, limit: int = 100, version_id: str | None = None,
                       sensor: str | None = None) -> list[dict]:
    """Alerts whose gid:sid is not in the rule-set version (default: the version built for the sensor)."""
    authorize(principal, "secmon:events:read")
    v, s = resolve_version(session, version_id=version_id, sensor=sensor)
    in_version = select(SecmonRule.id).where(SecmonRule.version_id == v.id, SecmonRule.gid == SecmonAlert.gid,
                                             SecmonRule.sid == SecmonAlert.sid).exists()
    n = func.count().label("n")
    q = (select(SecmonAlert.gid, SecmonAlert.sid, func.max(SecmonAlert.signature), n)
         .where(SecmonAlert.sid.is_not(None), ~in_version))
    if s is not None:
        q = q.where(SecmonAlert.sensor_id == s.id)
    q = q.group_by(SecmonAlert.gid, SecmonAlert.sid).order_by(n.desc(), SecmonAlert.sid).limit(
        max(1, min(int(limit), 10000)))
    return [{"gid": g, "sid": sid, "signature": sig, "count": c, "version_id": v.id}
            for g, sid, sig, c in session.execute(q)]


def rule_coverage(session: Session, principal: Principal, *, version_id: str | None = None,
                  sensor: str | None = None) -> dict:
    """Rules that fired vs rules enabled in a rule-set version (default: the version built for the sensor)."""
    authorize(principal, "secmon:events:read")
    v, s = resolve_version(session, version_id=version_id, sensor=sensor)
    enabled = session.execute(select(func.count()).select_from(SecmonRule).where(
        SecmonRule.version_id == v.id, SecmonRule.effective.is_(True))).scalar_one()
    fired_q = _fired(session, s)
    fired = session.execute(select(func.count()).select_from(fired_q)).scalar_one()
    hit = select(SecmonRule.id).where(SecmonRule.version_id == v.id, SecmonRule.effective.is_(True),
                                      SecmonRule.gid == fired_q.c.gid, SecmonRule.sid == fired_q.c.sid).exists()
    fired_enabled = session.execute(select(func.count()).select_from(fired_q).where(hit)).scalar_one()
    return {"version_id": v.id, "name": v.name, "sensor": s.name if s else None, "enabled_rules": enabled,
            "fired_rules": fired, "fired_enabled_rules": fired_enabled, "fired_not_enabled": fired - fired_enabled,
            "coverage": round(fired_enabled / enabled, 6) if enabled else 0.0}


def sensor_health(session: Session, principal: Principal) -> list[dict]:
    """Latest ``stats`` record per sensor: kernel packets and drops (and ratio), decoder errors."""
    authorize(principal, "secmon:events:read")
    out = []
    sensors = session.execute(select(SecmonSensor).order_by(SecmonSensor.name)).scalars().all()
    for sensor in sensors:
        n = session.execute(text("SELECT count(*) FROM secmon_stats WHERE sensor_id = :s"),
                            {"s": sensor.id}).scalar_one()
        row = session.execute(text(
            "SELECT ts, kernel_packets, kernel_drops, decoder_errors FROM secmon_stats WHERE sensor_id = :s "
            "ORDER BY ts DESC, source_id DESC, line_offset DESC LIMIT 1"), {"s": sensor.id}).first()
        ts, pk, dr, dec = row if row is not None else (None, None, None, None)
        out.append({"sensor": sensor.name, "last_stats": ts if ts is None or isinstance(ts, str) else ts.isoformat(),
                    "stats_events": n, "kernel_packets": pk, "kernel_drops": dr,
                    "drop_ratio": round(dr / pk, 6) if pk and dr is not None else None, "decoder_errors": dec})
    return out


def quarantine_list(session: Session, principal: Principal, *, limit: int = 100) -> list[dict]:
    authorize(principal, "secmon:events:read")
    rows = session.execute(select(SecmonQuarantine).order_by(SecmonQuarantine.id).limit(max(1, min(limit, 10000))))
    return [{"source": q.source_name, "line": q.line_no, "offset": q.line_offset, "length": q.length,
             "reason": q.reason, "excerpt": q.excerpt[:200]} for q in rows.scalars()]
