"""Programme statistics for the commission, per district, department, area and year.

For every group: budget requested (every proposal that left draft), approved (approved and later) and spent
(construction milestones); projects by state; duplicates caught and the budget they represented (proposals
the commission marked duplicate of an earlier one, plus proposals flagged as likely duplicates on submit that
were rejected or returned); reuse of shared platforms; cloud deployment rate; MLPS levels; and the data
aggregation commitments kept — data resources promised against datasets actually delivered to the open-data
catalog. The catalog is another package's table: when the database has no ``opendata_dataset`` table with a
``project_id`` column, that figure is reported as ``"no data"`` instead of a number that would mean nothing.

Rows are streamed from the database (constant memory in the number of projects).
"""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from typing import Any

import sqlalchemy as sa
from sqlmodel import func, select

from kernel.clock import isoformat, utcnow
from kernel.permissions import authorize
from kernel.principal import Principal
from registry import lifecycle
from registry.models import Milestone, Pair, Project

DIMENSIONS = {"district": "district", "department": "organisation", "area": "area", "year": "start_year"}
APPROVED = ("approved", "in_construction", "completed", "evaluated")
NO_DATA = "no data"


def _delivered(session) -> dict[str, int] | None:
    """Datasets delivered to the open-data catalog per project, or None when there is no catalog."""
    # inspect through the session's own connection: a fresh engine connection waited for the write lock
    # this very transaction holds on SQLite (30 s busy timeout, then the error below hid the catalog)
    insp = sa.inspect(session.connection())
    try:
        if not insp.has_table("opendata_dataset"):
            return None
        cols = {c["name"] for c in insp.get_columns("opendata_dataset")}
    except sa.exc.SQLAlchemyError:
        return None
    if "project_id" not in cols:
        return None
    t = sa.table("opendata_dataset", sa.column("project_id"))
    return {pid: int(n) for pid, n in session.execute(select(t.c.project_id, func.count()).group_by(t.c.project_id))
            if pid}


def _new_group() -> dict[str, Any]:
    return {"projects": 0, "budget_requested": 0.0, "budget_approved": 0.0, "budget_spent": 0.0,
            "states": Counter(), "duplicates_caught": 0, "duplicate_budget": 0.0, "shared_platform_projects": 0,
            "cloud": 0, "mlps": Counter(), "data_promised": 0, "data_delivered": 0}


def programme_statistics(session, principal: Principal) -> dict[str, Any]:
    authorize(principal, "registry:statistics:view")
    spent = dict(session.execute(select(Milestone.project_id, func.sum(Milestone.spent)).group_by(Milestone.project_id)).all())
    dup_ids = _duplicates_caught(session)
    delivered = _delivered(session)
    groups: dict[str, dict[str, dict[str, Any]]] = {d: defaultdict(_new_group) for d in DIMENSIONS}
    total = _new_group()
    platforms: Counter[str] = Counter()
    q = (select(Project.id, Project.organisation, Project.district, Project.area, Project.start_year, Project.state,
                Project.budget, Project.deployment, Project.mlps_level, Project.data)
         .where(Project.state.in_(lifecycle.IN_LIBRARY))  # type: ignore[attr-defined]
         .execution_options(yield_per=2000))
    for pid, org, district, area, year, state, budget, deployment, mlps, data in session.execute(q):
        data = data or {}
        budget = float(budget or 0.0)
        keys = {"district": district or "全市", "department": org or "", "area": area or "",
                "year": str(year) if year is not None else ""}
        shared = data.get("shared_platforms") or []
        platforms.update(str(x) for x in shared)
        promised = len(data.get("data_aggregation") or [])
        for g in [total] + [groups[d][keys[d]] for d in DIMENSIONS]:
            g["projects"] += 1
            g["budget_requested"] += budget
            if state in APPROVED:
                g["budget_approved"] += budget
            g["budget_spent"] += float(spent.get(pid) or 0.0)
            g["states"][state] += 1
            if pid in dup_ids:
                g["duplicates_caught"] += 1
                g["duplicate_budget"] += budget
            g["shared_platform_projects"] += 1 if shared else 0
            g["cloud"] += 1 if deployment == "government_cloud" else 0
            g["mlps"][str(mlps) if mlps else "none"] += 1
            if state in ("completed", "evaluated"):
                g["data_promised"] += promised
                if delivered is not None:
                    g["data_delivered"] += min(promised, delivered.get(pid, 0))
    return {"generated_at": isoformat(utcnow()), "open_data_catalog": delivered is not None,
            "totals": _finish(total, delivered is not None),
            "by": {d: [{"key": k, **_finish(v, delivered is not None)} for k, v in sorted(groups[d].items())]
                   for d in DIMENSIONS},
            "shared_platforms": dict(platforms.most_common())}


def _finish(g: dict[str, Any], catalog: bool) -> dict[str, Any]:
    n = g["projects"]
    out = {"projects": n, "budget_requested": round(g["budget_requested"], 2),
           "budget_approved": round(g["budget_approved"], 2), "budget_spent": round(g["budget_spent"], 2),
           "states": dict(sorted(g["states"].items())), "duplicates_caught": g["duplicates_caught"],
           "duplicate_budget": round(g["duplicate_budget"], 2),
           "shared_platform_reuse_rate": round(g["shared_platform_projects"] / n, 4) if n else None,
           "cloud_deployment_rate": round(g["cloud"] / n, 4) if n else None,
           "mlps_levels": dict(sorted(g["mlps"].items())), "data_resources_promised": g["data_promised"]}
    if catalog:
        out["data_commitments_kept"] = round(g["data_delivered"] / g["data_promised"], 4) if g["data_promised"] else None
    else:
        out["data_commitments_kept"] = NO_DATA
    return out


def _duplicates_caught(session) -> set[str]:
    """Proposals marked duplicate of an earlier project, and proposals flagged as a likely duplicate on submit
    that the commission rejected or returned."""
    from registry.services import LIKELY_DUPLICATE

    caught: set[str] = set()
    created = {}
    pairs = session.exec(select(Pair).where(Pair.verdict == "duplicate")).all()
    ids = {x for p in pairs for x in (p.project_a, p.project_b)}
    if ids:
        created = dict(session.execute(select(Project.id, Project.created_at).where(Project.id.in_(ids))).all())  # type: ignore[attr-defined]
    for p in pairs:
        a, b = p.project_a, p.project_b
        caught.add(b if (created.get(b), b) > (created.get(a), a) else a)
    q = select(Project.id, Project.matches).where(Project.state.in_(("rejected", "returned_for_revision")))  # type: ignore[attr-defined]
    for pid, matches in session.execute(q):
        if any((m or {}).get("score", 0) >= LIKELY_DUPLICATE for m in matches or []):
            caught.add(pid)
    return caught


# ---------------------------------------------------------------------------------------- export

COLUMNS = ["key", "projects", "budget_requested", "budget_approved", "budget_spent", "duplicates_caught",
           "duplicate_budget", "shared_platform_reuse_rate", "cloud_deployment_rate", "data_resources_promised",
           "data_commitments_kept", "states", "mlps_levels"]


def to_xlsx(stats: dict[str, Any]) -> bytes:
    from openpyxl import Workbook

    from registry.export import worksheet_value

    wb = Workbook(write_only=True)
    for dim, rows in [("totals", [{"key": "all", **stats["totals"]}])] + list(stats["by"].items()):
        ws = wb.create_sheet(dim)
        ws.append(COLUMNS)
        for r in rows:
            ws.append([worksheet_value(_cell(r.get(c))) for c in COLUMNS])
    ws = wb.create_sheet("shared_platforms")
    ws.append(["platform", "projects"])
    for k, v in stats["shared_platforms"].items():
        ws.append([worksheet_value(k), v])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _cell(v: Any) -> Any:
    if isinstance(v, dict):
        return "; ".join(f"{k}: {n}" for k, n in v.items())
    return v
