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
    """Systems and assets with their MLPS level, incidents, remediation and the last evaluation score —
    from the secmon tables that link to projects, where they exist."""
    from registry.models import Project

    levels = {pid: session.get(Project, pid).mlps_level for pid in scope.project_ids}
    parts = {name: table_section(table)(session, principal, scope) for name, table in SECURITY_TABLES.items()}
    return {"available": any(p["available"] for p in parts.values()),
            "mlps_levels": levels, **parts}


#: secmon tables that link rows to projects (by a ``project_id`` column)
SECURITY_TABLES = {"assets": "secmon_system", "incidents": "secmon_incident", "remediation": "secmon_remediation",
                   "evaluations": "secmon_evaluation"}

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
