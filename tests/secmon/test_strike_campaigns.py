"""Held-out style check on data we did not generate: attack campaigns planted into the real T-Pot EVE log
(eve.json.7.gz, 688 events, 249 real alerts) must yield exactly the planted incidents — incrementally,
deterministically, with evidence linked by flow_id / community_id and severity from Suricata severity ×
criticality × MLPS."""

import gzip
import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, select, update

from kernel import system_principal
from secmon import assets, incidents, services
from secmon.models import SecmonIncident, SecmonIncidentEvent, SecmonIncidentTransition, SecmonSource
from tests.factories import make_org

SYS = system_principal("test")


def alert(ts: datetime, src: str, dst: str, sid: int, sig: str, sev: int, flow: int, cat: str = "Attempted Attack",
          cid: str | None = None, dport: int = 80) -> str:
    ev = {"timestamp": ts.strftime("%Y-%m-%dT%H:%M:%S.%f+0000"), "flow_id": flow, "in_iface": "eth0",
          "event_type": "alert", "src_ip": src, "src_port": 40000 + flow % 1000, "dest_ip": dst, "dest_port": dport,
          "proto": "TCP", "alert": {"action": "allowed", "gid": 1, "signature_id": sid, "rev": 1, "signature": sig,
                                    "category": cat, "severity": sev}}
    if cid:
        ev["community_id"] = cid
    return json.dumps(ev)


def http(ts: datetime, src: str, dst: str, flow: int, cid: str | None = None) -> str:
    ev = {"timestamp": (ts + timedelta(milliseconds=5)).strftime("%Y-%m-%dT%H:%M:%S.%f+0000"), "flow_id": flow,
          "event_type": "http", "src_ip": src, "src_port": 40000 + flow % 1000, "dest_ip": dst, "dest_port": 80,
          "proto": "TCP", "http": {"hostname": "portal.city.example", "url": "/q?id=1%27%20or%201=1", "http_method": "GET",
                                   "status": 500}}
    if cid:
        ev["community_id"] = cid
    return json.dumps(ev)


def campaigns() -> tuple[list[str], dict]:
    """The planted lines and what must come out of them."""
    t = datetime(2023, 8, 20, 10, 0)
    lines: list[str] = []
    flow = 910000000
    # A: SQL injection against the portal web host (a /32 inside the data centre's /16) — critical
    for i in range(6):
        flow += 1
        ts = t + timedelta(minutes=5 * i)
        lines += [alert(ts, "198.51.100.66", "10.77.1.10", 2024897, "ET WEB_SERVER Possible SQL Injection", 1, flow,
                        cid=f"1:A{i}="), http(ts, "198.51.100.66", "10.77.1.10", flow, cid=f"1:A{i}=")]
    # B: same attacker and target, another signature — a second incident (high)
    for i in range(4):
        flow += 1
        lines.append(alert(t + timedelta(hours=2, minutes=i), "198.51.100.66", "10.77.1.10", 2001219,
                           "ET SCAN Potential SSH Scan", 2, flow, dport=22))
    # C: A's signature again after a gap longer than the rule's max gap (1 h) — a third incident
    for i in range(2):
        flow += 1
        lines.append(alert(t + timedelta(hours=8, minutes=i), "198.51.100.66", "10.77.1.10", 2024897,
                           "ET WEB_SERVER Possible SQL Injection", 1, flow))
    # D: an internal host beaconing out: the target is the source asset (medium)
    for i in range(3):
        flow += 1
        lines.append(alert(t + timedelta(hours=3, minutes=10 * i), "10.77.2.20", "203.0.113.50", 2027758,
                           "ET MALWARE Cobalt Strike Beacon", 1, flow, cat="A Network Trojan was detected"))
    # E: IPv6 asset attacked (critical)
    for i in range(2):
        flow += 1
        lines.append(alert(t + timedelta(hours=4, minutes=i), "2001:db8:dead::1", "2001:db8:77::5", 2100498,
                           "GPL ATTACK_RESPONSE id check returned root", 2, flow))
    # noise against an asset: stream / decoder events are no intrusion
    for i in range(5):
        flow += 1
        lines.append(alert(t + timedelta(hours=5, minutes=i), "198.51.100.66", "10.77.1.10", 2210048,
                           "SURICATA STREAM reassembly sequence GAP -- missing packet(s)", 3, flow,
                           cat="Generic Protocol Command Decode"))
    expected = {  # (signature, target system) -> (alerts, severity)
        ("ET WEB_SERVER Possible SQL Injection", "portal-web", 6): "critical",
        ("ET SCAN Potential SSH Scan", "portal-web", 4): "high",
        ("ET WEB_SERVER Possible SQL Injection", "portal-web", 2): "critical",
        ("ET MALWARE Cobalt Strike Beacon", "health-db", 3): "medium",
        ("GPL ATTACK_RESPONSE id check returned root", "v6-service", 2): "critical",
    }
    return lines, expected


def seed_assets(session):
    org1, org2 = make_org(session, "SZ-ICT-T"), make_org(session, "SZ-HEALTH-T")
    assets.system_create(session, SYS, name="city-dc", org=org1.code, mlps_level=2, criticality="low")
    assets.network_add(session, SYS, system="city-dc", cidr="10.77.0.0/16")
    assets.system_create(session, SYS, name="portal-web", org=org1.code, mlps_level=3, criticality="high")
    assets.network_add(session, SYS, system="portal-web", cidr="10.77.1.10/32", hostname="portal")
    assets.system_create(session, SYS, name="health-db", org=org2.code, mlps_level=2, criticality="medium")
    assets.network_add(session, SYS, system="health-db", cidr="10.77.2.0/24")
    assets.system_create(session, SYS, name="v6-service", org=org2.code, mlps_level=4, criticality="critical")
    assets.network_add(session, SYS, system="v6-service", cidr="2001:db8:77::/48")
    return org1, org2


def planted_file(suricata_data, tmp_path, part=None):
    real = gzip.decompress((suricata_data / "eve" / "tpot-honeypot-2023" / "eve.json.7.gz").read_bytes())
    real_lines = real.decode().splitlines()
    planted, expected = campaigns()
    out = list(real_lines)
    step = len(out) // (len(planted) + 1)
    for k, line in enumerate(planted):  # interleave the campaign into the real log
        out.insert((k + 1) * step + k, line)
    return out, expected


def summary(session):
    names = {s["id"]: s["name"] for s in assets.asset_list(session, SYS)}
    return {(i.signature, names.get(i.system_id), i.alert_count): i.severity
            for i in session.execute(select(SecmonIncident)).scalars()}


def test_planted_campaigns_give_exactly_those_incidents(db_session, suricata_data, tmp_path):
    seed_assets(db_session)
    lines, expected = planted_file(suricata_data, tmp_path)
    half = len(lines) // 2
    p = tmp_path / "eve.json"
    # incremental: the first half, correlate; the file grows; correlate again
    p.write_text("\n".join(lines[:half]) + "\n")
    services.eve_ingest(db_session, SYS, [p], sensor="tpot")
    incidents.incidents_correlate(db_session, SYS)
    with open(p, "a") as fh:
        fh.write("\n".join(lines[half:]) + "\n")
    rep = services.eve_ingest(db_session, SYS, [p], sensor="tpot")
    assert rep.duplicates_skipped == half
    incidents.incidents_correlate(db_session, SYS)
    assert summary(db_session) == expected
    ids = {i.id: i.alert_count for i in db_session.execute(select(SecmonIncident)).scalars()}
    # re-running changes nothing; re-ingesting changes nothing
    again = incidents.incidents_correlate(db_session, SYS)
    assert again["incidents_created"] == 0 and again["alerts_linked"] == 0
    assert services.eve_ingest(db_session, SYS, [p], sensor="tpot").events == 0
    # a rebuild from scratch gives the same ids (deterministic); the sources' correlation watermarks go with the
    # incidents (they say which alerts are settled)
    for t in (SecmonIncidentEvent, SecmonIncidentTransition, SecmonIncident):
        db_session.execute(delete(t))
    db_session.execute(update(SecmonSource).values(correlated_through=-1, correlated_config=None))
    db_session.commit()
    incidents.incidents_correlate(db_session, SYS)
    assert {i.id: i.alert_count for i in db_session.execute(select(SecmonIncident)).scalars()} == ids
    # evidence: the SQL injection incident links its http events by flow_id (and community_id)
    big = next(i for i in db_session.execute(select(SecmonIncident)).scalars() if i.alert_count == 6)
    d = incidents.incident_get(db_session, SYS, big.id)
    links = [e["link"] for e in d["evidence"]]
    assert links.count("alert") == 6 and links.count("flow_id") == 6
    assert all(e["event_type"] == "http" for e in d["evidence"] if e["link"] != "alert")
    assert d["org_id"] and d["mlps_level"] == 3 and d["criticality"] == "high"


def test_correlation_rules_are_validated_data(tmp_path):
    from kernel import ValidationFailed
    from secmon.correlation import load_config

    cfg = load_config()
    assert cfg.rules[0].id == "attack-on-asset"
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - id: X!\n    group_by: [nonsense]\n    window_seconds: -1\n    max_gap_seconds: 5\n"
                   "severity: {}\nsla: {}\n")
    with pytest.raises(ValidationFailed) as e:
        load_config(bad)
    fields = {x["field"] for x in e.value.errors}
    assert "/rules/0/id" in fields and "/rules/0/group_by/0" in fields and "/rules/0/window_seconds" in fields
    (tmp_path / "junk.yaml").write_text("rules: [unclosed\n")
    with pytest.raises(ValidationFailed):
        load_config(tmp_path / "junk.yaml")


def test_assets_bad_input_changes_nothing_and_longest_prefix(db_session):
    from kernel import Conflict, NotFound, ValidationFailed

    seed_assets(db_session)
    before = assets.asset_list(db_session, SYS)
    with pytest.raises(ValidationFailed):
        assets.network_add(db_session, SYS, system="city-dc", cidr="10.77.1.0/33")
    with pytest.raises(ValidationFailed):
        assets.network_add(db_session, SYS, system="city-dc", cidr="10.77.1.1/24")  # host bits set
    with pytest.raises(Conflict):
        assets.network_add(db_session, SYS, system="health-db", cidr="10.77.0.0/16")  # the same network again
    with pytest.raises(NotFound):
        assets.network_add(db_session, SYS, system="nope", cidr="10.99.0.0/16")
    with pytest.raises(ValidationFailed):
        assets.system_create(db_session, SYS, name="x", org="no-such-org", mlps_level=5, criticality="huge")
    assert assets.asset_list(db_session, SYS) == before
    r = assets.asset_resolve(db_session, SYS, "10.77.1.10")["asset"]
    assert r["system"] == "portal-web" and r["cidr"] == "10.77.1.10/32"
    assert assets.asset_resolve(db_session, SYS, "10.77.1.11")["asset"]["system"] == "city-dc"
    assert assets.asset_resolve(db_session, SYS, "2001:db8:77:1::9")["asset"]["system"] == "v6-service"
    assert assets.asset_resolve(db_session, SYS, "2001:db8:78::1")["asset"] is None
    assert assets.asset_resolve(db_session, SYS, "::ffff:10.77.2.3")["asset"]["system"] == "health-db"
    with pytest.raises(ValidationFailed):
        assets.asset_resolve(db_session, SYS, "10.0.0.999")


def test_asset_import_all_or_nothing_csv_json_xlsx(db_session):
    import io

    from openpyxl import Workbook

    from kernel import ValidationFailed

    make_org(db_session, "SZ-T1")
    good = ("system,org,mlps_level,criticality,project_id,cidr,hostname,description\n"
            "gis,SZ-T1,3,high,,10.50.0.0/16,,\n"
            "gis,SZ-T1,3,high,,10.50.1.5,gis-db,database\n"
            "wifi,SZ-T1,2,low,,2001:db8:50::/48,,\n").encode()
    bad = ("system,org,mlps_level,criticality,project_id,cidr,hostname,description\n"
           "ok,SZ-T1,3,high,,10.60.0.0/16,,\n"
           "bad1,SZ-T1,7,high,,10.61.0.0/16,,\n"
           "bad2,SZ-NOPE,3,high,,10.62.0.0/16,,\n"
           "bad3,SZ-T1,3,high,,10.63.0.1/16,,\n"
           "ok,SZ-T1,3,high,,10.60.0.0/16,,\n"
           "ok,SZ-T1,2,high,,10.64.0.0/16,,\n").encode()
    with pytest.raises(ValidationFailed) as e:
        assets.assets_import(db_session, SYS, bad, fmt="csv")
    rows = sorted((x["row"], x["field"]) for x in e.value.errors)
    assert rows == [(2, "mlps_level"), (3, "org"), (4, "cidr"), (5, "cidr"), (6, "system")]
    assert assets.asset_list(db_session, SYS) == []  # nothing half-imported
    assert assets.assets_import(db_session, SYS, good, fmt="csv") == {"rows": 3, "systems_created": 2,
                                                                       "networks_added": 3}
    js = json.dumps([{"system": "cams", "org": "SZ-T1", "mlps_level": 2, "criticality": "medium",
                      "cidr": "10.70.0.0/24"}]).encode()
    assert assets.assets_import(db_session, SYS, js, fmt="json")["networks_added"] == 1
    wb = Workbook()
    ws = wb.active
    ws.append(["system", "org", "mlps_level", "criticality", "cidr"])
    ws.append(["traffic", "SZ-T1", 3, "critical", "10.80.0.0/24"])
    buf = io.BytesIO()
    wb.save(buf)
    assert assets.assets_import(db_session, SYS, buf.getvalue(), fmt="xlsx")["systems_created"] == 1
    with pytest.raises(ValidationFailed):
        assets.assets_import(db_session, SYS, b"PK\x03\x04 not really", fmt="xlsx")
    with pytest.raises(ValidationFailed):  # overlaps what is already there
        assets.assets_import(db_session, SYS, good, fmt="csv")
    assert {s["name"] for s in assets.asset_list(db_session, SYS)} == {"gis", "wifi", "cams", "traffic"}


def test_shadow_it_lists_uncovered_internal_addresses(db_session, suricata_data, tmp_path):
    seed_assets(db_session)
    p = tmp_path / "e.json"
    p.write_text("\n".join([alert(datetime(2023, 1, 1, 0, i), "10.77.9.9", "192.168.5.5", 1, "x", 2, i)
                            for i in range(3)] + [alert(datetime(2023, 1, 1, 1, 0), "8.8.8.8", "192.168.5.6", 1, "x", 2, 9)])
                 + "\n")
    services.eve_ingest(db_session, SYS, [p], sensor="s")
    rows = assets.shadow_it(db_session, SYS)
    assert rows == [{"address": "192.168.5.5", "events": 3}, {"address": "192.168.5.6", "events": 1}]
    assert {"address": "8.8.8.8", "events": 1} in assets.shadow_it(db_session, SYS, internal_only=False)


def test_a_pass_reads_only_unsettled_alerts_and_a_held_alert_completes_its_group_later(db_session):
    """Each source's watermark moves past the alerts a pass settled (no rule matches them, or they are linked):
    the next pass does not read them again. A matched alert whose group is still short of the rule's
    ``min_alerts`` holds the watermark and joins the group once a later push completes it. A changed
    configuration reads everything again."""
    import io

    from secmon.correlation import default_path, load_config

    doc = yaml_rules()
    doc["rules"] = [{"id": "pair", "title": "{signature}", "match": {"sids": [9000001]},
                     "group_by": ["src_ip", "signature"], "window_seconds": 86400, "max_gap_seconds": 3600,
                     "min_alerts": 2}]
    cfg = load_config(doc)
    t0 = datetime(2026, 11, 30, 10, 0, 0)

    def push(lines: list[str], name: str) -> None:
        body = ("\n".join(lines) + "\n").encode()
        services.eve_ingest_stream(db_session, SYS, io.BytesIO(body), sensor="push-sensor", name=name)

    noise = [alert(t0 + timedelta(seconds=i), "198.51.100.9", "10.1.1.1", 2000000 + i, f"NOISE {i}", 3, 100 + i)
             for i in range(20)]
    push(noise + [alert(t0 + timedelta(seconds=30), "203.0.113.7", "10.1.1.2", 9000001, "PAIR", 1, 1)], "one")
    first = incidents.incidents_correlate(db_session, SYS, config=cfg)
    assert first["alerts_scanned"] == 21 and first["alerts_matched"] == 1 and first["incidents_created"] == 0
    again = incidents.incidents_correlate(db_session, SYS, config=cfg)
    assert again["alerts_scanned"] == 1  # the noise is settled; the held alert is read again
    push([alert(t0 + timedelta(seconds=90), "203.0.113.7", "10.1.1.2", 9000001, "PAIR", 1, 2)], "two")
    second = incidents.incidents_correlate(db_session, SYS, config=cfg)
    assert second["alerts_scanned"] == 2 and second["incidents_created"] == 1
    (inc,) = db_session.execute(select(SecmonIncident).where(SecmonIncident.rule_id == "pair")).scalars()
    assert inc.alert_count == 2
    assert incidents.incidents_correlate(db_session, SYS, config=cfg)["alerts_scanned"] == 0
    # another configuration (the packaged one) reads every unlinked alert again
    other = incidents.incidents_correlate(db_session, SYS, config=load_config(default_path()))
    assert other["alerts_scanned"] == 20


def yaml_rules() -> dict:
    import yaml

    from secmon.correlation import default_path

    return yaml.safe_load(default_path().read_text(encoding="utf-8"))
