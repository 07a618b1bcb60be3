"""Plan → build → check → evaluate: targets, milestones and spending, acceptance with evidence, evaluation.

* :func:`targets_declare` — an approved project declares measurable targets (indicator, unit, baseline,
  target value, due date, direction "up"/"down"); re-declaring an indicator replaces it until acceptance.
* :func:`milestone_record` — construction milestones with the money spent, against the budget.
* :func:`project_accept` — acceptance (in_construction → completed): an actual value for every declared
  target and at least one evidence file (kept in the database with its SHA-256).
* :func:`project_evaluate` — completed → evaluated: actual against target per indicator (achievement =
  progress from baseline to target, capped at 120 %), spending against budget, timeliness, a rating
  (excellent / good / fair / poor) and the reasons for it.

Every step is audited (``registry:target:declare``, ``registry:milestone:record``, ``registry:project:complete``,
``registry:project:evaluate``) in the same transaction; nothing is written when any field is wrong.
"""

from __future__ import annotations

import math
from typing import Any

from sqlmodel import func, select

import audit
from kernel.clock import isoformat, utcnow
from kernel.errors import Conflict, ValidationFailed
from kernel.ids import sha256_hex
from kernel.permissions import authorize
from kernel.principal import Principal
from registry.library_import import parse_date
from registry.models import Evaluation, Evidence, Milestone, Project, Target

MAX_EVIDENCE_BYTES = 20 * 1024 * 1024
MAX_TARGETS = 50
RATINGS = (("excellent", 90.0), ("good", 75.0), ("fair", 60.0), ("poor", 0.0))
DECLARABLE = ("approved", "in_construction")


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    if isinstance(value, str) and value.strip():
        try:
            f = float(value.replace(",", ""))
        except ValueError:
            return None
        return f if math.isfinite(f) else None
    return None


def _load(session, principal, project_id: str, action: str) -> Project:
    from registry import services

    project, acc = services._load_visible(session, principal, project_id)
    authorize(principal, action, acc)
    return project


def target_json(t: Target) -> dict[str, Any]:
    return {"indicator": t.indicator, "unit": t.unit, "baseline": t.baseline, "target": t.target,
            "direction": t.direction, "due": t.due.isoformat(), "actual": t.actual}


def targets_of(session, project_id: str) -> list[Target]:
    return list(session.exec(select(Target).where(Target.project_id == project_id).order_by(Target.indicator)))


def targets_declare(session, principal: Principal, project_id: str, targets: list[dict[str, Any]]) -> list[Target]:
    project = _load(session, principal, project_id, "registry:target:declare")
    if project.state not in DECLARABLE:
        raise Conflict(f"targets are declared once a project is approved and before acceptance (it is {project.state})")
    errors: list[dict[str, Any]] = []
    if not isinstance(targets, list) or not targets:
        raise ValidationFailed("declare at least one target", errors=[{"field": "targets", "message": "a non-empty list"}])
    if len(targets) > MAX_TARGETS:
        raise ValidationFailed(f"at most {MAX_TARGETS} targets", errors=[{"field": "targets", "message": f"<= {MAX_TARGETS}"}])
    clean = []
    seen = set()
    for i, t in enumerate(targets):
        f = f"targets[{i}]"
        if not isinstance(t, dict):
            errors.append({"field": f, "message": "an object"})
            continue
        indicator = str(t.get("indicator") or "").strip()
        unit = str(t.get("unit") or "").strip()
        if not indicator or len(indicator) > 200:
            errors.append({"field": f"{f}.indicator", "message": "required, at most 200 characters"})
        elif indicator in seen:
            errors.append({"field": f"{f}.indicator", "message": f"{indicator!r} is declared twice"})
        seen.add(indicator)
        if not unit or len(unit) > 40:
            errors.append({"field": f"{f}.unit", "message": "required (e.g. %, 人次, 天), at most 40 characters"})
        target = _number(t.get("target"))
        if target is None:
            errors.append({"field": f"{f}.target", "message": "a number"})
        baseline = None
        if t.get("baseline") not in (None, ""):
            baseline = _number(t.get("baseline"))
            if baseline is None:
                errors.append({"field": f"{f}.baseline", "message": "a number"})
        direction = t.get("direction") or ("down" if baseline is not None and target is not None and target < baseline else "up")
        if direction not in ("up", "down"):
            errors.append({"field": f"{f}.direction", "message": "up (higher is better) or down (lower is better)"})
        elif baseline is not None and target is not None and ((direction == "up" and target <= baseline)
                                                               or (direction == "down" and target >= baseline)):
            errors.append({"field": f"{f}.target", "message": f"does not improve on the baseline {baseline:g} ({direction})"})
        try:
            due = parse_date(t.get("due"))
        except (ValueError, TypeError):
            errors.append({"field": f"{f}.due", "message": "a date (YYYY-MM-DD)"})
            due = None
        if due is not None and project.decided_at is not None and due < project.decided_at.date():
            errors.append({"field": f"{f}.due", "message": "before the approval"})
        clean.append((indicator, unit, baseline, target, direction, due))
    if errors:
        raise ValidationFailed("the targets are invalid", errors=errors)
    existing = {t.indicator: t for t in targets_of(session, project.id)}
    out = []
    for indicator, unit, baseline, target, direction, due in clean:
        row = existing.get(indicator) or Target(project_id=project.id, indicator=indicator, unit=unit, target=target,
                                                due=due, created_by=principal.actor)
        row.unit, row.baseline, row.target, row.direction, row.due = unit, baseline, target, direction, due
        session.add(row)
        out.append(row)
    session.flush()
    audit.record(session, principal, "registry:target:declare", object_type="project", object_id=project.id,
                 state={"targets": [target_json(t) for t in out]}, details={"indicators": [t.indicator for t in out]})
    session.commit()
    return targets_of(session, project.id)


def spent_of(session, project_id: str) -> float:
    return float(session.exec(select(func.coalesce(func.sum(Milestone.spent), 0.0))
                              .where(Milestone.project_id == project_id)).one() or 0.0)


def milestone_record(session, principal: Principal, project_id: str, *, name: str, reached_on: Any,
                     spent: Any = 0, note: str = "") -> dict[str, Any]:
    project = _load(session, principal, project_id, "registry:milestone:record")
    if project.state != "in_construction":
        raise Conflict(f"milestones are recorded during construction (the project is {project.state})")
    errors = []
    name = str(name or "").strip()
    if not name or len(name) > 200:
        errors.append({"field": "name", "message": "required, at most 200 characters"})
    amount = _number(spent if spent not in (None, "") else 0)
    if amount is None or amount < 0:
        errors.append({"field": "spent", "message": "a number >= 0"})
    try:
        day = parse_date(reached_on)
    except (ValueError, TypeError):
        errors.append({"field": "reached_on", "message": "a date (YYYY-MM-DD)"})
        day = None
    if day is not None:
        if day > utcnow().date():
            errors.append({"field": "reached_on", "message": "in the future"})
        if project.started_at is not None and day < project.started_at.date():
            errors.append({"field": "reached_on", "message": f"before construction started ({project.started_at.date()})"})
    if errors:
        raise ValidationFailed("the milestone is invalid", errors=errors)
    m = Milestone(project_id=project.id, name=name, reached_on=day, spent=amount, note=str(note or ""),
                  recorded_by=principal.actor)
    session.add(m)
    session.flush()
    total = spent_of(session, project.id)
    audit.record(session, principal, "registry:milestone:record", object_type="project", object_id=project.id,
                 state={"milestone": m.id, "name": name, "reached_on": day.isoformat(), "spent": amount, "total_spent": total},
                 details={"name": name, "spent": amount, "total_spent": total, "budget": project.budget})
    session.commit()
    return milestone_json(m) | {"total_spent": total, "budget": project.budget,
                                "over_budget": project.budget is not None and total > project.budget}


def milestone_json(m: Milestone) -> dict[str, Any]:
    return {"id": m.id, "name": m.name, "reached_on": m.reached_on.isoformat(), "spent": m.spent, "note": m.note,
            "recorded_by": m.recorded_by, "recorded_at": isoformat(m.recorded_at)}


def project_accept(session, principal: Principal, project_id: str, *, actuals: dict[str, Any],
                   evidence: list[tuple[str, bytes, str]], completed_on: Any = None, reason: str = "") -> Project:
    """in_construction → completed with the actual value of every declared target and evidence files."""
    from registry import services

    project = _load(session, principal, project_id, "registry:project:accept")
    if project.state != "in_construction":
        raise Conflict(f"acceptance needs a project in construction (it is {project.state})",
                       state=project.state)
    errors = []
    targets = targets_of(session, project.id)
    if not targets:
        errors.append({"field": "targets", "message": "declare the project's targets before acceptance"})
    if not isinstance(actuals, dict):
        actuals = {}
        errors.append({"field": "actuals", "message": "an object of indicator → actual value"})
    known = {t.indicator for t in targets}
    for t in targets:
        if _number(actuals.get(t.indicator)) is None:
            errors.append({"field": f"actuals.{t.indicator}", "message": f"the actual value in {t.unit} is required"})
    for k in actuals:
        if k not in known:
            errors.append({"field": f"actuals.{k}", "message": "not a declared target"})
    if not evidence:
        errors.append({"field": "evidence", "message": "at least one evidence file (acceptance report, test report …)"})
    for i, (filename, content, _mt) in enumerate(evidence or []):
        if not str(filename or "").strip() or len(filename) > 255:
            errors.append({"field": f"evidence[{i}].filename", "message": "required, at most 255 characters"})
        if not content:
            errors.append({"field": f"evidence[{i}]", "message": "the file is empty"})
        elif len(content) > MAX_EVIDENCE_BYTES:
            errors.append({"field": f"evidence[{i}]", "message": f"larger than {MAX_EVIDENCE_BYTES // 2**20} MiB"})
    day = utcnow().date()
    if completed_on not in (None, ""):
        try:
            day = parse_date(completed_on)
        except (ValueError, TypeError):
            errors.append({"field": "completed_on", "message": "a date (YYYY-MM-DD)"})
        else:
            if day > utcnow().date():
                errors.append({"field": "completed_on", "message": "in the future"})
            if project.started_at is not None and day < project.started_at.date():
                errors.append({"field": "completed_on", "message": "before construction started"})
    if errors:
        raise ValidationFailed("the acceptance is incomplete", errors=errors)
    for t in targets:
        t.actual = _number(actuals[t.indicator])
        session.add(t)
    files = []
    for filename, content, media_type in evidence:
        ev = Evidence(project_id=project.id, filename=str(filename).strip(), media_type=(media_type or "application/octet-stream")[:100],
                      sha256=sha256_hex(content), size=len(content), content=content, uploaded_by=principal.actor)
        session.add(ev)
        files.append({"filename": ev.filename, "sha256": ev.sha256, "size": ev.size})
    from registry.library_import import _at

    project.completed_at = _at(day)
    services._transition(session, principal, project, "complete", reason or "acceptance",
                         details={"actuals": {t.indicator: t.actual for t in targets}, "evidence": files,
                                  "completed_on": day.isoformat()})
    session.commit()
    return project


def _achievement(t: Target) -> float:
    """Progress from baseline to target (1.0 = target reached), capped at 1.2."""
    actual = float(t.actual or 0.0)
    if t.baseline is not None and t.target != t.baseline:
        ratio = (actual - t.baseline) / (t.target - t.baseline)
    elif t.direction == "down":
        ratio = (t.target / actual) if actual > 0 else 1.2
    else:
        ratio = (actual / t.target) if t.target else 1.0
    return max(0.0, min(1.2, ratio))


def assess(project: Project, targets: list[Target], spent: float) -> dict[str, Any]:
    """The evaluation's figures, rating and reasons (pure: no database)."""
    results, reasons = [], []
    for t in targets:
        a = _achievement(t)
        met = a >= 1.0
        results.append({**target_json(t), "achievement": round(a, 3), "met": met})
        verb = "met" if met else "missed"
        reasons.append({"code": f"target_{verb}", "indicator": t.indicator,
                        "text": f"{t.indicator}: {t.actual:g} {t.unit} against a target of {t.target:g} {t.unit}"
                                + (f" (baseline {t.baseline:g})" if t.baseline is not None else "")
                                + f" — {round(a * 100)} % achieved"})
    score = 100.0 * sum(min(r["achievement"], 1.0) for r in results) / len(results) if results else 0.0
    if project.budget:
        ratio = spent / project.budget
        if ratio > 1.10:
            penalty = min(20.0, (ratio - 1.0) * 100)
            score -= penalty
            reasons.append({"code": "over_budget", "text": f"spent {spent:,.0f} of a budget of {project.budget:,.0f} "
                                                             f"({ratio:.0%}): -{penalty:.0f} points"})
        else:
            reasons.append({"code": "within_budget", "text": f"spent {spent:,.0f} of a budget of {project.budget:,.0f} ({ratio:.0%})"})
    dues = [t.due for t in targets]
    if project.completed_at is not None and dues and project.completed_at.date() > max(dues):
        late = (project.completed_at.date() - max(dues)).days
        score -= min(10.0, late / 30)
        reasons.append({"code": "late", "text": f"accepted {late} day(s) after the last target date"})
    score = round(max(0.0, min(100.0, score)), 1)
    rating = next(name for name, floor in RATINGS if score >= floor)
    return {"score": score, "rating": rating, "results": results, "reasons": reasons,
            "targets_met": sum(r["met"] for r in results), "targets": len(results), "spent": spent,
            "budget": project.budget}


def project_evaluate(session, principal: Principal, project_id: str, *, comment: str = "") -> Evaluation:
    """completed → evaluated: compares actual against target per indicator and rates the project."""
    from registry import services

    project = _load(session, principal, project_id, "registry:project:evaluate")
    if project.state != "completed":
        raise Conflict(f"only a completed (accepted) project is evaluated; this one is {project.state.replace('_', ' ')}",
                       state=project.state)
    targets = targets_of(session, project.id)
    if not targets or any(t.actual is None for t in targets):
        raise ValidationFailed("the acceptance recorded no actual values", errors=[{"field": "targets",
                                                                                   "message": "actual values missing"}])
    result = assess(project, targets, spent_of(session, project.id))
    ev = Evaluation(project_id=project.id, rating=result["rating"], score=result["score"], results=result["results"],
                    reasons=result["reasons"], comment=str(comment or ""), evaluated_by=principal.actor)
    session.add(ev)
    project.evaluated_at = utcnow()
    services._transition(session, principal, project, "evaluate", f"rated {ev.rating} ({ev.score})",
                         details={"rating": ev.rating, "score": ev.score, "targets_met": result["targets_met"],
                                  "targets": result["targets"], "reasons": [r["code"] for r in result["reasons"]]})
    session.commit()
    return ev


def evaluation_json(ev: Evaluation | None) -> dict[str, Any] | None:
    if ev is None:
        return None
    return {"rating": ev.rating, "score": ev.score, "results": ev.results, "reasons": ev.reasons, "comment": ev.comment,
            "evaluated_by": ev.evaluated_by, "evaluated_at": isoformat(ev.evaluated_at)}


def project_outcomes(session, principal: Principal, project_id: str) -> dict[str, Any]:
    """Targets, milestones and spending, evidence files and the evaluation of one project."""
    from registry import services

    project, _acc = services._load_visible(session, principal, project_id)
    milestones = session.exec(select(Milestone).where(Milestone.project_id == project.id)
                              .order_by(Milestone.reached_on, Milestone.recorded_at)).all()
    evidence = session.exec(select(Evidence.id, Evidence.filename, Evidence.sha256, Evidence.size, Evidence.media_type)
                            .where(Evidence.project_id == project.id)).all()
    ev = session.exec(select(Evaluation).where(Evaluation.project_id == project.id)).first()
    return {"project_id": project.id, "state": project.state, "budget": project.budget,
            "targets": [target_json(t) for t in targets_of(session, project.id)],
            "milestones": [milestone_json(m) for m in milestones], "spent": spent_of(session, project.id),
            "evidence": [{"id": e[0], "filename": e[1], "sha256": e[2], "size": e[3], "media_type": e[4]} for e in evidence],
            "evaluation": evaluation_json(ev)}


def evidence_get(session, principal: Principal, project_id: str, evidence_id: str) -> Evidence:
    from kernel.errors import NotFound
    from registry import services

    project, _acc = services._load_visible(session, principal, project_id)
    ev = session.get(Evidence, evidence_id)
    if ev is None or ev.project_id != project.id:
        raise NotFound(f"no evidence {evidence_id!r}")
    return ev

