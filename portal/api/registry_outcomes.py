"""Outcomes of built projects and the programme statistics (documented in ``openapi/registry_outcomes.yaml``):
targets, milestones, acceptance with evidence files, evaluation; statistics as JSON or XLSX."""

from __future__ import annotations

import json

from flask import Blueprint, Response, request

from kernel.errors import BadRequest, ValidationFailed
from portal.api import json_body, ok
from portal.auth import current_principal
from portal.db import get_session
from portal.lazy import lazy

evaluation = lazy("registry.evaluation")
stats = lazy("registry.statistics")

bp = Blueprint("api_registry_outcomes", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/projects/<oid:project_id>/outcomes")
def outcomes(project_id: str):
    return ok(evaluation.project_outcomes(get_session(), current_principal(), project_id))


@bp.put("/projects/<oid:project_id>/targets")
def declare_targets(project_id: str):
    body = json_body("TargetsRequest")
    session, principal = get_session(), current_principal()
    evaluation.targets_declare(session, principal, project_id, body["targets"])
    return ok(evaluation.project_outcomes(session, principal, project_id))


@bp.post("/projects/<oid:project_id>/milestones")
def record_milestone(project_id: str):
    body = json_body("MilestoneRequest")
    return ok(evaluation.milestone_record(get_session(), current_principal(), project_id, name=body["name"],
                                          reached_on=body["reached_on"], spent=body.get("spent", 0),
                                          note=body.get("note", "")), 201)


def evidence_files(files) -> list[tuple[str, bytes, str]]:
    return [(f.filename or "", f.read(), f.mimetype or "application/octet-stream") for f in files]


def parse_actuals(raw: str | None) -> dict:
    try:
        actuals = json.loads(raw or "{}")
    except ValueError:
        raise ValidationFailed("actuals is not JSON", errors=[{"field": "actuals", "message": "a JSON object"}]) from None
    if not isinstance(actuals, dict):
        raise ValidationFailed("actuals is not an object", errors=[{"field": "actuals", "message": "a JSON object"}])
    return actuals


@bp.post("/projects/<oid:project_id>/acceptance")
def accept(project_id: str):
    from kernel.errors import UnsupportedMediaType

    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType("send the acceptance as multipart/form-data (actuals + evidence files)")
    session, principal = get_session(), current_principal()
    evaluation.project_accept(session, principal, project_id, actuals=parse_actuals(request.form.get("actuals")),
                              evidence=evidence_files(request.files.getlist("evidence")),
                              completed_on=request.form.get("completed_on"), reason=request.form.get("reason", ""))
    return ok(evaluation.project_outcomes(session, principal, project_id))


@bp.get("/projects/<oid:project_id>/evidence/<evidence_id>")
def evidence(project_id: str, evidence_id: str):
    ev = evaluation.evidence_get(get_session(), current_principal(), project_id, evidence_id)
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in ev.filename) or "evidence"
    return Response(ev.content, mimetype="application/octet-stream",
                    headers={"Content-Disposition": f"attachment; filename={safe}", "X-Content-SHA256": ev.sha256})


@bp.post("/projects/<oid:project_id>/evaluation")
def evaluate(project_id: str):
    body = json_body("EvaluationRequest") if request.get_data() else {}
    session, principal = get_session(), current_principal()
    evaluation.project_evaluate(session, principal, project_id, comment=body.get("comment", ""))
    return ok(evaluation.project_outcomes(session, principal, project_id), 201)


@bp.get("/programme/statistics")
def programme_statistics():
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "xlsx"):
        raise BadRequest("format must be json or xlsx")
    data = stats.programme_statistics(get_session(), current_principal())
    if fmt == "xlsx":
        return Response(stats.to_xlsx(data), mimetype=XLSX,
                        headers={"Content-Disposition": "attachment; filename=programme-statistics.xlsx"})
    return ok(data)
