"""A small, hand-checked world for the evaluation tests: one sensor's EVE log in January 2024 (alerts, stats,
a garbage line, silences), a three-rule rule set, one department with one information system, and incidents,
alarms, responses and remediation tasks whose indicators are computed by hand in the tests.

Assets go through the asset services; incidents, alarms, responses and remediation tasks are inserted as
SQLModel rows with chosen timestamps (correlation would stamp them with the time of the run), so that every
expected value can be computed by hand.
"""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from kernel import new_id, system_principal

RULES = """\
alert tcp any any -> any any (msg:"EVAL one"; classtype:attempted-admin; sid:1000001; rev:1;)
alert tcp any any -> any any (msg:"EVAL two"; classtype:trojan-activity; sid:1000002; rev:1;)
# alert tcp any any -> any any (msg:"EVAL three disabled"; classtype:trojan-activity; sid:1000003; rev:1;)
"""


def _alert(ts: str, sev: int, sid: int, src: str, dst: str) -> str:
    return json.dumps({"timestamp": ts, "event_type": "alert", "src_ip": src, "src_port": 40000, "dest_ip": dst,
                       "dest_port": 80, "proto": "TCP",
                       "alert": {"action": "allowed", "gid": 1, "signature_id": sid, "rev": 1,
                                 "signature": f"EVAL sid {sid}", "category": "Test", "severity": sev}})


def _stats(ts: str, packets: int, drops: int, invalid: int, memcap: int) -> str:
    return json.dumps({"timestamp": ts, "event_type": "stats",
                       "stats": {"uptime": 100, "capture": {"kernel_packets": packets, "kernel_drops": drops},
                                 "decoder": {"invalid": invalid}, "flow": {"memcap": memcap}}})


EVE_LINES = [
    _alert("2024-01-10T10:00:00.000000+0000", 1, 1000001, "203.0.113.1", "10.1.0.5"),
    _alert("2024-01-10T10:05:00.000000+0000", 1, 1000001, "203.0.113.1", "10.1.0.5"),
    _alert("2024-01-10T10:10:00.000000+0000", 1, 9999999, "203.0.113.2", "10.1.0.9"),
    _stats("2024-01-10T10:15:00.000000+0000", 1000, 10, 2, 0),
    _alert("2024-01-10T11:00:00.000000+0000", 2, 1000001, "203.0.113.3", "192.168.5.5"),  # 45 min silence before
    _alert("2024-01-10T11:10:00.000000+0000", 2, 1000001, "203.0.113.3", "10.1.0.9"),
    _alert("2024-01-10T11:20:00.000000+0000", 3, 9999999, "203.0.113.4", "10.1.0.5"),
    _stats("2024-01-10T11:30:00.000000+0000", 2000, 50, 7, 3),
    '{"timestamp": "2024-01-10T11:31:00+0000", "event_type": "alert", "src_ip": ',  # torn line: quarantined
    json.dumps({"timestamp": "2024-01-10T12:30:00.000000+0000", "event_type": "dns", "src_ip": "10.1.0.5",
                "dest_ip": "10.0.0.53", "proto": "UDP", "dns": {"type": "query", "id": 1, "rrname": "x.example",
                                                               "rrtype": "A"}}),  # 60 min silence before
    _alert("2024-04-02T00:00:00.000000+0000", 1, 1000001, "203.0.113.9", "10.1.0.5"),  # outside 2024-Q1
]


def dt(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=UTC)


def _range(net: ipaddress.IPv4Network) -> tuple[str, str]:
    lo = int(ipaddress.IPv6Address("::ffff:" + str(net.network_address)))
    hi = int(ipaddress.IPv6Address("::ffff:" + str(net.broadcast_address)))
    return f"{lo:032x}", f"{hi:032x}"


def build(session, tmp: Path, *, with_response: bool = True) -> dict:
    from secmon import services
    from tests.factories import make_org

    p = system_principal("test-fixture")
    org = make_org(session, code="SZ-EVAL", name="评估测试局")
    empty_org = make_org(session, code="SZ-EMPTY", name="无资产局")
    (tmp / "rules").mkdir(parents=True, exist_ok=True)
    (tmp / "rules" / "eval.rules").write_text(RULES, encoding="utf-8")
    version = services.ruleset_import(session, p, [tmp / "rules"], name="eval")
    # the rule set was in force before the period: imported 2023-12-01 (122 days before 2024-04-01)
    session.execute(text("UPDATE secmon_ruleset_version SET imported_at = :t WHERE id = :v"),
                    {"t": dt("2023-12-01T00:00:00"), "v": version["version_id"]})
    session.commit()
    eve = tmp / "eve.json"
    eve.write_text("\n".join(EVE_LINES) + "\n", encoding="utf-8")
    services.eve_ingest(session, p, [eve], sensor="eval-s1")
    out = {"org": org, "empty_org": empty_org, "principal": p}
    if with_response:
        out |= _response_side(session, org.id)
    return out


def _response_side(session, org_id: str) -> dict:
    from secmon.models import (SecmonBlockEntry, SecmonIncident, SecmonIncidentTransition,
                               SecmonNotification, SecmonRemediationTask, SecmonResponse, SecmonSystem)

    from secmon import assets

    p = system_principal("test-fixture")
    created = assets.system_create(session, p, name="政务外网门户", org="SZ-EVAL", mlps_level=3, criticality="high")
    assets.network_add(session, p, system=created["id"], cidr="10.1.0.0/16")
    system = session.get(SecmonSystem, created["id"])

    def incident(name, severity, created, state, dest, **kw):
        i = SecmonIncident(id=new_id(), rule_id="test", group_key=name, title=name, state=state, severity=severity,
                           score=1, dest_ip=dest, first_seen=dt(created), last_seen=dt(created), alert_count=1,
                           created_at=dt(created), updated_at=dt(created), system_id=system.id, org_id=org_id,
                           **{k: dt(v) if isinstance(v, str) else v for k, v in kw.items()})
        session.add(i)
        return i

    i1 = incident("I1", "high", "2024-01-10T10:00:00", "resolved", "10.1.0.5", triaged_at="2024-01-10T11:00:00",
                  contained_at="2024-01-10T14:00:00", resolved_at="2024-01-11T00:00:00",
                  triage_due="2024-01-10T11:30:00", contain_due="2024-01-11T10:00:00")
    i2 = incident("I2", "critical", "2024-01-20T00:00:00", "contained", "10.1.0.5", triaged_at="2024-01-20T03:00:00",
                  contained_at="2024-01-21T00:00:00", triage_due="2024-01-20T00:15:00",
                  contain_due="2024-01-20T04:00:00")
    i3 = incident("I3", "low", "2024-02-01T00:00:00", "false_positive", "10.1.0.9",
                  false_positive_at="2024-02-01T02:00:00", triage_due="2024-02-02T00:00:00",
                  contain_due="2024-02-08T00:00:00")
    incident("I4", "medium", "2024-03-01T00:00:00", "triaged", "10.1.0.7", triaged_at="2024-03-01T01:00:00",
                  triage_due="2024-03-01T08:00:00", contain_due="2024-03-04T00:00:00")
    session.flush()
    for inc, to, at in ((i1, "resolved", "2024-01-11T00:00:00"), (i3, "false_positive", "2024-02-01T02:00:00")):
        session.add(SecmonIncidentTransition(id=new_id(), incident_id=inc.id, from_state="new", to_state=to,
                                             actor="user:x", at=dt(at)))
    session.add(SecmonNotification(id=new_id(), incident_id=i1.id, channel="webhook", target="http://127.0.0.1/x",
                                   status="delivered", attempts=1, payload_sha256="0" * 64, created_at=dt("2024-01-10T10:01:00"),
                                   delivered_at=dt("2024-01-10T10:01:01")))
    session.add(SecmonNotification(id=new_id(), incident_id=i2.id, channel="webhook", target="http://127.0.0.1/x",
                                   status="failed", attempts=5, payload_sha256="0" * 64, created_at=dt("2024-01-20T00:01:00")))

    def task(title, due, fixed=None, verified=None, state="open"):
        session.add(SecmonRemediationTask(id=new_id(), org_id=org_id, system_id=system.id, title=title,
                                          severity="high", state=state, created_by="user:x",
                                          created_at=dt("2024-01-05T00:00:00"), due_at=dt(due), quiet_days=7,
                                          fixed_at=dt(fixed) if fixed else None,
                                          verified_at=dt(verified) if verified else None))

    task("T1", "2024-02-01T00:00:00", fixed="2024-01-25T00:00:00", verified="2024-02-10T00:00:00", state="verified")
    task("T2", "2024-03-01T00:00:00")
    task("T3", "2024-05-01T00:00:00")

    def response(title, proposed, decided, state, inc):
        r = SecmonResponse(id=new_id(), state=state, title=title, incident_id=inc.id, proposed_by="user:a",
                           proposed_at=dt(proposed), decided_by="user:b" if decided else None,
                           decided_at=dt(decided) if decided else None)
        session.add(r)
        return r

    r1 = response("R1", "2024-01-10T10:00:00", "2024-01-10T12:00:00", "approved", i1)
    response("R2", "2024-01-20T00:00:00", "2024-01-21T00:00:00", "approved", i2)
    response("R3", "2024-01-22T00:00:00", None, "proposed", i2)
    session.flush()
    lo, hi = _range(ipaddress.ip_network("203.0.113.1/32"))
    session.add(SecmonBlockEntry(id=new_id(), response_id=r1.id, cidr="203.0.113.1/32", ip_version=4, range_start=lo,
                                 range_end=hi, category="attack", reputation=100, state="active",
                                 expires_at=dt("2024-02-10T00:00:00")))
    session.commit()
    return {"system": system}
