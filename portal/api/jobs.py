"""Background jobs over the API: one's own jobs (administrators: every job), a job with its progress, result
or failure reason, and cancelling a job that has not started (documented in ``openapi/jobs.yaml``)."""

from __future__ import annotations

from flask import Blueprint, request

from kernel.errors import BadRequest
from portal import jobs
from portal.api import ok, query_int
from portal.auth import current_principal
from portal.db import get_session

bp = Blueprint("api_jobs", __name__)


@bp.get("/jobs")
def list_jobs():
    state = request.args.get("state") or None
    if state is not None and state not in jobs.STATES:
        raise BadRequest(f"query parameter 'state' must be one of {', '.join(jobs.STATES)}")
    limit = query_int("limit", 50, minimum=1, maximum=500)
    offset = query_int("offset", 0, minimum=0)
    items, total = jobs.job_list(get_session(), current_principal(), state=state, limit=limit, offset=offset)
    return ok({"total": total, "limit": limit, "offset": offset, "items": [jobs.job_json(j) for j in items]})


@bp.get("/jobs/<job_id>")
def get_job(job_id: str):
    return ok(jobs.job_json(jobs.job_get(get_session(), current_principal(), job_id)))


@bp.post("/jobs/<job_id>/cancel")
def cancel_job(job_id: str):
    return ok(jobs.job_json(jobs.job_cancel(get_session(), current_principal(), job_id)))
