"""One view of the programme as JSON: a project or a department joined across modules
(documented in ``openapi/programme.yaml``)."""

from __future__ import annotations

from flask import Blueprint

from portal import programme
from portal.api import ok
from portal.auth import current_principal
from portal.db import get_session

bp = Blueprint("api_programme", __name__)


@bp.get("/programme/projects/<oid:project_id>")
def project_view(project_id: str):
    return ok(programme.project_view(get_session(), current_principal(), project_id))


@bp.get("/programme/departments")
def departments():
    return ok({"items": programme.departments(get_session(), current_principal())})


@bp.get("/programme/departments/<org_ref>")
def department_view(org_ref: str):
    return ok(programme.department_view(get_session(), current_principal(), org_ref))
