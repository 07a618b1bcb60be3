"""Steward pages for preparing datasets: the new-dataset form (DCAT-AP metadata), grading with a
written reason, uploading a distribution (its declared format is checked) and harvesting a DCAT-AP
file into drafts. Each calls the same service as the API and the CLI (audited there)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from kernel.errors import CityGovError, NotAuthenticated
from kernel.permissions import authorize
from portal.auth import current_principal
from portal.db import get_session
from portal.web import bp

_TEXT = ("name", "title_zh", "title_en", "description_zh", "description_en", "theme", "licence", "frequency", "contact_email",
         "temporal_start", "temporal_end", "spatial", "conforms_to")


def _steward():
    principal = current_principal()
    if principal.is_anonymous:
        raise NotAuthenticated("log in as a data steward")
    return principal


def _list(text: str) -> list[str]:
    return [x.strip() for x in text.replace("，", ",").split(",") if x.strip()]


def _error(exc: CityGovError) -> None:
    flash(exc.detail + "".join(f" — {e.get('pointer', '')} {e.get('message')}" for e in exc.errors[:8]), "error")


@bp.route("/opendata/steward/new", methods=["GET", "POST"])
def opendata_dataset_new():
    """A new draft dataset of the steward's department."""
    from opendata.catalog import dataset_create, vocab

    principal = _steward()
    authorize(principal, "opendata:dataset:create")
    errors: dict[str, str] = {}
    form = request.form
    if request.method == "POST":
        meta = {k: form.get(k, "").strip() for k in _TEXT if form.get(k, "").strip()}
        meta["keywords"] = _list(form.get("keywords", ""))
        meta["quasi_identifiers"] = _list(form.get("quasi_identifiers", ""))
        session = get_session()
        try:
            ds = dataset_create(session, principal, meta)
        except CityGovError as exc:
            session.rollback()
            errors = {str(e.get("pointer", "")).lstrip("/"): str(e.get("message")) for e in exc.errors}
            flash(exc.detail, "error")
        else:
            flash(_("Draft %(name)s created. Grade it and add its files next.", name=ds.name), "ok")
            return redirect(url_for("web.opendata_steward"))
    return render_template("web/opendata_dataset_new.html", v=vocab(), form=form, errors=errors), (422 if errors else 200)


@bp.post("/opendata/steward/<name>/grade")
def opendata_dataset_grade(name: str):
    from opendata.catalog import dataset_grade

    principal, session = _steward(), get_session()
    try:
        dataset_grade(session, principal, name, request.form.get("grade", ""), request.form.get("reason", ""))
        flash(_("%(name)s graded.", name=name), "ok")
    except CityGovError as exc:
        session.rollback()
        _error(exc)
    return redirect(url_for("web.opendata_steward"))


@bp.post("/opendata/steward/<name>/upload")
def opendata_dataset_upload(name: str):
    from opendata.catalog import distribution_add
    from portal.web.opendata import storage_dir

    principal, session = _steward(), get_session()
    up = request.files.get("file")
    if up is None or not up.filename:
        flash(_("Choose a file to upload."), "error")
        return redirect(url_for("web.opendata_steward"))
    fd, tmp = tempfile.mkstemp(prefix=".upload.")
    try:
        with os.fdopen(fd, "wb") as fh:
            up.save(fh)
        distribution_add(session, principal, name, source=tmp, filename=Path(up.filename).name,
                         fmt=request.form.get("format", ""), storage=storage_dir())
        flash(_("%(file)s added to %(name)s.", file=Path(up.filename).name, name=name), "ok")
    except CityGovError as exc:
        session.rollback()
        _error(exc)
    finally:
        os.unlink(tmp)
    return redirect(url_for("web.opendata_steward"))


@bp.post("/opendata/steward/harvest")
def opendata_harvest():
    from opendata.dcat import FORMATS, harvest

    principal, session = _steward(), get_session()
    authorize(principal, "opendata:dataset:create")
    up = request.files.get("file")
    fmt = request.form.get("rdf_format", "ttl")
    if up is None or not up.filename or fmt not in FORMATS:
        flash(_("Choose a DCAT-AP file (Turtle, JSON-LD or RDF/XML)."), "error")
        return redirect(url_for("web.opendata_steward"))
    try:
        got = harvest(session, principal, up.read(), fmt=fmt, contact_email=request.form.get("contact_email") or None)
        flash(_("Harvested %(n)s draft(s): %(names)s", n=len(got), names=", ".join(d.name for d in got)), "ok")
    except CityGovError as exc:
        session.rollback()
        _error(exc)
    return redirect(url_for("web.opendata_steward"))
