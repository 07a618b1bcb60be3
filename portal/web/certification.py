"""Vendors' certification pages: start a run (vendor document + HAR files) as a background job, follow it,
read the report grouped by operation, download the certificate; the organisation's certificates with
validity and revocation state. The commission sees every run and issues certificates from a run."""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from kernel.errors import CityGovError, ValidationFailed
from kernel.permissions import authorize, is_allowed
from portal import jobs
from portal.auth import current_principal, login_required
from portal.db import get_session
from portal.web import _format_error, bp
from portal.web.nav import N_, add

add("web.certification_runs", N_("Certification"), "registry:certification:list", order=30)

MAX_FILE = 8 * 1024 * 1024


def _run_certification(session, principal, job, report) -> dict[str, Any]:
    from registry.certify import approval, services

    payload = json.loads(job.payload or "{}")
    report(10, "checking the vendor document")
    spec = base64.b64decode(payload["spec"])
    hars = [(name, base64.b64decode(content)) for name, content in payload.get("hars", [])]
    report(30, f"replaying {len(hars)} HAR file(s) against the standard")
    run = services.certification_run(session, principal, standard=job.params["standard"], spec=spec,
                                     spec_filename=job.params.get("spec_filename") or "openapi.json", hars=hars,
                                     system=job.params.get("system") or "", vendor=job.params.get("vendor"))
    report(90, "applying the commission's approval policy")
    decision = approval.auto_approve(session, run, key_dir=job.params["key_dir"], origin=job.params["origin"])
    links = [{"href": f"/certification/{run.id}", "text": "report"}]
    if decision.get("certificate"):
        links.append({"href": f"/certificates/{decision['certificate']}/download", "text": decision["certificate"]})
    return {"run": run.id, "conformant": run.conformant, "auto_approval": decision, "links": links,
            "summary": "conformant" if run.conformant else "not conformant"}


jobs.register("certify:run", _run_certification, action="registry:certification:run")


def _openapi_standards(session, principal) -> list[tuple[str, str]]:
    from standards import services as standards

    out = []
    for s in standards.standard_list(session, principal):
        if s["kind"] == "openapi" and s.get("latest"):
            out.append((f"{s['name']}@{s['latest']}", f"{s['title'] or s['name']} ({s['latest']})"))
    return out


@bp.route("/certification", methods=["GET", "POST"])
@login_required
def certification_runs():
    from portal.accounts.models import Organisation
    from portal.keys import key_dir, origin
    from registry.certify import services

    session = get_session()
    principal = current_principal()
    authorize(principal, "registry:certification:list")
    errors: dict[str, list[str]] = {}
    form = {k: request.form.get(k, "").strip() for k in ("standard", "system")}
    choices = _openapi_standards(session, principal)
    if request.method == "POST":
        authorize(principal, "registry:certification:run")
        if form["standard"] not in dict(choices):
            errors["standard"] = [_("Choose a published interface standard.")]
        spec = request.files.get("spec")
        if spec is None or not spec.filename:
            errors["spec"] = [_("Choose the vendor's OpenAPI document.")]
        hars = [f for f in request.files.getlist("hars") if f and f.filename]
        files: list[tuple[str, bytes]] = []
        for f in ([spec] if spec is not None and spec.filename else []) + hars:
            data = f.read(MAX_FILE + 1)
            if len(data) > MAX_FILE:
                errors.setdefault("spec" if f is spec else "hars", []).append(
                    _("%(name)s is larger than 8 MiB.", name=f.filename))
            files.append((f.filename, data))
        if not errors:
            org = session.get(Organisation, principal.org_id) if principal.org_id else None
            payload = json.dumps({"spec": base64.b64encode(files[0][1]).decode(),
                                  "hars": [[n, base64.b64encode(d).decode()] for n, d in files[1:]]})
            job = jobs.job_enqueue(session, principal, "certify:run",
                                   title=_("Certification of %(system)s against %(standard)s",
                                           system=form["system"] or files[0][0], standard=form["standard"]),
                                   params={"standard": form["standard"], "system": form["system"],
                                           "spec_filename": files[0][0], "vendor": org.code if org else None,
                                           "key_dir": str(key_dir()), "origin": origin()},
                                   payload=payload)
            return redirect(url_for("web.job_page", job_id=job.id))
    runs = services.run_list(session, principal, limit=100)
    certificates = _own_certificates(session, principal)
    return render_template("web/certification.html", runs=runs, certificates=certificates, errors=errors,
                           form=form, choices=choices,
                           can_run=is_allowed(principal, "registry:certification:run")), (422 if errors else 200)


def _own_certificates(session, principal) -> list:
    from sqlmodel import select

    from registry.certify.models import Certificate
    from registry.policies import commission

    q = select(Certificate)
    if not commission(principal):
        q = q.where(Certificate.vendor_org_id == principal.org_id)
    return list(session.exec(q.order_by(Certificate.issued_at.desc()).limit(200)))  # type: ignore[attr-defined]


@bp.get("/certification/<run_id>")
@login_required
def certification_run(run_id: str):
    from registry.certify import services

    session = get_session()
    principal = current_principal()
    run = services.run_get(session, principal, run_id)
    report = run.report or {}
    by_op: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in report.get("findings") or []:
        by_op[f.get("operation") or _("(whole document)")].append(f)
    cert = None
    from sqlmodel import select

    from registry.certify.models import Certificate

    cert = session.exec(select(Certificate).where(Certificate.run_id == run.id)
                        .order_by(Certificate.issued_at.desc())).first()  # type: ignore[attr-defined]
    return render_template("web/certification_run.html", run=run, report=report, by_op=dict(by_op), cert=cert,
                           can_issue=is_allowed(principal, "registry:certificate:issue", run) and cert is None
                           and run.conformant)


@bp.post("/certification/<run_id>/issue")
@login_required
def certification_issue(run_id: str):
    from portal.keys import key_dir, origin
    from registry.certify import services

    try:
        cert = services.certificate_issue(get_session(), current_principal(), run_id, key_dir=key_dir(),
                                          origin=origin())
        flash(_("Certificate %(serial)s issued.", serial=cert.serial))
    except CityGovError as exc:
        if exc.status in (401, 403, 404):
            raise
        flash(_format_error(exc), "error")
    return redirect(url_for("web.certification_run", run_id=run_id))


@bp.get("/certificates/<serial>/download")
def certificate_download(serial: str):
    """Certificates are public records: anyone may download the file and verify it."""
    from registry.certify import services

    cert = services.certificate_get(get_session(), serial)
    if not cert.document:
        raise ValidationFailed("this certificate has no file yet")
    resp = Response(cert.document, mimetype="application/json")
    resp.headers["Content-Disposition"] = f'attachment; filename="certificate-{serial}.json"'
    return resp
