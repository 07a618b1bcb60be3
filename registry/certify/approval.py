"""The commission's auto-approval policy and the certificates of a project's interfaces.

**Auto-approval.** A policy is data (``registry_cert_auto_policy``), one per standard name plus the default
``*``; commission administrators change it with :func:`auto_policy_set` (audited as
``registry:certpolicy:set``, the new state in the event). After a run is stored, :func:`auto_approve`
evaluates the policy that applies (the standard's own, else ``*``; none: nothing is issued automatically)
against the run:

* the run is conformant and the policy is enabled;
* the vendor is one of ``vendors`` (empty list: any vendor);
* ``require_traffic``: at least one operation of the standard was exercised by recorded traffic or the probe;
* ``min_coverage``: exercised / standard operations >= the minimum;
* ``max_warnings`` (when set): warning-level findings <= the maximum.

When every criterion holds the certificate is issued by the system principal
``registry:certify:auto-approval`` (:func:`services.certificate_issue`, validity from the policy); its
issue event in the audit log names the policy and its version.

**Project interfaces.** A proposal lists ``interfaces_provided`` / ``interfaces_consumed`` (``name``, optional
``standard``). :func:`project_certificate_link` makes a project's interface reference a certificate
(audited ``registry:projectcert:link``); :func:`project_certificates` returns, for every interface of the
proposal, the referenced certificate and its status, so the commission sees which interfaces are certified.
"""

from __future__ import annotations

import os
from typing import Any

from sqlmodel import select

import audit
from kernel.clock import utcnow
from kernel.errors import NotFound, ValidationFailed
from kernel.permissions import authorize
from kernel.principal import Principal, system_principal
from registry.certify.models import Certificate, CertAutoPolicy, CertRun, ProjectCertLink

DEFAULT = "*"
AUTO_ACTOR = "registry:certify:auto-approval"
DIRECTIONS = ("provided", "consumed")


# --------------------------------------------------------------------------------- auto-approval


def _policy_input(data: dict[str, Any]) -> dict[str, Any]:
    from registry.certify.services import MAX_VALIDITY_DAYS

    errors = []
    allowed = {"enabled", "min_coverage", "require_traffic", "max_warnings", "vendors", "validity_days"}
    for k in data:
        if k not in allowed:
            errors.append({"field": k, "message": "unknown field"})
    out: dict[str, Any] = {}
    for k in ("enabled", "require_traffic"):
        if k in data:
            if not isinstance(data[k], bool):
                errors.append({"field": k, "message": "true or false"})
            out[k] = data[k]
    if "min_coverage" in data:
        v = data["min_coverage"]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
            errors.append({"field": "min_coverage", "message": "a number from 0 to 1"})
        else:
            out["min_coverage"] = float(v)
    if "max_warnings" in data:
        v = data["max_warnings"]
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            errors.append({"field": "max_warnings", "message": "a whole number >= 0, or null for any"})
        out["max_warnings"] = v
    if "vendors" in data:
        v = data["vendors"]
        if not isinstance(v, list) or len(v) > 500 or not all(isinstance(x, str) and 0 < len(x) <= 200 for x in v):
            errors.append({"field": "vendors", "message": "a list of organisation codes (empty: any vendor)"})
        else:
            out["vendors"] = sorted(set(v))
    if "validity_days" in data:
        v = data["validity_days"]
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_VALIDITY_DAYS:
            errors.append({"field": "validity_days", "message": f"1 … {MAX_VALIDITY_DAYS}"})
        out["validity_days"] = v
    if errors:
        raise ValidationFailed("invalid auto-approval policy", errors=errors)
    return out


def auto_policy_set(session, principal: Principal, standard: str = DEFAULT, **data: Any) -> CertAutoPolicy:
    """Create or change the auto-approval policy of ``standard`` (a standard NAME, or ``*``)."""
    authorize(principal, "registry:certpolicy:set", None)
    if not isinstance(standard, str) or not standard.strip() or len(standard) > 120 or "@" in standard:
        raise ValidationFailed("standard must be a standard NAME (policies apply to every version) or '*'",
                               errors=[{"field": "standard", "message": "NAME or *"}])
    values = _policy_input(data)
    row = session.get(CertAutoPolicy, standard)
    if row is None:
        row = CertAutoPolicy(standard_name=standard, updated_by=principal.actor, version=0)
    for k, v in values.items():
        setattr(row, k, v)
    row.version = (row.version or 0) + 1
    row.updated_at = utcnow()
    row.updated_by = principal.actor
    session.add(row)
    session.flush()
    audit.record(session, principal, "registry:certpolicy:set", object_type="cert_auto_policy", object_id=standard,
                 state=row.to_dict(), details={"changed": sorted(values)})
    session.commit()
    return row


def auto_policy_list(session, principal: Principal) -> list[CertAutoPolicy]:
    authorize(principal, "registry:certpolicy:view", None)
    return list(session.exec(select(CertAutoPolicy).order_by(CertAutoPolicy.standard_name)))


def auto_policy_for(session, standard_name: str) -> CertAutoPolicy | None:
    return session.get(CertAutoPolicy, standard_name) or session.get(CertAutoPolicy, DEFAULT)


def auto_policy_evaluate(policy: CertAutoPolicy | None, run: CertRun) -> dict[str, Any]:
    """``{"policy", "version", "met", "reasons"}`` — the reasons list every criterion that is not met."""
    if policy is None:
        return {"policy": None, "version": None, "met": False,
                "reasons": ["the commission has set no auto-approval policy for this standard"]}
    summary = run.summary or {}
    reasons = []
    if not policy.enabled:
        reasons.append("auto-approval is disabled for this standard")
    if not run.conformant:
        reasons.append("the run is not conformant")
    if policy.vendors and run.vendor not in policy.vendors:
        reasons.append(f"vendor {run.vendor!r} is not among the vendors the policy names")
    total = int(summary.get("standard_operations") or 0)
    exercised = int(summary.get("exercised") or 0)
    if policy.require_traffic and exercised == 0:
        reasons.append("no operation of the standard was exercised by recorded traffic or the probe")
    coverage = exercised / total if total else 1.0
    if coverage + 1e-9 < policy.min_coverage:
        reasons.append(f"coverage {coverage:.0%} of the standard's operations is below the policy's "
                       f"{policy.min_coverage:.0%}")
    warnings = int((summary.get("findings") or {}).get("warning") or 0)
    if policy.max_warnings is not None and warnings > policy.max_warnings:
        reasons.append(f"{warnings} warnings, above the policy's maximum of {policy.max_warnings}")
    return {"policy": policy.standard_name, "version": policy.version, "met": not reasons, "reasons": reasons,
            "coverage": round(coverage, 4)}


def auto_approve(session, run: CertRun, *, key_dir: str | os.PathLike, origin: str) -> dict[str, Any]:
    """Issue the run's certificate when it meets the applicable policy; the decision (with the serial)."""
    from registry.certify import services

    policy = auto_policy_for(session, run.standard_name)
    decision = auto_policy_evaluate(policy, run)
    decision["certificate"] = None
    if not decision["met"]:
        return decision
    cert = services.certificate_issue(session, system_principal(AUTO_ACTOR), run.id, key_dir=key_dir, origin=origin,
                                      validity_days=policy.validity_days,
                                      approval={"auto_approval": {"policy": policy.standard_name,
                                                                  "version": policy.version}})
    decision["certificate"] = cert.serial
    return decision


# ------------------------------------------------------------------------------ project interfaces


def _interfaces(project) -> list[tuple[str, str, str | None]]:
    data = project.data or {}
    out = []
    for direction in DIRECTIONS:
        for item in data.get(f"interfaces_{direction}") or []:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                std = item.get("standard")
                out.append((direction, item["name"], std if isinstance(std, str) and std else None))
    return out


def _standard_matches(declared: str | None, cert: Certificate) -> bool:
    if not declared:
        return True
    name, _, version = declared.partition("@")
    return name == cert.standard_name and (not version or version == cert.standard_version)


def project_certificates(session, principal: Principal, project_id: str) -> dict[str, Any]:
    """Per interface of the proposal: the referenced certificate and whether the interface is certified.

    ``status``: ``certified`` (a valid certificate of the declared standard), ``not_certified`` (no reference),
    ``revoked`` / ``expired`` / ``superseded`` (the certificate's status), ``standard_mismatch`` (valid, but for
    another standard than the proposal declares)."""
    from registry import services as registry

    project = registry.project_get(session, principal, project_id)  # authorizes registry:project:view
    links = {(lk.direction, lk.interface): lk for lk in
             session.exec(select(ProjectCertLink).where(ProjectCertLink.project_id == project.id))}
    now = utcnow()
    items = []
    for direction, name, declared in _interfaces(project):
        link = links.get((direction, name))
        cert = session.get(Certificate, link.serial) if link else None
        if cert is None:
            status = "not_certified"
        elif cert.status != "valid":
            status = cert.status
        elif cert.expires_at is not None and _aware(cert.expires_at) <= now:
            status = "expired"
        elif not _standard_matches(declared, cert):
            status = "standard_mismatch"
        else:
            status = "certified"
        items.append({"direction": direction, "interface": name, "standard": declared, "status": status,
                      "certified": status == "certified",
                      "certificate": None if cert is None else {
                          "serial": cert.serial, "status": cert.status, "vendor": cert.vendor, "system": cert.system,
                          "standard": f"{cert.standard_name}@{cert.standard_version}",
                          "expires_at": cert.to_dict()["expires_at"]},
                      "linked_by": link.linked_by if link else None})
    return {"project_id": project.id, "interfaces": items,
            "summary": {"interfaces": len(items), "certified": sum(1 for i in items if i["certified"])}}


def _aware(dt):
    from datetime import timezone

    return dt if dt.tzinfo is not None else dt.replace(tzinfo=timezone.utc)


def project_certificate_link(session, principal: Principal, project_id: str, *, direction: str, interface: str,
                             serial: str | None) -> ProjectCertLink | None:
    """Make the project's interface reference the certificate ``serial`` (``None``: remove the reference)."""
    from registry import services as registry

    project = registry.project_get(session, principal, project_id)
    authorize(principal, "registry:projectcert:link", project)
    if direction not in DIRECTIONS:
        raise ValidationFailed("direction must be provided or consumed",
                               errors=[{"field": "direction", "message": "provided | consumed"}])
    declared = {(d, n): s for d, n, s in _interfaces(project)}
    if (direction, interface) not in declared:
        raise ValidationFailed(f"the proposal lists no {direction} interface {interface!r}",
                               errors=[{"field": "interface", "message": "an interface name of the proposal"}])
    link = session.exec(select(ProjectCertLink).where(ProjectCertLink.project_id == project.id,
                                                      ProjectCertLink.direction == direction,
                                                      ProjectCertLink.interface == interface)).first()
    if serial is None:
        if link is None:
            raise NotFound(f"the {direction} interface {interface!r} references no certificate")
        session.delete(link)
        session.flush()
        audit.record(session, principal, "registry:projectcert:link", object_type="project", object_id=project.id,
                     state={"direction": direction, "interface": interface, "serial": None},
                     details={"previous": link.serial, "removed": True})
        session.commit()
        return None
    cert = session.get(Certificate, serial) if isinstance(serial, str) and len(serial) <= 40 else None
    if cert is None:
        raise NotFound(f"no certificate {serial!r}")
    if not _standard_matches(declared[(direction, interface)], cert):
        raise ValidationFailed(f"certificate {serial} is for {cert.standard_name}@{cert.standard_version}, "
                               f"not the declared {declared[(direction, interface)]}",
                               errors=[{"field": "serial", "message": "a certificate of the declared standard"}])
    previous = link.serial if link else None
    if link is None:
        link = ProjectCertLink(project_id=project.id, direction=direction, interface=interface, serial=serial,
                               linked_by=principal.actor)
    link.serial, link.linked_at, link.linked_by = serial, utcnow(), principal.actor
    session.add(link)
    session.flush()
    audit.record(session, principal, "registry:projectcert:link", object_type="project", object_id=project.id,
                 state={"direction": direction, "interface": interface, "serial": serial},
                 details={"previous": previous, "standard": f"{cert.standard_name}@{cert.standard_version}"})
    session.commit()
    return link
