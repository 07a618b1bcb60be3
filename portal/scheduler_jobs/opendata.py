"""Daily check for stale open datasets (not updated within their declared frequency)."""

from __future__ import annotations

from portal.scheduler import JobSpec

JOBS = [
    JobSpec(id="opendata:dataset:stale", func="portal.scheduler_jobs.opendata:flag_stale_datasets", trigger="interval",
            trigger_args={"hours": 24}, misfire_grace_time=6 * 3600,
            description="Flag published datasets not updated within their declared frequency"),
]


def flag_stale_datasets() -> str:
    from flask import current_app

    from opendata.stale import flag_stale, unnotified
    from portal.cli._common import cli_session

    with cli_session("scheduler:opendata-stale") as (session, system):
        got = flag_stale(session, system)
        out = f"{len(got)} stale dataset(s) flagged" + (": " + ", ".join(d.name for d in got) if got else "")
        waiting = unnotified(session)  # newly flagged, and those whose notice failed on an earlier run
        if waiting:
            out += "; " + notify_owners(session, system, waiting, current_app.config)
        return out


def mail_relay(config):
    """The SMTP relay for notices: ``MAIL_SMTP`` (``{"host", "port", "sender", "starttls", "username",
    "password"}``), else the relay of the incident alarms (``SECMON_NOTIFY["smtp"]``); None: no e-mail."""
    import json

    from kernel.mail import Relay

    def mapping(value):
        if isinstance(value, str) and value.strip():
            value = json.loads(value)
        return value if isinstance(value, dict) else None

    return Relay.from_mapping(mapping(config.get("MAIL_SMTP"))) or \
        Relay.from_mapping((mapping(config.get("SECMON_NOTIFY")) or {}).get("smtp"))


def notify_owners(session, principal, datasets, config) -> str:
    """E-mail each stale dataset's owners — the active data stewards of its department with an address — and
    record the notice (a dataset whose notice could not be delivered stays waiting for the next run)."""
    import smtplib

    from sqlmodel import select

    from kernel.mail import send_email
    from kernel.principal import Role
    from opendata.stale import mark_notified, stale_notice
    from portal.accounts.models import Membership, User

    relay = mail_relay(config)
    if relay is None:
        return "no mail relay configured (MAIL_SMTP): owners see the flag on /opendata/steward"
    sent, failed = 0, []
    for ds in datasets:
        to = sorted({u.email for u in session.exec(
            select(User).join(Membership, Membership.user_id == User.id).where(
                User.org_id == ds.org_id, User.active.is_(True), Membership.role == Role.DATA_STEWARD.value))
            if u.email})
        if not to:
            failed.append(f"{ds.name}: no steward with an e-mail address")
            continue
        subject, text = stale_notice(ds, base_url=str(config.get("PUBLIC_URL") or ""))
        try:
            send_email(relay, to, subject, text)
        except (OSError, smtplib.SMTPException) as exc:
            failed.append(f"{ds.name}: {type(exc).__name__}: {exc}")
            continue
        mark_notified(session, principal, ds, recipients=len(to))
        sent += 1
    return f"{sent} notice(s) e-mailed to owners" + (f"; not sent: {'; '.join(failed)}" if failed else "")
