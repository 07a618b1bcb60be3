"""Policies of the data stewards' working tools on an uploaded sample file (scan, desensitization preview,
anonymity measurement): nothing is stored, but the file holds personal data, so only data stewards and
commission administrators use them. (The catalog's own policies live in ``opendata.policies``.)"""

from __future__ import annotations

from typing import Any

from kernel.permissions import policy
from kernel.principal import Principal, Role


def _steward(principal: Principal) -> bool:
    return principal.has_role(Role.DATA_STEWARD, Role.COMMISSION_ADMIN)


@policy("opendata:sample:scan")
def can_scan(principal: Principal, _resource: Any = None) -> bool:
    return _steward(principal)


@policy("opendata:sample:desensitize")
def can_preview(principal: Principal, _resource: Any = None) -> bool:
    return _steward(principal)


@policy("opendata:sample:measure")
def can_measure(principal: Principal, _resource: Any = None) -> bool:
    return _steward(principal)
