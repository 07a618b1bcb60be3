"""Policies of the open-data catalog (default deny; system principals pass every policy).

* Data stewards of a department create, edit, grade and check their department's datasets; drafts are
  visible only to them (and the commission).
* Approval, publication and withdrawal: a steward of the owning department or a commission admin --
  the service also requires the approver to differ from the steward who prepared the release.
* Published datasets are readable by everyone.
* Conditional access: anyone signed in applies; whoever approves the dataset's releases decides; an
  application is read by its applicant and by those who decide on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kernel.permissions import policy
from kernel.principal import Principal, Role


def _steward_of(principal: Principal, ds: Any) -> bool:
    return principal.has_role(Role.DATA_STEWARD) and principal.org_id is not None and \
        principal.org_id == getattr(ds, "org_id", None)


@policy("opendata:dataset:create")
def can_create(principal: Principal, _resource: Any) -> bool:
    return principal.has_role(Role.DATA_STEWARD) and principal.org_id is not None


@policy("opendata:dataset:edit")
def can_edit(principal: Principal, ds: Any) -> bool:
    return _steward_of(principal, ds)


@policy("opendata:dataset:check")
def can_check(principal: Principal, ds: Any) -> bool:
    return _steward_of(principal, ds)


@policy("opendata:dataset:approve")
def can_approve(principal: Principal, ds: Any) -> bool:
    return _steward_of(principal, ds) or principal.has_role(Role.COMMISSION_ADMIN)


@policy("opendata:dataset:publish")
def can_publish(principal: Principal, ds: Any) -> bool:
    return _steward_of(principal, ds) or principal.has_role(Role.COMMISSION_ADMIN)


@policy("opendata:dataset:withdraw")
def can_withdraw(principal: Principal, ds: Any) -> bool:
    return _steward_of(principal, ds) or principal.has_role(Role.COMMISSION_ADMIN)


@policy("opendata:dataset:read")
def can_read(principal: Principal, ds: Any) -> bool:
    if getattr(ds, "state", None) == "published":
        return True
    return _steward_of(principal, ds) or principal.has_role(Role.COMMISSION_ADMIN, Role.COMMISSION_REVIEWER)


# --------------------------------------------------------------------------------- conditional access


@policy("opendata:access:apply")
def can_apply(principal: Principal, _ds: Any) -> bool:
    return not principal.is_anonymous


@policy("opendata:access:decide")
def can_decide(principal: Principal, ds: Any) -> bool:
    return can_approve(principal, ds)


@dataclass(frozen=True)
class AppRef:
    """What the access read policy judges: who applied, for which dataset."""

    applicant: str
    dataset: Any | None


@policy("opendata:access:read")
def can_read_application(principal: Principal, ref: AppRef | None) -> bool:
    """The applicant, or whoever decides on the dataset's applications."""
    if ref is None:
        return not principal.is_anonymous
    return principal.owner == ref.applicant or (ref.dataset is not None and can_decide(principal, ref.dataset))


@policy("opendata:download:list")
def can_list_downloads(principal: Principal, ds: Any) -> bool:
    """The download log of a dataset: whoever decides on its releases and access."""
    return can_approve(principal, ds)
