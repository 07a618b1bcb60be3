"""secmon evaluation API: run a report, list and fetch stored reports (JSON, HTML, PDF), verify, compare."""

from __future__ import annotations

from flask import Blueprint, Response, request

from kernel.errors import BadRequest
from portal.api import json_body, ok, query_int
from portal.auth import current_principal
from portal.db import get_session
from portal.evaluation_support import evaluation_kwargs
from portal.lazy import lazy

ev = lazy("secmon.evaluation.services")

bp = Blueprint("api_secmon_evaluation", __name__)

_TYPES = {"json": "application/json", "html": "text/html; charset=utf-8", "pdf": "application/pdf"}


@bp.post("/secmon/evaluations")
def run_evaluation():
    body = json_body("SecmonEvaluationRequest")
    report, info = ev.evaluation_run(get_session(), current_principal(), body["period"],
                                     department=body.get("department"), system=body.get("system"),
                                     compare=body.get("compare"), pdf=bool(body.get("pdf", False)),
                                     lang=body.get("lang", "zh"), **evaluation_kwargs())
    return ok(ev.report_dict(report, created=info["created"]), 201 if info["created"] else 200)


@bp.get("/secmon/evaluations")
def list_evaluations():
    rows = ev.evaluation_list(get_session(), current_principal(), scope=request.args.get("scope") or None,
                              period=request.args.get("period") or None,
                              limit=query_int("limit", 100, minimum=1, maximum=1000))
    return ok({"items": rows})


@bp.get("/secmon/evaluations/<report_id>")
def get_evaluation(report_id: str):
    import orjson

    fmt = request.args.get("format", "json")
    if fmt not in _TYPES:
        raise BadRequest("format must be json, html or pdf")
    session, principal = get_session(), current_principal()
    report = ev.evaluation_get(session, principal, report_id)
    if fmt == "json":
        return ok({"report": ev.report_dict(report), "document": orjson.loads(report.document)})
    if fmt == "html":
        return Response(report.html, mimetype="text/html", headers={"X-Report-Digest": report.html_digest})
    data = ev.evaluation_pdf(session, principal, report_id)
    report = ev.evaluation_get(session, principal, report_id)
    name = f"secmon-evaluation-{report.period}-{report.scope.replace(':', '-')}.pdf"
    return Response(data, mimetype="application/pdf", headers={
        "X-Report-Digest": report.pdf_digest or "", "Content-Disposition": f'inline; filename="{name}"'})


@bp.get("/secmon/evaluations/<report_id>/verify")
def verify_evaluation(report_id: str):
    return ok(ev.evaluation_verify(get_session(), current_principal(), report_id))


@bp.get("/secmon/evaluations/<report_id>/compare/<other_id>")
def compare_evaluations(report_id: str, other_id: str):
    if report_id == other_id:
        raise BadRequest("compare two different reports")
    return ok(ev.evaluation_compare(get_session(), current_principal(), report_id, other_id))

