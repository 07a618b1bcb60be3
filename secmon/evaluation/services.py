"""Evaluation use cases: build, store (immutable, audited), read, compare, render PDF; retention; stale sensors.

Every service takes ``(session, principal, ...)`` and authorizes first. A report's ``digest`` is the SHA-256 of
its canonical JSON (RFC 8785): the same data for the same period and scope gives the same digest, so a re-run
stores nothing new and a printed report can be checked against the audit log.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

import audit
from audit.canonical import canonical_bytes
from kernel import NotFound, Principal, ValidationFailed, authorize, new_id, utcnow
from kernel.db import Session
from secmon.evaluation import controls as controls_mod
from secmon.evaluation import response_indicators as resp
from secmon.evaluation.indicators import Indicator, monitoring_indicators, period_has_events, ts_param
from secmon.evaluation.models import SecmonEvaluationReport
from secmon.evaluation.periods import Period, parse_period
from secmon.evaluation.scope import CITY, Scope
from secmon.evaluation.scoring import load_weights, normalise, score

FORMAT = "citygov-secmon-evaluation/1"
LEGAL_MINIMUM_RETENTION_DAYS = 180  # Cybersecurity Law art. 21: network logs kept at least six months


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def resolve_scope(session: Session, department: str | None = None, system: str | None = None) -> Scope:
    if department and system:
        raise ValidationFailed("give a department or an information system, not both",
                               errors=[{"field": "department", "message": "either department or system"}])
    if department:
        return resp.resolve_department(session, department.strip())
    if system:
        return resp.resolve_system(session, system.strip())
    return CITY


def _evidence(session: Session, scope: Scope, period: Period, as_of: datetime, facts, sensors: list[str], *,
              retention_days: int | None, verifiers: list | None) -> dict[str, Any]:
    ev: dict[str, Any] = {}
    prev = _latest_report(session, period.previous().label, scope.label)
    ev["previous_evaluation"] = {"value": prev is not None,
                                 "detail": {"period": period.previous().label,
                                            "report_id": prev.id if prev else None,
                                            "digest": prev.digest if prev else None}}
    oldest = session.execute(text("SELECT min(day) FROM secmon_event")).scalar_one()
    if retention_days is None:
        ev["log_retention_days"] = {"value": None, "reason": "no EVE retention setting configured"}
    else:
        ev["log_retention_days"] = {"value": int(retention_days),
                                    "detail": {"legal_minimum_days": LEGAL_MINIMUM_RETENTION_DAYS,
                                               "oldest_event_day": str(oldest) if oldest else None}}
    if verifiers is None:
        ev["audit_log_verified"] = {"value": None, "reason": "audit log not verified (no verification keys given)"}
    else:
        from audit.verify import verify_log

        rep = verify_log(session, verifiers)
        ev["audit_log_verified"] = {"value": bool(rep.ok),
                                    "detail": {"problems": [p["message"] for p in rep.problems[:5]],
                                               "first_bad_index": rep.first_bad_index}}
    ev["sensors_reporting"] = {"value": len(sensors), "detail": {"sensors": _names(session, sensors)}}
    if facts.total:
        params = {"s": ts_param(session, period.start), "e": ts_param(session, min(period.end, as_of))}
        incomplete = session.execute(text(
            "SELECT count(*) FROM secmon_alert WHERE ts >= :s AND ts < :e AND (src_ip IS NULL OR dest_ip IS NULL "
            "OR signature IS NULL OR category IS NULL)"), params).scalar_one()
        ev["alerts_recorded_with_fields"] = {"value": incomplete == 0,
                                             "detail": {"alerts": facts.total, "missing_fields": incomplete,
                                                        "fields": ["ts", "src_ip", "dest_ip", "signature",
                                                                   "category"]}}
    else:
        ev["alerts_recorded_with_fields"] = {"value": None, "reason": "no alert in the period"}
    return ev


def _names(session: Session, sensor_ids: list[str]) -> list[str]:
    names = {i: n for i, n in session.execute(text("SELECT id, name FROM secmon_sensor"))}
    return sorted(names.get(s, s) for s in sensor_ids)


def _latest_report(session: Session, period: str, scope: str) -> SecmonEvaluationReport | None:
    return session.execute(select(SecmonEvaluationReport).where(
        SecmonEvaluationReport.period == period, SecmonEvaluationReport.scope == scope)
        .order_by(SecmonEvaluationReport.created_at.desc(), SecmonEvaluationReport.id.desc())
        .limit(1)).scalars().first()


def _trend(session: Session, scope: Scope, period: Period, n: int = 4) -> list[dict]:
    out = []
    p = period
    for _ in range(n):
        p = p.previous()
        r = _latest_report(session, p.label, scope.label)
        out.append({"period": p.label, "score": r.score if r else None, "band": r.band if r else None,
                    "report_id": r.id if r else None})
    return list(reversed(out))


def _top_risks(indicators: list[Indicator], scored: dict, assessed: dict, weights: dict, limit: int = 8) -> list[dict]:
    risks = []
    for row in scored["rows"]:
        if row["assessed"] and row["normalised"] < 60:
            spec = weights["indicators"][row["indicator"]]
            risks.append({"kind": "indicator", "ref": row["indicator"], "value": row["value"],
                          "normalised": row["normalised"], "weight": row["weight"],
                          "impact": round(row["weight"] * (100 - row["normalised"]) / 100, 3),
                          "action": spec.get("recommendation")})
    for c in assessed["controls"]:
        if c["status"] == "not_met":
            recs = [weights["indicators"].get(ch["indicator"], {}).get("recommendation")
                    for ch in c["checks"] if ch.get("indicator") and ch["passed"] is False]
            risks.append({"kind": "control", "ref": c["id"], "value": c["status"], "normalised": None, "weight": None,
                          "impact": None, "deciding": c["deciding"],
                          "action": next((r for r in recs if r), "Close the gap named by the deciding evidence")})
    risks.sort(key=lambda r: (r["kind"] != "indicator", -(r["impact"] or 0), r["ref"]))
    return risks[:limit]


def evaluation_build(session: Session, principal: Principal, period: str, *, department: str | None = None,
                     system: str | None = None, weights_path: str | None = None, retention_days: int | None = None,
                     verifiers: list | None = None, now: datetime | None = None) -> dict:
    """The report document (not stored): indicators, score with its computation, controls, profile, trend, risks."""
    authorize(principal, "secmon:evaluation:read", period)
    p = parse_period(period)
    weights = load_weights(weights_path)
    now = now or utcnow()
    if p.start >= now:
        raise ValidationFailed(f"period {p.label} has not started yet (it starts {p.start.date().isoformat()})",
                               errors=[{"field": "period", "message": "in the future"}])
    as_of = min(p.end, now)
    scope = resolve_scope(session, department, system)
    if not period_has_events(session, p, as_of):
        raise ValidationFailed(f"period {p.label} is empty: no EVE event between {p.start.date().isoformat()} and "
                               f"{(as_of - timedelta(microseconds=1)).date().isoformat()}; ingest the sensors' EVE "
                               "data first or choose another period",
                               errors=[{"field": "period", "message": "no monitoring data in the period"}])
    inds, facts, sensors = monitoring_indicators(session, scope, p, as_of,
                                                 gap_minutes=float(weights.get("gap_minutes", 30)))
    r_inds, r_evidence = resp.response_indicators(session, scope, p, as_of, weights, facts)
    inds = inds + r_inds
    evidence = _evidence(session, scope, p, as_of, facts, sensors, retention_days=retention_days,
                         verifiers=verifiers) | r_evidence
    scored = score(inds, weights)
    assessed = controls_mod.assess(inds, evidence)
    return {"format": FORMAT, "period": p.to_dict(), "as_of": as_of.isoformat(), "partial": as_of < p.end,
            "scope": scope.to_dict(), "sensors": _names(session, sensors),
            "weights": {"source": "default" if not weights_path else str(weights_path),
                        "digest": _sha(canonical_bytes(weights))},
            "score": scored, "indicators": [i.to_dict() for i in inds], "controls": assessed, "evidence": evidence,
            "trend": _trend(session, scope, p), "top_risks": _top_risks(inds, scored, assessed, weights)}


def compare_documents(current: dict, previous: dict, weights: dict | None = None) -> dict:
    """What got better and what got worse between two report documents (by normalised value, i.e. direction)."""
    weights = weights or load_weights()
    prev_inds = {i["key"]: i for i in previous["indicators"]}
    better, worse, same, unknown = [], [], [], []
    for i in current["indicators"]:
        j = prev_inds.get(i["key"])
        spec = weights["indicators"].get(i["key"])
        row = {"indicator": i["key"], "current": i["value"], "previous": j["value"] if j else None}
        if i["value"] is None or j is None or j["value"] is None or spec is None:
            unknown.append(row)
            continue
        a, b = normalise(i["value"], spec["normalise"]), normalise(j["value"], spec["normalise"])
        row["normalised_change"] = round(a - b, 2)
        (better if a > b else worse if a < b else same).append(row)
    prev_ctl = {c["id"]: c["status"] for c in previous["controls"]["controls"]}
    rank = {"met": 3, "partly_met": 2, "not_met": 1}
    ctl_changes = []
    for c in current["controls"]["controls"]:
        before = prev_ctl.get(c["id"])
        if before != c["status"]:
            direction = ("better" if rank.get(c["status"], 0) > rank.get(before, 0) else "worse") \
                if c["status"] in rank and before in rank else "changed"
            ctl_changes.append({"control": c["id"], "previous": before, "current": c["status"], "direction": direction})
    s1, s0 = current["score"]["score"], previous["score"]["score"]
    return {"current_period": current["period"]["label"], "previous_period": previous["period"]["label"],
            "score": {"current": s1, "previous": s0, "change": round(s1 - s0, 2) if None not in (s1, s0) else None},
            "better": better, "worse": worse, "unchanged": same, "not_comparable": unknown,
            "controls": ctl_changes}


def report_dict(r: SecmonEvaluationReport, *, created: bool | None = None) -> dict:
    d = {"id": r.id, "period": r.period, "scope": r.scope, "scope_name": r.scope_name, "score": r.score,
         "band": r.band, "digest": r.digest, "html_digest": r.html_digest, "pdf_digest": r.pdf_digest,
         "created_at": r.created_at.isoformat() if isinstance(r.created_at, datetime) else str(r.created_at),
         "created_by": r.created_by}
    if created is not None:
        d["created"] = created
    return d


def evaluation_run(session: Session, principal: Principal, period: str, *, department: str | None = None,
                   system: str | None = None, compare: str | None = None, pdf: bool = False,
                   weights_path: str | None = None, retention_days: int | None = None, verifiers: list | None = None,
                   lang: str = "zh", now: datetime | None = None) -> tuple[SecmonEvaluationReport, dict]:
    """Build, render and store a report (or return the identical one already stored); audited with its digests."""
    from secmon.evaluation import render

    authorize(principal, "secmon:evaluation:run", period)
    if lang not in render.LANGS:
        raise ValidationFailed(f"unknown language {lang!r}", errors=[{"field": "lang", "message": "zh|en"}])
    doc = evaluation_build(session, principal, period, department=department, system=system,
                           weights_path=weights_path, retention_days=retention_days, verifiers=verifiers, now=now)
    if compare:
        cp = parse_period(compare)
        if cp.label == doc["period"]["label"]:
            raise ValidationFailed("compare with a different period", errors=[{"field": "compare",
                                                                               "message": "same period"}])
        prev = _latest_report(session, cp.label, doc_scope_label(doc))
        if prev is not None:
            prev_doc = orjson.loads(prev.document)
        else:
            try:
                prev_doc = evaluation_build(session, principal, cp.label, department=department, system=system,
                                            weights_path=weights_path, retention_days=retention_days,
                                            verifiers=verifiers, now=now)
            except ValidationFailed as exc:
                raise ValidationFailed(f"cannot compare with {cp.label}: {exc.detail}",
                                       errors=[{"field": "compare", "message": exc.detail}]) from None
        doc["compare"] = compare_documents(doc, prev_doc, load_weights(weights_path)) | {
            "previous_report_id": prev.id if prev else None, "previous_digest": prev.digest if prev else None}
    doc["lang"] = lang  # the rendering language is part of what was signed off
    body = canonical_bytes(doc)
    digest = _sha(body)
    scope_label = doc_scope_label(doc)
    existing = session.execute(select(SecmonEvaluationReport).where(
        SecmonEvaluationReport.period == doc["period"]["label"], SecmonEvaluationReport.scope == scope_label,
        SecmonEvaluationReport.digest == digest)).scalars().first()
    if existing is not None:
        if pdf and existing.pdf is None:
            _add_pdf(session, principal, existing)
            session.commit()
        return existing, {"created": False, "document": doc}
    html = render.render_html(doc, lang=lang)
    html_bytes = html.encode("utf-8")
    r = SecmonEvaluationReport(id=new_id(), period=doc["period"]["label"],
                               period_start=datetime.fromisoformat(doc["period"]["start"]), scope=scope_label,
                               scope_name=doc["scope"]["name"], score=doc["score"]["score"],
                               band=(doc["score"]["band"] or {}).get("name"), digest=digest,
                               document=body.decode("utf-8"), html_digest=_sha(html_bytes), html=html,
                               created_at=utcnow(), created_by=principal.actor)
    if pdf:
        data = render.render_pdf(html)
        r.pdf, r.pdf_digest = data, _sha(data)
    session.add(r)
    try:
        session.flush()
    except IntegrityError:  # another process stored the identical report a moment ago
        session.rollback()
        same = session.execute(select(SecmonEvaluationReport).where(
            SecmonEvaluationReport.period == r.period, SecmonEvaluationReport.scope == r.scope,
            SecmonEvaluationReport.digest == digest)).scalars().one()
        return same, {"created": False, "document": doc}
    audit.record(session, principal, "secmon:evaluation:run", object_type="secmon_evaluation_report", object_id=r.id,
                 state={"digest": digest, "html_digest": r.html_digest, "pdf_digest": r.pdf_digest},
                 details={"period": r.period, "scope": r.scope, "score": r.score, "band": r.band, "digest": digest,
                          "html_digest": r.html_digest, "pdf_digest": r.pdf_digest})
    session.commit()
    return r, {"created": True, "document": doc}


def doc_scope_label(doc: dict) -> str:
    s = doc["scope"]
    return "city" if s["kind"] == "city" else f"{s['kind']}:{s['key']}"


def _add_pdf(session: Session, principal: Principal, r: SecmonEvaluationReport) -> None:
    from secmon.evaluation import render

    data = render.render_pdf(r.html)
    r.pdf, r.pdf_digest = data, _sha(data)
    session.add(r)
    audit.record(session, principal, "secmon:evaluation:render", object_type="secmon_evaluation_report",
                 object_id=r.id, state={"digest": r.digest, "pdf_digest": r.pdf_digest},
                 details={"pdf_digest": r.pdf_digest, "from_html_digest": r.html_digest})


def evaluation_get(session: Session, principal: Principal, report_id: str) -> SecmonEvaluationReport:
    authorize(principal, "secmon:evaluation:read", report_id)
    r = session.get(SecmonEvaluationReport, report_id)
    if r is None:
        raise NotFound(f"no evaluation report {report_id!r}")
    return r


def evaluation_pdf(session: Session, principal: Principal, report_id: str) -> bytes:
    """The report's PDF (rendered from its stored HTML once, then stored and audited)."""
    r = evaluation_get(session, principal, report_id)
    if r.pdf is None:  # a rendering of the stored HTML, not a new evaluation: readers may trigger it
        _add_pdf(session, principal, r)
        session.commit()
    return r.pdf


def evaluation_list(session: Session, principal: Principal, *, scope: str | None = None, period: str | None = None,
                    limit: int = 100) -> list[dict]:
    authorize(principal, "secmon:evaluation:read")
    q = select(SecmonEvaluationReport).order_by(SecmonEvaluationReport.period_start.desc(),
                                                SecmonEvaluationReport.created_at.desc())
    if scope:
        q = q.where(SecmonEvaluationReport.scope == scope)
    if period:
        q = q.where(SecmonEvaluationReport.period == parse_period(period).label)
    return [report_dict(r) for r in session.execute(q.limit(max(1, min(limit, 1000)))).scalars()]


def evaluation_verify(session: Session, principal: Principal, report_id: str, data: bytes | None = None) -> dict:
    """Check a stored report (or a file claimed to be it) against the digests recorded in the audit log."""
    from audit.models import AuditEvent

    r = evaluation_get(session, principal, report_id)
    events = session.execute(select(AuditEvent).where(AuditEvent.object_type == "secmon_evaluation_report",
                                                      AuditEvent.object_id == r.id)).scalars().all()
    recorded = set()
    for e in events:
        det = e.details if isinstance(e.details, dict) else orjson.loads(e.details or "{}")
        recorded |= {v for k, v in det.items() if k.endswith("digest") and v}
    stored = {"json": _sha(r.document.encode("utf-8")), "html": _sha(r.html.encode("utf-8")),
              "pdf": _sha(r.pdf) if r.pdf else None}
    out = {"report_id": r.id, "audit_events": [e.seq for e in events], "recorded_digests": sorted(recorded),
           "stored": {k: {"digest": v, "recorded": v in recorded if v else None} for k, v in stored.items()},
           "ok": all(v in recorded for v in stored.values() if v)}
    if data is not None:
        d = _sha(data)
        out["file"] = {"digest": d, "matches": d in recorded}
        out["ok"] = out["ok"] and d in recorded
    return out


def evaluation_compare(session: Session, principal: Principal, report_id: str, other_id: str) -> dict:
    a, b = evaluation_get(session, principal, report_id), evaluation_get(session, principal, other_id)
    return compare_documents(orjson.loads(a.document), orjson.loads(b.document))
