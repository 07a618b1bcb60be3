"""Lifecycle with SLA, two-person approval flowing into the build and the block list, expiry, notifications
with real local receivers (aiosmtpd, an HTTP server), remediation verification/escalation, permissions per
department, event search."""

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import select

from kernel import Conflict, NotAuthorized, NotFound, ValidationFailed, utcnow
from secmon import incidents, notify, remediation, responses, search, services
from secmon.models import SecmonIncident
from tests.factories import make_user, principal_of
from tests.secmon.test_strike_campaigns import SYS, planted_file, seed_assets


@pytest.fixture
def world(db_session, suricata_data, tmp_path):
    org1, org2 = seed_assets(db_session)
    lines, _ = planted_file(suricata_data, tmp_path)
    p = tmp_path / "eve.json"
    p.write_text("\n".join(lines) + "\n")
    services.eve_ingest(db_session, SYS, [p], sensor="tpot")
    incidents.incidents_correlate(db_session, SYS)
    people = {
        "analyst": principal_of(db_session, make_user(db_session, "security_analyst")),
        "analyst2": principal_of(db_session, make_user(db_session, "security_analyst")),
        "admin": principal_of(db_session, make_user(db_session, "commission_admin")),
        "admin2": principal_of(db_session, make_user(db_session, "commission_admin")),
        "dept1": principal_of(db_session, make_user(db_session, "department_submitter", org=org1)),
        "dept2": principal_of(db_session, make_user(db_session, "department_submitter", org=org2)),
        "vendor": principal_of(db_session, make_user(db_session, "vendor")),
    }
    incs = {(i.signature, i.alert_count): i.id for i in db_session.execute(select(SecmonIncident)).scalars()}
    return {"p": people, "incs": incs, "org1": org1, "org2": org2, "path": p}


def sqli(world):
    return world["incs"][("ET WEB_SERVER Possible SQL Injection", 6)]


def test_lifecycle_sla_and_bad_input(db_session, world):
    a = world["p"]["analyst"]
    iid = sqli(world)
    inc = incidents.incident_get(db_session, a, iid)
    assert inc["state"] == "new" and inc["severity"] == "critical" and inc["triage_due"]
    with pytest.raises(NotFound):
        incidents.incident_transition(db_session, a, "no-such-incident", "triaged")
    with pytest.raises(Conflict):
        incidents.incident_transition(db_session, a, iid, "closed")  # new → closed is not a transition
    with pytest.raises(ValidationFailed):
        incidents.incident_transition(db_session, a, iid, "exploded")
    with pytest.raises(NotAuthorized):
        incidents.incident_transition(db_session, world["p"]["vendor"], iid, "triaged")
    # the SLA check flags what is past due (critical: triage within 15 minutes)
    later = utcnow() + timedelta(minutes=20)
    flagged = incidents.incidents_sla_check(db_session, a, now=later)["flagged"]
    assert iid in flagged
    assert db_session.get(SecmonIncident, iid).triage_breached
    incidents.incident_assign(db_session, a, iid, "soc.analyst")
    incidents.incident_comment(db_session, a, iid, "SQLi from a known scanner; blocking")
    for state in ("triaged", "contained", "resolved", "closed"):
        d = incidents.incident_transition(db_session, a, iid, state, note=f"-> {state}")
    assert d["state"] == "closed" and d["triaged_at"] and d["contained_at"] and d["resolved_at"] and d["closed_at"]
    full = incidents.incident_get(db_session, a, iid)
    assert [t["to"] for t in full["transitions"]] == ["new", "triaged", "contained", "resolved", "closed"]
    assert full["comments"][0]["body"].startswith("SQLi") and full["assignee"] == "soc.analyst"
    fp = world["incs"][("ET SCAN Potential SSH Scan", 4)]
    assert incidents.incident_transition(db_session, a, fp, "false_positive")["false_positive_at"]


def test_department_sees_only_its_own(db_session, world):
    d1, d2 = world["p"]["dept1"], world["p"]["dept2"]
    mine = incidents.incident_list(db_session, d1)["items"]
    assert mine and all(i["org_id"] == world["org1"].id for i in mine)
    theirs = {i["id"] for i in incidents.incident_list(db_session, d2)["items"]}
    assert theirs and not theirs & {i["id"] for i in mine}
    with pytest.raises(NotAuthorized):
        incidents.incident_get(db_session, d2, sqli(world))
    with pytest.raises(NotAuthorized):
        incidents.incident_transition(db_session, d1, sqli(world), "triaged")


def test_two_person_approval_flows_into_build_and_block_list(db_session, world, suricata_data, tmp_path):
    p = world["p"]
    iid = sqli(world)
    exp = (utcnow() + timedelta(hours=48)).isoformat()
    prop = responses.response_propose(
        db_session, p["analyst"], title="Block the SQLi scanner", incident_id=iid,
        blocks=[{"cidr": "198.51.100.66", "expires_at": exp, "category": "Scanner", "reputation": 120},
                {"cidr": "2001:db8:dead::/48", "ttl_hours": 24}],
        rule_changes=[{"action": "drop", "selector": "1:2200000"}],
        suppressions=[{"kind": "suppress", "gid": 1, "sid": 2210048, "track": "by_src", "ip": "10.77.0.0/16"}])
    rid = prop["id"]
    assert prop["state"] == "proposed"
    assert responses.blocklist_export(db_session, p["admin"], fmt="text")["blocklist.txt"].count("\n") == 1
    # nobody approves their own proposal (even holding the approving role)
    own = responses.response_propose(db_session, p["admin"], title="mine", blocks=[{"cidr": "192.0.2.1", "ttl_hours": 1}])
    with pytest.raises(NotAuthorized, match="two-person"):
        responses.response_decide(db_session, p["admin"], own["id"], approve=True)
    with pytest.raises(NotAuthorized):  # an analyst is not an approver
        responses.response_decide(db_session, p["analyst2"], rid, approve=True)
    with pytest.raises(NotFound):
        responses.response_decide(db_session, p["admin"], "nope", approve=True)
    # the rule-set version before approval
    rules = suricata_data / "rules" / "oisf"
    v1 = services.ruleset_import(db_session, p["analyst"], [rules], name="oisf")
    d = responses.response_decide(db_session, p["admin"], rid, approve=True, note="ok")
    assert d["state"] == "approved" and d["decided_by"] == p["admin"].actor
    with pytest.raises(Conflict):
        responses.response_decide(db_session, p["admin2"], rid, approve=False)
    # approved changes flow into the next build: a new version, the rule dropped, the suppression in
    v2 = services.ruleset_import(db_session, p["analyst"], [rules], name="oisf")
    assert not v2["unchanged"] and v2["version_id"] != v1["version_id"]
    assert v2["stats"]["approved"]["responses"] == [rid]
    assert services.ruleset_import(db_session, p["analyst"], [rules], name="oisf")["unchanged"]
    files = responses.build_exports(db_session, p["analyst"])
    assert f"# response {rid} approved by {p['admin'].actor}" in files["drop.conf"]
    assert "suppress gen_id 1, sig_id 2210048, track by_src, ip 10.77.0.0/16" in files["threshold.config"]
    text = responses.blocklist_export(db_session, p["analyst"], fmt="text")["blocklist.txt"]
    assert "198.51.100.66/32\t# response " + rid in text and "2001:db8:dead::/48" in text
    iprep = responses.blocklist_export(db_session, p["analyst"], fmt="iprep")
    assert "198.51.100.66/32,2,120" in iprep["reputation.list"] and "2,Scanner," in iprep["categories.txt"]
    # expiry: the 24 h entry leaves after a day, the response after both
    r1 = responses.responses_expire(db_session, SYS, now=utcnow() + timedelta(hours=25))
    assert r1["expired_entries"] == 1
    text = responses.blocklist_export(db_session, p["analyst"], fmt="text", now=utcnow() + timedelta(hours=25))
    assert "2001:db8:dead::/48" not in text["blocklist.txt"] and "198.51.100.66/32" in text["blocklist.txt"]
    responses.responses_expire(db_session, SYS, now=utcnow() + timedelta(hours=49))
    assert responses.response_get(db_session, p["analyst"], rid)["blocks"][0]["state"] == "expired"


def test_bad_proposals_and_expired_entries_change_nothing(db_session, world):
    p = world["p"]
    before = len(responses.response_list(db_session, p["analyst"]))
    past = (utcnow() - timedelta(minutes=1)).isoformat()
    for kwargs in ({"blocks": [{"cidr": "10.0.0.0/33", "ttl_hours": 1}]},
                   {"blocks": [{"cidr": "10.0.0.1", "expires_at": past}]},
                   {"blocks": [{"cidr": "10.0.0.1"}]},
                   {"rule_changes": [{"action": "explode", "selector": "1"}]},
                   {"rule_changes": [{"action": "modify", "selector": "1:2", "from": "(", "to": "x"}]},
                   {"suppressions": [{"kind": "suppress", "sid": 0}]},
                   {}):
        with pytest.raises(ValidationFailed):
            responses.response_propose(db_session, p["analyst"], title="bad", **kwargs)
    with pytest.raises(NotFound):
        responses.response_propose(db_session, p["analyst"], title="x", incident_id="nope",
                                   blocks=[{"cidr": "10.0.0.1", "ttl_hours": 1}])
    assert len(responses.response_list(db_session, p["analyst"])) == before
    # an entry that expired between proposal and decision cannot be approved
    r = responses.response_propose(db_session, p["analyst"], title="short",
                                   blocks=[{"cidr": "203.0.113.9", "expires_at": (utcnow() + timedelta(seconds=30)).isoformat()}])
    with pytest.raises(Conflict, match="expired"):
        responses.response_decide(db_session, p["admin"], r["id"], approve=True, now=utcnow() + timedelta(minutes=1))
    assert responses.response_get(db_session, p["analyst"], r["id"])["state"] == "proposed"


class _Receiver(BaseHTTPRequestHandler):
    got: list = []
    fail_first = 0

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        cls = type(self)
        if cls.fail_first > 0:
            cls.fail_first -= 1
            self.send_response(503)
            self.end_headers()
            return
        cls.got.append((self.headers.get(notify.SIGNATURE_HEADER), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *a):
        pass


def test_alarm_webhook_and_email_with_real_receivers(db_session, world, smtp_receiver):
    smtp_port, messages = smtp_receiver
    _Receiver.got, _Receiver.fail_first = [], 2
    http = HTTPServer(("127.0.0.1", 0), _Receiver)
    t = threading.Thread(target=http.serve_forever, daemon=True)
    t.start()
    try:
        url = f"http://127.0.0.1:{http.server_port}/hook"
        cfg = notify.NotifyConfig.from_mapping({
            "webhooks": [{"url": url, "secret": "s3cret"}],
            "smtp": {"host": "127.0.0.1", "port": smtp_port, "sender": "soc@city.example",
                     "recipients": ["duty@city.example"]},
            "backoff_seconds": 10, "max_attempts": 4})
        queued = notify.notifications_enqueue(db_session, SYS, cfg)
        n_alarm = len([i for i in db_session.execute(select(SecmonIncident)).scalars() if i.severity in ("high", "critical")])
        assert len(queued) == 2 * n_alarm and n_alarm == 4
        assert notify.notifications_enqueue(db_session, SYS, cfg) == []  # once per incident
        now = utcnow()
        first = notify.notifications_deliver(db_session, SYS, cfg, now=now)
        assert first["delivered"] == n_alarm + n_alarm - 2 and first["retrying"] == 2  # two 503s, e-mails all OK
        assert notify.notifications_deliver(db_session, SYS, cfg, now=now)["attempted"] == 0  # backoff
        second = notify.notifications_deliver(db_session, SYS, cfg, now=now + timedelta(seconds=11))
        assert second["delivered"] == 2
        assert len(_Receiver.got) == n_alarm and len(messages) == n_alarm
        for sig, body in _Receiver.got:  # HMAC-SHA256 over the exact body
            assert sig == "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
            assert json.loads(body)["incident"]["severity"] in ("high", "critical")
        assert b"CRITICAL incident" in messages[0].content or b"HIGH incident" in messages[0].content
        log = notify.notification_log(db_session, SYS)
        assert {x["status"] for x in log} == {"delivered"} and max(x["attempts"] for x in log) == 2
    finally:
        http.shutdown()


def test_webhook_gives_up_after_max_attempts(db_session, world):
    cfg = notify.NotifyConfig.from_mapping({"webhooks": [{"url": "http://127.0.0.1:9/unreachable", "secret": "x"}],
                                            "backoff_seconds": 1, "max_attempts": 2})
    notify.notifications_enqueue(db_session, SYS, cfg)
    now = utcnow()
    notify.notifications_deliver(db_session, SYS, cfg, now=now)
    r = notify.notifications_deliver(db_session, SYS, cfg, now=now + timedelta(seconds=5))
    assert r["failed"] == 4
    assert all(x["status"] == "failed" and x["last_error"] for x in notify.notification_log(db_session, SYS))


def test_remediation_verification_escalation_and_department_scope(db_session, world, tmp_path):
    p = world["p"]
    iid = sqli(world)
    with pytest.raises(NotAuthorized):
        remediation.remediation_create(db_session, p["dept1"], incident_id=iid)
    t = remediation.remediation_create(db_session, p["analyst"], incident_id=iid, quiet_days=7)
    assert t["org_id"] == world["org1"].id and t["asset_ip"] == "10.77.1.10" and t["severity"] == "critical"
    # the other department neither sees nor fixes it
    assert remediation.remediation_list(db_session, p["dept2"]) == []
    with pytest.raises(NotAuthorized):
        remediation.remediation_fix(db_session, p["dept2"], t["id"], evidence="not mine")
    with pytest.raises(NotAuthorized):
        remediation.remediation_get(db_session, p["dept2"], t["id"])
    assert [x["id"] for x in remediation.remediation_list(db_session, p["dept1"])] == [t["id"]]
    # overdue → flagged and escalated (once a day)
    late = utcnow() + timedelta(days=10)
    assert remediation.remediation_escalate(db_session, SYS, now=late)["escalated"] == [t["id"]]
    assert remediation.remediation_escalate(db_session, SYS, now=late + timedelta(hours=1))["escalated"] == []
    assert remediation.remediation_list(db_session, p["dept1"], overdue=True)[0]["escalation_level"] == 1
    with pytest.raises(ValidationFailed):
        remediation.remediation_fix(db_session, p["dept1"], t["id"], evidence="  ")
    fixed = remediation.remediation_fix(db_session, p["dept1"], t["id"], evidence="parameterised queries, WAF rule")
    assert fixed["state"] == "fixed"
    # not yet quiet for 7 days: stays fixed
    assert remediation.remediation_verify(db_session, SYS, now=utcnow() + timedelta(days=3)) == {"verified": [],
                                                                                                 "reopened": []}
    # quiet for 7 days → verified
    r = remediation.remediation_verify(db_session, SYS, now=utcnow() + timedelta(days=8))
    assert r["verified"] == [t["id"]]
    assert "no alert of sid 2024897" in remediation.remediation_get(db_session, p["dept1"], t["id"])["verification_note"]
    with pytest.raises(Conflict):
        remediation.remediation_fix(db_session, p["dept1"], t["id"], evidence="again")


def test_remediation_recurrence_reopens(db_session, world, tmp_path):
    from tests.secmon.test_strike_campaigns import alert

    p = world["p"]
    t = remediation.remediation_create(db_session, p["analyst"], incident_id=sqli(world), quiet_days=3)
    remediation.remediation_fix(db_session, p["dept1"], t["id"], evidence="patched")
    later = utcnow() + timedelta(minutes=5)
    f = tmp_path / "again.json"
    f.write_text(alert(later.replace(tzinfo=None), "198.51.100.77", "10.77.1.10", 2024897,
                       "ET WEB_SERVER Possible SQL Injection", 1, 77) + "\n")
    services.eve_ingest(db_session, SYS, [f], sensor="tpot")
    r = remediation.remediation_verify(db_session, SYS, now=utcnow() + timedelta(days=4))
    assert r["reopened"] == [t["id"]]
    assert "recurred" in remediation.remediation_get(db_session, p["analyst"], t["id"])["verification_note"]


def test_event_search_every_kind(db_session, world):
    a = world["p"]["analyst"]

    def n(**kw):
        return len(search.event_search(db_session, a, limit=500, **kw)["items"])

    assert n(ip="198.51.100.66") == 6 + 6 + 4 + 2 + 5
    assert n(ip="198.51.100.0/24") == n(ip="198.51.100.66")
    assert n(ip="2001:db8:77::/48") == 2
    assert n(ip="10.77.0.0/16", event_type="alert") == 6 + 4 + 2 + 3 + 5
    assert n(port=22, ip="10.77.1.10") == 4
    assert n(sid=2027758) == 3
    assert n(signature="cobalt strike") == 3
    assert n(community_id="1:A3=") == 2
    assert n(http_host="portal.city.example") == 6
    ev = search.event_search(db_session, a, signature="SQL Injection", limit=2)
    assert ev["has_more"] and len(ev["items"]) == 2 and ev["items"][0]["summary"].startswith("ET WEB_SERVER")
    flow = search.event_search(db_session, a, http_host="portal.city.example", limit=1)["items"][0]["flow_id"]
    assert n(flow_id=flow) == 2  # the alert and its http event
    assert n(sensor="tpot", proto="tcp", since="2023-08-20T10:00:00Z", until="2023-08-20T10:30:00Z") >= 12
    real_dns = search.event_search(db_session, a, event_type="dns", limit=1)["items"]
    if real_dns:
        assert n(rrname=real_dns[0]["summary"]) >= 1
    for bad in ({"ip": "10.0.0.0/99"}, {"ip": "not-an-ip"}, {"port": "70000"}, {}, {"since": "yesterday"}):
        with pytest.raises(ValidationFailed):
            search.event_search(db_session, a, **bad)
    with pytest.raises(NotFound):
        search.event_search(db_session, a, sensor="nope")
    with pytest.raises(NotAuthorized):
        search.event_search(db_session, world["p"]["dept1"], ip="10.77.1.10")
