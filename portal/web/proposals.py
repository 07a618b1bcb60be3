"""The department's guided proposal form, generated from the published proposal schema (labels, choices,
required marks, limits), with per-field errors, the pre-check result and likely duplicates shown before
the proposal is submitted; and the commission's import of a project library as a background job with a
per-row error report."""

from __future__ import annotations

import base64
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from kernel.errors import CityGovError, ValidationFailed
from kernel.permissions import authorize, is_allowed
from portal import jobs
from portal.auth import current_principal, login_required
from portal.db import get_session
from portal.web import bp, labels
from portal.web.nav import N_, add


def _may_propose(principal) -> bool:
    """What the page checks: a proposal for the user's own organisation (departments; the commission too)."""
    from registry.policies import Access

    return principal.org_id is not None and is_allowed(principal, "registry:project:create",
                                                       Access(org_id=principal.org_id))


add("web.proposal_new", N_("New proposal"), None, anonymous=False, order=21, visible=_may_propose)
add("web.projects_import", N_("Import projects"), "registry:project:import", order=22)

LIST_FIELDS = ("data_resources", "shared_platforms", "data_aggregation", "capability_tags", "attachments",
               "existing_systems")
INTERFACE_FIELDS = ("interfaces_provided", "interfaces_consumed")
SKIP = ("organisation", "contacts")  # organisation: the submitter's own; contacts: edited after creation (API)


def _schema(session) -> dict[str, Any]:
    import json

    from kernel.errors import NotFound
    from kernel.principal import ANONYMOUS
    from registry import proposal
    from standards import services as standards

    try:
        return json.loads(standards.version_get(session, ANONYMOUS, proposal.STANDARD_NAME).content)
    except NotFound:
        return proposal.packaged_schema()


def form_fields(session) -> list[dict[str, Any]]:
    """One entry per schema property: name, widget, label, required, choices and limits."""
    schema = _schema(session)
    required = set(schema.get("required") or [])
    out = []
    for name, prop in (schema.get("properties") or {}).items():
        if name in SKIP:
            continue
        f = {"name": name, "required": name in required, "title": prop.get("title") or name,
             "description": prop.get("description") or "", "prop": prop}
        if "oneOf" in prop:
            f["widget"] = "select"
            f["choices"] = labels.choices(session, name) if name in labels.SCHEMA_FIELDS else [
                (b["const"], b.get("title", b["const"])) for b in prop["oneOf"]]
        elif prop.get("type") == "boolean":
            f["widget"] = "checkbox"
        elif prop.get("type") in ("integer", "number"):
            f["widget"] = "number"
        elif name in INTERFACE_FIELDS:
            f["widget"] = "interfaces"
        elif prop.get("type") == "array":
            f["widget"] = "lines"
        elif (prop.get("maxLength") or 0) > 300:
            f["widget"] = "textarea"
        else:
            f["widget"] = "text"
        out.append(f)
    return out


def _document(fields: list[dict[str, Any]], form, org_name: str) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The proposal document from the form; conversion problems per field (a number that is not one …)."""
    data: dict[str, Any] = {"organisation": org_name}
    errors: dict[str, list[str]] = {}
    for f in fields:
        name, raw = f["name"], form.get(f["name"], "")
        if f["widget"] == "checkbox":
            data[name] = form.get(name) == "on"
        elif f["widget"] == "lines":
            items = [line.strip() for line in raw.splitlines() if line.strip()]
            if items or f["required"]:
                data[name] = list(dict.fromkeys(items))
        elif f["widget"] == "interfaces":
            items = []
            for line in raw.splitlines():
                if not line.strip():
                    continue
                iname, _sep, std = line.partition("|")
                item = {"name": iname.strip()}
                if std.strip():
                    item["standard"] = std.strip()
                items.append(item)
            data[name] = items
        elif f["widget"] == "number":
            if raw.strip():
                try:
                    value = float(raw.replace(",", "").strip())
                    data[name] = int(value) if f["prop"].get("type") == "integer" or value.is_integer() else value
                except ValueError:
                    errors.setdefault(name, []).append(_("Enter a number."))
        elif raw.strip():
            data[name] = raw.strip()
    return data, errors


def _field_of(err: dict[str, Any]) -> str:
    field = str(err.get("field") or err.get("pointer") or "").lstrip("/")
    return field.split("/")[0].split("[")[0].split(".")[0] or "(document)"


@bp.route("/proposals/new", methods=["GET", "POST"])
@login_required
def proposal_new():
    """Fill in, check (schema errors per field, the pre-check rules, likely duplicates), then submit or
    keep as a draft. Nothing is stored until the proposal is valid."""
    from portal.accounts import services as accounts
    from registry import services as registry

    session = get_session()
    principal = current_principal()
    if not principal.org_id:
        from kernel.errors import NotAuthorized

        raise NotAuthorized("your account belongs to no organisation")
    org = accounts.org_get(session, principal.org_id)
    from registry.policies import Access

    authorize(principal, "registry:project:create", Access(org_id=org.id))
    fields = form_fields(session)
    values = request.form if request.method == "POST" else {}
    errors: dict[str, list[str]] = {}
    check = None
    if request.method == "POST":
        data, errors = _document(fields, request.form, org.code)
        check = registry.precheck_data(session, principal, data)
        for e in check.get("schema_errors") or []:
            errors.setdefault(_field_of(e), []).append(e.get("message", ""))
        action = request.form.get("action", "check")
        if not errors and action in ("draft", "submit"):
            try:
                project = registry.project_create(session, principal, data)
                if action == "submit":
                    registry.project_submit(session, principal, project.id)
                    flash(_("Proposal submitted."))
                else:
                    flash(_("Draft saved."))
                return redirect(url_for("web.project", project_id=project.id))
            except ValidationFailed as exc:
                for e in exc.errors:
                    errors.setdefault(_field_of(e), []).append(e.get("message", ""))
            except CityGovError as exc:
                if exc.status in (401, 403, 404):
                    raise
                errors.setdefault("(document)", []).append(exc.detail)
    status = 422 if errors else 200
    return render_template("web/proposal_form.html", fields=fields, values=values, errors=errors, check=check,
                           org=org), status


# ------------------------------------------------------------------------------------------- import


def _run_import(session, principal, job, report) -> dict[str, Any]:
    from portal.api.registry import org_resolver
    from registry import importing
    from registry import services as registry

    report(5, "reading the file")
    content = base64.b64decode(job.payload or "")
    parsed = importing.parse(content, filename=job.params.get("filename"), fmt=job.params.get("format") or None)
    if parsed.errors:
        raise ValidationFailed(f"{len({e['row'] for e in parsed.errors})} row(s) cannot be read; nothing was imported",
                               errors=parsed.errors)
    report(30, f"{len(parsed.rows)} rows read; validating")
    created = registry.project_import(session, principal, parsed.rows, resolve_org=org_resolver(session),
                                      submit=bool(job.params.get("submit")))
    report(100, f"{len(created)} proposals imported")
    return {"summary": f"{len(created)} / {len(parsed.rows)}", "imported": len(created),
            "links": [{"href": url_for_project(p.id), "text": p.title} for p in created[:200]]}


def url_for_project(project_id: str) -> str:
    return f"/projects/{project_id}"


jobs.register("registry:import", _run_import, action="registry:project:import")


@bp.route("/projects/import", methods=["GET", "POST"])
@login_required
def projects_import():
    session = get_session()
    principal = current_principal()
    authorize(principal, "registry:project:import")
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            errors["file"] = [_("Choose a CSV, XLSX, JSON or NDJSON file.")]
        else:
            content = upload.read(jobs.MAX_PAYLOAD // 2 + 1)
            if len(content) > jobs.MAX_PAYLOAD // 2:
                errors["file"] = [_("The file is too large.")]
            else:
                job = jobs.job_enqueue(session, principal, "registry:import",
                                       title=_("Import %(name)s", name=upload.filename),
                                       params={"filename": upload.filename, "submit": request.form.get("submit") == "on",
                                               "format": request.form.get("format") or ""},
                                       payload=base64.b64encode(content).decode("ascii"))
                return redirect(url_for("web.job_page", job_id=job.id))
    return render_template("web/projects_import.html", errors=errors), (422 if errors else 200)
