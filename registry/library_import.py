"""Importing the city's existing project library with each project's real state.

A row is a proposal document plus where the project stands: ``state`` (submitted, approved, in_construction,
completed, evaluated — or draft), the dates of the steps it has passed (``submitted_on``, ``approved_on``,
``started_on``, ``completed_on``, ``evaluated_on``) and the approval's ``decision_ref`` (e.g. 深发改〔2024〕12号).
Each state requires the dates of every step up to it, in order, none in the future, and no date of a later
step; approved and later need the decision reference. Non-draft rows are validated against every required
field of the proposal schema.

The import is one transaction: every row is checked first (per-row, per-field errors; nothing written if any
row fails). Then every project is written in its real state, with one ``registry_transition`` row ("import",
none → state, at the date of its last step) and one audit event each, plus one batch event
(``registry:library:import``) carrying the file's SHA-256, format and counts by state. The rows get counter
values at once (:mod:`registry.indexstore`), so they are ranked by the next duplicate query of any process.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, time, timezone
from typing import Any

import audit
from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from kernel.ids import new_id
from kernel.permissions import authorize
from kernel.principal import Principal
from kernel.faults import pause_point
from registry import indexstore, proposal
from registry import similarity as sim
from registry.importing import LIFECYCLE_FIELDS
from registry.models import Project, Transition

#: importable states and the date each one requires (every earlier step's date is required too)
STEPS = (("submitted", "submitted_on"), ("approved", "approved_on"), ("in_construction", "started_on"),
         ("completed", "completed_on"), ("evaluated", "evaluated_on"))
STATES = ("draft",) + tuple(s for s, _ in STEPS)
STATE_ALIASES = {
    "草稿": "draft", "已申报": "submitted", "申报中": "submitted", "审批中": "submitted", "已批复": "approved",
    "已立项": "approved", "批复": "approved", "在建": "in_construction", "建设中": "in_construction",
    "实施中": "in_construction", "已验收": "completed", "已完成": "completed", "已竣工": "completed",
    "已评价": "evaluated", "已后评价": "evaluated", "in construction": "in_construction",
}
_DATE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?$")


def parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    m = _DATE.match(str(value))
    if not m:
        raise ValueError
    return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))


def _at(d: date | None) -> datetime | None:
    return datetime.combine(d, time(0, 0), tzinfo=timezone.utc) if d else None


def lifecycle_of(raw: dict[str, Any], row: int, errors: list[dict[str, Any]], *,
                 today: date) -> tuple[str, dict[str, date], str]:
    """The (state, dates, decision_ref) of a row; problems are appended to ``errors``."""
    given = str(raw.get("state") or "").strip()
    state = STATE_ALIASES.get(given, given.lower().replace(" ", "_").replace("-", "_")) if given else "draft"
    if state not in STATES:
        errors.append({"row": row, "field": "state",
                       "message": f"unknown state {given!r} (one of {', '.join(STATES)})"})
        return "draft", {}, ""
    dates: dict[str, date] = {}
    for _s, field in STEPS:
        value = raw.get(field)
        if value in (None, ""):
            continue
        try:
            dates[field] = parse_date(value)
        except (ValueError, TypeError):
            errors.append({"row": row, "field": field, "message": f"{value!r} is not a date (YYYY-MM-DD)"})
    reached = [s for s, _f in STEPS][:[s for s, _f in STEPS].index(state) + 1] if state != "draft" else []
    for s, field in STEPS:
        if s in reached:
            if field not in dates and not (s == "submitted" and state != "submitted") \
                    and not any(e["row"] == row and e["field"] == field for e in errors):
                errors.append({"row": row, "field": field, "message": f"required for a project that is {state}"})
        elif field in dates:
            errors.append({"row": row, "field": field,
                           "message": f"a project that is {state} has no {field.replace('_on', '')} date"})
    ordered = [(f, dates[f]) for _s, f in STEPS if f in dates]
    for (fa, da), (fb, db) in zip(ordered, ordered[1:]):
        if db < da:
            errors.append({"row": row, "field": fb, "message": f"{db.isoformat()} is before {fa} {da.isoformat()}"})
    for f, d in ordered:
        if d > today:
            errors.append({"row": row, "field": f, "message": f"{d.isoformat()} is in the future"})
    ref = str(raw.get("decision_ref") or "").strip()
    if state in ("approved", "in_construction", "completed", "evaluated") and not ref:
        errors.append({"row": row, "field": "decision_ref", "message": f"the approval's reference is required for a project that is {state}"})
    if len(ref) > 100:
        errors.append({"row": row, "field": "decision_ref", "message": "at most 100 characters"})
    return state, dates, ref


CHUNK = 2000


def _project(principal: Principal, data: dict[str, Any], org_id: str, state: str, dates: dict[str, date], ref: str,
             *, seq: int) -> Project:
    from registry import services

    project = Project(org_id=org_id, created_by=principal.actor, schema_ref=proposal.SCHEMA_REF, state=state, seq=seq,
                      decision_ref=ref)
    services._apply_columns(project, data)
    project.submitted_at = _at(dates.get("submitted_on"))
    if state in ("approved", "in_construction", "completed", "evaluated"):
        project.decision = "approved"
        project.decision_reason = f"approved before the library was loaded ({ref})"
        project.decided_at = _at(dates.get("approved_on"))
        project.submitted_at = project.submitted_at or project.decided_at
    project.started_at = _at(dates.get("started_on"))
    project.completed_at = _at(dates.get("completed_on"))
    project.evaluated_at = _at(dates.get("evaluated_on"))
    return project


def project_import(session, principal: Principal, rows: list[tuple[int, Any]], *,
                   resolve_org: Callable[[str], str | None], submit: bool = False,
                   source: dict[str, Any] | None = None, keep_objects: bool = True) -> list[Project]:
    """Import ``(row number, document)`` pairs in one transaction — see the module docstring. ``submit`` runs
    draft rows through submission (pre-check, duplicate detection), as before; rows with a state keep it.
    ``source`` describes the file (``sha256``, ``filename``, ``format``) for the batch's audit event.
    ``keep_objects=False`` detaches every written project from the session as soon as its chunk is flushed (a
    bulk load of a whole city: the returned objects then carry their ids and columns, detached)."""
    from registry import services

    authorize(principal, "registry:project:import")
    errors: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], int] = {}
    ready = []
    today = utcnow().date()
    compiled = proposal.compiled_schema(session)
    for row, raw in rows:
        if not isinstance(raw, dict):
            errors.append({"row": row, "field": "(row)", "message": "not an object"})
            continue
        data = {k: v for k, v in raw.items() if k not in LIFECYCLE_FIELDS}
        state, dates, ref = lifecycle_of(raw, row, errors, today=today)
        problems = proposal.schema_errors(session, data, partial=(state == "draft" and not submit), compiled=compiled)
        for p in problems:
            errors.append({"row": row, "field": p["field"], "message": p["message"]})
        org_ref = str(data.get("organisation") or "").strip()
        org_id = resolve_org(org_ref) if org_ref else None
        if org_ref and org_id is None:
            errors.append({"row": row, "field": "organisation", "message": f"unknown organisation {org_ref!r}"})
        if not org_ref and not any(p["field"] == "organisation" for p in problems):
            errors.append({"row": row, "field": "organisation", "message": "required"})
        if not str(data.get("title") or "").strip() and not any(p["field"] == "title" for p in problems):
            errors.append({"row": row, "field": "title", "message": "required"})
        key = (sim.normalise(str(data.get("title") or "")), org_ref)
        if key[0] and key in seen:
            errors.append({"row": row, "field": "title", "message": f"duplicate of row {seen[key]} (same title and organisation)"})
        elif key[0]:
            seen[key] = row
        ready.append((row, data, org_id, state, dates, ref))
    if errors:
        bad = len({e["row"] for e in errors})
        raise ValidationFailed(f"{bad} of {len(rows)} row(s) have errors; nothing was imported",
                               errors=errors[:1000], rows=len(rows), rows_with_errors=bad)
    created: list[Project] = []
    batch_id = new_id()
    now = utcnow()
    first = indexstore.bump(session, len(ready)) if ready else 0
    by_state: Counter[str] = Counter(state for _r, _d, _o, state, _dt, _ref in ready)
    try:
        audit.record(session, principal, "registry:library:import", object_type="import_batch", object_id=batch_id,
                     state={"batch": batch_id, "projects": len(ready), "by_state": dict(sorted(by_state.items())),
                            **(source or {})},
                     details={"rows": len(rows), "projects": len(ready), "by_state": dict(sorted(by_state.items())),
                              **(source or {})})
        # written in chunks, each flushed and let go: the memory stays bounded whatever the library's size
        for start in range(0, len(ready), CHUNK):
            events: list[dict[str, Any]] = []
            chunk = []
            for i, (row, data, org_id, state, dates, ref) in enumerate(ready[start:start + CHUNK], start=start):
                project = _project(principal, data, org_id, state, dates, ref, seq=first + i)
                chunk.append(project)
                session.add(project)
                last = max(dates.values()) if dates else None
                reason = f"imported in batch {batch_id} (row {row})" + (f"; decision {ref}" if ref else "")
                session.add(Transition(id=new_id(), project_id=project.id, event="import", from_state="none",
                                       to_state=state, actor=principal.actor, reason=reason, at=_at(last) or now))
                events.append({"action": "registry:project:import", "object_type": "project",
                               "object_id": project.id, "state": services._state(project),
                               "details": {"row": row, "title": project.title, "batch": batch_id, "to": state,
                                           "dates": {k: v.isoformat() for k, v in dates.items()},
                                           "decision_ref": ref}})
            session.flush()
            audit.record_many(session, principal, events)
            if submit:
                for project, (row, *_rest) in zip(chunk, ready[start:start + CHUNK]):
                    if project.state == "draft":
                        services._submit(session, principal, project, f"imported (row {row})")
            created.extend(chunk)
            if keep_objects is False:
                for project in chunk:
                    session.expunge(project)
    except BaseException:
        session.rollback()
        raise
    session.flush()
    pause_point("registry.library_import.before_commit")
    session.commit()
    return created
