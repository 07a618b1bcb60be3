"""Policies of the project library (default deny; system principals pass every policy).

* The commission (admins and reviewers) sees everything and runs the review.
* A department submitter sees the proposals of its own organisation, and creates, edits and submits them
  only while they are drafts or returned for revision. It never sees another organisation's proposals.
* An expert sees only the proposals of the panels it sits on, and reviews them while the panel is open.

Resources passed to the policies: a :class:`registry.models.Project` (or anything with ``org_id`` and
``state``), for experts an :class:`Access` carrying the assigned expert ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kernel.permissions import policy
from kernel.principal import Principal, Role

from registry.lifecycle import EDITABLE

COMMISSION = (Role.COMMISSION_ADMIN, Role.COMMISSION_REVIEWER)


@dataclass(frozen=True)
class Access:
    """A project as the policies see it."""

    org_id: str | None
    state: str = "draft"
    experts: frozenset[str] = field(default_factory=frozenset)


def commission(principal: Principal) -> bool:
    return principal.has_role(*COMMISSION)


def _own(principal: Principal, resource: Any) -> bool:
    org = getattr(resource, "org_id", None)
    return (principal.has_role(Role.DEPARTMENT_SUBMITTER) and principal.org_id is not None
            and org is not None and org == principal.org_id)


def _assigned(principal: Principal, resource: Any) -> bool:
    experts = getattr(resource, "experts", None) or frozenset()
    return principal.has_role(Role.EXPERT) and principal.id is not None and principal.id in experts


@policy("registry:project:view")
def can_view(principal: Principal, resource: Any = None) -> bool:
    return commission(principal) or _own(principal, resource) or _assigned(principal, resource)


@policy("registry:project:list")
def can_list(principal: Principal, resource: Any = None) -> bool:
    # what each principal may see is filtered by registry.services.visible_filter
    return commission(principal) or principal.has_role(Role.DEPARTMENT_SUBMITTER, Role.EXPERT)


@policy("registry:project:create")
def can_create(principal: Principal, resource: Any = None) -> bool:
    return commission(principal) or _own(principal, resource)


@policy("registry:project:update")
def can_update(principal: Principal, resource: Any = None) -> bool:
    state = getattr(resource, "state", None)
    return state in EDITABLE and (principal.has_role(Role.COMMISSION_ADMIN) or _own(principal, resource))


@policy("registry:project:submit")
def can_submit(principal: Principal, resource: Any = None) -> bool:
    return can_update(principal, resource)


@policy("registry:project:import")
def can_import(principal: Principal, resource: Any = None) -> bool:
    return commission(principal)


@policy("registry:project:precheck")
def can_precheck(principal: Principal, resource: Any = None) -> bool:
    return commission(principal)


@policy("registry:project:similar")
def can_similar(principal: Principal, resource: Any = None) -> bool:
    # matches name other organisations' proposals: the commission's tool
    return commission(principal)


@policy("registry:project:transition")
def can_transition(principal: Principal, resource: Any = None) -> bool:
    return commission(principal)


@policy("registry:project:decide")
def can_decide(principal: Principal, resource: Any = None) -> bool:
    return commission(principal)


@policy("registry:project:export")
def can_export(principal: Principal, resource: Any = None) -> bool:
    return can_list(principal, resource)


@policy("registry:portfolio:view")
def can_portfolio(principal: Principal, resource: Any = None) -> bool:
    return commission(principal)


@policy("registry:pair:mark")
def can_mark_pair(principal: Principal, resource: Any = None) -> bool:
    return commission(principal)


@policy("registry:panel:form")
def can_form_panel(principal: Principal, resource: Any = None) -> bool:
    return commission(principal)


@policy("registry:panel:close")
def can_close_panel(principal: Principal, resource: Any = None) -> bool:
    return commission(principal)


@policy("registry:review:submit")
def can_review(principal: Principal, resource: Any = None) -> bool:
    return _assigned(principal, resource)


@policy("registry:review:list")
def can_list_reviews(principal: Principal, resource: Any = None) -> bool:
    return commission(principal) or _assigned(principal, resource)


@policy("registry:rule:create")
def can_create_rule(principal: Principal, resource: Any = None) -> bool:
    return principal.has_role(Role.COMMISSION_ADMIN)


@policy("registry:rule:update")
def can_update_rule(principal: Principal, resource: Any = None) -> bool:
    return principal.has_role(Role.COMMISSION_ADMIN)


@policy("registry:rule:list")
def can_list_rules(principal: Principal, resource: Any = None) -> bool:
    return True


@policy("registry:target:declare")
def can_declare_targets(principal: Principal, resource: Any = None) -> bool:
    return commission(principal)


@policy("registry:milestone:record")
def can_record_milestone(principal: Principal, resource: Any = None) -> bool:
    # the department building the project reports its milestones; the commission may too
    return commission(principal) or _own(principal, resource)


@policy("registry:project:accept")
def can_accept(principal: Principal, resource: Any = None) -> bool:
    return commission(principal)


@policy("registry:project:evaluate")
def can_evaluate(principal: Principal, resource: Any = None) -> bool:
    return commission(principal)


@policy("registry:statistics:view")
def can_view_statistics(principal: Principal, resource: Any = None) -> bool:
    return commission(principal)
