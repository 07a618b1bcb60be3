"""Policies of the standards use cases (default deny; system principals pass every policy).

Publishing, deprecating and retiring a standard version — and creating standards and drafts — need a
commission role (admin or reviewer). Published, deprecated and retired versions are public; drafts are
visible to the commission only. Validation, diff and lint are open to everyone (they change nothing).
"""

from __future__ import annotations

from typing import Any

from kernel.permissions import policy
from kernel.principal import Principal, Role

COMMISSION = (Role.COMMISSION_ADMIN, Role.COMMISSION_REVIEWER)


def _commission(principal: Principal, _resource: Any = None) -> bool:
    return principal.has_role(*COMMISSION)


@policy("standards:standard:create")
def can_create_standard(principal: Principal, resource: Any = None) -> bool:
    return _commission(principal)


@policy("standards:standard:update")
def can_update_standard(principal: Principal, resource: Any = None) -> bool:
    return _commission(principal)


@policy("standards:version:create")
def can_create_version(principal: Principal, resource: Any = None) -> bool:
    return _commission(principal)


@policy("standards:version:publish")
def can_publish(principal: Principal, resource: Any = None) -> bool:
    return _commission(principal)


@policy("standards:version:deprecate")
def can_deprecate(principal: Principal, resource: Any = None) -> bool:
    return _commission(principal)


@policy("standards:version:retire")
def can_retire(principal: Principal, resource: Any = None) -> bool:
    return principal.has_role(Role.COMMISSION_ADMIN)


@policy("standards:version:view")
def can_view(principal: Principal, resource: Any = None) -> bool:
    state = getattr(resource, "state", None)
    if state in ("published", "deprecated", "retired"):
        return True
    return _commission(principal)


@policy("standards:data:validate")
def can_validate(principal: Principal, resource: Any = None) -> bool:
    return True


@policy("standards:document:check")
def can_check(principal: Principal, resource: Any = None) -> bool:
    return True


@policy("standards:settings:update")
def can_update_settings(principal: Principal, resource: Any = None) -> bool:
    return principal.has_role(Role.COMMISSION_ADMIN)


@policy("standards:version:disable")
def can_disable(principal: Principal, resource: Any = None) -> bool:
    return principal.has_role(Role.COMMISSION_ADMIN)


@policy("standards:version:enable")
def can_enable(principal: Principal, resource: Any = None) -> bool:
    return principal.has_role(Role.COMMISSION_ADMIN)
