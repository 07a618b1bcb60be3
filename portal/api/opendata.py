"""Open-data catalog and the audited release workflow (stewards), plus public reads of published
datasets and the audit proof of their release. The CKAN Action API and the DCAT export live in
:mod:`portal.web.opendata`."""

from __future__ import annotations

import os
import tempfile

from flask import Blueprint, request

from kernel.errors import BadRequest
from portal.api import json_body, ok, public
from portal.auth import current_principal
from portal.db import get_session

bp = Blueprint("api_opendata", __name__)


def openapi_schemas() -> dict:
    """The catalogue's code lists (``opendata/data/catalog.yaml``, data officials change) as OpenAPI enums."""
    from opendata.catalog import vocab

    v = vocab()
    return {
        "OpendataTheme": {"type": "string", "enum": list(v["themes"]), "description": "DCAT-AP data theme code"},
        "OpendataLicence": {"type": "string", "enum": list(v["licences"]), "description": "SPDX licence id"},
        "OpendataFrequency": {"type": "string", "enum": list(v["frequencies"]), "description": "EU frequency code"},
    }


def _store():
    from portal.web.opendata import storage_dir

    return storage_dir()


def _dict(session, ds):
    from opendata.catalog import dataset_dict

    d = dataset_dict(session, ds)
    d["check_summary"] = ds.check_summary
    for k in ("created_at", "updated_at", "published_at"):
        v = getattr(ds, k)
        d[k] = v.isoformat() if v else None
    return d


@bp.get("/opendata/datasets")
@public
def list_datasets():
    from sqlmodel import select

    from kernel.permissions import is_allowed
    from opendata.models import Dataset

    session, principal = get_session(), current_principal()
    rows = [d for d in session.exec(select(Dataset).order_by(Dataset.name))
            if is_allowed(principal, "opendata:dataset:read", d)]
    return ok({"items": [{"name": d.name, "title_zh": d.title_zh, "title_en": d.title_en, "grade": d.grade,
                          "state": d.state, "organisation": d.organisation} for d in rows]})


@bp.post("/opendata/datasets")
def create_dataset():
    from opendata.catalog import dataset_create

    body = json_body("OpendataDatasetCreate")
    session = get_session()
    ds = dataset_create(session, current_principal(), body)
    return ok(_dict(session, ds), status=201, headers={"Location": f"/api/v1/opendata/datasets/{ds.name}"})


@bp.get("/opendata/datasets/<name>")
@public
def get_dataset(name: str):
    from opendata.catalog import dataset_get

    session = get_session()
    return ok(_dict(session, dataset_get(session, current_principal(), name)))


@bp.get("/opendata/datasets/<name>/proof")
@public
def get_proof(name: str):
    from opendata.catalog import dataset_get
    from opendata.release import release_proof

    session = get_session()
    ds = dataset_get(session, current_principal(), name)
    return ok({"dataset": ds.name, "entries": release_proof(session, ds)})


@bp.post("/opendata/datasets/<name>/grade")
def grade_dataset(name: str):
    from opendata.catalog import dataset_grade

    body = json_body("OpendataGrade")
    session = get_session()
    return ok(_dict(session, dataset_grade(session, current_principal(), name, body["grade"], body["reason"])))


@bp.post("/opendata/datasets/<name>/distributions")
def add_distribution(name: str):
    from opendata.catalog import distribution_add

    fmt = request.args.get("format", "")
    filename = request.args.get("filename", "")
    if not fmt or not filename:
        raise BadRequest("query parameters 'format' (CSV, XLSX, JSON, GEOJSON) and 'filename' are required")
    fd, tmp = tempfile.mkstemp(prefix=".upload.")
    try:
        with os.fdopen(fd, "wb") as fh:
            while True:
                chunk = request.stream.read(1 << 20)
                if not chunk:
                    break
                fh.write(chunk)
        session = get_session()
        d = distribution_add(session, current_principal(), name, source=tmp, filename=filename, fmt=fmt,
                             storage=_store(), title=request.args.get("title"))
    finally:
        os.unlink(tmp)
    return ok({"id": d.id, "filename": d.filename, "format": d.format, "sha256": d.sha256, "bytes": d.byte_size,
               "rows": d.rows}, status=201)


@bp.post("/opendata/datasets/<name>/check")
def check_dataset(name: str):
    from opendata.release import dataset_check

    return ok(dataset_check(get_session(), current_principal(), name, storage=_store()))


@bp.post("/opendata/datasets/<name>/approve")
def approve_dataset(name: str):
    from opendata.release import dataset_approve

    session = get_session()
    return ok(_dict(session, dataset_approve(session, current_principal(), name)))


@bp.post("/opendata/datasets/<name>/publish")
def publish_dataset(name: str):
    from opendata.release import dataset_publish

    session = get_session()
    return ok(_dict(session, dataset_publish(session, current_principal(), name, storage=_store())))


@bp.post("/opendata/datasets/<name>/withdraw")
def withdraw_dataset(name: str):
    from opendata.release import dataset_withdraw

    body = json_body("OpendataWithdraw")
    session = get_session()
    return ok(_dict(session, dataset_withdraw(session, current_principal(), name, reason=body["reason"])))
