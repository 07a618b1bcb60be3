"""secmon pages: the analyst's incident list, incident page (evidence, comments, lifecycle, propose a
response), event search; the approver's queue; the department's remediation tasks (own organisation only)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from kernel.errors import BadRequest, CityGovError
from kernel.permissions import is_allowed
from portal.auth import current_principal, login_required
from portal.db import get_session
from portal.web import _format_error, bp, charts
from portal.web.nav import N_, add

_ANALYST_ROLES = ("security_analyst", "commission_admin")


def _analyst(principal) -> bool:
    return principal.has_role(*_ANALYST_ROLES)


# the analysts' and the departments' pages (a department sees its own organisation's incidents and tasks)
add("web.secmon_incidents", N_("Security incidents"), "secmon:incident:read", anonymous=False, order=43)
add("web.secmon_approvals", N_("Response approvals"), "secmon:response:read", anonymous=False, order=44)
add("web.secmon_remediation", N_("Remediation tasks"), "secmon:remediation:read", anonymous=False, order=45)
add("web.secmon_shadow_it", N_("Shadow IT"), "secmon:shadow_it:read", order=46, anonymous=False)

PAGE = 50


def _page() -> int:
    try:
        return max(int(request.args.get("page", "1")), 1)
    except ValueError:
        raise BadRequest("page must be a whole number") from None


def _back(exc: CityGovError, endpoint: str, **kw):
    if exc.status in (401, 403, 404):
        raise exc
    flash(_format_error(exc), "error")
    return redirect(url_for(endpoint, **kw))


@bp.get("/secmon/incidents")
@login_required
def secmon_incidents():
    from secmon import incidents

    state = request.args.get("state", "").strip() or None
    severity = request.args.get("severity", "").strip() or None
    page = _page()
    result = incidents.incident_list(get_session(), current_principal(), state=state, severity=severity, limit=PAGE,
                                     offset=(page - 1) * PAGE)
    return render_template("web/secmon_incidents.html", result=result, state=state or "", severity=severity or "",
                           page=page, page_size=PAGE, states=incidents.STATES)


@bp.get("/secmon/incidents/<incident_id>")
@login_required
def secmon_incident(incident_id: str):
    from secmon import incidents

    principal = current_principal()
    inc = incidents.incident_get(get_session(), principal, incident_id)
    return render_template("web/secmon_incident.html", inc=inc,
                           next_states=sorted(incidents.TRANSITIONS[inc["state"]]),
                           can_manage=is_allowed(principal, "secmon:incident:manage"),
                           can_propose=is_allowed(principal, "secmon:response:propose"),
                           can_remediate=is_allowed(principal, "secmon:remediation:manage") and bool(inc["org_id"]))


@bp.post("/secmon/incidents/<incident_id>/assign")
@login_required
def secmon_incident_assign(incident_id: str):
    from secmon import incidents

    try:
        incidents.incident_assign(get_session(), current_principal(), incident_id,
                                  request.form.get("assignee", "").strip() or None)
        flash(_("Assignee saved."))
    except CityGovError as exc:
        return _back(exc, "web.secmon_incident", incident_id=incident_id)
    return redirect(url_for("web.secmon_incident", incident_id=incident_id))


@bp.post("/secmon/incidents/<incident_id>/remediation")
@login_required
def secmon_incident_remediation(incident_id: str):
    """A remediation task for the department owning the incident's target (due date by severity)."""
    from secmon import remediation

    try:
        qd = request.form.get("quiet_days", "").strip()
        t = remediation.remediation_create(get_session(), current_principal(), incident_id=incident_id,
                                           title=request.form.get("title", "").strip() or None,
                                           quiet_days=int(qd) if qd.isdigit() else None)
        flash(_("Remediation task created for the owning department.") + f" ({t['title']})")
    except CityGovError as exc:
        return _back(exc, "web.secmon_incident", incident_id=incident_id)
    return redirect(url_for("web.secmon_incident", incident_id=incident_id))


@bp.post("/secmon/incidents/<incident_id>/transition")
@login_required
def secmon_incident_transition(incident_id: str):
    from secmon import incidents

    try:
        incidents.incident_transition(get_session(), current_principal(), incident_id, request.form.get("state", ""),
                                      note=request.form.get("note") or None)
        flash(_("State changed."))
    except CityGovError as exc:
        return _back(exc, "web.secmon_incident", incident_id=incident_id)
    return redirect(url_for("web.secmon_incident", incident_id=incident_id))


@bp.post("/secmon/incidents/<incident_id>/comment")
@login_required
def secmon_incident_comment(incident_id: str):
    from secmon import incidents

    try:
        incidents.incident_comment(get_session(), current_principal(), incident_id, request.form.get("body", ""))
        flash(_("Comment added."))
    except CityGovError as exc:
        return _back(exc, "web.secmon_incident", incident_id=incident_id)
    return redirect(url_for("web.secmon_incident", incident_id=incident_id))


@bp.post("/secmon/incidents/<incident_id>/propose-block")
@login_required
def secmon_incident_propose_block(incident_id: str):
    from secmon import responses

    try:
        ttl = int(request.form.get("ttl_hours", "24") or "24")
    except ValueError:
        ttl = 0
    try:
        r = responses.response_propose(get_session(), current_principal(), title=request.form.get("title", ""),
                                       reason=request.form.get("reason") or None, incident_id=incident_id,
                                       blocks=[{"cidr": request.form.get("cidr", ""), "ttl_hours": ttl,
                                                "category": request.form.get("category", "BadHosts")}])
        flash(_("Response proposed; a second person must approve it.") + f" ({r['id']})")
    except CityGovError as exc:
        return _back(exc, "web.secmon_incident", incident_id=incident_id)
    return redirect(url_for("web.secmon_incident", incident_id=incident_id))


@bp.get("/secmon/search")
@login_required
def secmon_search():
    from kernel.permissions import authorize
    from secmon import search

    authorize(current_principal(), "secmon:events:read")  # the empty form too: the page is the analysts'
    filters = {k: request.args.get(k, "").strip() for k in search.FIELDS}
    filters = {k: v for k, v in filters.items() if v}
    page = _page()
    result, error = None, None
    if filters:
        try:
            result = search.event_search(get_session(), current_principal(), limit=PAGE, offset=(page - 1) * PAGE,
                                         **filters)
        except CityGovError as exc:
            if exc.status in (401, 403):
                raise
            error = _format_error(exc)
    return render_template("web/secmon_search.html", filters=filters, result=result, error=error, page=page,
                           fields=search.FIELDS)


@bp.get("/secmon/shadow-it")
@login_required
def secmon_shadow_it():
    """Addresses seen in EVE that no asset covers, by event volume (internal ones unless ``all=1``)."""
    from secmon import assets

    try:
        limit = max(1, min(int(request.args.get("limit", "100")), 10000))
    except ValueError:
        raise BadRequest("limit must be a whole number") from None
    every = request.args.get("all") == "1"
    items = assets.shadow_it(get_session(), current_principal(), limit=limit, internal_only=not every)
    chart = charts.bar_chart([(r["address"], r["events"]) for r in items[:20]],
                             title=_("Unregistered addresses by events (top 20)")) if items else None
    return render_template("web/secmon_shadow_it.html", items=items, limit=limit, every=every, chart=chart)


@bp.get("/secmon/approvals")
@login_required
def secmon_approvals():
    from secmon import responses

    principal = current_principal()
    state = request.args.get("state", "proposed").strip() or None
    items = responses.response_list(get_session(), principal, state=state)
    return render_template("web/secmon_approvals.html", items=items, state=state or "",
                           can_approve=is_allowed(principal, "secmon:response:approve"), me=principal.actor)


@bp.post("/secmon/approvals/<response_id>")
@login_required
def secmon_decide(response_id: str):
    from secmon import responses

    decision = request.form.get("decision", "")
    if decision not in ("approve", "reject"):
        raise BadRequest("decision must be approve or reject")
    try:
        responses.response_decide(get_session(), current_principal(), response_id, approve=decision == "approve",
                                  note=request.form.get("note") or None)
        flash(_("Decision recorded."))
    except CityGovError as exc:
        if exc.status == 403:  # the two-person rule is explained, not an error page
            flash(_format_error(exc), "error")
            return redirect(url_for("web.secmon_approvals"))
        return _back(exc, "web.secmon_approvals")
    return redirect(url_for("web.secmon_approvals"))


@bp.get("/secmon/remediation")
@login_required
def secmon_remediation():
    from secmon import remediation

    principal = current_principal()
    state = request.args.get("state", "").strip() or None
    items = remediation.remediation_list(get_session(), principal, state=state)
    return render_template("web/secmon_remediation.html", items=items, state=state or "",
                           states=remediation.STATES)


@bp.post("/secmon/remediation/<task_id>/fix")
@login_required
def secmon_remediation_fix(task_id: str):
    from secmon import remediation

    try:
        remediation.remediation_fix(get_session(), current_principal(), task_id,
                                    evidence=request.form.get("evidence", ""))
        flash(_("Fix reported; it is verified after the quiet period."))
    except CityGovError as exc:
        return _back(exc, "web.secmon_remediation")
    return redirect(url_for("web.secmon_remediation"))


# labels the templates translate from data (N_ marks them for pybabel)
_LABELS = (N_("new"), N_("triaged"), N_("contained"), N_("resolved"), N_("closed"), N_("false_positive"),
           N_("low"), N_("medium"), N_("high"), N_("critical"), N_("proposed"), N_("approved"), N_("rejected"),
           N_("withdrawn"), N_("expired"), N_("pending"), N_("active"), N_("fixed"), N_("verified"), N_("reopened"),
           N_("cancelled"))
