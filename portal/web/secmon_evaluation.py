"""Security evaluation pages: stored reports, run a report for a period and scope, read one (summary, score
computation, controls) with its HTML / PDF / JSON renderings, verify it against the audit log, compare two."""

from __future__ import annotations

import orjson
from flask import Response, abort, redirect, render_template, request, url_for

from kernel.errors import CityGovError
from portal.auth import current_principal, login_required
from portal.db import get_session
from portal.evaluation_support import evaluation_kwargs
from portal.i18n import select_locale
from portal.web import bp
from portal.web.nav import N_, add

add("web.secmon_evaluations", N_("Security evaluations"), "secmon:evaluation:read", anonymous=False, order=46)


def _lang() -> str:
    return "en" if select_locale().startswith("en") else "zh"


def _departments():
    from secmon.evaluation.response_indicators import departments_with_assets

    return departments_with_assets(get_session())


@bp.route("/secmon/evaluations", methods=["GET", "POST"])
@login_required
def secmon_evaluations():
    from secmon.evaluation import services as ev

    session, principal = get_session(), current_principal()
    error, status = None, 200
    form = {"period": "", "department": "", "system": "", "compare": ""}
    if request.method == "POST":
        form = {k: request.form.get(k, "").strip() for k in form}
        try:
            report, _info = ev.evaluation_run(session, principal, form["period"],
                                              department=form["department"] or None,
                                              system=form["system"] or None,
                                              compare=form["compare"] or None, lang=_lang(), **evaluation_kwargs())
            return redirect(url_for("web.secmon_evaluation", report_id=report.id))
        except CityGovError as exc:
            session.rollback()
            error = exc.detail
            status = exc.status if exc.status != 500 else 422
    reports = ev.evaluation_list(session, principal, scope=request.args.get("scope") or None)
    return render_template("web/secmon_evaluations.html", reports=reports, departments=_departments(),
                           form=form, error=error), status


@bp.get("/secmon/evaluations/<report_id>")
@login_required
def secmon_evaluation(report_id: str):
    from secmon.evaluation import services as ev
    from secmon.evaluation.render import indicator_name

    session, principal = get_session(), current_principal()
    report = ev.evaluation_get(session, principal, report_id)
    doc = orjson.loads(report.document)
    others = [r for r in ev.evaluation_list(session, principal, scope=report.scope) if r["id"] != report.id]
    comparison = None
    other = request.args.get("compare")
    if other:
        comparison = ev.evaluation_compare(session, principal, report.id, other)
    return render_template("web/secmon_evaluation.html", report=report, doc=doc, others=others,
                           comparison=comparison, verify=ev.evaluation_verify(session, principal, report.id),
                           iname=lambda k: indicator_name(k, _lang()))


@bp.get("/secmon/evaluations/<report_id>/report.<fmt>")
@login_required
def secmon_evaluation_file(report_id: str, fmt: str):
    from secmon.evaluation import render
    from secmon.evaluation import services as ev

    session, principal = get_session(), current_principal()
    report = ev.evaluation_get(session, principal, report_id)
    name = f"secmon-evaluation-{report.period}-{report.scope.replace(':', '-')}.{fmt}"
    if fmt == "html":
        return Response(report.html, mimetype="text/html")
    if fmt == "json":
        return Response(render.render_json(orjson.loads(report.document)), mimetype="application/json",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    if fmt == "pdf":
        data = ev.evaluation_pdf(session, principal, report_id)
        return Response(data, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})
    abort(404)

