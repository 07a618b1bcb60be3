"""Who may do what in secmon (default deny; system principals pass every policy)."""

from __future__ import annotations

from kernel import Role, policy

_ANALYSTS = (Role.SECURITY_ANALYST, Role.COMMISSION_ADMIN)


@policy("secmon:ruleset:import")
def can_import_ruleset(principal, _resource=None) -> bool:
    return principal.has_role(*_ANALYSTS)


@policy("secmon:ruleset:read")
def can_read_ruleset(principal, _resource=None) -> bool:
    return principal.has_role(*_ANALYSTS)


@policy("secmon:eve:ingest")
def can_ingest_eve(principal, _resource=None) -> bool:
    return principal.has_role(*_ANALYSTS)


@policy("secmon:events:read")
def can_read_events(principal, _resource=None) -> bool:
    return principal.has_role(*_ANALYSTS)


@policy("secmon:sensor:manage")
def can_manage_sensor(principal, _resource=None) -> bool:
    return principal.has_role(Role.COMMISSION_ADMIN)


# ----------------------------------------------------------------------- strike and governance
# Analysts (and the commission) work incidents and propose responses; the commission administrator is the
# approving role (never for their own proposal: checked here and in the service); a department sees the
# assets, incidents and remediation tasks of its own organisation only.


def _own_org(principal, resource) -> bool:
    org = getattr(resource, "org_id", None) if resource is not None and not isinstance(resource, str) else resource
    return bool(principal.org_id) and org == principal.org_id


@policy("secmon:asset:manage")
def can_manage_assets(principal, _resource=None) -> bool:
    return principal.has_role(*_ANALYSTS)


@policy("secmon:asset:read")
def can_read_assets(principal, resource=None) -> bool:
    if principal.has_role(*_ANALYSTS):
        return True
    # a department reads its own systems (resource None: the listing, filtered to its organisation)
    return principal.has_role(Role.DEPARTMENT_SUBMITTER) and (resource is None or _own_org(principal, resource))


@policy("secmon:shadow_it:read")
def can_read_shadow_it(principal, _resource=None) -> bool:
    # city-wide: every unregistered address seen, whichever department's network it is in
    return principal.has_role(*_ANALYSTS)


@policy("secmon:incident:read")
def can_read_incident(principal, resource=None) -> bool:
    if principal.has_role(*_ANALYSTS):
        return True
    return principal.has_role(Role.DEPARTMENT_SUBMITTER) and (resource is None or _own_org(principal, resource))


@policy("secmon:incident:manage")
def can_manage_incident(principal, _resource=None) -> bool:
    return principal.has_role(*_ANALYSTS)


@policy("secmon:response:read")
def can_read_response(principal, _resource=None) -> bool:
    return principal.has_role(*_ANALYSTS)


@policy("secmon:response:propose")
def can_propose_response(principal, _resource=None) -> bool:
    return principal.has_role(*_ANALYSTS)


@policy("secmon:response:approve")
def can_approve_response(principal, resource=None) -> bool:
    if not principal.has_role(Role.COMMISSION_ADMIN):
        return False
    return resource is None or getattr(resource, "proposed_by", None) != principal.actor


@policy("secmon:remediation:read")
def can_read_remediation(principal, resource=None) -> bool:
    if principal.has_role(*_ANALYSTS):
        return True
    return principal.has_role(Role.DEPARTMENT_SUBMITTER) and (resource is None or _own_org(principal, resource))


@policy("secmon:remediation:manage")
def can_manage_remediation(principal, _resource=None) -> bool:
    return principal.has_role(*_ANALYSTS)


@policy("secmon:remediation:fix")
def can_fix_remediation(principal, resource=None) -> bool:
    """The owning department reports the fix (analysts may record it for them)."""
    if principal.has_role(*_ANALYSTS):
        return True
    return principal.has_role(Role.DEPARTMENT_SUBMITTER) and _own_org(principal, resource)
