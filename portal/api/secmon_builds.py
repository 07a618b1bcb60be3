"""Rule-set builds over the API (the files are sent as JSON, the build runs as a background job: follow it with
``GET /jobs/{id}``) and the lint results of a stored version. Documented in ``openapi/secmon_builds.yaml``."""

from __future__ import annotations

from flask import Blueprint

from portal import jobs
from portal.api import json_body, ok
from portal.auth import current_principal
from portal.db import get_session
from portal.jobs import ruleset_build

bp = Blueprint("api_secmon_builds", __name__)


@bp.post("/secmon/rulesets/builds")
def start_build():
    spec = json_body("RulesetBuildRequest")
    job = ruleset_build.enqueue(get_session(), current_principal(), spec)
    return ok(jobs.job_json(job), status=202, headers={"Location": f"/api/v1/jobs/{job.id}"})


@bp.get("/secmon/rulesets/<version_id>/lint")
def version_lint(version_id: str):
    from secmon.version_lint import version_lint as lint

    result = lint(get_session(), current_principal(), version_id)
    return ok(result)
