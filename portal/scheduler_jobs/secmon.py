"""secmon housekeeping: expire block-list / rule-change / threshold entries whose time has come, flag SLA
breaches, deliver pending alarms (retries with backoff), verify fixed remediation tasks and escalate overdue
ones. Idempotent; every change is an audit event."""

from __future__ import annotations

from portal.scheduler import JobSpec

JOBS = [
    JobSpec(id="secmon:responses:expire", func="portal.scheduler_jobs.secmon:expire_responses",
            trigger="interval", trigger_args={"minutes": 5}, misfire_grace_time=600,
            description="Expire block-list, rule-change and threshold entries past their expiry"),
    JobSpec(id="secmon:incidents:housekeeping", func="portal.scheduler_jobs.secmon:incident_housekeeping",
            trigger="interval", trigger_args={"minutes": 1}, misfire_grace_time=120,
            description="Flag SLA breaches and deliver pending alarms"),
    JobSpec(id="secmon:remediation:check", func="portal.scheduler_jobs.secmon:remediation_check",
            trigger="interval", trigger_args={"hours": 1}, misfire_grace_time=3600,
            description="Verify fixed remediation tasks and escalate overdue ones"),
]


def expire_responses() -> str:
    from portal.cli._common import cli_session
    from secmon import responses

    with cli_session("scheduler:secmon") as (session, system):
        r = responses.responses_expire(session, system)
    return f"expired {r['expired_entries']} entries of {len(r['responses'])} responses"


def incident_housekeeping() -> str:
    from flask import current_app

    from portal.cli._common import cli_session
    from secmon import incidents, notify

    cfg = notify.NotifyConfig.from_mapping(current_app.config.get("SECMON_NOTIFY"))
    with cli_session("scheduler:secmon") as (session, system):
        flagged = incidents.incidents_sla_check(session, system)["flagged"]
        queued = notify.notifications_enqueue(session, system, cfg)
        d = notify.notifications_deliver(session, system, cfg)
    return f"sla flagged {len(flagged)}, alarms queued {len(queued)}, delivered {d['delivered']}, failed {d['failed']}"


def remediation_check() -> str:
    from portal.cli._common import cli_session
    from secmon import remediation

    with cli_session("scheduler:secmon") as (session, system):
        v = remediation.remediation_verify(session, system)
        e = remediation.remediation_escalate(session, system)
    return f"verified {len(v['verified'])}, reopened {len(v['reopened'])}, escalated {len(e['escalated'])}"
