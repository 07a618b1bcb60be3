"""The one permission mechanism: one policy function per use case, default deny.

A domain package declares, next to its services::

    @policy("registry:project:submit")
    def can_submit(principal, project):
        return principal.has_role(Role.DEPARTMENT_SUBMITTER) and project.org_id == principal.org_id

and its service calls ``authorize(principal, "registry:project:submit", project)`` before it changes
anything. An action without a registered policy is denied. System principals pass every policy; tokens
are further limited to their scopes.
"""

from __future__ import annotations

from collections.abc import Callable
from fnmatch import fnmatchcase
from typing import Any

from kernel.errors import NotAuthenticated, NotAuthorized
from kernel.principal import Principal

PolicyFn = Callable[[Principal, Any], bool]

_POLICIES: dict[str, PolicyFn] = {}


def policy(action: str) -> Callable[[PolicyFn], PolicyFn]:
    """Register ``fn`` as the policy of ``action`` (an ``area:subject:verb`` tag)."""

    def register(fn: PolicyFn) -> PolicyFn:
        if action in _POLICIES and _POLICIES[action] is not fn:
            existing = _POLICIES[action]
            if (existing.__module__, existing.__qualname__) != (fn.__module__, fn.__qualname__):
                raise RuntimeError(f"policy for {action!r} registered twice")
        _POLICIES[action] = fn
        return fn

    return register


def registered_actions() -> list[str]:
    return sorted(_POLICIES)


def scope_allows(scopes: frozenset[str] | None, action: str) -> bool:
    if scopes is None:
        return True
    return any(fnmatchcase(action, pattern) for pattern in scopes)


def is_allowed(principal: Principal, action: str, resource: Any = None) -> bool:
    fn = _POLICIES.get(action)
    if fn is None:
        return False
    if principal.is_system:
        return True
    if not scope_allows(principal.scopes, action):
        return False
    return bool(fn(principal, resource))


def authorize(principal: Principal, action: str, resource: Any = None) -> None:
    """Raise unless ``principal`` may perform ``action`` on ``resource``.

    Anonymous principals that are refused get :class:`NotAuthenticated` (401: log in and retry),
    authenticated ones :class:`NotAuthorized` (403).
    """
    if is_allowed(principal, action, resource):
        return
    if principal.is_anonymous:
        raise NotAuthenticated(f"log in to perform {action}")
    raise NotAuthorized(f"{principal.name} may not perform {action}")
