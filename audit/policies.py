"""Policies of the audit use cases (default deny; system principals pass every policy)."""

from __future__ import annotations

from kernel.permissions import policy
from kernel.principal import Principal, Role


def _commission_admin(principal: Principal, _resource=None) -> bool:
    return principal.has_role(Role.COMMISSION_ADMIN)


@policy("audit:checkpoint:sign")
def can_sign_checkpoint(principal: Principal, resource=None) -> bool:
    return _commission_admin(principal, resource)


@policy("audit:key:rotate")
def can_rotate_key(principal: Principal, resource=None) -> bool:
    return _commission_admin(principal, resource)


@policy("audit:event:browse")
def can_browse_events(principal: Principal, resource=None) -> bool:
    """Auditors (commission admins) see every event, private details included."""
    return _commission_admin(principal, resource)
