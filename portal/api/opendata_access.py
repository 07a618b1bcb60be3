"""Conditional access to open data over HTTP: apply, the applicant's and the steward's lists, decide
(approve with an expiry / reject with a reason), collect the scoped key (applicant only, shown once),
revoke; and the download log of the datasets the caller decides on. Every step is audited by
:mod:`opendata.access`."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, request

from kernel.errors import ValidationFailed
from portal.api import json_body, ok, query_int
from portal.auth import current_principal
from portal.db import get_session

bp = Blueprint("api_opendata_access", __name__)


@bp.post("/opendata/datasets/<name>/access-applications")
def apply(name: str):
    from opendata.access import access_apply, access_dict

    body = json_body("OpendataAccessApply")
    session = get_session()
    app = access_apply(session, current_principal(), name, purpose=body["purpose"])
    return ok(access_dict(session, app), status=201, headers={"Location": f"/api/v1/opendata/access-applications/{app.id}"})


@bp.get("/opendata/access-applications")
def list_applications():
    from opendata.access import access_dict, access_list

    box = request.args.get("box", "mine")
    if box not in ("mine", "inbox"):
        raise ValidationFailed("box must be 'mine' or 'inbox'", errors=[{"pointer": "/box", "message": "mine | inbox"}])
    state = request.args.get("state") or None
    session = get_session()
    rows = access_list(session, current_principal(), inbox=box == "inbox", state=state)
    return ok({"items": [access_dict(session, a) for a in rows]})


@bp.get("/opendata/access-applications/<app_id>")
def get_application(app_id: str):
    from opendata.access import access_dict, access_get

    session = get_session()
    return ok(access_dict(session, access_get(session, current_principal(), app_id)))


@bp.post("/opendata/access-applications/<app_id>/decision")
def decide(app_id: str):
    from kernel.clock import utcnow
    from opendata.access import access_decide, access_dict

    body = json_body("OpendataAccessDecision")
    approve = body["decision"] == "approve"
    session = get_session()
    app = access_decide(session, current_principal(), app_id, approve=approve,
                        expires_at=utcnow() + timedelta(days=body.get("days", 90)) if approve else None,
                        note=body.get("reason", ""))
    return ok(access_dict(session, app))


@bp.post("/opendata/access-applications/<app_id>/key")
def collect_key(app_id: str):
    from opendata.access import access_dict, access_key_issue

    session = get_session()
    app, key = access_key_issue(session, current_principal(), app_id)
    return ok({**access_dict(session, app), "key": key})


@bp.post("/opendata/access-applications/<app_id>/revoke")
def revoke(app_id: str):
    from opendata.access import access_dict, access_revoke

    body = json_body("OpendataAccessRevoke")
    session = get_session()
    return ok(access_dict(session, access_revoke(session, current_principal(), app_id, reason=body["reason"])))


@bp.get("/opendata/downloads")
def download_log():
    from opendata.access import download_log as log

    limit = query_int("limit", 100, minimum=1, maximum=1000)
    offset = query_int("offset", 0, minimum=0)
    dataset = request.args.get("dataset") or None
    items, total = log(get_session(), current_principal(), dataset=dataset, limit=limit, offset=offset)
    return ok({"items": items, "total": total, "limit": limit, "offset": offset})
