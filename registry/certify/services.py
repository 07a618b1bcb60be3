"""Use cases of vendor certification: run (stored), issue, revoke, expire, supersede, look-ups.

Issuing: authorize → sign the claims (JWS EdDSA with the platform key) → store → ``audit.record`` of
``registry:certificate:issue`` in the same transaction → commit; then a checkpoint of the log is signed
(:func:`audit.checkpoints.checkpoint_sign`, by the system principal of this use case: reviewers need not
hold ``audit:checkpoint:sign``) and the certificate file — JWS, issue-event leaf, inclusion proof and the
signed checkpoint — is stored on the certificate.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import timedelta
from typing import Any

from sqlmodel import select

import audit
from kernel.clock import utcnow
from kernel.errors import Conflict, NotFound, ValidationFailed
from kernel.ids import sha256_hex
from kernel.permissions import authorize
from kernel.principal import Principal, system_principal
from kernel.faults import pause_point
from registry.certify import certificates as certs
from registry.certify import engine
from registry.certify.models import Certificate, CertRun

DEFAULT_VALIDITY_DAYS = 365
MAX_VALIDITY_DAYS = 3 * 365


def _state(obj) -> dict[str, Any]:
    d = obj.to_dict()
    d.pop("summary", None)
    return d


def _standard(session, principal: Principal, ref: str):
    from standards.models import Standard
    from standards.services import _doc_of, version_get

    if not isinstance(ref, str) or "@" not in ref:
        raise ValidationFailed("standard must be NAME@VERSION", errors=[{"field": "standard", "message": "NAME@VERSION"}])
    v = version_get(session, principal, ref)
    std = session.get(Standard, v.standard_id)
    if std.kind != "openapi":
        raise ValidationFailed(f"{ref} is a {std.kind} standard: interfaces are certified against OpenAPI standards")
    if v.state not in ("published", "deprecated"):
        raise Conflict(f"{std.name}@{v.version} is {v.state}: certify against a published version")
    return std, v, engine.Standard(f"{std.name}@{v.version}", _doc_of("openapi", v), v.sha256)


def certification_run(session, principal: Principal, *, standard: str, spec: bytes | str,
                      spec_filename: str = "openapi.yaml", hars: list[tuple[str, bytes | list]] | None = None,
                      system: str = "", base_url: str | None = None, allowlist=None,
                      probe_limits: dict | None = None, vendor: str | None = None,
                      vendor_org_id: str | None = None, lint_ruleset: Any = None) -> CertRun:
    """Run a certification and store it with the vendor's application (``registry:certification:run``).
    ``vendor`` names the vendor organisation (its code; the portal passes it), default the principal's org id;
    ``vendor_org_id`` stores the run for that organisation when the caller is not one of its members (the
    commission's CLI ``citygov certify --vendor ORG --submit``). The vendor document is linted with the
    commission's rule set of the standard unless ``lint_ruleset`` is given."""
    authorize(principal, "registry:certification:run", None)
    if vendor_org_id is not None and principal.kind != "system" and principal.org_id != vendor_org_id:
        authorize(principal, "registry:certificate:issue", None)  # only the commission files for another org
    from registry.certify.har import load_har

    std, version, std_doc = _standard(session, principal, standard)
    har_objs = []
    for name, data in hars or []:
        entries = data if isinstance(data, list) else load_har(data, name=name)
        har_objs.append(engine.Har(name, entries, sha256_hex(data) if isinstance(data, (bytes, str)) else ""))
    raw = spec.encode("utf-8") if isinstance(spec, str) else spec
    if lint_ruleset is None:
        lint_ruleset = std.lint_ruleset
    report = engine.run_certification(std_doc, raw, vendor_filename=spec_filename, hars=har_objs,
                                      base_url=base_url, allowlist=allowlist, probe_limits=probe_limits,
                                      lint_ruleset=lint_ruleset)
    report_json = json.dumps(report, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    org_id = vendor_org_id if vendor_org_id is not None else principal.org_id
    run = CertRun(vendor_org_id=org_id, vendor=(vendor or org_id or principal.name)[:200],
                  system=(system or report["vendor"]["title"] or "")[:200], standard_name=std.name,
                  standard_version=version.version, standard_sha256=version.sha256, vendor_sha256=report["vendor"]["sha256"],
                  vendor_filename=spec_filename[:300], vendor_document=raw.decode("utf-8", "replace"),
                  report_sha256=sha256_hex(report_json), conformant=bool(report["conformant"]),
                  summary=report["summary"], report=json.loads(report_json), created_by=principal.actor)
    session.add(run)
    session.flush()
    audit.record(session, principal, "registry:certification:run", object_type="cert_run", object_id=run.id,
                 state=_state(run), details={"standard": f"{std.name}@{version.version}", "conformant": run.conformant,
                                             "vendor_sha256": run.vendor_sha256, "report_sha256": run.report_sha256})
    session.commit()
    return run


def run_get(session, principal: Principal, run_id: str) -> CertRun:
    run = session.get(CertRun, run_id)
    if run is None:
        raise NotFound(f"no certification run {run_id!r}")
    authorize(principal, "registry:certification:view", run)
    return run


def run_list(session, principal: Principal, *, limit: int = 100) -> list[CertRun]:
    authorize(principal, "registry:certification:list", None)
    q = select(CertRun).order_by(CertRun.created_at.desc()).limit(max(1, min(limit, 1000)))  # type: ignore[attr-defined]
    from kernel.permissions import is_allowed

    return [r for r in session.exec(q) if is_allowed(principal, "registry:certification:view", r)]


def _new_serial() -> str:
    return "CGC-" + utcnow().strftime("%Y%m%d") + "-" + secrets.token_hex(6).upper()


def certificate_issue(session, principal: Principal, run_id: str, *, key_dir: str | os.PathLike,
                      origin: str, validity_days: int = DEFAULT_VALIDITY_DAYS, system: str | None = None,
                      approval: dict[str, Any] | None = None) -> Certificate:
    """Issue the certificate of a conformant run (commission reviewers / admins, or the auto-approval of
    :mod:`registry.certify.approval`, whose policy and version ``approval`` adds to the issue event)."""
    run = session.get(CertRun, run_id)
    if run is None:
        raise NotFound(f"no certification run {run_id!r}")
    authorize(principal, "registry:certificate:issue", run)
    if not run.conformant:
        raise Conflict(f"run {run_id} is not conformant: no certificate can be issued")
    if not isinstance(validity_days, int) or not 1 <= validity_days <= MAX_VALIDITY_DAYS:
        raise ValidationFailed("validity_days out of range",
                               errors=[{"field": "validity_days", "message": f"1 … {MAX_VALIDITY_DAYS}"}])
    existing = session.exec(select(Certificate).where(Certificate.run_id == run_id,
                                                      Certificate.status == "valid")).first()
    if existing is not None:
        raise Conflict(f"run {run_id} already has the valid certificate {existing.serial}")
    from standards.services import parse_semver

    major = parse_semver(run.standard_version)[0]
    key = certs.signer(key_dir, origin)
    now = utcnow().replace(microsecond=0)
    expires = now + timedelta(days=validity_days)
    serial = _new_serial()
    claims = {"iss": origin, "sub": f"{run.vendor}/{system or run.system}", "serial": serial, "vendor": run.vendor,
              "vendor_org_id": run.vendor_org_id, "system": system or run.system,
              "standard": f"{run.standard_name}@{run.standard_version}", "standard_sha256": run.standard_sha256,
              "vendor_document_sha256": run.vendor_sha256, "report_sha256": run.report_sha256,
              "scope": list(run.report.get("scope") or []), "checks": {c["id"]: c["status"] for c in run.report.get("checks", [])},
              "run_id": run.id, "iat": certs.to_timestamp(now), "nbf": certs.to_timestamp(now),
              "exp": certs.to_timestamp(expires)}
    token = certs.jws_sign(claims, key)
    state = certs.issue_state(serial, token, claims)
    ev = audit.record(session, principal, certs.ISSUE_ACTION, object_type="certificate", object_id=serial,
                      state=state, details={"run_id": run.id, "standard": claims["standard"], "vendor": run.vendor,
                                            "key_id": key.key_id, "jws_sha256": state["jws_sha256"],
                                            **(approval or {})})
    cert = Certificate(serial=serial, run_id=run.id, vendor_org_id=run.vendor_org_id, vendor=run.vendor,
                       system=claims["system"], standard_name=run.standard_name, standard_version=run.standard_version,
                       standard_major=major, vendor_sha256=run.vendor_sha256, report_sha256=run.report_sha256,
                       scope=claims["scope"], issued_at=now, expires_at=expires, issued_by=principal.actor,
                       key_id=key.key_id, jws=token, audit_index=int(ev.seq), status="valid")
    session.add(cert)
    session.flush()
    _supersede_older(session, principal, cert)
    session.flush()
    pause_point("certify.issue.before_commit")
    session.commit()
    attach_proof(session, cert, key_dir=key_dir, origin=origin)
    return cert


def attach_proof(session, cert: Certificate, *, key_dir, origin: str) -> Certificate:
    """Sign a checkpoint covering the issue event and store the certificate file with its proof; commits."""
    from audit import checkpoints
    from audit.log import event_leaf
    from audit.proofs import inclusion_proof
    from audit.models import AuditEvent

    cp = checkpoints.checkpoint_sign(session, system_principal("registry:certify"), key_dir=key_dir, origin=origin)
    if cp.tree_size <= cert.audit_index:
        raise Conflict("the signed checkpoint does not cover the certificate's issue event")
    event = session.get(AuditEvent, cert.audit_index)
    proof = inclusion_proof(session, cert.audit_index, cp.tree_size)
    claims = json.loads(certs.b64url_decode(cert.jws.split(".")[1]))
    state = certs.issue_state(cert.serial, cert.jws, claims)
    cert.document = certs.build_file(cert.jws, state, event_leaf(event), proof, cp.note)
    session.add(cert)
    session.commit()
    return cert


def _supersede_older(session, principal: Principal, cert: Certificate) -> None:
    """Certificates of the same vendor and system for an older major version become ``superseded``."""
    older = session.exec(select(Certificate).where(Certificate.standard_name == cert.standard_name,
                                                   Certificate.vendor == cert.vendor, Certificate.system == cert.system,
                                                   Certificate.status == "valid",
                                                   Certificate.standard_major < cert.standard_major)).all()
    for old in older:
        _set_status(session, principal, old, "superseded", f"superseded by {cert.serial} "
                    f"({cert.standard_name}@{cert.standard_version})", action="registry:certificate:supersede")


def _set_status(session, principal: Principal, cert: Certificate, status: str, reason: str, *, action: str) -> None:
    cert.status = status
    cert.status_reason = reason
    cert.status_changed_at = utcnow()
    cert.status_changed_by = principal.actor
    session.add(cert)
    session.flush()
    audit.record(session, principal, action, object_type="certificate", object_id=cert.serial,
                 state={"serial": cert.serial, "status": status, "reason": reason,
                        "jws_sha256": certs.jws_sha256(cert.jws)}, details={"reason": reason})


def certificate_revoke(session, principal: Principal, serial: str, *, reason: str) -> Certificate:
    cert = session.get(Certificate, serial)
    if cert is None:
        raise NotFound(f"no certificate {serial!r}")
    authorize(principal, "registry:certificate:revoke", cert)
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 2000:
        raise ValidationFailed("a revocation needs a reason", errors=[{"field": "reason", "message": "1 … 2000 characters"}])
    if cert.status == "revoked":
        raise Conflict(f"certificate {serial} is already revoked")
    _set_status(session, principal, cert, "revoked", reason.strip(), action="registry:certificate:revoke")
    session.commit()
    return cert


def certificates_expire(session, principal: Principal) -> int:
    """Mark every valid / superseded certificate past its expiry ``expired`` (the scheduler's job)."""
    authorize(principal, "registry:certificate:expire", None)
    now = utcnow()
    due = session.exec(select(Certificate).where(Certificate.status.in_(("valid", "superseded")),  # type: ignore[attr-defined]
                                                 Certificate.expires_at <= now)).all()
    for cert in due:
        _set_status(session, principal, cert, "expired", "expired", action="registry:certificate:expire")
    session.commit()
    return len(due)


def certificates_supersede(session, principal: Principal) -> int:
    """Certificates whose standard has a newer *major* version published become ``superseded``."""
    authorize(principal, "registry:certificate:supersede", None)
    from standards.models import Standard, StandardVersion

    n = 0
    valid = session.exec(select(Certificate).where(Certificate.status == "valid")).all()
    majors: dict[str, int] = {}
    for cert in valid:
        if cert.standard_name not in majors:
            row = session.exec(select(StandardVersion.major).join(Standard, Standard.id == StandardVersion.standard_id)
                               .where(Standard.name == cert.standard_name, StandardVersion.state == "published")
                               .order_by(StandardVersion.major.desc())).first()  # type: ignore[attr-defined]
            majors[cert.standard_name] = int(row) if row is not None else -1
        latest = majors[cert.standard_name]
        if latest > cert.standard_major:
            _set_status(session, principal, cert, "superseded",
                        f"{cert.standard_name} {latest}.x is published", action="registry:certificate:supersede")
            n += 1
    session.commit()
    return n


def certificate_get(session, serial: str) -> Certificate:
    """Public: certificates are public records."""
    cert = session.get(Certificate, serial) if isinstance(serial, str) and len(serial) <= 40 else None
    if cert is None:
        raise NotFound(f"no certificate {serial!r}")
    return cert


def certificate_status(session, serial: str) -> dict[str, Any]:
    cert = session.get(Certificate, serial) if isinstance(serial, str) and len(serial) <= 40 else None
    if cert is None:
        return {"serial": serial, "status": "unknown"}
    return {"serial": serial, "status": cert.status, "status_reason": cert.status_reason}


def certificate_list(session, *, vendor: str | None = None, standard: str | None = None, status: str | None = None,
                     limit: int = 100, offset: int = 0) -> list[Certificate]:
    """Public list, filtered by vendor (organisation code) and / or standard (``NAME`` or ``NAME@VERSION``)."""
    q = select(Certificate)
    if vendor:
        q = q.where(Certificate.vendor == vendor)
    if standard:
        name, _, version = standard.partition("@")
        q = q.where(Certificate.standard_name == name)
        if version:
            q = q.where(Certificate.standard_version == version)
    if status:
        q = q.where(Certificate.status == status)
    q = q.order_by(Certificate.issued_at.desc(), Certificate.serial).offset(max(0, offset)).limit(max(1, min(limit, 1000)))  # type: ignore[attr-defined]
    return list(session.exec(q))


def verify(session, data: bytes | str, verifiers, *, online: bool = True) -> dict[str, Any]:
    lookup = (lambda serial: certificate_status(session, serial)) if online and session is not None else None
    return certs.verify_file(data, verifiers, status_lookup=lookup)
