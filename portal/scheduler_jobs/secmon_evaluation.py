"""Scheduled security evaluation: monthly and quarterly reports (city-wide and per department with assets),
EVE retention pruning (never below the legal minimum of 180 days — an override is a deliberate, audited CLI
act, not a schedule), stale-sensor alerts.

Safe with several scheduler processes: each unit of work is claimed in ``secmon_job_claim`` first (see
:mod:`secmon.evaluation.jobs`); re-runs for the same period give the same report digest from the same data.
"""

from __future__ import annotations

import os
import socket

from portal.scheduler import JobSpec

JOBS = [
    JobSpec(id="secmon:evaluation:monthly", func="portal.scheduler_jobs.secmon_evaluation:monthly_reports",
            trigger="cron", trigger_args={"day": 1, "hour": 2, "minute": 10}, misfire_grace_time=None,
            description="Monthly security evaluation reports (last month, city-wide and per department)"),
    JobSpec(id="secmon:evaluation:quarterly", func="portal.scheduler_jobs.secmon_evaluation:quarterly_reports",
            trigger="cron", trigger_args={"month": "1,4,7,10", "day": 1, "hour": 3, "minute": 10},
            misfire_grace_time=None,
            description="Quarterly security evaluation reports (last quarter, city-wide and per department)"),
    JobSpec(id="secmon:eve:retention", func="portal.scheduler_jobs.secmon_evaluation:prune_eve",
            trigger="cron", trigger_args={"hour": 4, "minute": 20}, misfire_grace_time=6 * 3600,
            description="Delete EVE data older than the retention setting (at least 180 days)"),
    JobSpec(id="secmon:sensors:stale", func="portal.scheduler_jobs.secmon_evaluation:stale_sensors",
            trigger="interval", trigger_args={"minutes": 15}, misfire_grace_time=900,
            description="Alert on sensors that stopped delivering EVE data"),
]


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _reports(kind: str) -> str:
    from portal.cli._common import cli_session
    from portal.evaluation_support import evaluation_kwargs
    from secmon.evaluation import jobs

    with cli_session(f"scheduler:secmon-evaluation-{kind}") as (session, system):
        results = jobs.periodic_reports(session, system, kind, holder=_holder(), **evaluation_kwargs())
    return "; ".join(f"{r['key']}: {r['outcome']}" for r in results)


def monthly_reports() -> str:
    return _reports("month")


def quarterly_reports() -> str:
    return _reports("quarter")


def prune_eve() -> str:
    from datetime import timedelta

    from kernel import utcnow
    from portal.cli._common import cli_session
    from portal.evaluation_support import retention_days
    from secmon.evaluation import jobs
    from secmon.evaluation.services import LEGAL_MINIMUM_RETENTION_DAYS

    days = retention_days()
    if days is None:
        return "no retention setting: nothing pruned"
    if days < LEGAL_MINIMUM_RETENTION_DAYS:
        # a schedule never prunes below the legal minimum; an override is an explicit, audited CLI command
        return (f"retention setting {days} days is below the legal minimum {LEGAL_MINIMUM_RETENTION_DAYS}: "
                "nothing pruned (use `citygov secmon prune --days N --override-reason …`)")
    with cli_session("scheduler:secmon-retention") as (session, system):
        key = f"retention:{utcnow().date().isoformat()}"
        if not jobs.job_claim(session, key, _holder(), ttl=timedelta(hours=6)):
            return f"{key}: claimed by another run"
        try:
            res = jobs.retention_prune(session, system, days=days)
        except Exception as exc:
            session.rollback()
            jobs.job_finish(session, key, _holder(), ok=False, outcome=str(exc))
            raise
        jobs.job_finish(session, key, _holder(), ok=True, outcome=f"{res['events_deleted']} events deleted")
    return f"pruned {res['events_deleted']} events before {res['cutoff']}"


def stale_sensors() -> str:
    from portal.cli._common import cli_session
    from secmon.evaluation import jobs
    from secmon.evaluation.scoring import load_weights

    from flask import current_app

    from secmon import notify

    minutes = float(load_weights().get("stale_sensor_minutes", 60))
    hooks = notify.NotifyConfig.from_mapping(current_app.config.get("SECMON_NOTIFY")).webhooks
    with cli_session("scheduler:secmon-stale-sensors") as (session, system):
        stale = jobs.stale_sensors(session, system, minutes=minutes, holder=_holder(), webhooks=hooks)
    new = [s["sensor"] for s in stale if s["new_alert"]]
    failed = [s["sensor"] for s in stale if s.get("delivery", "").startswith("failed")]
    return (f"{len(stale)} stale sensor(s); new alerts: {', '.join(new) or 'none'}"
            + (f"; webhook delivery failed for {', '.join(failed)} (retried next run)" if failed else ""))
