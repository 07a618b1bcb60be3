"""Open data: the CKAN-compatible Action API (``/api/3/action/<name>`` and ``/api/action/<name>``,
CKAN's envelope, error shape and status codes, API key in ``Authorization`` or ``X-CKAN-API-Key``),
the DCAT-AP export (``/catalog.<fmt>``, ``/dataset/<id>.<fmt>``) and file downloads. Both are described
by the OpenAPI document ``openapi_ckan.yaml``, served at ``/api/3/openapi.json``.

The CKAN routes live on their own blueprint (CSRF-exempt: no cookies are trusted there), registered
when the web blueprint is.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import orjson
from flask import Blueprint, Response, current_app, request, send_file

from kernel.errors import CityGovError, NotAuthenticated, NotAuthorized, NotFound, ValidationFailed
from kernel.principal import Principal
from portal.db import get_session
from portal.web import bp
from portal.web.nav import N_, add


def _steward_or_approver(principal: Principal) -> bool:
    """The release workflow page: data stewards, and the commission administrators who approve releases."""
    from kernel.principal import Role

    return principal.has_role(Role.DATA_STEWARD, Role.COMMISSION_ADMIN)


add("web.opendata_catalog", N_("Open data"), None, order=52)
add("web.opendata_steward", N_("Data releases"), None, anonymous=False, order=47, visible=_steward_or_approver)


ckan_bp = Blueprint("ckan_api", __name__)
ANONYMOUS = Principal(kind="anonymous")


def storage_dir() -> Path:
    return Path(current_app.config.get("INSTANCE_PATH") or current_app.instance_path) / "opendata-store"


def _base_url() -> str:
    return request.host_url.rstrip("/")


def _ckan_principal() -> Principal:
    key = request.headers.get("X-CKAN-API-Key") or request.headers.get("Authorization") or ""
    key = key.strip()
    if key.lower().startswith("bearer "):
        key = key[7:].strip()
    if not key:
        return ANONYMOUS
    from portal.accounts.services import principal_for_token

    return principal_for_token(get_session(), key)


def _envelope(name: str, body: dict[str, Any], status: int) -> Response:
    body = {"help": f"{_base_url()}/api/3/action/help_show?name={name}", **body}
    return Response(orjson.dumps(body), status=status, mimetype="application/json")


def _error(name: str, exc: CityGovError) -> Response:
    from opendata.ckan import SearchQueryError

    if isinstance(exc, SearchQueryError):
        return _envelope(name, {"success": False, "error": {"__type": "Search Query Error", "message": exc.detail}}, 400)
    if isinstance(exc, NotFound):
        return _envelope(name, {"success": False, "error": {"__type": "Not Found Error", "message": f"Not found: {exc.detail}"}}, 404)
    if isinstance(exc, (NotAuthorized, NotAuthenticated)):
        return _envelope(name, {"success": False, "error": {"__type": "Authorization Error",
                                                             "message": f"Access denied: {exc.detail}"}}, 403)
    if isinstance(exc, ValidationFailed):
        err: dict[str, Any] = {"__type": "Validation Error", "message": exc.detail}
        for e in exc.errors:
            err.setdefault(str(e.get("field") or e.get("pointer") or "error").lstrip("/"), []).append(e.get("message", ""))
        return _envelope(name, {"success": False, "error": err}, 409)
    return _envelope(name, {"success": False, "error": {"__type": "Validation Error", "message": exc.detail}}, 409)


@ckan_bp.route("/api/3/action/<name>", methods=["GET", "POST"])
@ckan_bp.route("/api/action/<name>", methods=["GET", "POST"])
def ckan_action(name: str):
    from opendata import ckan

    if request.method == "POST" and request.content_length:
        body = request.get_json(silent=True) if request.is_json else request.form.to_dict()
        if not isinstance(body, dict):
            return _envelope(name, {"success": False, "error": {"__type": "Validation Error",
                                                                 "message": "Bad request - JSON Error: request body is not a JSON object"}}, 400)
        params = body
    else:
        params = request.args.to_dict()
    from portal.api import has_nul

    if has_nul(params) or "\x00" in name:  # PostgreSQL cannot hold NUL; CKAN calls this a validation error
        return _envelope(name, {"success": False, "error": {"__type": "Validation Error",
                                                             "message": "NUL characters are not accepted"}}, 409)
    try:
        principal = _ckan_principal()
        result = ckan.call(name, get_session(), principal, params, _base_url(), storage=storage_dir())
    except NotFound as exc:
        if name not in ckan.ACTIONS:
            return _envelope(name, {"success": False, "error": {"__type": "Not Found Error",
                                                                 "message": f"Action name not known: {name}"}}, 400)
        return _error(name, exc)
    except CityGovError as exc:
        return _error(name, exc)
    return _envelope(name, {"success": True, "result": result}, 200)


@cache
def ckan_openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the Action API and the DCAT export (``openapi_ckan.yaml`` next to this module)."""
    import yaml

    doc = yaml.safe_load((Path(__file__).resolve().parent / "openapi_ckan.yaml").read_text(encoding="utf-8"))
    for path, item in doc["paths"].items():  # every action may refuse NUL characters (409 Validation Error)
        if path.startswith("/api/3/action/"):
            for operation in item.values():
                operation["responses"].setdefault("409", {"$ref": "#/components/responses/CkanError"})
    return doc


@ckan_bp.get("/api/3/openapi.json")
def ckan_openapi():
    return Response(orjson.dumps(ckan_openapi_document()), mimetype="application/json")


@ckan_bp.get("/opendata/download/<dist_id>/<path:filename>")
def download(dist_id: str, filename: str):
    """A distribution's file. Conditionally open data needs the access key issued on approval
    (``X-CKAN-API-Key``, ``Authorization`` or ``?key=``); every download is logged."""
    from opendata.access import KEY_PREFIX, download_authorize
    from opendata.catalog import blob_path
    from opendata.models import Distribution
    from portal.auth import current_principal

    session = get_session()
    key = request.headers.get("X-CKAN-API-Key") or request.args.get("key")
    auth_header = request.headers.get("Authorization", "").strip()
    if auth_header.startswith(KEY_PREFIX):
        key, principal = auth_header, ANONYMOUS
    else:
        principal = current_principal()
    d = session.get(Distribution, dist_id)
    if d is None or d.filename != filename:
        raise NotFound("no such file")
    download_authorize(session, principal, d, key=key)
    return send_file(blob_path(storage_dir(), d.sha256), mimetype=d.media_type, as_attachment=True,
                     download_name=d.filename, etag=d.sha256)


@bp.record
def _register_ckan(state) -> None:
    from portal.security import csrf

    csrf.exempt(ckan_bp)
    state.app.register_blueprint(ckan_bp)


# -- DCAT-AP export (ckanext-dcat endpoints) ----------------------------------------------------------------
@ckan_bp.get("/catalog.<fmt>")
def dcat_catalog(fmt: str):
    from sqlmodel import select

    from opendata.dcat import FORMATS, catalog_graph, serialize
    from opendata.models import Dataset

    if fmt not in FORMATS:
        raise NotFound(f"no DCAT serialisation {fmt!r} (ttl, jsonld, rdf)")
    try:
        page = int(request.args.get("page", "1"))
        assert page >= 1
        page = min(page, 2**40)  # any page past the last is empty; never an offset the database overflows on
    except (ValueError, AssertionError):
        raise ValidationFailed("page must be a positive integer", errors=[{"field": "page", "message": "positive integer"}]) from None
    per_page = 100
    session = get_session()
    rows = list(session.exec(select(Dataset).where(Dataset.state == "published").order_by(Dataset.name)
                             .offset((page - 1) * per_page).limit(per_page)))
    if fmt == "ttl":  # the streaming writer (same triples, no rdflib serialiser)
        import io

        from opendata.dcat import write_catalog_turtle

        buf = io.StringIO()
        write_catalog_turtle(session, rows, _base_url(), buf)
        return Response(buf.getvalue().encode("utf-8"), mimetype=FORMATS[fmt][1])
    g = catalog_graph(session, rows, _base_url())
    return Response(serialize(g, fmt), mimetype=FORMATS[fmt][1])


@ckan_bp.get("/dataset/<ident>.<fmt>")
def dcat_dataset(ident: str, fmt: str):
    from opendata.catalog import dataset_get
    from opendata.dcat import FORMATS, dataset_graph, serialize
    from portal.auth import current_principal

    if fmt not in FORMATS:
        raise NotFound(f"no DCAT serialisation {fmt!r} (ttl, jsonld, rdf)")
    session = get_session()
    ds = dataset_get(session, current_principal(), ident)
    if fmt == "ttl":
        import io

        from opendata.dcat import write_dataset_turtle

        buf = io.StringIO()
        write_dataset_turtle(session, ds, _base_url(), buf)
        return Response(buf.getvalue().encode("utf-8"), mimetype=FORMATS[fmt][1])
    return Response(serialize(dataset_graph(session, ds, _base_url()), fmt), mimetype=FORMATS[fmt][1])


# -- pages ------------------------------------------------------------------------------------------------
def _lang_title(ds_dict: dict[str, Any]) -> str:
    from flask_babel import get_locale

    if str(get_locale() or "zh").startswith("en"):
        return next((e["value"] for e in ds_dict["extras"] if e["key"] == "title_en"), ds_dict["title"])
    return ds_dict["title"]


@bp.get("/opendata")
def opendata_catalog():
    """Public catalog search with facets (organisation, theme, tag, format)."""
    import json as _json

    from flask import render_template

    from opendata import ckan
    from portal.auth import current_principal

    q = request.args.get("q", "").strip()
    fq = []
    for field in ("organization", "groups", "tags", "res_format"):
        v = request.args.get(field, "").strip()
        if v:
            fq.append(f'{field}:"{v}"')
    try:
        page = max(int(request.args.get("page", "1")), 1)
    except ValueError:
        page = 1
    res = ckan.package_search(get_session(), current_principal(), {
        "q": q, "fq": " ".join(fq), "rows": 20, "start": (page - 1) * 20, "sort": "metadata_modified desc",
        "facet.field": _json.dumps(["organization", "groups", "tags", "res_format"])}, _base_url())
    for p in res["results"]:
        p["display_title"] = _lang_title(p)
    return render_template("web/opendata_catalog.html", res=res, q=q, args=request.args, page=page)


@bp.get("/opendata/dataset/<name>")
def opendata_dataset(name: str):
    """A dataset: distributions and downloads, grade, licence, and the audit proof of its release."""
    from flask import render_template

    from opendata import ckan
    from opendata.catalog import dataset_get
    from opendata.release import release_proof
    from portal.auth import current_principal

    session = get_session()
    ds = dataset_get(session, current_principal(), name)
    pkg = ckan.package_dict(session, ds, _base_url())
    pkg["display_title"] = _lang_title(pkg)
    return render_template("web/opendata_dataset.html", ds=ds, pkg=pkg, proof=release_proof(session, ds))


@bp.get("/opendata/steward")
def opendata_steward():
    """The steward's page: the department's datasets and the release workflow."""
    from flask import render_template
    from sqlmodel import select

    from kernel.permissions import is_allowed
    from opendata.models import Dataset
    from portal.auth import current_principal

    principal = current_principal()
    if principal.is_anonymous:
        raise NotAuthenticated("log in as a data steward")
    if not _steward_or_approver(principal):
        raise NotAuthorized("the release workflow is for data stewards and commission administrators")
    rows = [d for d in get_session().exec(select(Dataset).order_by(Dataset.updated_at.desc()))
            if is_allowed(principal, "opendata:dataset:check", d) or is_allowed(principal, "opendata:dataset:approve", d)]
    return render_template("web/opendata_steward.html", datasets=rows, principal_actor=principal.actor)


@bp.post("/opendata/steward/<name>/<action>")
def opendata_steward_action(name: str, action: str):
    from flask import flash, redirect, url_for

    from opendata import release
    from portal.auth import current_principal

    principal, session = current_principal(), get_session()
    if principal.is_anonymous:
        raise NotAuthenticated("log in as a data steward")
    try:
        if action == "check":
            release.dataset_check(session, principal, name, storage=storage_dir())
        elif action == "approve":
            release.dataset_approve(session, principal, name)
        elif action == "publish":
            release.dataset_publish(session, principal, name, storage=storage_dir())
        elif action == "withdraw":
            release.dataset_withdraw(session, principal, name, reason=request.form.get("reason", ""))
        else:
            raise NotFound(f"no action {action!r}")
        flash(f"{name}: {action} ✓", "ok")
    except CityGovError as exc:
        session.rollback()
        flash(f"{name}: {exc.detail} " + "; ".join(str(e.get("message")) for e in exc.errors[:5]), "error")
    return redirect(url_for("web.opendata_steward"))
