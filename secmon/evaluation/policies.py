"""Who may run and read security evaluations, and override the legal log-retention minimum."""

from __future__ import annotations

from kernel import Role, policy

_ANALYSTS = (Role.SECURITY_ANALYST, Role.COMMISSION_ADMIN)


@policy("secmon:evaluation:run")
def can_run_evaluation(principal, _resource=None) -> bool:
    return principal.has_role(*_ANALYSTS)


@policy("secmon:evaluation:read")
def can_read_evaluation(principal, _resource=None) -> bool:
    return principal.has_role(*_ANALYSTS, Role.COMMISSION_REVIEWER)


@policy("secmon:retention:override")
def can_override_retention(principal, _resource=None) -> bool:
    return principal.has_role(Role.COMMISSION_ADMIN)
