"""Demo flow of defence and monitoring: the SOC imports the city's rule set (audited version), a
sensor's EVE log — alerts, DNS, flows, stats and one corrupted line — is ingested twice (the second time
changes nothing), and the monitoring views answer what analysts ask first."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from portal.demo import DemoContext

ORDER = 40

RULES = """\
# 市政务外网 自定义规则 (citygov demo)
alert http $EXTERNAL_NET any -> $HOME_NET any (msg:"CITY WEB 政务网站 SQL 注入尝试 union select"; flow:established,to_server; http.uri; content:"union"; nocase; content:"select"; nocase; distance:0; classtype:web-application-attack; sid:9100001; rev:2;)
alert dns $HOME_NET any -> any any (msg:"CITY DNS 查询已知挖矿域名"; dns.query; content:"pool.minexmr"; nocase; classtype:trojan-activity; sid:9100002; rev:1;)
alert tcp $EXTERNAL_NET any -> $HOME_NET 3389 (msg:"CITY RDP 暴力破解"; flow:to_server; flags:S; \\
    threshold:type both, track by_src, count 20, seconds 60; classtype:attempted-admin; sid:9100003; rev:1;)
# alert tcp any any -> any 23 (msg:"CITY TELNET 明文登录 (停用)"; sid:9100004; rev:1;)
drop tcp $EXTERNAL_NET any -> $HOME_NET 445 (msg:"CITY SMB 外部访问阻断"; flow:to_server; classtype:policy-violation; sid:9100005; rev:3;)
"""

CLASSIFICATION = """\
config classification: web-application-attack,Web Application Attack,1
config classification: trojan-activity,A Network Trojan was detected,1
config classification: attempted-admin,Attempted Administrator Privilege Gain,1
config classification: policy-violation,Potential Corporate Privacy Violation,1
"""


def _eve_lines(start: datetime) -> list[str]:
    lines = []
    signatures = [(9100001, "CITY WEB 政务网站 SQL 注入尝试 union select", 1, "203.0.113.7", 80),
                  (9100003, "CITY RDP 暴力破解", 1, "198.51.100.23", 3389),
                  (9100002, "CITY DNS 查询已知挖矿域名", 1, "10.20.3.44", 53),
                  (2999999, "ET POLICY sid not in any imported rule set", 3, "192.0.2.9", 443)]
    for i in range(120):
        sid, msg, sev, src, port = signatures[i % 7 % 4]
        ts = (start + timedelta(seconds=37 * i)).strftime("%Y-%m-%dT%H:%M:%S.%f+0800")
        lines.append(json.dumps({"timestamp": ts, "flow_id": 1000 + i, "in_iface": "eth0", "event_type": "alert",
                                 "src_ip": src, "src_port": 40000 + i, "dest_ip": "10.1.2.3", "dest_port": port,
                                 "proto": "TCP", "alert": {"action": "allowed", "gid": 1, "signature_id": sid, "rev": 1,
                                                           "signature": msg, "category": "demo", "severity": sev}},
                                ensure_ascii=False))
        if i % 10 == 0:
            lines.append(json.dumps({"timestamp": ts, "flow_id": 5000 + i, "event_type": "dns", "src_ip": "10.20.3.44",
                                     "src_port": 53000 + i, "dest_ip": "10.0.0.53", "dest_port": 53, "proto": "UDP",
                                     "dns": {"type": "query", "id": i, "rrname": "gov.example.cn", "rrtype": "A"}}))
    lines.append('{"timestamp": "2026-11-24T08:00:00+0800", "event_type": "alert", "src_ip": ')  # torn write
    lines.append(json.dumps({"timestamp": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%f+0800"),
                             "event_type": "stats", "stats": {"uptime": 3600,
                                                              "capture": {"kernel_packets": 1_250_000, "kernel_drops": 312},
                                                              "decoder": {"invalid": 17}}}))
    return lines


def run(ctx: DemoContext) -> dict:
    from secmon import services as secmon

    analyst = ctx.users.get("soc.analyst", ctx.system)
    folder = ctx.instance / "demo-data" / "secmon"
    (folder / "rules").mkdir(parents=True, exist_ok=True)
    (folder / "rules" / "city-gov.rules").write_text(RULES, encoding="utf-8")
    (folder / "rules" / "classification.config").write_text(CLASSIFICATION, encoding="utf-8")
    eve_path = folder / "eve.json"
    if not eve_path.exists():
        start = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
        eve_path.write_text("\n".join(_eve_lines(start)) + "\n", encoding="utf-8")

    first = secmon.eve_ingest(ctx.session, analyst, [eve_path], sensor="futian-dc-01")
    again = secmon.eve_ingest(ctx.session, analyst, [eve_path], sensor="futian-dc-01")
    # the version built for (deployed on) the sensor: the default of coverage and unknown-sid views
    version = secmon.ruleset_import(ctx.session, analyst, [folder / "rules"], name="city-gov",
                                    sensor="futian-dc-01")
    pushed = _async_push(ctx, secmon)
    top = secmon.top_alerts(ctx.session, analyst, by="signature", limit=1)
    coverage = secmon.rule_coverage(ctx.session, analyst)
    unknown = secmon.alerts_unknown_sid(ctx.session, analyst)
    return {"ruleset": version["content_hash"][:12], "rules": version["stats"].get("rules"),
            "rule_errors": len(version["errors"]), "events": first.events,
            "quarantined": first.quarantined, "reingest_duplicates": again.duplicates_skipped,
            "reingest_new": again.events, "top_signature": top[0]["value"] if top else None,
            "coverage": coverage["coverage"], "alerts_with_unknown_sid": len(unknown)} | pushed | strike(ctx, folder)


def _async_push(ctx: DemoContext, secmon) -> dict:
    """A second sensor pushes its log as sensors in production do (``Prefer: respond-async``): stored, then
    ingested by the background worker — here drained at once. Its state shows on the monitoring page."""
    import io

    from secmon import push_queue

    name = "nanshan-edge-01"
    reg = secmon.sensor_register(ctx.session, ctx.system, name)
    sensor = secmon.sensor_principal(ctx.session, name, reg["token"])
    body = "\n".join(_eve_lines(datetime(2026, 11, 25, 2, 0, tzinfo=UTC))) + "\n"
    accepted, _new = push_queue.push_accept(ctx.session, sensor, io.BytesIO(body.encode("utf-8")), sensor=name,
                                            idempotency_key="demo-push-1")
    push_queue.push_drain(ctx.session)
    done = push_queue.push_get(ctx.session, sensor, name, accepted["id"])
    return {"async_push": done["state"], "async_push_events": (done["report"] or {}).get("events")}


# ------------------------------------------------------------------ strike and governance

ASSETS = [  # system, owner org code, MLPS level, criticality, networks
    ("市民政务服务门户", "SZ-PSB", 3, "high", ["10.1.2.0/24", "2001:db8:100::/48"]),
    ("卫健数据共享平台", "SZ-HEALTH", 3, "medium", ["10.20.3.0/24"]),
    ("福田区视频汇聚平台", "SZ-FUTIAN", 2, "medium", ["10.30.0.0/16"]),
]


def strike(ctx: DemoContext, folder) -> dict:
    """Assets for the departments, correlation of the planted campaign (SQL injection from 203.0.113.7 against
    the portal), the incident walked to closure with an approved block-list response and a verified
    remediation task, printing what it did."""
    from sqlalchemy import select

    from kernel import utcnow
    from secmon import assets, incidents, remediation, responses
    from secmon.models import SecmonIncident

    s = ctx.session
    analyst = ctx.users.get("soc.analyst", ctx.system)
    approver = ctx.users.get("admin", ctx.system)
    dept = ctx.users.get("psb.submitter", ctx.system)
    existing = {a["name"] for a in assets.asset_list(s, analyst)}
    project = s.execute(select(__import__("registry.models", fromlist=["Project"]).Project.id)).scalars().first()
    for name, org, level, crit, nets in ASSETS:
        if name in existing:
            continue
        assets.system_create(s, analyst, name=name, org=org, mlps_level=level, criticality=crit,
                             project_id=project if name == ASSETS[0][0] else None)
        for cidr in nets:
            assets.network_add(s, analyst, system=name, cidr=cidr)
    corr = incidents.incidents_correlate(s, analyst)
    inc = s.execute(select(SecmonIncident).where(SecmonIncident.sid == 9100001)).scalars().first()
    out = {"assets": len(ASSETS), "incidents": corr["incidents_created"] or "unchanged"}
    if inc is None:
        return out
    out["incident"] = f"{inc.id[:12]} {inc.severity} {inc.alert_count} alerts"
    if inc.state == "new":
        incidents.incident_assign(s, analyst, inc.id, "soc.analyst")
        incidents.incident_transition(s, analyst, inc.id, "triaged", note="SQL injection against the citizen portal")
        prop = responses.response_propose(s, analyst, title=f"封禁 SQL 注入来源 {inc.src_ip}", incident_id=inc.id,
                                          reason="repeated union-select injection against 10.1.2.3",
                                          blocks=[{"cidr": inc.src_ip, "ttl_hours": 72, "category": "Scanner",
                                                   "reputation": 120}])
        try:  # the two-person rule: the proposer cannot approve
            responses.response_decide(s, analyst, prop["id"], approve=True)
        except Exception as exc:  # noqa: BLE001 - shown in the demo output
            out["self_approval"] = type(exc).__name__
        responses.response_decide(s, approver, prop["id"], approve=True, note="approved by the duty officer")
        incidents.incident_transition(s, analyst, inc.id, "contained", note=f"blocked by response {prop['id']}")
        task = remediation.remediation_create(s, analyst, incident_id=inc.id, quiet_days=1,
                                              title="修复门户查询接口的 SQL 注入")
        remediation.remediation_fix(s, dept, task["id"], evidence="参数化查询已上线 (change CHG-2026-1130), WAF 规则已加")
        # simulated clock: the quiet day after the fix has passed without the signature on the asset
        ver = remediation.remediation_verify(s, ctx.system, now=utcnow() + timedelta(days=1, minutes=1))
        out["remediation"] = "verified" if task["id"] in ver["verified"] else "not verified"
        incidents.incident_transition(s, analyst, inc.id, "resolved", note="fix verified")
        incidents.incident_transition(s, analyst, inc.id, "closed")
    blocklist = responses.blocklist_export(s, analyst, fmt="text")["blocklist.txt"]
    out["blocklist_lines"] = sum(1 for line in blocklist.splitlines() if line and not line.startswith("#"))
    out["incident_state"] = s.get(SecmonIncident, inc.id).state
    return out
