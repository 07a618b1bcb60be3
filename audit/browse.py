"""Browsing events by area, actor, object and time, private details included: for auditors."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from audit.models import AuditEvent
from audit.proofs import MAX_PAGE, parse_int
from kernel.errors import BadRequest
from kernel.principal import Principal
from kernel.db import Session


def event_dict(ev: AuditEvent, *, private: bool) -> dict[str, Any]:
    """An event as JSON for browsing; private details only when ``private`` (commission admins)."""
    d = ev.leaf_object()
    d.pop("v")
    d["index"] = d.pop("seq")
    d["area"] = ev.area
    if private:
        d["private_details"] = ev.private_details
    return d


def time_filter(value: Any, name: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{name} must be an ISO 8601 / RFC 3339 time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def events_browse(
    session: Session,
    principal: Principal,
    *,
    area: str | None = None,
    actor: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: Any = None,
    until: Any = None,
    limit: Any = 100,
    offset: Any = 0,
) -> dict[str, Any]:
    """Events filtered by area, actor, object and time (``since`` inclusive, ``until`` exclusive), newest
    first, private details included: for auditors (``audit:event:browse``, commission admins)."""
    from kernel.permissions import authorize

    authorize(principal, "audit:event:browse")
    t = AuditEvent.__table__
    conds = []
    if area:
        if not re.fullmatch(r"[a-z][a-z0-9_-]{0,38}", area):
            raise BadRequest("area must be an action area such as 'registry'")
        conds.append(t.c.action.startswith(area + ":", autoescape=True))
    if actor:
        conds.append(t.c.actor == actor)
    if object_type:
        conds.append(t.c.object_type == object_type)
    if object_id:
        conds.append(t.c.object_id == object_id)
    lo, hi = time_filter(since, "since"), time_filter(until, "until")
    if lo is not None:
        conds.append(t.c.created_at >= lo)
    if hi is not None:
        conds.append(t.c.created_at < hi)
    lim = parse_int("limit", limit if limit not in (None, "") else 100)
    off = parse_int("offset", offset if offset not in (None, "") else 0)
    if not 1 <= lim <= MAX_PAGE:
        raise BadRequest(f"limit must be between 1 and {MAX_PAGE}")
    total = session.execute(select(func.count()).select_from(t).where(*conds)).scalar()
    rows = session.execute(
        select(AuditEvent).where(*conds).order_by(AuditEvent.seq.desc()).limit(lim).offset(off)
    ).scalars().all()
    return {"total": int(total), "limit": lim, "offset": off, "items": [event_dict(e, private=True) for e in rows]}
