"""The auditors' page: browse the audit log by area, actor, object and time; see the latest checkpoint."""

from __future__ import annotations

from flask import render_template, request

from kernel.errors import BadRequest
from portal.auth import current_principal, login_required
from portal.db import get_session
from portal.web import bp

PAGE = 50
FILTERS = ("area", "actor", "object_type", "object_id", "since", "until")


@bp.get("/audit")
@login_required
def audit_events():
    from audit.checkpoints import checkpoint_json, latest_checkpoint
    from audit.browse import events_browse

    session = get_session()
    filters = {k: request.args.get(k, "").strip() or None for k in FILTERS}
    try:
        page = max(int(request.args.get("page", "1")), 1)
    except ValueError:
        raise BadRequest("page must be a whole number") from None
    result = events_browse(session, current_principal(), limit=PAGE, offset=(page - 1) * PAGE, **filters)
    cp = latest_checkpoint(session)
    return render_template("web/audit.html", result=result, filters=filters, page=page, page_size=PAGE,
                           checkpoint=checkpoint_json(cp) if cp else None)
