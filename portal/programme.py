"""One view of the programme: for a project or a department, what every module knows about it.

The project library gives state and decision; the standards registry the state of each standard the
project's interfaces reference; certification the certificate of each interface; security monitoring the
systems/assets and their standing; open data the datasets promised (the proposal's ``data_resources``)
and delivered. The view lives in portal (the composition root) because it joins packages that do not
import each other.

Modules that are not installed, or whose tables do not exist yet, give a section ``{"available": false}``
that pages show as "no data". A module contributes its part with :func:`register_section`; the generic
:func:`table_section` picks up any table that links rows to a project with a ``project_id`` column (the
asset, incident, remediation, evaluation and dataset tables of the secmon and opendata work), so the view
fills in as those tables appear, without a change here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import select

from kernel.errors import NotAuthorized, NotFound
from kernel.permissions import authorize, is_allowed, policy
from kernel.principal import Principal, Role

COMMISSION = (Role.COMMISSION_ADMIN, Role.COMMISSION_REVIEWER)


@policy("portal:programme:view")
def can_view_programme(principal: Principal, org_id: Any = None) -> bool:
    """The commission sees every department; a department officer sees its own organisation's view."""
    if principal.has_role(*COMMISSION):
        return True
    return (org_id is not None and principal.org_id == org_id
            and principal.has_role(Role.DEPARTMENT_SUBMITTER))


@policy("portal:programme:list")
def can_list_programme(principal: Principal, _resource: Any = None) -> bool:
    return principal.has_role(*COMMISSION)


@dataclass(frozen=True)
class Scope:
    """What a section is asked about: one project, or every project of one department."""

    kind: str  # "project" | "department" | "all" (the whole programme: dashboards)
    project_ids: tuple[str, ...]
    org_id: str | None


SectionFn = Callable[[Any, Principal, Scope], dict[str, Any]]
_SECTIONS: dict[str, SectionFn] = {}


def register_section(name: str, fn: SectionFn) -> None:
    """Add (or replace) a section of the view. ``fn(session, principal, scope)`` returns a JSON-able dict
    with ``available`` (bool) and the section's data."""
    _SECTIONS[name] = fn


def _tables(session) -> set[str]:
    return set(sa.inspect(session.connection()).get_table_names())  # the session's own connection: never a second one


def table_section(table: str, *, label_columns: tuple[str, ...] = (), limit: int = 50,
                  org_fallback: bool = False, where: dict[str, Any] | None = None) -> SectionFn:
    """A section reading ``table`` rows whose ``project_id`` is in the scope (absent table: no data).
    With ``org_fallback``, a table without ``project_id`` but with ``org_id`` gives the rows of the scope's
    organisation (``linked_by: "org_id"``: the module does not link its rows to projects). ``where``:
    extra column = value conditions (columns the table lacks are ignored)."""

    def section(session, principal: Principal, scope: Scope) -> dict[str, Any]:
        if table not in _tables(session):
            return {"available": False, "table": table}
        meta = sa.MetaData()
        t = sa.Table(table, meta, autoload_with=session.connection())
        linked_by = "project_id"
        if scope.kind == "all":
            cond = sa.true()
        elif "project_id" in t.c:
            if not scope.project_ids:
                return {"available": True, "table": table, "count": 0, "rows": [], "linked_by": linked_by}
            cond = t.c.project_id.in_(scope.project_ids)
        elif org_fallback and "org_id" in t.c and scope.org_id:
            linked_by, cond = "org_id", t.c.org_id == scope.org_id
        else:
            return {"available": False, "table": table}
        for column, value in (where or {}).items():
            if column in t.c:
                cond = sa.and_(cond, t.c[column] == value)
        count = session.execute(sa.select(sa.func.count()).select_from(t).where(cond)).scalar_one()
        cols = [t.c[c] for c in label_columns if c in t.c] or list(t.c)[:8]
        rows = session.execute(sa.select(*cols).where(cond).limit(limit)).mappings().all()
        return {"available": True, "table": table, "count": int(count), "linked_by": linked_by,
                "rows": [{k: _jsonable(v) for k, v in r.items()} for r in rows]}

    return section


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


# ----------------------------------------------------------------------------------------- sections


def _standards_section(session, principal: Principal, scope: Scope) -> dict[str, Any]:
    """The standards the interfaces reference, with their state in the registry and the interfaces'
    certificates."""
    from registry.certify import approval
    from registry.models import Project
    from standards import services as standards

    refs: Counter[str] = Counter()
    interfaces = []
    certified = total = 0
    for pid in scope.project_ids:
        project = session.get(Project, pid)
        for key in ("interfaces_provided", "interfaces_consumed"):
            for item in (project.data or {}).get(key) or []:
                if isinstance(item, dict) and item.get("standard"):
                    refs[str(item["standard"])] += 1
        certs = approval.project_certificates(session, principal, pid)
        total += certs["summary"]["interfaces"]
        certified += certs["summary"]["certified"]
        for i in certs["interfaces"]:
            interfaces.append({**i, "project_id": pid, "project_title": project.title})
    out = []
    for ref, uses in sorted(refs.items()):
        try:
            v = standards.version_get(session, principal, ref)
            out.append({"ref": ref, "uses": uses, "state": v.state, "version": v.version, "sha256": v.sha256,
                        "name": ref.split("@", 1)[0]})
        except (NotFound, NotAuthorized):
            out.append({"ref": ref, "uses": uses, "state": "unknown", "version": None, "sha256": None,
                        "name": ref.split("@", 1)[0]})
    return {"available": True, "standards": out, "interfaces": interfaces,
            "summary": {"interfaces": total, "certified": certified}}


def _datasets_section(session, principal: Principal, scope: Scope) -> dict[str, Any]:
    """Promised: the proposal's ``data_resources``. Delivered: rows of the open-data catalog that name the
    project (when the catalog's table exists)."""
    from registry.models import Project

    promised = []
    for pid in scope.project_ids:
        project = session.get(Project, pid)
        for name in (project.data or {}).get("data_resources") or []:
            promised.append({"project_id": pid, "name": str(name)})
    delivered = table_section("opendata_dataset", label_columns=("name", "title_zh", "title", "state", "grade",
                                                                 "published_at", "released_at"),
                              org_fallback=True)(session, principal, scope)
    return {"available": True, "promised": promised, "delivered": delivered}


def _security_section(session, principal: Principal, scope: Scope) -> dict[str, Any]:
    """Systems and assets with their MLPS level, incidents, remediation and the last evaluation score, per
    project. secmon links an information system to its project (``secmon_system.project_id``) and incidents,
    remediation tasks and evaluation reports to the system (``system_id``, ``scope = "system:<id>"``); a table
    that carries ``project_id`` itself is read directly. Absent tables: "no data"."""
    from registry.models import Project

    levels = {pid: session.get(Project, pid).mlps_level for pid in scope.project_ids}
    tables = _tables(session)
    systems = _scope_systems(session, scope) if SECURITY_TABLES["assets"] in tables else {}
    parts = {name: _linked_section(session, principal, scope, table, systems, tables)
             for name, table in SECURITY_TABLES.items()}
    return {"available": any(p["available"] for p in parts.values()), "mlps_levels": levels,
            "per_project": _per_project(scope, systems, parts), **parts}


#: secmon tables of the security section (systems link to projects; the others to systems)
SECURITY_TABLES = {"assets": "secmon_system", "incidents": "secmon_incident",
                   "remediation": "secmon_remediation_task", "evaluations": "secmon_evaluation_report"}
_SECURITY_COLUMNS = {
    "assets": ("id", "name", "project_id", "mlps_level", "criticality", "org_id"),
    "incidents": ("id", "title", "severity", "state", "last_seen", "system_id", "project_id"),
    "remediation": ("id", "title", "severity", "state", "due_at", "system_id", "project_id"),
    "evaluations": ("id", "period", "scope", "scope_name", "score", "created_at", "project_id"),
}
_CLOSED = {"incidents": ("resolved", "closed", "false_positive"), "remediation": ("verified", "cancelled")}


def _scope_systems(session, scope: Scope) -> dict[str, dict[str, Any]]:
    """The information systems built by the scope's projects: id → {project_id, name, org_id}."""
    t = sa.Table(SECURITY_TABLES["assets"], sa.MetaData(), autoload_with=session.connection())
    if "project_id" not in t.c:
        return {}
    q = sa.select(t.c.id, t.c.project_id, t.c.name, t.c.org_id)
    if scope.kind != "all":
        if not scope.project_ids:
            return {}
        q = q.where(t.c.project_id.in_(scope.project_ids))
    return {r.id: {"project_id": r.project_id, "name": r.name, "org_id": r.org_id}
            for r in session.execute(q.order_by(t.c.name))}


class _OrgRow:
    def __init__(self, org_id: str | None):
        self.org_id = org_id


def _linked_section(session, principal: Principal, scope: Scope, table: str, systems: dict[str, dict[str, Any]],
                    tables: set[str], limit: int = 50) -> dict[str, Any]:
    name = next(k for k, v in SECURITY_TABLES.items() if v == table)
    if table not in tables:
        return {"available": False, "table": table}
    t = sa.Table(table, sa.MetaData(), autoload_with=session.connection())
    if name == "assets" or "project_id" in t.c:
        return table_section(table, label_columns=_SECURITY_COLUMNS[name], limit=limit)(session, principal, scope)
    if name == "evaluations" and "scope" in t.c:
        by_scope = {f"system:{sid}": sid for sid in systems}
        cond = t.c.scope.in_(list(by_scope)) if by_scope else sa.false()
        linked_by = "scope"
    elif "system_id" in t.c:
        by_scope = {}
        cond = t.c.system_id.in_(list(systems)) if systems else sa.false()
        linked_by = "system_id"
    else:
        return {"available": False, "table": table}
    cols = [t.c[c] for c in _SECURITY_COLUMNS[name] if c in t.c and c != "project_id"]
    if "system_id" in t.c and t.c.system_id not in cols:
        cols.append(t.c.system_id)
    order = t.c.created_at.desc() if "created_at" in t.c else (t.c.id,)
    count = session.execute(sa.select(sa.func.count()).select_from(t).where(cond)).scalar_one()
    open_count, open_by_project = None, {}
    if name in _CLOSED and "state" in t.c and "system_id" in t.c:
        for sid, n in session.execute(sa.select(t.c.system_id, sa.func.count()).where(
                cond, t.c.state.not_in(_CLOSED[name])).group_by(t.c.system_id)):
            pid = (systems.get(sid) or {}).get("project_id")
            open_by_project[pid] = open_by_project.get(pid, 0) + int(n)
        open_count = sum(open_by_project.values())
    rows = []
    for r in session.execute(sa.select(*cols).where(cond).order_by(order).limit(limit)).mappings():
        row = {k: _jsonable(v) for k, v in r.items()}
        sid = row.get("system_id") or by_scope.get(row.get("scope"))
        system = systems.get(sid) or {}
        row["system"] = system.get("name")
        row["project_id"] = system.get("project_id")
        rows.append(row)
    # rows name people's incidents: shown to those secmon lets read them (counts are the standing, for all)
    read = {"incidents": "secmon:incident:read", "remediation": "secmon:remediation:read",
            "evaluations": "secmon:evaluation:read"}[name]
    visible = [r for r in rows if is_allowed(principal, read, _OrgRow((systems.get(r.get("system_id") or "")
                                                                      or {}).get("org_id") or scope.org_id))]
    out = {"available": True, "table": table, "count": int(count), "linked_by": linked_by, "rows": visible}
    if open_count is not None:
        out["open"] = open_count
        out["open_by_project"] = {k: v for k, v in open_by_project.items() if k}
    if name == "evaluations":  # the latest score per project (its systems' reports), for every reader of the view
        latest: dict[str, dict[str, Any]] = {}
        for r in rows:  # newest first
            if r.get("project_id") and r["project_id"] not in latest:
                latest[r["project_id"]] = {"report_id": r.get("id"), "period": r.get("period"),
                                           "score": r.get("score"), "system": r.get("system"),
                                           "created_at": r.get("created_at")}
        out["latest_by_project"] = latest
    if len(visible) < len(rows):
        out["rows_hidden"] = len(rows) - len(visible)
    return out


def _per_project(scope: Scope, systems: dict[str, dict[str, Any]], parts: dict[str, dict[str, Any]]) -> dict:
    """Per project: its systems, open incidents and remediation tasks, and the last evaluation score."""
    out: dict[str, dict[str, Any]] = {}
    for pid in scope.project_ids:
        out[pid] = {"systems": [{"id": sid, "name": s["name"]} for sid, s in systems.items() if s["project_id"] == pid],
                    "incidents_open": (parts["incidents"].get("open_by_project") or {}).get(pid, 0),
                    "remediation_open": (parts["remediation"].get("open_by_project") or {}).get(pid, 0),
                    "last_evaluation": (parts["evaluations"].get("latest_by_project") or {}).get(pid)}
    return out


register_section("standards", _standards_section)
register_section("security", _security_section)
register_section("datasets", _datasets_section)


# ----------------------------------------------------------------------------------------- views


def _project_summary(p) -> dict[str, Any]:
    from kernel.clock import isoformat

    return {"id": p.id, "title": p.title, "organisation": p.organisation, "org_id": p.org_id,
            "district": p.district, "area": p.area, "construction_mode": p.construction_mode,
            "deployment": p.deployment, "budget": p.budget, "start_year": p.start_year, "end_year": p.end_year,
            "mlps_level": p.mlps_level, "state": p.state, "decision": p.decision,
            "decision_reason": p.decision_reason,
            "decided_at": isoformat(p.decided_at) if p.decided_at else None}


def _sections(session, principal: Principal, scope: Scope) -> dict[str, Any]:
    return {name: fn(session, principal, scope) for name, fn in _SECTIONS.items()}


def project_view(session, principal: Principal, project_id: str) -> dict[str, Any]:
    from registry import services as registry

    project = registry.project_get(session, principal, project_id)  # authorizes registry:project:view
    authorize(principal, "portal:programme:view", project.org_id)
    scope = Scope("project", (project.id,), project.org_id)
    return {"kind": "project", "project": _project_summary(project), **_sections(session, principal, scope)}


def department_view(session, principal: Principal, org_ref: str) -> dict[str, Any]:
    from portal.accounts import services as accounts
    from registry.models import Project

    org = accounts.org_get(session, org_ref)
    authorize(principal, "portal:programme:view", org.id)
    projects = list(session.exec(select(Project).where(Project.org_id == org.id)
                                 .order_by(Project.updated_at.desc(), Project.id)))  # type: ignore[attr-defined]
    scope = Scope("department", tuple(p.id for p in projects), org.id)
    by_state: Counter[str] = Counter(p.state for p in projects)
    return {"kind": "department",
            "organisation": {"id": org.id, "code": org.code, "name": org.name, "name_en": org.name_en,
                             "kind": org.kind, "district": org.district},
            "projects": [_project_summary(p) for p in projects],
            "totals": {"projects": len(projects), "budget": round(sum(p.budget or 0 for p in projects), 2),
                       "by_state": dict(sorted(by_state.items()))},
            **_sections(session, principal, scope)}


def departments(session, principal: Principal) -> list[dict[str, Any]]:
    """Every organisation that has projects, with counts: the commission's index of department views."""
    from portal.accounts.models import Organisation
    from registry.models import Project

    authorize(principal, "portal:programme:list")
    rows = session.exec(select(Project.org_id, sa.func.count(), sa.func.sum(Project.budget))
                        .group_by(Project.org_id)).all()
    counts = {r[0]: (int(r[1]), float(r[2] or 0)) for r in rows}
    out = []
    for org in session.exec(select(Organisation).order_by(Organisation.code)):
        n, budget = counts.get(org.id, (0, 0.0))
        if n or org.kind in ("department", "district"):
            out.append({"id": org.id, "code": org.code, "name": org.name, "name_en": org.name_en,
                        "kind": org.kind, "projects": n, "budget": round(budget, 2)})
    return out


def may_view(principal: Principal, org_id: str | None) -> bool:
    return is_allowed(principal, "portal:programme:view", org_id)
