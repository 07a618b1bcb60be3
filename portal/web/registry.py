"""The commission's daily pages for the project library: the portfolio list with filters, and a
project's page with its pre-check findings, likely duplicates (with why), history and the decision form."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from kernel.errors import BadRequest, CityGovError
from kernel.permissions import is_allowed
from portal.auth import current_principal, login_required
from portal.db import get_session
from portal.web import _format_error, bp, labels
from portal.web.nav import N_

PAGE = 50
LIST_FILTERS = ("state", "area", "district", "construction_mode", "deployment", "year", "q")
SORTS = {"-updated_at": N_("recently changed"), "title": N_("title"), "-budget": N_("budget, largest first"),
         "budget": N_("budget, smallest first"), "-created_at": N_("newest")}


@bp.get("/projects")
@login_required
def projects():
    from registry import services as registry

    session = get_session()
    principal = current_principal()
    filters = {k: request.args.get(k, "").strip() for k in LIST_FILTERS}
    filters = {k: v for k, v in filters.items() if v}
    if "year" in filters and not filters["year"].isdigit():
        raise BadRequest("year must be a number")
    try:
        page = max(int(request.args.get("page", "1")), 1)
    except ValueError:
        raise BadRequest("page must be a whole number") from None
    sort = request.args.get("sort", "-updated_at")
    if sort not in SORTS:
        raise BadRequest(f"sort must be one of {', '.join(SORTS)}")
    for key in ("state", "area", "construction_mode", "deployment"):
        if key in filters and filters[key] not in dict(labels.choices(session, key)):
            raise BadRequest(f"unknown {key} code {filters[key]!r}")
    items, total = registry.project_list(session, principal, filters=filters, page=page, per_page=PAGE,
                                         order=sort, summary=True)
    totals = registry.portfolio(session, principal, filters=filters)
    everything = registry.portfolio(session, principal) if filters else totals
    choices = {key: labels.choices(session, key) for key in ("state", "area", "construction_mode", "deployment")}
    choices["district"] = [(d, d) for d in everything["by"]["district"] if d]
    return render_template("web/projects.html", items=items, total=total, page=page, page_size=PAGE,
                           filters=filters, totals=totals, choices=choices, sort=sort, sorts=SORTS)


@bp.get("/projects/<project_id>")
@login_required
def project(project_id: str):
    from registry import services as registry

    session = get_session()
    principal = current_principal()
    proj = registry.project_get(session, principal, project_id)
    data = registry.project_json(session, principal, proj)
    similar = []
    if is_allowed(principal, "registry:project:similar") and proj.state != "draft":
        similar = registry.project_similar(session, principal, project_id=proj.id, top=5)
    history = registry.project_history(session, principal, proj.id)
    can_decide = is_allowed(principal, "registry:project:decide", registry.access(session, proj))
    from registry.certify import approval

    interface_certs = approval.project_certificates(session, principal, proj.id)
    return render_template("web/project.html", p=proj, data=data, similar=similar, history=history,
                           can_decide=can_decide, interface_certs=interface_certs)


@bp.post("/projects/<project_id>/decide")
@login_required
def project_decide(project_id: str):
    from registry import services as registry

    try:
        registry.project_decide(get_session(), current_principal(), project_id, request.form.get("decision", ""),
                                reason=request.form.get("reason", ""))
        flash(_("Decision recorded."))
    except CityGovError as exc:
        if exc.status in (401, 403, 404):
            raise
        flash(_format_error(exc), "error")
    return redirect(url_for("web.project", project_id=project_id))


@bp.post("/projects/<project_id>/pairs/<other_id>")
@login_required
def project_mark_pair(project_id: str, other_id: str):
    from registry import services as registry

    try:
        registry.pair_mark(get_session(), current_principal(), project_id, other_id, request.form.get("verdict", ""),
                           reason=request.form.get("reason", ""))
        flash(_("Marked."))
    except CityGovError as exc:
        if exc.status in (401, 403, 404):
            raise
        flash(_format_error(exc), "error")
    return redirect(url_for("web.project", project_id=project_id))
