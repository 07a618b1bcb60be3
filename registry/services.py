"""Use cases of the project library: ``<entity>_<verb>(session, principal, ...)``.

Each loads its object, calls :func:`kernel.authorize` first, validates, changes state, records the audit event
(``registry:<subject>:<verb>``) in the same transaction and commits at the end — or changes nothing.
Lifecycle changes go through :func:`registry.lifecycle.fire` (python-statemachine) and are written both to
``registry_transition`` and to the audit log with the actor, from, to and reason.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import func, or_
from sqlmodel import select

import audit
from kernel.clock import isoformat, utcnow
from kernel.errors import Conflict, NotAuthorized, NotFound, ValidationFailed
from kernel.permissions import authorize, is_allowed
from kernel.principal import Principal, Role
from registry import indexstore, lifecycle, precheck, proposal
from registry.models import Pair, Panel, PanelMember, Project, Review, Rule, Transition
from registry.policies import Access, commission

if TYPE_CHECKING:  # numpy / scipy behind it are imported when a ranking is first asked for
    from registry import similarity as sim

VERDICTS = ("duplicate", "related", "distinct")
MIN_PANEL = 3
MATCH_MIN_SCORE = 0.25
LIKELY_DUPLICATE = 0.55
FILTERS = ("state", "area", "org_id", "organisation", "district", "construction_mode", "deployment", "year", "q",
           "budget_min", "budget_max")


# ------------------------------------------------------------------------------------------ helpers


def _experts_of(session, project_id: str) -> frozenset[str]:
    return frozenset(session.exec(select(PanelMember.expert_id).where(PanelMember.project_id == project_id)))


def access(session, project: Project) -> Access:
    return Access(org_id=project.org_id, state=project.state, experts=_experts_of(session, project.id))


def _load(session, project_id: str) -> Project:
    project = session.get(Project, project_id) if isinstance(project_id, str) else None
    if project is None:
        raise NotFound(f"no project {project_id!r}")
    return project


def _load_visible(session, principal: Principal, project_id: str) -> tuple[Project, Access]:
    """The project if the principal may see it; otherwise NotFound (no existence oracle for departments)."""
    project = session.get(Project, project_id) if isinstance(project_id, str) else None
    if project is None:
        raise NotFound(f"no project {project_id!r}")
    acc = access(session, project)
    if not is_allowed(principal, "registry:project:view", acc):
        if principal.is_anonymous:
            authorize(principal, "registry:project:view", acc)
        raise NotFound(f"no project {project_id!r}")
    return project, acc


def _state(project: Project) -> dict[str, Any]:
    return {"id": project.id, "state": project.state, "org_id": project.org_id, "title": project.title,
            "revision": project.revision, "data": project.data, "decision": project.decision}


def _apply_columns(project: Project, data: dict[str, Any]) -> None:
    project.data = data
    project.title = str(data.get("title") or "")[:300]
    project.organisation = str(data.get("organisation") or "")[:200]
    project.district = str(data.get("district") or "")[:100]
    project.area = str(data.get("area") or "")[:40]
    project.construction_mode = str(data.get("construction_mode") or "")[:40]
    project.deployment = str(data.get("deployment") or "")[:40]
    budget = data.get("budget")
    project.budget = float(budget) if isinstance(budget, (int, float)) and not isinstance(budget, bool) else None
    for key in ("start_year", "end_year", "mlps_level"):
        value = data.get(key)
        setattr(project, key, value if isinstance(value, int) and not isinstance(value, bool) else None)


def _transition(session, principal: Principal, project: Project, event: str, reason: str = "",
                details: dict[str, Any] | None = None) -> Transition:
    before, after = lifecycle.fire(project, event)
    project.updated_at = utcnow()
    indexstore.touch(session, project)
    row = Transition(project_id=project.id, event=event, from_state=before, to_state=after, actor=principal.actor,
                     reason=reason or "")
    session.add(row)
    session.flush()
    audit.record(session, principal, f"registry:project:{event}", object_type="project", object_id=project.id,
                 state=_state(project), details={"from": before, "to": after, "reason": reason or "", **(details or {})})
    return row


def visible_matches(principal: Principal, project: Project) -> list[dict[str, Any]] | None:
    """The submit-time matches of ``project`` as ``principal`` may see them: they name other organisations'
    proposals, so only the commission (and system principals) see them; everyone else gets None. The one
    rule for every view of matches — detail JSON, lists and exports."""
    return project.matches if (principal.is_system or commission(principal)) else None


def project_json(session, principal: Principal, project: Project, *, full: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": project.id, "title": project.title, "organisation": project.organisation, "org_id": project.org_id,
        "district": project.district, "area": project.area, "construction_mode": project.construction_mode,
        "deployment": project.deployment, "budget": project.budget, "start_year": project.start_year,
        "end_year": project.end_year, "mlps_level": project.mlps_level, "state": project.state,
        "decision": project.decision, "revision": project.revision,
        "created_at": isoformat(project.created_at), "updated_at": isoformat(project.updated_at),
        "submitted_at": isoformat(project.submitted_at) if project.submitted_at else None,
    }
    if full:
        out["data"] = project.data
        out["schema"] = project.schema_ref or None
        out["precheck"] = project.precheck
        out["decision_reason"] = project.decision_reason
        out["allowed_events"] = lifecycle.allowed_events(project.state)
        out["matches"] = visible_matches(principal, project)
    return out


# ---------------------------------------------------------------------------------- search index


def _doc(project: Project) -> tuple[str, frozenset[str]]:
    return indexstore.document(project)


def library_index(session) -> sim.SimilarityIndex:
    """The shared index of the library (every non-draft project), fresh as of the last committed change: one
    integer compared per query, then only the changed rows read (see :mod:`registry.indexstore`)."""
    return indexstore.library_index(session)


def _pair_key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def _marked(session, project_id: str | None) -> dict[str, Pair]:
    if not project_id:
        return {}
    rows = session.exec(select(Pair).where(or_(Pair.project_a == project_id, Pair.project_b == project_id)))
    return {(r.project_b if r.project_a == project_id else r.project_a): r for r in rows}


def _rank(session, *, data: dict[str, Any], org_id: str | None, project_id: str | None, top: int,
          include_distinct: bool = False, min_score: float = 0.0, exclude: Iterable[str] = ()) -> list[dict[str, Any]]:
    from registry import similarity as sim

    index = library_index(session)
    text = proposal.search_text(data)
    feats = sim.features_of(data, org_id, data.get("district"))
    raw = index.query(text, feats, top=top * 3 + 10, exclude=([project_id] if project_id else []) + list(exclude))
    ids = [m.id for m in raw]
    # the candidates' states first (a few columns), then the proposal documents of only those shown
    states = dict(session.execute(sa.select(Project.id, Project.state).where(Project.id.in_(ids))).all()) if ids else {}  # type: ignore[attr-defined]
    marked = _marked(session, project_id)
    chosen = []
    for m in raw:
        if states.get(m.id) not in lifecycle.IN_LIBRARY or m.score < min_score:
            continue
        pair = marked.get(m.id)
        if pair is not None and pair.verdict == "distinct" and not include_distinct:
            continue
        chosen.append((m, pair))
        if len(chosen) >= top:
            break
    shown = [m.id for m, _ in chosen]
    rows = {p.id: p for p in session.exec(select(Project).where(Project.id.in_(shown)))} if shown else {}  # type: ignore[attr-defined]
    out = []
    for m, pair in chosen:
        p = rows.get(m.id)
        if p is None:
            continue
        ptext, pfeats = _doc(p)
        out.append({"id": p.id, "title": p.title, "organisation": p.organisation, "district": p.district,
                    "state": p.state, "score": m.score, "text_score": m.text_score,
                    "structured_score": m.struct_score, "likely_duplicate": m.score >= LIKELY_DUPLICATE,
                    "marked": pair.verdict if pair is not None else None,
                    "why": sim.explain(text, feats, ptext, pfeats)})
    return out


# ---------------------------------------------------------------------------------------- projects


def visible_filter(principal: Principal):
    """The SQL condition selecting the projects ``principal`` may see (None: everything)."""
    if principal.is_system or commission(principal):
        return None
    conds = []
    if principal.has_role(Role.DEPARTMENT_SUBMITTER) and principal.org_id:
        conds.append(Project.org_id == principal.org_id)
    if principal.has_role(Role.EXPERT) and principal.id:
        conds.append(Project.id.in_(select(PanelMember.project_id).where(PanelMember.expert_id == principal.id)))  # type: ignore[attr-defined]
    if not conds:
        return Project.id == None  # noqa: E711  (sees nothing)
    return or_(*conds)


def project_create(session, principal: Principal, data: dict[str, Any], *, org_id: str | None = None,
                   commit: bool = True) -> Project:
    """A new draft. ``org_id`` is the submitting organisation's id (default: the principal's); department
    users may only create drafts of their own organisation. Drafts may be incomplete (missing required
    fields are reported at submit) but what is there must be valid."""
    org_id = org_id or principal.org_id
    authorize(principal, "registry:project:create", Access(org_id=org_id))
    if not org_id:
        raise ValidationFailed("the submitting organisation is unknown", errors=[{"field": "organisation",
                                                                                   "message": "required"}])
    proposal.validate(session, data, partial=True)
    if not str(data.get("title") or "").strip():
        raise ValidationFailed("a proposal needs a title", errors=[{"field": "title", "message": "required"}])
    project = Project(org_id=org_id, created_by=principal.actor, schema_ref=proposal.SCHEMA_REF)
    _apply_columns(project, data)
    indexstore.touch(session, project)
    session.flush()
    audit.record(session, principal, "registry:project:create", object_type="project", object_id=project.id,
                 state=_state(project), details={"org_id": org_id},
                 private_details={"title": project.title})  # a draft's title is not public
    if commit:
        session.commit()
    return project


def project_get(session, principal: Principal, project_id: str) -> Project:
    project, _acc = _load_visible(session, principal, project_id)
    return project


def project_update(session, principal: Principal, project_id: str, data: dict[str, Any], *,
                   revision: int | None = None) -> Project:
    project, acc = _load_visible(session, principal, project_id)
    authorize(principal, "registry:project:update", acc)
    if revision is not None and revision != project.revision:
        raise Conflict(f"project {project_id} was changed meanwhile (revision {project.revision}, not {revision})")
    proposal.validate(session, data, partial=True)
    _apply_columns(project, data)
    project.revision += 1
    project.updated_at = utcnow()
    indexstore.touch(session, project)
    session.flush()
    audit.record(session, principal, "registry:project:update", object_type="project", object_id=project.id,
                 state=_state(project), details={"revision": project.revision})
    session.commit()
    return project


def _submit(session, principal: Principal, project: Project, reason: str = "") -> None:
    proposal.validate(session, project.data)
    project.schema_ref = proposal.SCHEMA_REF
    project.submitted_at = utcnow()
    project.decision = None
    project.revision += 1
    _transition(session, principal, project, "submit", reason)
    result = precheck.run(session, project.data)
    project.precheck = result
    _transition(session, principal, project, "precheck", "automatic compliance pre-check on submit",
                details={"passed": result["passed"], "counts": result["counts"],
                         "rules": [f["rule"] for f in result["findings"]]})
    project.matches = _rank(session, data=project.data, org_id=project.org_id, project_id=project.id, top=5,
                            min_score=MATCH_MIN_SCORE)
    session.add(project)
    session.flush()


def project_submit(session, principal: Principal, project_id: str, *, reason: str = "") -> Project:
    """draft / returned_for_revision → submitted → prechecked: validates against the published schema (every
    required field now), runs the compliance pre-check and the duplicate detection, all in one transaction."""
    project, acc = _load_visible(session, principal, project_id)
    authorize(principal, "registry:project:submit", acc)
    if project.state not in lifecycle.EDITABLE:
        lifecycle.fire(project, "submit")  # raises the explanatory Conflict
    _submit(session, principal, project, reason)
    session.commit()
    return project


def project_precheck(session, principal: Principal, project_id: str) -> Project:
    """Re-run the pre-check (e.g. after the commission added a rule); findings replace the stored ones."""
    project, acc = _load_visible(session, principal, project_id)
    authorize(principal, "registry:project:precheck", acc)
    if project.state == "draft":
        raise Conflict("a draft is pre-checked when it is submitted")
    result = precheck.run(session, project.data)
    project.precheck = result
    project.updated_at = utcnow()
    session.add(project)
    session.flush()
    audit.record(session, principal, "registry:project:precheck", object_type="project", object_id=project.id,
                 state=_state(project), details={"passed": result["passed"], "counts": result["counts"]})
    session.commit()
    return project


def precheck_data(session, principal: Principal, data: dict[str, Any]) -> dict[str, Any]:
    """Pre-check a proposal document without storing anything (schema errors included)."""
    authorize(principal, "registry:project:list")
    errors = proposal.schema_errors(session, data) if isinstance(data, dict) else [
        {"field": "(document)", "message": "not an object"}]
    result = precheck.run(session, data if isinstance(data, dict) else {})
    return {"schema_errors": errors, **result}


#: a title search of at least this many characters is answered from the trigram index on SQLite (registry_0004)
TRIGRAM_MIN = 3
_TITLE_FTS = "SELECT rowid FROM registry_project_title_fts WHERE registry_project_title_fts MATCH :title_phrase"


def _uses_title_index(filters: dict[str, Any] | None, dialect: str | None) -> bool:
    return dialect == "sqlite" and len(str((filters or {}).get("q") or "")) >= TRIGRAM_MIN


def _title_phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _title_contains(text: str, dialect: str | None, *, scan_order: bool = False):
    """Titles holding ``text``, case-insensitively (wildcards escaped). PostgreSQL: ``ILIKE``. SQLite: with three
    characters or more, the rows come from the FTS5 trigram index (no scan; its case folding covers every
    script), shorter text is a ``LIKE`` (case-insensitive for Latin letters; ``lower()`` would only slow the
    scan). ``scan_order``: let the planner walk the ORDER BY index and test each row's membership (worth it
    when the phrase matches many rows; see :func:`project_list`)."""
    if dialect == "sqlite":
        if len(text) < TRIGRAM_MIN:
            return Project.title.contains(text, autoescape=True)  # type: ignore[attr-defined]
        rowid = "+registry_project.rowid" if scan_order else "registry_project.rowid"
        return sa.text(f"{rowid} IN ({_TITLE_FTS})").bindparams(title_phrase=_title_phrase(text))
    return Project.title.icontains(text, autoescape=True)  # type: ignore[attr-defined]


def _filtered(principal: Principal, filters: dict[str, Any] | None, q=None, *, dialect: str | None = None,
              scan_order: bool = False):
    """``q`` (default ``select(Project)``) restricted to what ``principal`` may see and to ``filters``
    (``dialect``: the database's, to use its title index; ``scan_order``: see :func:`_title_contains`)."""
    filters = filters or {}
    q = select(Project) if q is None else q
    cond = visible_filter(principal)
    if cond is not None:
        q = q.where(cond)
    for key in ("state", "area", "org_id", "organisation", "district", "construction_mode", "deployment"):
        value = filters.get(key)
        if value:
            q = q.where(getattr(Project, key) == value)
    if filters.get("year"):
        year = int(filters["year"])
        q = q.where(Project.start_year <= year, Project.end_year >= year)
    if filters.get("budget_min") is not None:
        q = q.where(Project.budget >= float(filters["budget_min"]))
    if filters.get("budget_max") is not None:
        q = q.where(Project.budget <= float(filters["budget_max"]))
    if filters.get("q"):
        q = q.where(_title_contains(str(filters["q"]), dialect, scan_order=scan_order))
    return q


#: what a list shows of a project (``project_json(full=False)``, the projects page)
SUMMARY_COLUMNS = ("id", "title", "organisation", "org_id", "district", "area", "construction_mode", "deployment",
                   "budget", "start_year", "end_year", "mlps_level", "state", "decision", "revision", "created_at",
                   "updated_at", "submitted_at")


def project_list(session, principal: Principal, *, filters: dict[str, Any] | None = None, page: int = 1,
                 per_page: int = 50, order: str = "-updated_at", summary: bool = False) -> tuple[list[Any], int]:
    """A page of the projects ``principal`` may see and the total. ``summary``: rows of :data:`SUMMARY_COLUMNS`
    (attributes named as the project's) instead of projects — no proposal document, no check results, no ORM
    objects to build (a list shows none of them).

    The page is found by id first, then its rows are read: a project row carries its proposal document
    (~2 KB), so sorting or skipping whole rows read hundreds of MB at 100,000 projects, while the ids come
    from the ``(filter, order, id)`` indexes alone (``registry_0003``)."""
    authorize(principal, "registry:project:list")
    dialect = session.get_bind().dialect.name
    only_title = visible_filter(principal) is None and all(v in (None, "") for k, v in (filters or {}).items()
                                                           if k != "q")
    if only_title and _uses_title_index(filters, dialect):  # the index counts its matches itself
        total = session.execute(sa.text(f"SELECT count(*) FROM ({_TITLE_FTS})"),
                                {"title_phrase": _title_phrase(str(filters["q"]))}).scalar_one()
    else:
        total = session.exec(_filtered(principal, filters, select(func.count()).select_from(Project),
                                       dialect=dialect)).one()
    if not total:
        return [], 0
    col = {"updated_at": Project.updated_at, "budget": Project.budget, "title": Project.title,
           "created_at": Project.created_at}.get(order.lstrip("-"), Project.updated_at)
    desc = order.startswith("-")
    offset = (max(page, 1) - 1) * per_page
    # A title phrase matching many rows: walking the order's index and testing membership finds the page after
    # about (offset + per_page) × rows / matches entries, where reading every match's row to sort them costs
    # `total` row reads (wide rows: the proposal document) — 1 ms instead of 10 for a common word at 100,000
    # projects. SQLite cannot weigh the two itself (it has no estimate of an FTS phrase's matches).
    scan_order = False
    if _uses_title_index(filters, dialect):
        rows_max = session.execute(sa.text("SELECT max(rowid) FROM registry_project")).scalar_one() or 0
        scan_order = int(total) ** 2 * 20 > (offset + per_page) * rows_max
    ids_q = _filtered(principal, filters, select(Project.id), dialect=dialect, scan_order=scan_order)
    ids_q = ids_q.order_by(col.desc() if desc else col.asc(), Project.id.desc() if desc else Project.id.asc())
    ids = list(session.exec(ids_q.offset(offset).limit(per_page)))
    if not ids:
        return [], int(total)
    if summary:
        q = sa.select(*(getattr(Project, c) for c in SUMMARY_COLUMNS)).where(Project.id.in_(ids))  # type: ignore[attr-defined]
        rows = {r.id: r for r in session.execute(q)}
    else:
        rows = {p.id: p for p in session.exec(select(Project).where(Project.id.in_(ids)))}  # type: ignore[attr-defined]
    return [rows[i] for i in ids if i in rows], int(total)


def project_history(session, principal: Principal, project_id: str) -> list[dict[str, Any]]:
    _load_visible(session, principal, project_id)
    rows = session.exec(select(Transition).where(Transition.project_id == project_id).order_by(Transition.at,
                                                                                                 Transition.id))
    return [{"event": r.event, "from": r.from_state, "to": r.to_state, "actor": r.actor, "reason": r.reason,
             "at": isoformat(r.at)} for r in rows]


def project_similar(session, principal: Principal, *, project_id: str | None = None,
                    data: dict[str, Any] | None = None, top: int = 5,
                    include_distinct: bool = False, exclude: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Rank the library (every non-draft project) against a stored project or a proposal document
    (``exclude``: project ids left out of the ranking, e.g. other planted copies in a benchmark)."""
    authorize(principal, "registry:project:similar")
    if (project_id is None) == (data is None):
        raise ValidationFailed("give a project id or a proposal document", errors=[{"field": "id",
                                                                                   "message": "id or document"}])
    if not 1 <= top <= 100:
        raise ValidationFailed("top must be between 1 and 100", errors=[{"field": "top", "message": "1..100"}])
    org_id = None
    if project_id is not None:
        project = _load(session, project_id)
        data, org_id = project.data, project.org_id
    elif not isinstance(data, dict):
        raise ValidationFailed("a proposal is a JSON object", errors=[{"field": "(document)", "message": "object"}])
    return _rank(session, data=data, org_id=org_id, project_id=project_id, top=top, include_distinct=include_distinct,
                 exclude=exclude)


def pair_mark(session, principal: Principal, project_a: str, project_b: str, verdict: str, *,
              reason: str = "") -> Pair:
    """Mark a pair duplicate / related / distinct ("distinct" pairs are not raised again)."""
    authorize(principal, "registry:pair:mark")
    if verdict not in VERDICTS:
        raise ValidationFailed("unknown verdict", errors=[{"field": "verdict", "message": f"one of {', '.join(VERDICTS)}"}])
    if project_a == project_b:
        raise ValidationFailed("a project is not its own duplicate", errors=[{"field": "other", "message": "same project"}])
    _load(session, project_a)
    _load(session, project_b)
    a, b = _pair_key(project_a, project_b)
    pair = session.exec(select(Pair).where(Pair.project_a == a, Pair.project_b == b)).first()
    previous = pair.verdict if pair else None
    if pair is None:
        pair = Pair(project_a=a, project_b=b, verdict=verdict, reason=reason or "", marked_by=principal.actor)
    else:
        pair.verdict, pair.reason, pair.marked_by, pair.marked_at = verdict, reason or "", principal.actor, utcnow()
    session.add(pair)
    session.flush()
    audit.record(session, principal, "registry:pair:mark", object_type="project_pair", object_id=f"{a}:{b}",
                 state={"project_a": a, "project_b": b, "verdict": verdict},
                 details={"verdict": verdict, "previous": previous, "reason": reason or ""})
    session.commit()
    return pair


def pair_list(session, principal: Principal, project_id: str | None = None) -> list[Pair]:
    authorize(principal, "registry:pair:mark")
    q = select(Pair)
    if project_id:
        q = q.where(or_(Pair.project_a == project_id, Pair.project_b == project_id))
    return list(session.exec(q.order_by(Pair.marked_at)))


# ------------------------------------------------------------------------------------------ lifecycle


def project_transition(session, principal: Principal, project_id: str, event: str, *, reason: str = "") -> Project:
    """start_construction (the commission follows the project through construction). Acceptance
    (``complete``) needs actual values and evidence and evaluation needs the comparison with the targets:
    :func:`registry.evaluation.project_accept` and :func:`registry.evaluation.project_evaluate`."""
    if event not in ("start_construction", "complete", "evaluate"):
        raise ValidationFailed(f"use the dedicated operation for {event!r}",
                               errors=[{"field": "event", "message": "start_construction"}])
    project, acc = _load_visible(session, principal, project_id)
    authorize(principal, "registry:project:transition", acc)
    if event in ("complete", "evaluate"):
        if event not in lifecycle.allowed_events(project.state):
            lifecycle.fire(project, event)  # raises the explanatory Conflict
        raise ValidationFailed(f"{event!r} needs its own operation (acceptance with actual values and evidence, "
                               "or the evaluation against the targets)",
                               errors=[{"field": "event", "message": "use accept / evaluate"}])
    if not (reason or "").strip():
        raise ValidationFailed("a transition needs a reason", errors=[{"field": "reason", "message": "required"}])
    _transition(session, principal, project, event, reason)
    project.started_at = utcnow()
    session.commit()
    return project


@cache
def review_criteria() -> dict[str, Any]:
    return json.loads(resources.files("registry").joinpath("data/review_criteria.json").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class ExpertRef:
    """An expert as the portal knows it (the registry keeps ids as strings)."""

    id: str
    name: str
    org_id: str | None
    roles: frozenset[str]


def _panel(session, project_id: str, *, state: str | None = None) -> Panel | None:
    q = select(Panel).where(Panel.project_id == project_id)
    if state:
        q = q.where(Panel.state == state)
    return session.exec(q.order_by(Panel.round.desc())).first()  # type: ignore[attr-defined]


def panel_form(session, principal: Principal, project_id: str, experts: list[ExpertRef], *,
               reason: str = "") -> dict[str, Any]:
    """Form the expert panel (>= 3 experts). Experts of the submitting organisation are excluded (conflict of
    interest); if fewer than three remain, nothing is formed. prechecked → under_expert_review."""
    project, acc = _load_visible(session, principal, project_id)
    authorize(principal, "registry:panel:form", acc)
    errors, members, excluded = [], [], []
    seen = set()
    for e in experts:
        if e.id in seen:
            continue
        seen.add(e.id)
        if Role.EXPERT not in e.roles:
            errors.append({"field": "experts", "message": f"{e.name} does not hold the expert role"})
        elif e.org_id and e.org_id == project.org_id:
            excluded.append({"id": e.id, "name": e.name, "reason": "conflict of interest: same organisation as the submitter"})
        else:
            members.append(e)
    if errors:
        raise ValidationFailed("the panel is invalid", errors=errors)
    if len(members) < MIN_PANEL:
        raise ValidationFailed(f"a panel needs at least {MIN_PANEL} experts without a conflict of interest "
                               f"({len(members)} given)", errors=[{"field": "experts", "message": f">= {MIN_PANEL}"}],
                               excluded=excluded)
    previous = _panel(session, project.id)
    panel = Panel(project_id=project.id, round=(previous.round + 1) if previous else 1,
                  criteria=review_criteria()["criteria"], created_by=principal.actor)
    session.add(panel)
    session.flush()
    for e in members:
        session.add(PanelMember(panel_id=panel.id, project_id=project.id, expert_id=e.id, expert_name=e.name,
                                expert_org_id=e.org_id or ""))
    session.flush()
    _transition(session, principal, project, "start_review", reason or "expert panel formed",
                details={"panel_id": panel.id, "round": panel.round, "experts": [e.id for e in members],
                         "excluded": [x["id"] for x in excluded]})
    audit.record(session, principal, "registry:panel:form", object_type="panel", object_id=panel.id,
                 state={"project_id": project.id, "round": panel.round, "experts": sorted(e.id for e in members)},
                 details={"excluded": excluded})
    session.commit()
    return {"panel": panel_json(session, panel), "excluded": excluded}


def panel_json(session, panel: Panel) -> dict[str, Any]:
    members = session.exec(select(PanelMember).where(PanelMember.panel_id == panel.id)).all()
    reviewed = set(session.exec(select(Review.expert_id).where(Review.panel_id == panel.id)))
    return {"id": panel.id, "project_id": panel.project_id, "round": panel.round, "state": panel.state,
            "criteria": panel.criteria, "created_at": isoformat(panel.created_at),
            "closed_at": isoformat(panel.closed_at) if panel.closed_at else None,
            "members": [{"expert_id": m.expert_id, "name": m.expert_name, "reviewed": m.expert_id in reviewed}
                        for m in members],
            "summary": panel.summary}


def review_submit(session, principal: Principal, project_id: str, scores: dict[str, Any], *,
                  comment: str = "") -> Review:
    """One review per expert per panel: a score for every weighted criterion (scale in the criteria data)."""
    project, acc = _load_visible(session, principal, project_id)
    authorize(principal, "registry:review:submit", acc)
    panel = _panel(session, project.id)
    if panel is None or panel.state != "open" or project.state != "under_expert_review":
        raise Conflict("the project has no open review panel")
    member = session.exec(select(PanelMember).where(PanelMember.panel_id == panel.id,
                                                    PanelMember.expert_id == principal.id)).first()
    if member is None:
        raise NotAuthorized("you are not on the current panel of this project")
    if session.exec(select(Review).where(Review.panel_id == panel.id, Review.expert_id == principal.id)).first():
        raise Conflict("you have already reviewed this project in this round (one review per expert)")
    scale = review_criteria()["scale"]
    codes = [c["code"] for c in panel.criteria]
    errors = []
    if not isinstance(scores, dict):
        scores = {}
        errors.append({"field": "scores", "message": "an object of criterion → score"})
    for code in codes:
        value = scores.get(code)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not scale["min"] <= value <= scale["max"]:
            errors.append({"field": f"scores.{code}", "message": f"a number from {scale['min']} to {scale['max']}"})
    for code in scores:
        if code not in codes:
            errors.append({"field": f"scores.{code}", "message": "unknown criterion"})
    if errors:
        raise ValidationFailed("the review is invalid", errors=errors)
    total = round(sum(c["weight"] * float(scores[c["code"]]) for c in panel.criteria)
                  / sum(c["weight"] for c in panel.criteria), 4)
    review = Review(panel_id=panel.id, project_id=project.id, expert_id=principal.id or "",
                    scores={c: float(scores[c]) for c in codes}, total=total, comment=comment or "")
    session.add(review)
    session.flush()
    # the score stays out of the public details until the panel closes (blind review)
    audit.record(session, principal, "registry:review:submit", object_type="review", object_id=review.id,
                 state={"panel_id": panel.id, "expert_id": review.expert_id, "scores": review.scores,
                        "total": total, "comment": review.comment},
                 details={"project_id": project.id, "panel_id": panel.id})
    session.commit()
    return review


def _review_json(r: Review) -> dict[str, Any]:
    return {"id": r.id, "expert_id": r.expert_id, "scores": r.scores, "total": r.total, "comment": r.comment,
            "created_at": isoformat(r.created_at)}


def reviews_get(session, principal: Principal, project_id: str) -> dict[str, Any]:
    """Blind until the panel closes: an expert sees only its own review, the commission only who has
    reviewed; afterwards everyone on the panel and the commission see every review, the aggregate and the
    spread."""
    project, acc = _load_visible(session, principal, project_id)
    authorize(principal, "registry:review:list", acc)
    panel = _panel(session, project.id)
    if panel is None:
        return {"panel": None, "reviews": [], "blind": False}
    reviews = session.exec(select(Review).where(Review.panel_id == panel.id).order_by(Review.created_at)).all()
    if panel.state == "closed":
        shown = reviews
    else:
        shown = [r for r in reviews if r.expert_id == principal.id]
    return {"panel": panel_json(session, panel), "reviews": [_review_json(r) for r in shown],
            "blind": panel.state != "closed"}


def _aggregate(panel: Panel, reviews: list[Review]) -> dict[str, Any]:
    totals = [r.total for r in reviews]
    per = {}
    for c in panel.criteria:
        values = [float(r.scores[c["code"]]) for r in reviews]
        per[c["code"]] = {"mean": round(statistics.fmean(values), 3),
                          "stdev": round(statistics.pstdev(values), 3), "min": min(values), "max": max(values),
                          "weight": c["weight"]}
    return {"reviews": len(reviews), "aggregate": round(statistics.fmean(totals), 3),
            "stdev": round(statistics.pstdev(totals), 3), "min": min(totals), "max": max(totals),
            "spread": round(max(totals) - min(totals), 3), "criteria": per}


def panel_close(session, principal: Principal, project_id: str) -> dict[str, Any]:
    """Close the panel once every member has reviewed: the reviews become visible, with aggregate and
    spread."""
    project, acc = _load_visible(session, principal, project_id)
    authorize(principal, "registry:panel:close", acc)
    panel = _panel(session, project.id)
    if panel is None or panel.state != "open":
        raise Conflict("the project has no open review panel")
    members = session.exec(select(PanelMember.expert_id).where(PanelMember.panel_id == panel.id)).all()
    reviews = session.exec(select(Review).where(Review.panel_id == panel.id)).all()
    missing = sorted(set(members) - {r.expert_id for r in reviews})
    if missing:
        raise Conflict(f"{len(missing)} panel member(s) have not reviewed yet", missing=missing)
    panel.summary = _aggregate(panel, list(reviews))
    panel.state = "closed"
    panel.closed_at = utcnow()
    session.add(panel)
    session.flush()
    audit.record(session, principal, "registry:panel:close", object_type="panel", object_id=panel.id,
                 state={"project_id": project.id, "state": "closed", "summary": panel.summary},
                 details={"aggregate": panel.summary["aggregate"], "spread": panel.summary["spread"],
                          "reviews": panel.summary["reviews"]})
    session.commit()
    return panel_json(session, panel)


def project_decide(session, principal: Principal, project_id: str, decision: str, *, reason: str) -> Project:
    """approved / returned_for_revision / rejected, with a written reason. After expert review the panel must
    be closed; a pre-checked proposal may be returned for revision before any panel."""
    if decision not in lifecycle.DECISIONS:
        raise ValidationFailed("unknown decision", errors=[{"field": "decision",
                                                            "message": f"one of {', '.join(lifecycle.DECISIONS)}"}])
    project, acc = _load_visible(session, principal, project_id)
    authorize(principal, "registry:project:decide", acc)
    if len((reason or "").strip()) < 5:
        raise ValidationFailed("a decision needs a written reason", errors=[{"field": "reason",
                                                                            "message": "at least 5 characters"}])
    details: dict[str, Any] = {"decision": decision}
    if project.state == "under_expert_review":
        panel = _panel(session, project.id)
        if panel is None or panel.state != "closed":
            raise Conflict("close the expert panel before deciding")
        details["panel"] = {"id": panel.id, "aggregate": (panel.summary or {}).get("aggregate"),
                            "spread": (panel.summary or {}).get("spread")}
    project.decision = decision
    project.decision_reason = reason.strip()
    project.decided_at = utcnow()
    _transition(session, principal, project, lifecycle.DECISIONS[decision], reason.strip(), details=details)
    session.commit()
    return project


# --------------------------------------------------------------------------------------------- rules


def rule_create(session, principal: Principal, definition: dict[str, Any]) -> Rule:
    """A pre-check rule added by the commission (same shape as the packaged ones; the code of a packaged rule
    overrides it)."""
    authorize(principal, "registry:rule:create")
    precheck.check_rule(definition)
    if session.exec(select(Rule).where(Rule.code == definition["code"])).first():
        raise Conflict(f"a rule {definition['code']!r} exists")
    body = {k: v for k, v in definition.items() if k not in ("code", "severity", "enabled")}
    rule = Rule(code=definition["code"], severity=definition["severity"], definition=body,
                enabled=definition.get("enabled", True), created_by=principal.actor)
    session.add(rule)
    session.flush()
    audit.record(session, principal, "registry:rule:create", object_type="precheck_rule", object_id=rule.id,
                 state={"code": rule.code, "severity": rule.severity, "definition": body, "enabled": rule.enabled})
    session.commit()
    return rule


def rule_set_enabled(session, principal: Principal, code: str, enabled: bool) -> Rule:
    authorize(principal, "registry:rule:update")
    rule = session.exec(select(Rule).where(Rule.code == code)).first()
    if rule is None:
        raise NotFound(f"no database rule {code!r}")
    rule.enabled = bool(enabled)
    session.add(rule)
    session.flush()
    audit.record(session, principal, "registry:rule:update", object_type="precheck_rule", object_id=rule.id,
                 state={"code": rule.code, "enabled": rule.enabled})
    session.commit()
    return rule


def rule_list(session, principal: Principal) -> list[dict[str, Any]]:
    authorize(principal, "registry:rule:list")
    db_codes = {r.code: r for r in session.exec(select(Rule))}
    out = []
    for rule in precheck.active_rules(session):
        out.append({**rule, "source": "database" if rule["code"] in db_codes else "package",
                    "enabled": rule.get("enabled", True)})
    return out


# --------------------------------------------------------------------------------------------- import


def project_import(session, principal: Principal, rows: list[tuple[int, Any]], *,
                   resolve_org: Callable[[str], str | None], submit: bool = False,
                   source: dict[str, Any] | None = None, keep_objects: bool = True) -> list[Project]:
    """Import a project library with each project's real state (see :mod:`registry.library_import`)."""
    from registry import library_import

    return library_import.project_import(session, principal, rows, resolve_org=resolve_org, submit=submit,
                                         source=source, keep_objects=keep_objects)


# ---------------------------------------------------------------------------------------- portfolio


GROUPS = ("area", "organisation", "district", "start_year", "state", "construction_mode", "deployment")


def portfolio(session, principal: Principal, *, filters: dict[str, Any] | None = None) -> dict[str, Any]:
    """Totals (count and budget) by area, organisation, district, year, state, construction mode, deployment
    and budget band, over the projects the principal may see — aggregated by the database (no row is
    loaded into memory, whatever the size of the library)."""
    from sqlalchemy import case

    authorize(principal, "registry:project:list")
    base = _filtered(principal, filters).subquery()
    total, budget = session.execute(select(func.count(), func.coalesce(func.sum(base.c.budget), 0.0))).one()
    out: dict[str, Any] = {"projects": int(total), "budget": round(float(budget or 0), 2), "by": {}}
    for g in GROUPS:
        col = base.c[g]
        rows = session.execute(select(col, func.count(), func.coalesce(func.sum(base.c.budget), 0.0)).group_by(col))
        acc = {("" if k is None else str(k)): {"count": int(n), "budget": round(float(b or 0), 2)} for k, n, b in rows}
        out["by"][g] = dict(sorted(acc.items()))
    b = func.coalesce(base.c.budget, 0.0)
    band = case((b < 1e6, "< 1M"), (b < 1e7, "1M-10M"), (b < 1e8, "10M-100M"), else_=">= 100M")
    out["by"]["budget_band"] = {k: int(n) for k, n in session.execute(select(band, func.count()).group_by(band))}
    return out


def clusters(session, principal: Principal, *, min_score: float = LIKELY_DUPLICATE) -> list[dict[str, Any]]:
    """Groups of related projects: pairs marked duplicate/related plus submit-time matches scoring at least
    ``min_score`` (pairs marked distinct are left out), joined transitively."""
    authorize(principal, "registry:portfolio:view")
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        parent[find(a)] = find(b)

    distinct = set()
    for pair in session.exec(select(Pair)):
        if pair.verdict == "distinct":
            distinct.add((pair.project_a, pair.project_b))
        else:
            union(pair.project_a, pair.project_b)
    projects = {p.id: p for p in session.exec(select(Project).where(Project.state.in_(lifecycle.IN_LIBRARY)))}  # type: ignore[attr-defined]
    for p in projects.values():
        for m in p.matches or []:
            if m.get("score", 0) >= min_score and _pair_key(p.id, m["id"]) not in distinct and m["id"] in projects:
                union(p.id, m["id"])
    groups: dict[str, list[str]] = defaultdict(list)
    for x in list(parent):
        groups[find(x)].append(x)
    out = []
    for members in groups.values():
        if len(members) < 2:
            continue
        rows = [projects[m] for m in members if m in projects]
        if len(rows) < 2:
            continue
        out.append({"size": len(rows), "budget": round(sum(r.budget or 0 for r in rows), 2),
                    "projects": [{"id": r.id, "title": r.title, "organisation": r.organisation, "state": r.state}
                                 for r in sorted(rows, key=lambda r: r.id)]})
    return sorted(out, key=lambda c: (-c["size"], -c["budget"]))


def projects_for_export(session, principal: Principal, *, filters: dict[str, Any] | None = None,
                        chunk: int = 500) -> Iterable[Project]:
    """The projects to export, streamed from the database ``chunk`` rows at a time (never all in memory)."""
    authorize(principal, "registry:project:export")
    q = _filtered(principal, filters).order_by(Project.created_at, Project.id)

    def rows():
        last = None
        while True:  # keyset pagination: constant memory on every back-end and driver
            page = q if last is None else q.where(or_(Project.created_at > last[0],
                                                       (Project.created_at == last[0]) & (Project.id > last[1])))
            items = list(session.exec(page.limit(chunk)))
            yield from items
            if len(items) < chunk:
                return
            last = (items[-1].created_at, items[-1].id)
            for p in items:
                session.expunge(p)

    return rows()


def iter_ids(items: Iterable[Project]) -> list[str]:
    return [p.id for p in items]
