"""Background jobs in the browser: the list of one's jobs and a job's page with a progress bar.

The page refreshes itself without JavaScript (``<noscript><meta http-equiv=refresh>``) while the job runs;
with JavaScript, ``static/jobs.js`` polls ``/jobs/<id>/status`` and moves the bar (no inline script: the
CSP stays strict). The job's state lives in the database, so reloading or coming back later shows it.
"""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from kernel.errors import BadRequest, Conflict
from portal import jobs
from portal.auth import current_principal, login_required
from portal.db import get_session
from portal.web import bp
from portal.web.nav import N_, add

add("web.jobs_list", N_("My jobs"), "portal:job:list", anonymous=False, order=90)

PAGE = 50


@bp.get("/jobs")
@login_required
def jobs_list():
    state = request.args.get("state", "")
    if state and state not in jobs.STATES:
        raise BadRequest(f"state must be one of {', '.join(jobs.STATES)}")
    try:
        page = max(int(request.args.get("page", "1")), 1)
    except ValueError:
        raise BadRequest("page must be a whole number") from None
    items, total = jobs.job_list(get_session(), current_principal(), state=state or None, limit=PAGE,
                                 offset=(page - 1) * PAGE)
    return render_template("web/jobs.html", items=items, total=total, page=page, page_size=PAGE, state=state,
                           states=jobs.STATES)


@bp.get("/jobs/<job_id>")
@login_required
def job_page(job_id: str):
    job = jobs.job_get(get_session(), current_principal(), job_id)
    return render_template("web/job.html", job=job)


@bp.post("/jobs/<job_id>/cancel")
@login_required
def job_cancel(job_id: str):
    try:
        jobs.job_cancel(get_session(), current_principal(), job_id)
        flash(_("Job cancelled."))
    except Conflict as exc:
        flash(exc.detail, "error")
    return redirect(url_for("web.job_page", job_id=job_id))


@bp.get("/jobs/<job_id>/status")
@login_required
def job_status(job_id: str):
    job = jobs.job_get(get_session(), current_principal(), job_id)
    data = jobs.job_json(job)
    data.pop("result", None)
    return jsonify(data)
