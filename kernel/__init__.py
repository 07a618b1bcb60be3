"""The floor of the house: what every citygov package needs and nothing more.

kernel imports none of citygov's packages (nor Flask). It holds the acting principal and the one
permission mechanism, the exception hierarchy, the database session type, clock / id / digest
helpers, and the zip-container check every reader of XLSX files runs first (``kernel.archives``).
"""

from kernel.clock import utcnow
from kernel.errors import (
    BadRequest,
    CityGovError,
    Conflict,
    NotAuthenticated,
    NotAuthorized,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
    UnsupportedMediaType,
    ValidationFailed,
)
from kernel.ids import new_id
from kernel.permissions import authorize, is_allowed, policy
from kernel.principal import ANONYMOUS, Principal, Role, system_principal

__all__ = [
    "ANONYMOUS",
    "BadRequest",
    "CityGovError",
    "Conflict",
    "NotAuthenticated",
    "NotAuthorized",
    "NotFound",
    "PayloadTooLarge",
    "Principal",
    "Role",
    "TooManyRequests",
    "UnsupportedMediaType",
    "ValidationFailed",
    "authorize",
    "is_allowed",
    "new_id",
    "policy",
    "system_principal",
    "utcnow",
]
