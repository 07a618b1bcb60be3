"""Vendor interface certification: runs (vendors), certificates (commission), public certificate records,
verification and the platform's public keys."""

from __future__ import annotations

from flask import Blueprint, request

from kernel.errors import BadRequest
from portal.api import json_body, ok, public, query_int
from portal.auth import current_principal
from portal.db import get_session

bp = Blueprint("api_certify", __name__)


def _vendor_code(session, principal) -> str | None:
    if not principal.org_id:
        return None
    from portal.accounts.models import Organisation

    org = session.get(Organisation, principal.org_id)
    return org.code if org else None


def _allowlist():
    from flask import current_app

    from registry.certify.probe import allowlist_from_config

    return allowlist_from_config(current_app.config.get("CERTIFY_PROBE_ALLOWLIST"))


@bp.post("/certifications")
def post_certification():
    from registry.certify import services

    body = json_body("CertificationRequest")
    session, principal = get_session(), current_principal()
    hars = []
    for i, h in enumerate(body.get("hars") or []):
        content = h.get("content")
        if isinstance(content, (dict, list)):
            import orjson

            content = orjson.dumps(content)
        elif isinstance(content, str):
            content = content.encode("utf-8")
        else:
            raise BadRequest(f"hars[{i}].content must be the HAR as a string or an object")
        hars.append((h.get("name") or f"traffic-{i}.har", content))
    run = services.certification_run(session, principal, standard=body["standard"], spec=body["spec"].encode("utf-8"),
                                     spec_filename=body.get("spec_filename") or "openapi.yaml", hars=hars,
                                     system=body.get("system") or "", base_url=body.get("base_url"),
                                     allowlist=_allowlist(), vendor=_vendor_code(session, principal),
                                     probe_limits=body.get("probe") or None)
    from portal.keys import key_dir, origin
    from registry.certify import approval

    decision = approval.auto_approve(session, run, key_dir=key_dir(), origin=origin())
    return ok({**run.to_dict(report=True), "auto_approval": decision}, status=201,
              headers={"Location": f"/api/v1/certifications/{run.id}"})


@bp.get("/certifications")
def list_certifications():
    from registry.certify import services

    rows = services.run_list(get_session(), current_principal(), limit=query_int("limit", 100, minimum=1, maximum=1000))
    return ok({"items": [r.to_dict() for r in rows]})


@bp.get("/certifications/<run_id>")
def get_certification(run_id: str):
    from registry.certify import services

    return ok(services.run_get(get_session(), current_principal(), run_id).to_dict(report=True))


@bp.post("/certifications/<run_id>/certificate")
def issue_certificate(run_id: str):
    from portal.keys import key_dir, origin
    from registry.certify import services

    body = json_body("CertificateIssueRequest") if request.get_data(cache=True) else {}
    cert = services.certificate_issue(get_session(), current_principal(), run_id, key_dir=key_dir(), origin=origin(),
                                      validity_days=body.get("validity_days", services.DEFAULT_VALIDITY_DAYS),
                                      system=body.get("system"))
    return ok(cert.to_dict(document=True), status=201, headers={"Location": f"/api/v1/certificates/{cert.serial}"})


@bp.get("/certificates")
@public
def list_certificates():
    from registry.certify import services

    status = request.args.get("status") or None
    if status and status not in ("valid", "revoked", "expired", "superseded"):
        raise BadRequest("status must be one of valid, revoked, expired, superseded")
    rows = services.certificate_list(get_session(), vendor=request.args.get("vendor") or None,
                                     standard=request.args.get("standard") or None, status=status,
                                     limit=query_int("limit", 100, minimum=1, maximum=1000),
                                     offset=query_int("offset", 0, minimum=0))
    return ok({"items": [c.to_dict() for c in rows]})


@bp.get("/certificates/<serial>")
@public
def get_certificate(serial: str):
    from registry.certify import services

    return ok(services.certificate_get(get_session(), serial).to_dict(document=True))


@bp.get("/certificates/<serial>/verification")
@public
def verify_certificate(serial: str):
    """Verify the stored certificate file with the platform's keys (signature, expiry, revocation, log)."""
    from portal.keys import key_dir
    from registry.certify import certificates as certs
    from registry.certify import services

    session = get_session()
    cert = services.certificate_get(session, serial)
    result = services.verify(session, cert.document or "", certs.public_keys(key_dir()))
    return ok({"serial": serial, "valid": result["valid"], "status": cert.status, "checks": result["checks"],
               "problems": result["problems"], "checkpoint": result.get("checkpoint")})


@bp.post("/certificates/<serial>/revoke")
def revoke_certificate(serial: str):
    from registry.certify import services

    body = json_body("CertificateRevokeRequest")
    cert = services.certificate_revoke(get_session(), current_principal(), serial, reason=body["reason"])
    return ok(cert.to_dict())


@bp.get("/keys")
@public
def get_keys():
    from portal.keys import key_dir
    from registry.certify import certificates as certs

    return ok({"keys": [certs.jwk(v) for v in certs.public_keys(key_dir())]}, headers={"Cache-Control": "max-age=300"})


# ------------------------------------------------------------------- auto-approval policy (commission)


@bp.get("/certification-policies")
def list_auto_policies():
    from registry.certify import approval

    return ok({"items": [p.to_dict() for p in approval.auto_policy_list(get_session(), current_principal())]})


@bp.put("/certification-policies/<standard>")
def put_auto_policy(standard: str):
    from registry.certify import approval

    body = json_body("CertificationPolicyRequest")
    row = approval.auto_policy_set(get_session(), current_principal(), standard, **body)
    return ok(row.to_dict())


# ------------------------------------------------------------------------ project interfaces


@bp.get("/projects/<oid:project_id>/certificates")
def get_project_certificates(project_id: str):
    from registry.certify import approval

    return ok(approval.project_certificates(get_session(), current_principal(), project_id))


@bp.put("/projects/<oid:project_id>/certificates")
def put_project_certificate(project_id: str):
    from registry.certify import approval

    body = json_body("ProjectCertificateLinkRequest")
    session, principal = get_session(), current_principal()
    approval.project_certificate_link(session, principal, project_id, direction=body["direction"],
                                      interface=body["interface"], serial=body.get("serial"))
    return ok(approval.project_certificates(session, principal, project_id))
