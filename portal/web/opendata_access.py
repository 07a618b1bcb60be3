"""Conditional access pages: the applicant's page (apply from a dataset page, follow the decision,
collect the scoped key once) and the steward's inbox (approve with a validity, reject with a reason,
revoke), and the download log of the datasets a steward decides on. The services in :mod:`opendata.access`
check every permission and audit every step."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from kernel.errors import CityGovError, NotAuthenticated, NotAuthorized
from kernel.principal import Role
from portal.auth import current_principal
from portal.db import get_session
from portal.web import bp
from portal.web.nav import N_, add

add("web.opendata_access_mine", N_("My data access"), None, anonymous=False, order=47)
add("web.opendata_access_inbox", N_("Access applications"), None, anonymous=False, order=48,
    visible=lambda p: p.has_role(Role.DATA_STEWARD, Role.COMMISSION_ADMIN))
add("web.opendata_downloads", N_("Download log"), None, anonymous=False, order=49,
    visible=lambda p: p.has_role(Role.DATA_STEWARD, Role.COMMISSION_ADMIN))


def _logged_in():
    principal = current_principal()
    if principal.is_anonymous:
        raise NotAuthenticated("log in first")
    return principal


def _flash_error(exc: CityGovError) -> None:
    flash(exc.detail + "".join(f" — {e.get('message')}" for e in exc.errors[:5]), "error")


@bp.post("/opendata/dataset/<name>/apply")
def opendata_access_apply(name: str):
    from opendata.access import access_apply

    principal, session = _logged_in(), get_session()
    try:
        access_apply(session, principal, name, purpose=request.form.get("purpose", ""))
    except CityGovError as exc:
        session.rollback()
        _flash_error(exc)
        return redirect(url_for("web.opendata_dataset", name=name))
    flash(_("Application sent; the data owner decides on it."), "ok")
    return redirect(url_for("web.opendata_access_mine"))


@bp.get("/opendata/access")
def opendata_access_mine():
    """The applicant's applications: state, decision and reason, expiry, key collection."""
    from opendata.access import access_dict, access_list

    principal, session = _logged_in(), get_session()
    apps = [access_dict(session, a) for a in access_list(session, principal)]
    return render_template("web/opendata_access_mine.html", apps=apps, key=None)


@bp.post("/opendata/access/<app_id>/key")
def opendata_access_key(app_id: str):
    """Collect the key of an approved application: shown on this response only, never stored."""
    from opendata.access import access_dict, access_key_issue, access_list

    principal, session = _logged_in(), get_session()
    try:
        app, key = access_key_issue(session, principal, app_id)
    except CityGovError as exc:
        session.rollback()
        _flash_error(exc)
        return redirect(url_for("web.opendata_access_mine"))
    apps = [access_dict(session, a) for a in access_list(session, principal)]
    resp = render_template("web/opendata_access_mine.html", apps=apps, key=key, key_app=access_dict(session, app))
    return resp, 200, {"Cache-Control": "no-store"}


@bp.get("/opendata/access/inbox")
def opendata_access_inbox():
    """The steward's inbox: applications for the department's conditionally open datasets."""
    from opendata.access import access_dict, access_list

    principal, session = _logged_in(), get_session()
    if not principal.has_role(Role.DATA_STEWARD, Role.COMMISSION_ADMIN):
        raise NotAuthorized("the access inbox is for data stewards and the commission")
    apps = [access_dict(session, a) for a in access_list(session, principal, inbox=True)]
    pending = [a for a in apps if a["state"] == "pending"]
    return render_template("web/opendata_access_inbox.html", pending=pending,
                           decided=[a for a in apps if a["state"] != "pending"])


@bp.post("/opendata/access/<app_id>/decide")
def opendata_access_decide(app_id: str):
    from datetime import timedelta

    from kernel.clock import utcnow
    from opendata.access import access_decide

    principal, session = _logged_in(), get_session()
    approve = request.form.get("decision") == "approve"
    try:
        days = int(request.form.get("days") or 90)
        if not 1 <= days <= 3660:
            raise ValueError
    except ValueError:
        flash(_("The validity must be 1 to 3660 days."), "error")
        return redirect(url_for("web.opendata_access_inbox"))
    try:
        access_decide(session, principal, app_id, approve=approve,
                      expires_at=utcnow() + timedelta(days=days) if approve else None,
                      note=request.form.get("reason", ""))
        flash(_("Approved; the applicant collects the key on their page.") if approve else _("Rejected."), "ok")
    except CityGovError as exc:
        session.rollback()
        _flash_error(exc)
    return redirect(url_for("web.opendata_access_inbox"))


@bp.post("/opendata/access/<app_id>/revoke")
def opendata_access_revoke(app_id: str):
    from opendata.access import access_revoke

    principal, session = _logged_in(), get_session()
    try:
        access_revoke(session, principal, app_id, reason=request.form.get("reason", ""))
        flash(_("Revoked; the key no longer works."), "ok")
    except CityGovError as exc:
        session.rollback()
        _flash_error(exc)
    return redirect(url_for("web.opendata_access_inbox"))


@bp.get("/opendata/usage-log")
def opendata_downloads():
    """Who downloaded what, when, from the datasets the steward's department owns (all, for the commission)."""
    from opendata.access import download_log

    principal, session = _logged_in(), get_session()
    if not principal.has_role(Role.DATA_STEWARD, Role.COMMISSION_ADMIN):
        raise NotAuthorized("the download log is for data stewards and the commission")
    dataset = (request.args.get("dataset") or "").strip() or None
    page = max(1, request.args.get("page", 1, type=int) or 1)
    per_page = 100
    items, total = download_log(session, principal, dataset=dataset, limit=per_page, offset=(page - 1) * per_page)
    return render_template("web/opendata_downloads.html", items=items, total=total, dataset=dataset, page=page,
                           pages=max(1, -(-total // per_page)))
