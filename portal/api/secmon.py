"""secmon API: EVE push for sensors (per-sensor token), rule-set versions and lint, monitoring views."""

from __future__ import annotations

from flask import Blueprint, current_app, request, url_for

from kernel.clock import isoformat
from kernel.errors import NotAuthenticated, UnsupportedMediaType, ValidationFailed
from portal.api import accepts_nul, json_body, ok, public, query_int
from portal.auth import current_principal
from portal.db import get_session
from portal.lazy import lazy

services = lazy("secmon.services")
push_queue = lazy("secmon.push_queue")
eve_push = lazy("portal.jobs.eve_push")

bp = Blueprint("api_secmon", __name__)

_NDJSON = {"application/x-ndjson", "application/ndjson", "application/jsonl", "application/json-seq",
           "application/json", "text/plain"}


@bp.post("/secmon/eve")
@public  # not a user bearer token: the sensor's own token in X-Sensor-Token, checked below
def push_eve():
    """Ingest now (200 with the report), or with ``Prefer: respond-async`` store the push and answer 202: the
    background worker ingests it and the sensor follows it at the ``Location`` given."""
    sensor, principal = _sensor_push_principal()
    session = get_session()
    if request.mimetype not in _NDJSON:
        raise UnsupportedMediaType(f"send NDJSON (application/x-ndjson), not {request.mimetype or 'nothing'}")
    key = request.headers.get("Idempotency-Key")
    if _prefers_async():
        status, _new = push_queue.push_accept(session, principal, request.stream, sensor=sensor, idempotency_key=key)
        location = url_for("api_secmon.push_status", push_id=status["id"], sensor=sensor)
        return ok(status, 202, headers={"Location": location, "Preference-Applied": "respond-async"})
    report = services.eve_ingest_stream(session, principal, request.stream, sensor=sensor,
                                        name=f"http:{sensor}:{request.headers.get('X-Request-Id', '')}",
                                        idempotency_key=key)
    d = report.to_dict()
    d.pop("sources", None)
    if report.events:  # each pushed batch extends the open incidents (alarms are queued for the scheduler)
        d.update(eve_push.after_push(session, sensor, current_app.config))
    return ok(d)


def _sensor_push_principal():
    sensor = request.args.get("sensor") or ""
    token = request.headers.get("X-Sensor-Token")
    if not sensor or not token:
        raise NotAuthenticated("send ?sensor=<name> and the sensor's token in X-Sensor-Token")
    return sensor, services.sensor_principal(get_session(), sensor, token)


def _prefers_async() -> bool:
    """RFC 7240: ``Prefer: respond-async`` (among other preferences, any case)."""
    return any(p.split(";", 1)[0].split("=", 1)[0].strip().lower() == "respond-async"
               for value in request.headers.getlist("Prefer") for p in value.split(","))


@bp.get("/secmon/eve/pushes/<push_id>")
@public  # the sensor's own token in X-Sensor-Token
def push_status(push_id: str):
    sensor, principal = _sensor_push_principal()
    return ok(push_queue.push_get(get_session(), principal, sensor, push_id))


@bp.get("/secmon/eve/pushes")
def push_list():
    state = request.args.get("state") or None
    if state is not None and state not in push_queue.STATES:
        raise ValidationFailed("unknown state",
                               errors=[{"field": "state", "message": f"one of {', '.join(push_queue.STATES)}"}])
    sensor = request.args.get("sensor") or None
    if sensor is not None and len(sensor) > 100:
        raise ValidationFailed("sensor name too long", errors=[{"field": "sensor", "message": "at most 100 characters"}])
    return ok(push_queue.push_queue(get_session(), current_principal(), state=state, sensor=sensor,
                                    limit=query_int("limit", 50, minimum=1, maximum=500),
                                    offset=query_int("offset", 0)))


@bp.get("/secmon/rulesets")
def list_rulesets():
    rows = services.ruleset_versions(get_session(), current_principal())
    for r in rows:
        r["imported_at"] = isoformat(r["imported_at"])  # RFC 3339, as documented (was a naive local form)
    return ok({"items": rows})


@bp.post("/secmon/rules/lint")
@accepts_nul
def lint_rules():
    from kernel import authorize
    from secmon.lint import lint_ruleset, summarize
    from secmon.rules import RuleSet, parse_classification, parse_text

    authorize(current_principal(), "secmon:ruleset:read")
    body = json_body("SecmonLintRequest")
    rs = RuleSet(files=[parse_text(body["rules"], body.get("filename") or "rules")])
    if body.get("classification"):
        rs.classifications, errs = parse_classification(body["classification"], "classification.config")
        rs.config_errors.extend(errs)
    findings = lint_ruleset(rs)
    return ok({"summary": summarize(findings), "stats": rs.stats(), "findings": [f.to_dict() for f in findings]})


def _sensor() -> str | None:
    return request.args.get("sensor") or None


@bp.get("/secmon/alerts/timeline")
def alerts_timeline():
    bucket = request.args.get("bucket", "hour")
    return ok({"items": services.alerts_over_time(get_session(), current_principal(), bucket=bucket,
                                                  sensor=_sensor(), since=request.args.get("since"),
                                                  until=request.args.get("until"))})


@bp.get("/secmon/alerts/top")
def alerts_top():
    by = request.args.get("by", "signature")
    limit = query_int("limit", 10, minimum=1, maximum=1000)
    return ok({"items": services.top_alerts(get_session(), current_principal(), by=by, limit=limit,
                                            sensor=_sensor(), since=request.args.get("since"),
                                            until=request.args.get("until"))})


@bp.get("/secmon/alerts/unknown-sids")
def alerts_unknown():
    limit = query_int("limit", 100, minimum=1, maximum=10000)
    return ok({"items": services.alerts_unknown_sid(get_session(), current_principal(), limit=limit,
                                                    version_id=request.args.get("version_id") or None,
                                                    sensor=request.args.get("sensor") or None)})


@bp.get("/secmon/coverage")
def coverage():
    return ok(services.rule_coverage(get_session(), current_principal(),
                                     version_id=request.args.get("version_id") or None,
                                     sensor=request.args.get("sensor") or None))


@bp.get("/secmon/sensors/health")
def sensors_health():
    return ok({"items": services.sensor_health(get_session(), current_principal())})


@bp.get("/secmon/quarantine")
def quarantine():
    limit = query_int("limit", 100, minimum=1, maximum=10000)
    return ok({"items": services.quarantine_list(get_session(), current_principal(), limit=limit)})

