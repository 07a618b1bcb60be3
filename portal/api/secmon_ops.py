"""secmon API, strike and governance: assets, incidents, event search, responses (two-person approval, block
list exports), remediation. Documented in ``openapi/secmon.yaml``."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from kernel.errors import BadRequest, PayloadTooLarge
from portal.api import json_body, ok, query_int
from portal.auth import current_principal
from portal.db import get_session
from portal.lazy import lazy

assets = lazy("secmon.assets")
incidents = lazy("secmon.incidents")
notify = lazy("secmon.notify")
remediation = lazy("secmon.remediation")
responses = lazy("secmon.responses")
search = lazy("secmon.search")
_correlation = lazy("secmon.correlation")

bp = Blueprint("api_secmon_ops", __name__)


def _body() -> dict:
    data = json_body()
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


def _s(data: dict, key: str, default=None):
    v = data.get(key, default)
    if v is not None and not isinstance(v, str):
        raise BadRequest(f"{key} must be a string")
    return v


def correlation_config():
    path = current_app.config.get("SECMON_CORRELATION_RULES")
    return _correlation.load_config(path) if path else _correlation.load_config()


def notify_config() -> notify.NotifyConfig:
    return notify.NotifyConfig.from_mapping(current_app.config.get("SECMON_NOTIFY"))


# ------------------------------------------------------------------------------------------ assets


@bp.get("/secmon/assets")
def assets_list():
    return ok({"items": assets.asset_list(get_session(), current_principal())})


@bp.post("/secmon/assets/systems")
def assets_system_create():
    d = _body()
    return ok(assets.system_create(get_session(), current_principal(), name=_s(d, "name", ""), org=_s(d, "org"),
                                   mlps_level=d.get("mlps_level"), criticality=_s(d, "criticality"),
                                   project_id=_s(d, "project_id"), description=_s(d, "description")), 201)


@bp.patch("/secmon/assets/systems/<ref>")
def assets_system_update(ref):
    return ok(assets.system_update(get_session(), current_principal(), ref, **_body()))


@bp.post("/secmon/assets/networks")
def assets_network_add():
    d = _body()
    return ok(assets.network_add(get_session(), current_principal(), system=_s(d, "system", ""), cidr=_s(d, "cidr"),
                                 hostname=_s(d, "hostname"), description=_s(d, "description")), 201)


@bp.delete("/secmon/assets/networks")
def assets_network_remove():
    return ok(assets.network_remove(get_session(), current_principal(), request.args.get("cidr", "")))


@bp.post("/secmon/assets/import")
def assets_import():
    fmt = request.args.get("format", "")
    if fmt not in ("csv", "xlsx", "json"):
        raise BadRequest("format must be csv, xlsx or json")
    data = request.get_data(cache=False)
    if not data:
        raise BadRequest("empty body")
    return ok(assets.assets_import(get_session(), current_principal(), data, fmt=fmt))


@bp.get("/secmon/assets/resolve")
def assets_resolve():
    return ok(assets.asset_resolve(get_session(), current_principal(), request.args.get("ip", "")))


@bp.get("/secmon/assets/shadow-it")
def assets_shadow_it():
    return ok({"items": assets.shadow_it(get_session(), current_principal(),
                                         limit=query_int("limit", 100, minimum=1, maximum=10000),
                                         internal_only=request.args.get("scope", "internal") != "all")})


# ------------------------------------------------------------------------------------------ incidents


@bp.post("/secmon/incidents/correlate")
def incidents_correlate():
    session, principal = get_session(), current_principal()
    res = incidents.incidents_correlate(session, principal, config=correlation_config())
    cfg = notify_config()
    res["notifications_queued"] = len(notify.notifications_enqueue(session, principal, cfg))
    res["delivery"] = notify.notifications_deliver(session, principal, cfg)
    return ok(res)


@bp.post("/secmon/incidents/rules/check")
def incidents_rules_check():
    data = request.get_data(cache=False)
    if len(data) > 1 << 20:
        raise PayloadTooLarge("correlation rules larger than 1 MiB")
    cfg = _correlation.load_config(data)
    return ok({"valid": True, "rules": [r.id for r in cfg.rules]})


@bp.get("/secmon/incidents")
def incidents_list():
    return ok(incidents.incident_list(get_session(), current_principal(), state=request.args.get("state") or None,
                                      severity=request.args.get("severity") or None,
                                      limit=query_int("limit", 50, minimum=1, maximum=500),
                                      offset=query_int("offset", 0, minimum=0)))


@bp.get("/secmon/incidents/<oid:incident_id>")
def incidents_get(incident_id):
    return ok(incidents.incident_get(get_session(), current_principal(), incident_id))


@bp.post("/secmon/incidents/<oid:incident_id>/transition")
def incidents_transition(incident_id):
    d = _body()
    return ok(incidents.incident_transition(get_session(), current_principal(), incident_id, _s(d, "state", ""),
                                            note=_s(d, "note")))


@bp.post("/secmon/incidents/<oid:incident_id>/assign")
def incidents_assign(incident_id):
    d = _body()
    return ok(incidents.incident_assign(get_session(), current_principal(), incident_id, _s(d, "assignee")))


@bp.post("/secmon/incidents/<oid:incident_id>/comments")
def incidents_comment(incident_id):
    d = _body()
    return ok(incidents.incident_comment(get_session(), current_principal(), incident_id, _s(d, "body", "")), 201)


@bp.get("/secmon/notifications")
def notifications_log():
    return ok({"items": notify.notification_log(get_session(), current_principal(),
                                                incident_id=request.args.get("incident_id") or None,
                                                limit=query_int("limit", 100, minimum=1, maximum=1000))})


# ------------------------------------------------------------------------------------------ search


@bp.get("/secmon/search")
def events_search():
    a = request.args
    return ok(search.event_search(get_session(), current_principal(), **{k: a.get(k) or None for k in search.FIELDS},
                                  limit=query_int("limit", 50, minimum=1, maximum=500),
                                  offset=query_int("offset", 0, minimum=0)))


# ------------------------------------------------------------------------------------------ responses


@bp.post("/secmon/responses")
def responses_propose():
    d = _body()
    return ok(responses.response_propose(
        get_session(), current_principal(), title=_s(d, "title", ""), reason=_s(d, "reason"),
        incident_id=_s(d, "incident_id"), alert=_s(d, "alert"), blocks=d.get("blocks"),
        rule_changes=d.get("rule_changes"), suppressions=d.get("suppressions")), 201)


@bp.get("/secmon/responses")
def responses_list():
    return ok({"items": responses.response_list(get_session(), current_principal(),
                                                state=request.args.get("state") or None,
                                                limit=query_int("limit", 100, minimum=1, maximum=500),
                                                offset=query_int("offset", 0, minimum=0))})


@bp.get("/secmon/responses/<response_id>")
def responses_get(response_id):
    return ok(responses.response_get(get_session(), current_principal(), response_id))


@bp.post("/secmon/responses/<response_id>/approve")
def responses_approve(response_id):
    d = _body() if request.get_data(cache=True) else {}
    return ok(responses.response_decide(get_session(), current_principal(), response_id, approve=True,
                                        note=_s(d, "note")))


@bp.post("/secmon/responses/<response_id>/reject")
def responses_reject(response_id):
    d = _body() if request.get_data(cache=True) else {}
    return ok(responses.response_decide(get_session(), current_principal(), response_id, approve=False,
                                        note=_s(d, "note")))


@bp.post("/secmon/responses/<response_id>/withdraw")
def responses_withdraw(response_id):
    return ok(responses.response_withdraw(get_session(), current_principal(), response_id))


@bp.get("/secmon/blocklist")
def blocklist():
    fmt = request.args.get("format", "text")
    files = responses.blocklist_export(get_session(), current_principal(), fmt=fmt)
    if fmt == "text":
        return Response(files["blocklist.txt"], mimetype="text/plain")
    return ok({"files": files})


# ------------------------------------------------------------------------------------------ remediation


@bp.post("/secmon/remediation")
def remediation_create():
    d = _body()
    qd = d.get("quiet_days")
    if qd is not None and not isinstance(qd, int):
        raise BadRequest("quiet_days must be an integer")
    return ok(remediation.remediation_create(get_session(), current_principal(), incident_id=_s(d, "incident_id", ""),
                                             title=_s(d, "title"), description=_s(d, "description"),
                                             due_at=_s(d, "due_at"), quiet_days=qd, config=correlation_config()), 201)


@bp.get("/secmon/remediation")
def remediation_list():
    ov = request.args.get("overdue")
    if ov not in (None, "", "1", "0", "true", "false"):
        raise BadRequest("query parameter 'overdue' must be true or false")
    return ok({"items": remediation.remediation_list(get_session(), current_principal(),
                                                     state=request.args.get("state") or None,
                                                     overdue=None if ov in (None, "") else ov in ("1", "true"),
                                                     limit=query_int("limit", 100, minimum=1, maximum=500),
                                                     offset=query_int("offset", 0, minimum=0))})


@bp.get("/secmon/remediation/<oid:task_id>")
def remediation_get(task_id):
    return ok(remediation.remediation_get(get_session(), current_principal(), task_id))


@bp.post("/secmon/remediation/<oid:task_id>/fix")
def remediation_fix(task_id):
    d = _body()
    return ok(remediation.remediation_fix(get_session(), current_principal(), task_id, evidence=_s(d, "evidence", "")))


@bp.post("/secmon/remediation/verify")
def remediation_verify():
    return ok(remediation.remediation_verify(get_session(), current_principal()))


@bp.post("/secmon/remediation/escalate")
def remediation_escalate():
    return ok(remediation.remediation_escalate(get_session(), current_principal()))
