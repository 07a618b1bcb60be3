"""Units of work for the scheduler: periodic reports, EVE retention pruning, stale-sensor alerts.

Safe with several scheduler processes: each unit is claimed first (a row in ``secmon_job_claim`` keyed by what
it does, e.g. ``evaluation:2024-Q1:city``); the first process to insert the claim runs it, the others skip.
A claim left ``running`` past its expiry (a crashed process) or ``failed`` can be taken over. Units are
idempotent: a re-run for the same period yields the same report digest from the same data.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError

import audit
from kernel import CityGovError, Principal, ValidationFailed, authorize, utcnow
from kernel.db import Session
from secmon.evaluation import response_indicators as resp
from secmon.evaluation.indicators import ts_param
from secmon.evaluation.models import SecmonJobClaim
from secmon.evaluation.periods import period_containing
from secmon.evaluation.services import LEGAL_MINIMUM_RETENTION_DAYS, evaluation_run


def job_claim(session: Session, key: str, holder: str, *, ttl: timedelta = timedelta(hours=2),
              now: datetime | None = None) -> bool:
    """Claim a unit of work; True if this caller should run it (commits the claim)."""
    now = now or utcnow()
    try:
        session.add(SecmonJobClaim(key=key, status="running", holder=holder, claimed_at=now, expires_at=now + ttl))
        session.commit()
        return True
    except IntegrityError:
        session.rollback()
    stale = (SecmonJobClaim.status == "running") & (SecmonJobClaim.expires_at < now)
    res = session.execute(update(SecmonJobClaim).where(
        SecmonJobClaim.key == key, stale | (SecmonJobClaim.status == "failed"))
        .values(status="running", holder=holder, claimed_at=now, expires_at=now + ttl, outcome=None))
    session.commit()
    return res.rowcount == 1


def job_finish(session: Session, key: str, holder: str, *, ok: bool, outcome: str) -> None:
    session.execute(update(SecmonJobClaim).where(SecmonJobClaim.key == key, SecmonJobClaim.holder == holder)
                    .values(status="done" if ok else "failed", outcome=outcome[:2000]))
    session.commit()


def job_claims(session: Session, prefix: str = "") -> list[dict]:
    rows = session.execute(select(SecmonJobClaim).where(SecmonJobClaim.key.startswith(prefix, autoescape=True))
                           .order_by(SecmonJobClaim.claimed_at.desc()).limit(200)).scalars()
    return [{"key": r.key, "status": r.status, "holder": r.holder, "claimed_at": str(r.claimed_at),
             "outcome": r.outcome} for r in rows]


def periodic_reports(session: Session, principal: Principal, kind: str, *, holder: str, now: datetime | None = None,
                     retention_days: int | None = None, verifiers: list | None = None) -> list[dict]:
    """Reports for the last finished month or quarter: city-wide and per department with assets."""
    if kind not in ("month", "quarter"):
        raise ValidationFailed("kind must be month or quarter", errors=[{"field": "kind", "message": "month|quarter"}])
    now = now or utcnow()
    period = period_containing(kind, now).previous()
    scopes: list[dict] = [{"department": None, "label": "city"}]
    scopes += [{"department": d["code"], "label": f"department:{d['code']}"}
               for d in resp.departments_with_assets(session)]
    results = []
    for sc in scopes:
        key = f"evaluation:{period.label}:{sc['label']}"
        if not job_claim(session, key, holder, now=now):
            results.append({"key": key, "outcome": "skipped: claimed by another run"})
            continue
        try:
            report, info = evaluation_run(session, principal, period.label, department=sc["department"], pdf=True,
                                          retention_days=retention_days, verifiers=verifiers, now=now)
        except ValidationFailed as exc:  # empty period, department without assets: nothing to report
            session.rollback()
            job_finish(session, key, holder, ok=True, outcome=f"no report: {exc.detail}")
            results.append({"key": key, "outcome": f"no report: {exc.detail}"})
            continue
        except Exception as exc:
            session.rollback()
            job_finish(session, key, holder, ok=False, outcome=f"failed: {exc}")
            raise
        outcome = f"report {report.id} digest {report.digest}" + ("" if info["created"] else " (unchanged)")
        job_finish(session, key, holder, ok=True, outcome=outcome)
        results.append({"key": key, "outcome": outcome, "report_id": report.id, "digest": report.digest})
    return results


def retention_prune(session: Session, principal: Principal, *, days: int, override_reason: str | None = None) -> dict:
    """Delete EVE data older than ``days``; below the legal minimum (180 days, Cybersecurity Law art. 21) only
    with an explicit override reason from a principal allowed to override, and the override is audited."""
    from secmon.ingest import events_purge

    if not isinstance(days, int) or days < 1:
        raise ValidationFailed("retention days must be a whole number >= 1",
                               errors=[{"field": "days", "message": ">= 1"}])
    if days < LEGAL_MINIMUM_RETENTION_DAYS:
        if not (override_reason or "").strip():
            raise ValidationFailed(
                f"retention of {days} days is below the legal minimum of {LEGAL_MINIMUM_RETENTION_DAYS} days "
                "(Cybersecurity Law art. 21: network logs kept at least six months); give an override reason to "
                "prune anyway (audited)", errors=[{"field": "days", "message": f">= {LEGAL_MINIMUM_RETENTION_DAYS}"}])
        authorize(principal, "secmon:retention:override", days)
        audit.record(session, principal, "secmon:retention:override", object_type="secmon_event",
                     object_id="retention", state={"days": days},
                     details={"days": days, "legal_minimum_days": LEGAL_MINIMUM_RETENTION_DAYS,
                              "reason": override_reason.strip()[:1000]})
    out = events_purge(session, principal, older_than_days=days)  # audited and committed there (with the override)
    return out | {"days": days, "override": bool(days < LEGAL_MINIMUM_RETENTION_DAYS)}


def stale_sensors(session: Session, principal: Principal, *, minutes: float, now: datetime | None = None,
                  holder: str = "stale-sensors", webhooks: list | None = None, timeout: float = 10.0) -> list[dict]:
    """Sensors whose last ingested data is older than ``minutes``: one audited alert per silence episode, and
    when webhooks are configured (``secmon.notify.Webhook``: URL + secret), a signed POST to each — retried on
    the next run until it is delivered (the delivery claim is ``failed`` until then)."""
    authorize(principal, "secmon:events:read")
    now = now or utcnow()
    cutoff = now - timedelta(minutes=minutes)
    rows = session.execute(text(
        "SELECT s.id, s.name, max(src.updated_at) FROM secmon_sensor s JOIN secmon_source src ON src.sensor_id = s.id "
        "GROUP BY s.id, s.name HAVING max(src.updated_at) < :c ORDER BY s.name"),
        {"c": ts_param(session, cutoff)}).all()
    out = []
    for sid, name, last in rows:
        last_s = str(last)
        key = f"stale:{name}:{last_s}"
        alerted = job_claim(session, key, holder, ttl=timedelta(days=3650), now=now)
        if alerted:
            try:
                audit.record(session, principal, "secmon:sensor:stale", object_type="secmon_sensor", object_id=sid,
                             state={"last_ingest": last_s}, details={"sensor": name, "last_ingest": last_s,
                                                                    "silent_minutes_threshold": minutes})
                session.commit()
                job_finish(session, key, holder, ok=True, outcome="alerted")
            except CityGovError:
                session.rollback()
                job_finish(session, key, holder, ok=False, outcome="audit failed")
                raise
        item = {"sensor": name, "last_ingest": last_s, "new_alert": alerted}
        if webhooks:
            item["delivery"] = _deliver_stale(session, holder, name, last_s, minutes, now, webhooks, timeout)
        out.append(item)
    return out


def _deliver_stale(session: Session, holder: str, name: str, last_s: str, minutes: float, now: datetime,
                   webhooks: list, timeout: float) -> str:
    import json

    from secmon import notify

    key = f"stale-deliver:{name}:{last_s}"
    if not job_claim(session, key, holder, ttl=timedelta(minutes=10), now=now):
        return "already delivered or being delivered"
    body = json.dumps({"type": "secmon.sensor.stale", "sensor": name, "last_ingest": last_s,
                       "silent_minutes_threshold": minutes, "detected_at": now.isoformat()},
                      ensure_ascii=False, sort_keys=True).encode("utf-8")
    results = []
    for hook in webhooks:
        try:
            status = notify._send_webhook(hook, body, timeout)
            results.append(f"{hook.url}: {status}")
            ok = 200 <= status < 300
        except Exception as exc:  # noqa: BLE001 - network errors of a configured receiver: retried next run
            results.append(f"{hook.url}: {type(exc).__name__}: {exc}")
            ok = False
        if not ok:
            job_finish(session, key, holder, ok=False, outcome="; ".join(results))
            return "failed (retried next run): " + "; ".join(results)
    job_finish(session, key, holder, ok=True, outcome="; ".join(results))
    return "delivered: " + "; ".join(results)
