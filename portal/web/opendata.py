"""Open data: the CKAN-compatible Action API (``/api/3/action/<name>`` and ``/api/action/<name>``,
CKAN's envelope, error shape and status codes, API key in ``Authorization`` or ``X-CKAN-API-Key``),
the DCAT-AP export (``/catalog.<fmt>``, ``/dataset/<id>.<fmt>``) and file downloads.

The CKAN routes live on their own blueprint (CSRF-exempt: no cookies are trusted there), registered
when the web blueprint is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from flask import Blueprint, Response, current_app, request, send_file

from kernel.errors import CityGovError, NotAuthenticated, NotAuthorized, NotFound, ValidationFailed
from kernel.principal import Principal
from portal.db import get_session
from portal.web import bp

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


@ckan_bp.get("/opendata/download/<dist_id>/<path:filename>")
def download(dist_id: str, filename: str):
    from kernel.permissions import is_allowed
    from opendata.catalog import blob_path
    from opendata.models import Dataset, Distribution
    from portal.auth import current_principal

    session = get_session()
    d = session.get(Distribution, dist_id)
    ds = session.get(Dataset, d.dataset_id) if d is not None else None
    if d is None or ds is None or d.filename != filename or not is_allowed(current_principal(), "opendata:dataset:read", ds):
        raise NotFound("no such file")
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
    except (ValueError, AssertionError):
        raise ValidationFailed("page must be a positive integer", errors=[{"field": "page", "message": "positive integer"}]) from None
    per_page = 100
    session = get_session()
    rows = list(session.exec(select(Dataset).where(Dataset.state == "published").order_by(Dataset.name)
                             .offset((page - 1) * per_page).limit(per_page)))
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
    return Response(serialize(dataset_graph(session, ds, _base_url()), fmt), mimetype=FORMATS[fmt][1])
