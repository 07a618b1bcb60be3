"""The navigation as data: each entry names its page's endpoint and the policy that page checks, so the
layout never shows a link that would answer 403.

Page modules add their own entries with :func:`add` (at import time, next to their routes); the layout
renders :func:`entries_for` the current principal. An entry with ``action=None`` is public.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kernel.permissions import is_allowed
from kernel.principal import Principal


@dataclass(frozen=True)
class NavEntry:
    endpoint: str
    label: str  # an English msgid, marked with N_() where it is written; translated when rendered
    action: str | None = None  # the policy the target page checks (None: public)
    resource: Any = None  # the resource passed to that policy, when the page checks one
    order: int = 100
    anonymous: bool = True  # shown to anonymous visitors (only for public entries)
    kwargs: dict[str, Any] = field(default_factory=dict)
    visible: Callable[[Principal], bool] | None = None  # extra condition (e.g. "has an organisation")


_ENTRIES: dict[str, NavEntry] = {}


def add(endpoint: str, label: str, action: str | None = None, *, resource: Any = None, order: int = 100,
        anonymous: bool = True, visible: Callable[[Principal], bool] | None = None, **kwargs: Any) -> None:
    """Register (or replace) the navigation entry of ``endpoint``. ``label`` is an English msgid: write it
    as ``N_("…")`` so ``pybabel extract`` finds it."""
    _ENTRIES[endpoint] = NavEntry(endpoint, label, action, resource, order, anonymous, kwargs,
                                  visible)


def allowed(entry: NavEntry, principal: Principal) -> bool:
    if entry.visible is not None and not entry.visible(principal):
        return False
    if entry.action is None:
        return entry.anonymous or not principal.is_anonymous
    if principal.is_anonymous and not entry.anonymous:
        return False
    return is_allowed(principal, entry.action, entry.resource)


def entries_for(principal: Principal) -> list[NavEntry]:
    return sorted((e for e in _ENTRIES.values() if allowed(e, principal)), key=lambda e: (e.order, e.endpoint))


def all_entries() -> list[NavEntry]:
    return sorted(_ENTRIES.values(), key=lambda e: (e.order, e.endpoint))


def N_(msgid: str) -> str:  # noqa: N802 - the gettext convention for "mark for extraction only"
    return msgid
