"""The commission's programme dashboard and review queue, and the one view of the programme per project
and per department (the same joins as ``GET /api/v1/programme/...``)."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa
from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _

from kernel.errors import BadRequest, NotAuthorized
from kernel.permissions import authorize, is_allowed
from kernel.principal import Role
from portal import programme
from portal.auth import current_principal, login_required
from portal.db import get_session
from portal.web import bp, charts, labels
from portal.web.nav import N_, add

add("web.dashboard", N_("Dashboard"), "registry:portfolio:view", order=10)
add("web.review_queue", N_("Review queue"), "registry:portfolio:view", order=15)
add("web.programme_index", N_("Programme"), "portal:programme:list", order=25)
add("web.programme_mine", N_("My department"), None, anonymous=False, order=25,
    visible=lambda p: not p.has_role(*programme.COMMISSION) and programme.may_view(p, p.org_id))

QUEUE_STATES = ("submitted", "prechecked", "under_expert_review")
QUEUE_PAGE = 50


def _wan(value: float | None) -> float:
    """Yuan → 10k yuan (万元), the unit budgets are read in."""
    return round((value or 0) / 10000, 1)


@bp.get("/dashboard")
@login_required
def dashboard():
    from registry import services as registry
    from registry.certify.models import Certificate

    session = get_session()
    principal = current_principal()
    authorize(principal, "registry:portfolio:view")
    totals = registry.portfolio(session, principal)
    by = totals["by"]
    state_rows = [(labels.code_label(session, "state", k), v["count"]) for k, v in by["state"].items()]
    area_rows = sorted(((labels.code_label(session, "area", k), _wan(v["budget"])) for k, v in by["area"].items()),
                       key=lambda r: -r[1])
    district_rows = sorted(((k or "—", _wan(v["budget"])) for k, v in by["district"].items()), key=lambda r: -r[1])
    pairs = Counter(p.verdict for p in registry.pair_list(session, principal))
    clusters = registry.clusters(session, principal)
    waiting = {s: by["state"].get(s, {}).get("count", 0) for s in QUEUE_STATES}
    cert_rows = [(labels.code_label(session, "status", s), int(n)) for s, n in session.execute(
        sa.select(Certificate.status, sa.func.count()).group_by(Certificate.status).order_by(Certificate.status))]
    security = _security_summary(session, principal)
    datasets = programme.table_section("opendata_dataset", where={"state": "published"})(
        session, principal, programme.Scope("all", (), None))
    charts_ = {
        "state": charts.bar_chart(state_rows, title=_("Projects by state")),
        "area": charts.bar_chart(area_rows, title=_("Budget by area (10k CNY)")),
        "district": charts.bar_chart(district_rows[:15], title=_("Budget by district (10k CNY)")),
        "certs": charts.bar_chart(cert_rows, title=_("Certificates by status")),
    }
    if security.get("over_time"):
        charts_["alerts"] = charts.line_chart(security["over_time"], title=_("Alerts over time"))
    return render_template("web/dashboard.html", totals=totals, state_rows=state_rows, area_rows=area_rows,
                           district_rows=district_rows, pairs=pairs, clusters=clusters, waiting=waiting,
                           cert_rows=cert_rows, security=security, datasets=datasets, charts=charts_)


def _security_summary(session, principal) -> dict:
    """Alerts per day and sensor health, when the principal may read monitoring data."""
    if not is_allowed(principal, "secmon:events:read"):
        return {"available": False}
    from secmon import services as secmon

    per_day: Counter[str] = Counter()
    for row in secmon.alerts_over_time(session, principal, bucket="day"):
        per_day[str(row["bucket"])[:10]] += int(row["count"])
    sensors = secmon.sensor_health(session, principal)
    return {"available": bool(per_day or sensors), "over_time": sorted(per_day.items()),
            "alerts": sum(per_day.values()), "sensors": sensors}


@bp.get("/review")
@login_required
def review_queue():
    """Proposals waiting for the commission, oldest first, with their pre-check and duplicate flags."""
    from registry import services as registry

    session = get_session()
    principal = current_principal()
    authorize(principal, "registry:portfolio:view")
    state = request.args.get("state", "")
    if state and state not in QUEUE_STATES:
        raise BadRequest(f"state must be one of {', '.join(QUEUE_STATES)}")
    try:
        page = max(int(request.args.get("page", "1")), 1)
    except ValueError:
        raise BadRequest("page must be a whole number") from None
    items = []
    for s in ([state] if state else QUEUE_STATES):
        found, _total = registry.project_list(session, principal, filters={"state": s}, page=1, per_page=10**6,
                                              order="updated_at")
        items.extend(found)
    items.sort(key=lambda p: (p.submitted_at or p.updated_at, p.id))
    total = len(items)
    items = items[(page - 1) * QUEUE_PAGE: page * QUEUE_PAGE]
    rows = [{"p": p, "duplicate": any(m.get("likely_duplicate") for m in (p.matches or []) if isinstance(m, dict)),
             "precheck_passed": (p.precheck or {}).get("passed")} for p in items]
    return render_template("web/review_queue.html", rows=rows, total=total, page=page, page_size=QUEUE_PAGE,
                           state=state, states=[(s, labels.code_label(session, "state", s)) for s in QUEUE_STATES])


@bp.get("/programme")
@login_required
def programme_index():
    session = get_session()
    principal = current_principal()
    items = programme.departments(session, principal)
    return render_template("web/programme_index.html", items=items)


@bp.get("/programme/mine")
@login_required
def programme_mine():
    principal = current_principal()
    if not principal.org_id or not principal.has_role(Role.DEPARTMENT_SUBMITTER, *programme.COMMISSION):
        raise NotAuthorized("your account belongs to no department")
    return redirect(url_for("web.programme_department", org_ref=principal.org_id))


@bp.get("/programme/departments/<org_ref>")
@login_required
def programme_department(org_ref: str):
    view = programme.department_view(get_session(), current_principal(), org_ref)
    return render_template("web/programme_view.html", view=view)


@bp.get("/programme/projects/<project_id>")
@login_required
def programme_project(project_id: str):
    view = programme.project_view(get_session(), current_principal(), project_id)
    return render_template("web/programme_view.html", view=view)
