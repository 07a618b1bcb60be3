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
