"""The standards catalog (public: every published, deprecated and retired version with its digest and a
download), and the commission's standards management: publish a version after seeing the compatibility
verdict, deprecate, retire."""

from __future__ import annotations

import base64
import hashlib

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from kernel.errors import CityGovError, Conflict, ValidationFailed
from kernel.permissions import is_allowed
from portal.auth import current_principal, login_required
from portal.db import get_session
from portal.web import _format_error, bp
from portal.web.nav import N_, add

add("web.standards_catalog", N_("Standards"), None, order=50)

MAX_UPLOAD = 8 * 1024 * 1024
EXTENSIONS = {"application/schema+json": "json", "application/vnd.oai.openapi+json": "json",
              "application/vnd.oai.openapi": "yaml", "text/turtle": "ttl", "application/n-triples": "nt",
              "application/ld+json": "jsonld", "application/rdf+xml": "rdf"}


@bp.get("/standards")
def standards_catalog():
    from standards import services as standards

    session = get_session()
    principal = current_principal()
    q = request.args.get("q", "").strip()
    items = standards.standard_list(session, principal)
    if q:
        items = [s for s in items if q.lower() in (s["name"] + " " + (s.get("title") or "")).lower()]
    return render_template("web/standards.html", items=items, q=q,
                           can_publish=is_allowed(principal, "standards:version:publish"))


@bp.get("/standards/<name>")
def standard_page(name: str):
    from standards import services as standards

    session = get_session()
    principal = current_principal()
    std = standards.standard_get(session, principal, name)
    for v in std["versions"]:
        # jsonschema versions are stored canonicalised: the download's digest is not the submitted bytes' one
        content = standards.version_get(session, principal, f"{name}@{v['version']}").content
        v["download_sha256"] = hashlib.sha256(content.encode("utf-8")).hexdigest()
    return render_template("web/standard.html", std=std,
                           can_deprecate=is_allowed(principal, "standards:version:deprecate"),
                           can_retire=is_allowed(principal, "standards:version:retire"),
                           can_publish=is_allowed(principal, "standards:version:publish"))


@bp.get("/standards/<name>/<version>/download")
def standard_download(name: str, version: str):
    from standards import services as standards

    v = standards.version_get(get_session(), current_principal(), f"{name}@{version}")
    ext = EXTENSIONS.get(v.media_type, "txt")
    resp = Response(v.content, mimetype=v.media_type)
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}-{version}.{ext}"'
    resp.headers["Repr-Digest"] = "sha-256=:" + base64.b64encode(hashlib.sha256(v.content.encode("utf-8")).digest()).decode() + ":"
    return resp


@bp.post("/standards/<name>/<version>/<action>")
@login_required
def standard_transition(name: str, version: str, action: str):
    from standards import services as standards

    fn = {"deprecate": standards.version_deprecate, "retire": standards.version_retire}.get(action)
    if fn is None:
        from kernel.errors import NotFound

        raise NotFound(f"no action {action!r}")
    try:
        v = fn(get_session(), current_principal(), name, version)
        from portal.web.labels import code_label

        flash(_("%(ref)s is now %(state)s.", ref=f"{name}@{version}", state=code_label(get_session(), "status", v.state)))
    except CityGovError as exc:
        if exc.status in (401, 403, 404):
            raise
        flash(_format_error(exc), "error")
    return redirect(url_for("web.standard_page", name=name))


@bp.route("/standards/publish", methods=["GET", "POST"])
@login_required
def standard_publish():
    """Step 1: upload and check (a dry run: validity and the compatibility verdict against the live
    versions). Step 2: confirm — publishes exactly the checked content (its digest is carried along)."""
    from kernel.permissions import authorize
    from standards import services as standards

    session = get_session()
    principal = current_principal()
    authorize(principal, "standards:version:publish")
    form = {k: request.form.get(k, "").strip() for k in ("name", "version", "kind", "compatibility", "title")}
    errors: dict[str, list[str]] = {}
    verdict = None
    content = request.form.get("content", "")
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is not None and upload.filename:
            raw = upload.read(MAX_UPLOAD + 1)
            if len(raw) > MAX_UPLOAD:
                errors.setdefault("file", []).append(_("The file is larger than 8 MiB."))
            else:
                try:
                    content = raw.decode("utf-8")
                except UnicodeDecodeError:
                    errors.setdefault("file", []).append(_("The file is not UTF-8 text."))
        for key in ("name", "version"):
            if not form[key]:
                errors.setdefault(key, []).append(_("Required."))
        if not content and "file" not in errors:
            errors.setdefault("file", []).append(_("Choose the standard's document."))
        filename = (upload.filename if upload is not None and upload.filename else request.form.get("filename")) or None
        form["filename"] = filename or ""
        confirm = request.form.get("confirm") == "1"
        digest = hashlib.sha256(content.encode("utf-8")).hexdigest()
        if not errors:
            kwargs = {"kind": form["kind"] or None, "compatibility": form["compatibility"] or None,
                      "title": form["title"], "filename": filename}
            try:
                if confirm and request.form.get("checked_sha256") == digest:
                    v = standards.publish(session, principal, form["name"], form["version"], content, **kwargs)
                    flash(_("%(ref)s published.", ref=f"{form['name']}@{v.version}"))
                    return redirect(url_for("web.standard_page", name=form["name"]))
                standards.publish(session, principal, form["name"], form["version"], content, dry_run=True,
                                  **kwargs)
                verdict = {"ok": True, "sha256": digest, "findings": []}
            except Conflict as exc:
                session.rollback()
                verdict = {"ok": False, "sha256": digest, "detail": exc.detail, "findings": exc.errors[:200]}
            except ValidationFailed as exc:
                session.rollback()
                verdict = {"ok": False, "sha256": digest, "detail": exc.detail, "findings": exc.errors[:200]}
    status = 422 if errors else 200
    return render_template("web/standard_publish.html", form=form, errors=errors, verdict=verdict,
                           content=content), status


@bp.route("/standards/<name>/<version>/lint", methods=["GET", "POST"])
def standard_lint(name: str, version: str):
    """Lint results: the governance lint of an OpenAPI standard's version with the rule set the commission set
    for the standard — and of a document you upload (signed in), with the same rule set, so a vendor sees
    what the commission will see before submitting."""
    from kernel.errors import NotAuthenticated
    from standards import lint
    from standards import services as standards
    from standards.loading import parse_document

    session, principal = get_session(), current_principal()
    ref = f"{name}@{version}"
    v = standards.version_get(session, principal, ref)  # authorizes, 404 for an unknown version
    std = standards.standard_get(session, principal, name)
    if std.get("kind") != "openapi":
        raise ValidationFailed(f"{ref} is not an OpenAPI standard: only OpenAPI documents are linted")
    ruleset = standards.lint_ruleset_of(session, principal, name)
    errors: dict[str, list[str]] = {}
    uploaded = None
    if request.method == "POST":
        if principal.is_anonymous:
            raise NotAuthenticated("log in to lint your own document")
        upload = request.files.get("file")
        raw = upload.read(MAX_UPLOAD + 1) if upload is not None and upload.filename else b""
        if not raw:
            errors["file"] = [_("Choose an OpenAPI document (JSON or YAML).")]
        elif len(raw) > MAX_UPLOAD:
            errors["file"] = [_("The file is larger than 8 MiB.")]
        else:
            try:
                doc = parse_document(raw, filename=upload.filename)
                uploaded = lint.lint(doc, ruleset, subject=upload.filename)
                from standards.documents import add_positions

                add_positions(uploaded, raw.decode("utf-8"), file=upload.filename)
            except (CityGovError, UnicodeDecodeError) as exc:
                errors["file"] = [getattr(exc, "detail", None) or _("The file is not UTF-8 text.")]
    label, doc = standards.openapi_doc(session, principal, ref)
    report = lint.lint(doc, ruleset, subject=label)
    return render_template("web/standard_lint.html", std=std, version=v, report=report.to_dict(),
                           uploaded=uploaded.to_dict() if uploaded else None, errors=errors,
                           custom_ruleset=ruleset is not None), (422 if errors else 200)
