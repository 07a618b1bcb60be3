"""Who is acting: the principal every service receives explicitly."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    COMMISSION_ADMIN = "commission_admin"
    COMMISSION_REVIEWER = "commission_reviewer"
    EXPERT = "expert"
    DEPARTMENT_SUBMITTER = "department_submitter"
    VENDOR = "vendor"
    SECURITY_ANALYST = "security_analyst"
    DATA_STEWARD = "data_steward"


class OrgKind(StrEnum):
    COMMISSION = "commission"
    DEPARTMENT = "department"
    DISTRICT = "district"
    VENDOR = "vendor"


@dataclass(frozen=True)
class Principal:
    """The acting party.

    ``kind`` is ``user`` (a logged-in person), ``token`` (an API token of a user), ``system`` (a scheduled
    job or CLI maintenance) or ``anonymous`` (the public). ``scopes`` is None for full delegation of the
    user's roles, or the set of action patterns (``registry:*``, ``audit:checkpoint:sign``) a token may use.
    """

    kind: str
    id: str | None = None
    name: str = "anonymous"
    org_id: str | None = None
    org_kind: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    scopes: frozenset[str] | None = None
    token_id: str | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.kind == "anonymous"

    @property
    def is_system(self) -> bool:
        return self.kind == "system"

    def has_role(self, *roles: str) -> bool:
        return self.is_system or any(str(r) in self.roles for r in roles)

    @property
    def actor(self) -> str:
        """How the audit log names this principal: ``user:<id>``, ``token:<id>``, ``system:<job>``."""
        if self.kind == "token":
            return f"token:{self.token_id}"
        if self.kind == "user":
            return f"user:{self.id}"
        if self.kind == "system":
            return f"system:{self.name}"
        return "anonymous"

    @property
    def owner(self) -> str:
        """Whom what this principal creates belongs to: the person (``user:<id>``) whether they act in a browser
        session or through one of their API tokens (the audit log still names the token: :attr:`actor`)."""
        if self.kind in ("user", "token") and self.id:
            return f"user:{self.id}"
        return self.actor


ANONYMOUS = Principal(kind="anonymous")


def system_principal(job: str) -> Principal:
    """The principal of a scheduled job or a maintenance command; it passes every policy."""
    return Principal(kind="system", id=None, name=job)
