"""Policies of vendor certification (default deny; system principals pass every policy)."""

from __future__ import annotations

from kernel.permissions import policy
from kernel.principal import Principal, Role

COMMISSION = (Role.COMMISSION_ADMIN, Role.COMMISSION_REVIEWER)


@policy("registry:certification:run")
def can_run(principal: Principal, _resource=None) -> bool:
    """Vendors certify their own interfaces (the commission may run checks too)."""
    return principal.has_role(Role.VENDOR, *COMMISSION)


@policy("registry:certification:view")
def can_view_run(principal: Principal, run=None) -> bool:
    if principal.has_role(*COMMISSION):
        return True
    return run is not None and principal.org_id is not None and getattr(run, "vendor_org_id", None) == principal.org_id


@policy("registry:certification:list")
def can_list_runs(principal: Principal, _resource=None) -> bool:
    return principal.has_role(Role.VENDOR, *COMMISSION)


@policy("registry:certificate:issue")
def can_issue(principal: Principal, _run=None) -> bool:
    """Only the commission issues certificates (reviewers and admins)."""
    return principal.has_role(*COMMISSION)


@policy("registry:certificate:revoke")
def can_revoke(principal: Principal, _cert=None) -> bool:
    return principal.has_role(*COMMISSION)


@policy("registry:certificate:expire")
def can_expire(principal: Principal, _cert=None) -> bool:
    """The scheduler (a system principal) expires certificates; nobody else."""
    return False


@policy("registry:certificate:supersede")
def can_supersede(principal: Principal, _cert=None) -> bool:
    return principal.has_role(Role.COMMISSION_ADMIN)


@policy("registry:certpolicy:set")
def can_set_auto_policy(principal: Principal, _policy=None) -> bool:
    """The commission's auto-approval policy is changed by commission administrators only."""
    return principal.has_role(Role.COMMISSION_ADMIN)


@policy("registry:certpolicy:view")
def can_view_auto_policy(principal: Principal, _policy=None) -> bool:
    return principal.has_role(*COMMISSION)


@policy("registry:projectcert:link")
def can_link_project_certificate(principal: Principal, project=None) -> bool:
    """The commission, or the department that owns the proposal while it may still edit it."""
    if principal.has_role(*COMMISSION):
        return True
    from registry.lifecycle import EDITABLE

    return (project is not None and principal.has_role(Role.DEPARTMENT_SUBMITTER) and principal.org_id is not None
            and getattr(project, "org_id", None) == principal.org_id and getattr(project, "state", None) in EDITABLE)
