"""The asset inventory page: information systems with their networks and hosts (a department sees its own),
address resolution (longest prefix), and for the analysts: add a system, add a network, import a CSV/XLSX/JSON
file (all rows or none, each error with its row)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from kernel.errors import BadRequest, CityGovError
from kernel.permissions import is_allowed
from portal.auth import current_principal, login_required
from portal.db import get_session
from portal.web import _format_error, bp
from portal.web.nav import N_, add

add("web.secmon_assets", N_("Assets"), "secmon:asset:read", order=47, anonymous=False)

MAX_UPLOAD = 20 << 20


@bp.get("/secmon/assets")
@login_required
def secmon_assets():
    from secmon import assets

    session, principal = get_session(), current_principal()
    systems = assets.asset_list(session, principal)
    ip = request.args.get("ip", "").strip()
    resolved, error = None, None
    if ip:
        try:
            resolved = assets.asset_resolve(session, principal, ip)
        except CityGovError as exc:
            if exc.status in (401, 403):
                raise
            error = _format_error(exc)
    from sqlalchemy import select

    ids = {s["org_id"] for s in systems}
    orgs = {i: f"{n} ({c})" for i, c, n in session.execute(
        select(assets._ORG.c.id, assets._ORG.c.code, assets._ORG.c.name).where(assets._ORG.c.id.in_(ids)))} if ids else {}
    return render_template("web/secmon_assets.html", systems=systems, ip=ip, resolved=resolved, error=error,
                           orgs=orgs, can_manage=is_allowed(principal, "secmon:asset:manage"))


def _done(exc: CityGovError | None, ok_message: str):
    if exc is None:
        flash(ok_message)
    elif exc.status in (401, 403):
        raise exc
    else:
        rows = "; ".join(f"{_('row')} {e['row']}: {e.get('field')}: {e.get('message')}" if "row" in e
                         else f"{e.get('field')}: {e.get('message')}" for e in (exc.errors or [])[:20])
        flash(_format_error(exc) + (f" — {rows}" if rows else ""), "error")
    return redirect(url_for("web.secmon_assets"))


@bp.post("/secmon/assets/systems")
@login_required
def secmon_assets_add_system():
    from secmon import assets

    f = request.form
    try:
        d = assets.system_create(get_session(), current_principal(), name=f.get("name", ""), org=f.get("org", ""),
                                 mlps_level=f.get("mlps_level", ""), criticality=f.get("criticality", ""),
                                 project_id=f.get("project_id", "").strip() or None,
                                 description=f.get("description", "").strip() or None)
    except CityGovError as exc:
        return _done(exc, "")
    return _done(None, _("Information system added.") + f" ({d['name']})")


@bp.post("/secmon/assets/networks")
@login_required
def secmon_assets_add_network():
    from secmon import assets

    f = request.form
    try:
        d = assets.network_add(get_session(), current_principal(), system=f.get("system", ""), cidr=f.get("cidr", ""),
                               hostname=f.get("hostname", "").strip() or None)
    except CityGovError as exc:
        return _done(exc, "")
    return _done(None, _("Network added.") + f" ({d['cidr']})")


@bp.post("/secmon/assets/import")
@login_required
def secmon_assets_import():
    from secmon import assets

    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise BadRequest("choose a file to import")
    kind = upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else ""
    if kind not in ("csv", "xlsx", "json"):
        raise BadRequest("the file must be .csv, .xlsx or .json")
    data = upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise BadRequest("the file is larger than 20 MiB")
    try:
        d = assets.assets_import(get_session(), current_principal(), data, fmt=kind)
    except CityGovError as exc:
        return _done(exc, "")
    return _done(None, _("Imported %(rows)s rows: %(systems)s systems created, %(networks)s networks added.",
                         rows=d["rows"], systems=d["systems_created"], networks=d["networks_added"]))
