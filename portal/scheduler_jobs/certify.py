"""Certificate housekeeping: expire certificates past their expiry and mark those whose standard has a
newer major version "superseded" (not invalid). Idempotent; every change is an audit event."""

from __future__ import annotations

from portal.scheduler import JobSpec

JOBS = [
    JobSpec(id="registry:certificate:expire", func="portal.scheduler_jobs.certify:expire_certificates",
            trigger="interval", trigger_args={"hours": 1}, misfire_grace_time=3600,
            description="Expire certificates and mark superseded ones"),
]


def expire_certificates() -> str:
    from portal.cli._common import cli_session
    from registry.certify import services

    with cli_session("scheduler:certify") as (session, system):
        expired = services.certificates_expire(session, system)
        superseded = services.certificates_supersede(session, system)
    return f"expired {expired}, superseded {superseded}"
