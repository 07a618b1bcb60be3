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

    version = secmon.ruleset_import(ctx.session, analyst, [folder / "rules"], name="city-gov")
    first = secmon.eve_ingest(ctx.session, analyst, [eve_path], sensor="futian-dc-01")
    again = secmon.eve_ingest(ctx.session, analyst, [eve_path], sensor="futian-dc-01")
    top = secmon.top_alerts(ctx.session, analyst, by="signature", limit=1)
    coverage = secmon.rule_coverage(ctx.session, analyst)
    unknown = secmon.alerts_unknown_sid(ctx.session, analyst)
    return {"ruleset": version["content_hash"][:12], "rules": version["stats"].get("rules"),
            "rule_errors": len(version["errors"]), "events": first.events,
            "quarantined": first.quarantined, "reingest_duplicates": again.duplicates_skipped,
            "reingest_new": again.events, "top_signature": top[0]["value"] if top else None,
            "coverage": coverage["coverage"], "alerts_with_unknown_sid": len(unknown)}
