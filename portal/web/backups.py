"""The last backups (commission administrators): read from the audit log, where ``citygov backup`` records each
completed backup. Taking and restoring backups is an operator task on the server (``citygov backup|restore``)."""

from __future__ import annotations

from flask import render_template

from portal.auth import current_principal, login_required
from portal.backup import backup_history
from portal.db import get_session
from portal.web import bp
from portal.web.nav import N_, add

add("web.backups", N_("Backups"), "portal:backup:list", anonymous=False, order=85)


@bp.get("/admin/backups")
@login_required
def backups():
    return render_template("web/backups.html", items=backup_history(get_session(), current_principal()))
