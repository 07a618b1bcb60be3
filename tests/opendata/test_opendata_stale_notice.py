"""A stale dataset's owners are told: the scheduler job flags it once and e-mails the owning department's active
data stewards (a real local SMTP receiver), naming the dataset, its frequency and the page to republish from."""

from __future__ import annotations

import socket
from datetime import timedelta

from kernel.clock import utcnow
from kernel.principal import system_principal
from opendata.catalog import dataset_create, dataset_grade, distribution_add
from opendata.release import dataset_approve, dataset_check, dataset_publish
from opendata.stale import flag_stale, unnotified
from portal.scheduler_jobs.opendata import mail_relay, notify_owners
from tests.factories import make_org, make_user, principal_of
from tests.opendata.test_opendata_release import META, _clean_rows, _csv


def _published_stale(db_session, tmp_path):
    org = make_org(db_session, "SZ-TRANS-STALE")
    alice, bob = (make_user(db_session, "data_steward", org=org, username=n) for n in ("alice.stale", "bob.stale"))
    idle = make_user(db_session, "data_steward", org=org, username="idle.stale")
    other = make_user(db_session, "data_steward", org=make_org(db_session, "SZ-HEALTH-STALE"), username="other.stale")
    for user, mail in ((alice, "alice@trans.example"), (bob, None), (idle, "idle@trans.example"),
                       (other, "other@health.example")):
        user.email = mail
        db_session.add(user)
    idle.active = False
    db_session.commit()
    pa, pb = principal_of(db_session, alice), principal_of(db_session, bob)
    dataset_create(db_session, pa, dict(META, frequency="MONTHLY"))
    dataset_grade(db_session, pa, "bus-stops", "unconditional", "stop locations are public facts")
    distribution_add(db_session, pa, "bus-stops", source=_csv(tmp_path / "a.csv", _clean_rows()), filename="a.csv",
                     fmt="CSV", storage=tmp_path / "s")
    dataset_check(db_session, pa, "bus-stops", storage=tmp_path / "s")
    dataset_approve(db_session, pb, "bus-stops")
    dataset_publish(db_session, pb, "bus-stops", storage=tmp_path / "s")
    return flag_stale(db_session, system_principal("test"), now=utcnow() + timedelta(days=40))


def test_stale_dataset_owners_are_emailed(db_session, tmp_path, smtp_receiver):
    port, messages = smtp_receiver
    got = _published_stale(db_session, tmp_path)
    assert [d.name for d in got] == ["bus-stops"]
    config = {"MAIL_SMTP": {"host": "127.0.0.1", "port": port, "sender": "opendata@city.example"},
              "PUBLIC_URL": "https://data.city.example"}
    out = notify_owners(db_session, system_principal("test"), got, config)
    assert out == "1 notice(s) e-mailed to owners", out
    assert unnotified(db_session) == []  # told once: the next run does not e-mail again
    (msg,) = messages
    # only the active stewards of the owning department who have an address
    assert msg.rcpt_tos == ["alice@trans.example"] and msg.mail_from == "opendata@city.example"
    import email
    from email.header import decode_header, make_header

    parsed = email.message_from_bytes(msg.content)
    assert "bus-stops" in str(make_header(decode_header(parsed["Subject"])))
    text = parsed.get_payload(decode=True).decode("utf-8")
    assert "MONTHLY" in text and "https://data.city.example/opendata/steward" in text and "逾期" in text


def test_without_relay_or_address_nothing_is_sent_and_the_job_says_so(db_session, tmp_path, smtp_receiver):
    port, messages = smtp_receiver
    got = _published_stale(db_session, tmp_path)
    sysp = system_principal("test")
    assert "no mail relay configured" in notify_owners(db_session, sysp, got, {})
    # the incident alarms' relay is used when no MAIL_SMTP is set
    relay = mail_relay({"SECMON_NOTIFY": {"smtp": {"host": "127.0.0.1", "port": port, "recipients": ["soc@x"]}}})
    assert relay is not None and relay.port == port
    # a relay that refuses: reported, not raised
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    out = notify_owners(db_session, sysp, got, {"MAIL_SMTP": {"host": "127.0.0.1", "port": closed, "timeout": 2}})
    assert out.startswith("0 notice(s)") and "bus-stops: ConnectionRefusedError" in out
    assert messages == []
    # nothing was lost: the dataset waits for the next run, which delivers and records the notice
    assert [d.name for d in unnotified(db_session)] == ["bus-stops"]
    out = notify_owners(db_session, sysp, unnotified(db_session), {"MAIL_SMTP": {"host": "127.0.0.1", "port": port}})
    assert out == "1 notice(s) e-mailed to owners" and len(messages) == 1 and unnotified(db_session) == []
    from sqlmodel import select

    from audit.models import AuditEvent

    ev = db_session.exec(select(AuditEvent).where(AuditEvent.action == "opendata:dataset:stale-notice")).one()
    assert ev.details["recipients"] == 1 and "alice@trans.example" not in str(ev.details)
