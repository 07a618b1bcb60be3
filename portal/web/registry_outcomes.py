"""The commission's pages for built projects and the programme: a project's targets, construction milestones,
acceptance with evidence and evaluation (with the forms for each step), and the programme statistics with
server-side SVG charts, data tables and XLSX / JSON downloads."""

from __future__ import annotations

import json

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from kernel.errors import CityGovError
from kernel.permissions import is_allowed
from portal.auth import current_principal, login_required
from portal.db import get_session
from portal.web import _format_error, bp, charts
from portal.web.nav import N_, add

add("web.programme", N_("Programme statistics"), "registry:statistics:view", anonymous=False, order=26)

def _charts(stats: dict) -> list[Markup]:
    wan = 10_000
    by_d, by_dep = stats["by"]["district"], stats["by"]["department"]
    states = stats["totals"]["states"]
    out = [
        charts.grouped_bar_chart(_("Budget by district (10k CNY)"), [r["key"] for r in by_d],
                  [(_("requested"), [r["budget_requested"] / wan for r in by_d]),
                   (_("approved"), [r["budget_approved"] / wan for r in by_d]),
                   (_("spent"), [r["budget_spent"] / wan for r in by_d])]),
        charts.grouped_bar_chart(_("Projects by state"), list(states), [(_("projects"), list(states.values()))]),
        charts.grouped_bar_chart(_("Cloud deployment and shared-platform reuse by department"), [r["key"] for r in by_dep],
                  [(_("cloud deployment"), [r["cloud_deployment_rate"] or 0 for r in by_dep]),
                   (_("shared platforms"), [r["shared_platform_reuse_rate"] or 0 for r in by_dep])], percent=True),
        charts.grouped_bar_chart(_("Duplicates caught by district (10k CNY)"), [r["key"] for r in by_d],
                  [(_("budget of duplicates"), [r["duplicate_budget"] / wan for r in by_d])]),
    ]
    mlps = stats["totals"]["mlps_levels"]
    out.append(charts.grouped_bar_chart(_("MLPS levels"), [str(k) for k in mlps], [(_("projects"), list(mlps.values()))]))
    return out


@bp.get("/programme/statistics")
@login_required
def programme():
    from registry import statistics

    stats = statistics.programme_statistics(get_session(), current_principal())
    return render_template("web/registry/programme.html", stats=stats, charts=_charts(stats))


@bp.get("/programme/statistics.<fmt>")
@login_required
def programme_download(fmt: str):
    from kernel.errors import NotFound
    from registry import statistics

    if fmt not in ("xlsx", "json"):
        raise NotFound("no such download")
    stats = statistics.programme_statistics(get_session(), current_principal())
    if fmt == "xlsx":
        return Response(statistics.to_xlsx(stats),
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": "attachment; filename=programme-statistics.xlsx"})
    return Response(json.dumps(stats, ensure_ascii=False, indent=1), mimetype="application/json",
                    headers={"Content-Disposition": "attachment; filename=programme-statistics.json"})


@bp.get("/projects/<project_id>/outcomes")
@login_required
def project_outcomes(project_id: str):
    from registry import evaluation
    from registry import services as registry

    session, principal = get_session(), current_principal()
    proj = registry.project_get(session, principal, project_id)
    data = evaluation.project_outcomes(session, principal, project_id)
    acc = registry.access(session, proj)
    can = {a: is_allowed(principal, f"registry:{a}", acc) for a in
           ("target:declare", "milestone:record", "project:accept", "project:evaluate", "project:transition")}
    return render_template("web/registry/outcomes.html", p=proj, o=data, can=can)


def _step(project_id: str, action):
    try:
        action()
        flash(_("Recorded."))
    except CityGovError as exc:
        if exc.status in (401, 403, 404):
            raise
        flash(_format_error(exc), "error")
    return redirect(url_for("web.project_outcomes", project_id=project_id))


@bp.post("/projects/<project_id>/outcomes/targets")
@login_required
def outcomes_targets(project_id: str):
    from registry import evaluation

    f = request.form
    target = {"indicator": f.get("indicator", ""), "unit": f.get("unit", ""), "baseline": f.get("baseline") or None,
              "target": f.get("target", ""), "due": f.get("due", "")}
    if f.get("direction"):
        target["direction"] = f["direction"]
    return _step(project_id, lambda: evaluation.targets_declare(get_session(), current_principal(), project_id, [target]))


@bp.post("/projects/<project_id>/outcomes/start")
@login_required
def outcomes_start(project_id: str):
    from registry import services as registry

    return _step(project_id, lambda: registry.project_transition(get_session(), current_principal(), project_id,
                                                                 "start_construction",
                                                                 reason=request.form.get("reason", "")))


@bp.post("/projects/<project_id>/outcomes/milestones")
@login_required
def outcomes_milestone(project_id: str):
    from registry import evaluation

    f = request.form
    return _step(project_id, lambda: evaluation.milestone_record(
        get_session(), current_principal(), project_id, name=f.get("name", ""), reached_on=f.get("reached_on", ""),
        spent=f.get("spent") or 0, note=f.get("note", "")))


@bp.post("/projects/<project_id>/outcomes/acceptance")
@login_required
def outcomes_accept(project_id: str):
    from portal.api.registry_outcomes import evidence_files
    from registry import evaluation

    f = request.form
    actuals = {k[len("actual:"):]: v for k, v in f.items() if k.startswith("actual:") and v.strip()}
    files = [x for x in evidence_files(request.files.getlist("evidence")) if x[0]]
    return _step(project_id, lambda: evaluation.project_accept(
        get_session(), current_principal(), project_id, actuals=actuals, evidence=files,
        completed_on=f.get("completed_on") or None, reason=f.get("reason", "")))


@bp.post("/projects/<project_id>/outcomes/evaluation")
@login_required
def outcomes_evaluate(project_id: str):
    from registry import evaluation

    return _step(project_id, lambda: evaluation.project_evaluate(get_session(), current_principal(), project_id,
                                                                 comment=request.form.get("comment", "")))


@bp.get("/projects/<project_id>/evidence/<evidence_id>")
@login_required
def outcomes_evidence(project_id: str, evidence_id: str):
    from registry import evaluation

    ev = evaluation.evidence_get(get_session(), current_principal(), project_id, evidence_id)
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in ev.filename) or "evidence"
    return Response(ev.content, mimetype="application/octet-stream",
                    headers={"Content-Disposition": f"attachment; filename={safe}"})
