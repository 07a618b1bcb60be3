"""The strike/governance API: every response validated against the OpenAPI document; bad input is a 4xx
problem and changes nothing."""

from tests.factories import make_org, make_user
from tests.secmon.test_strike_campaigns import planted_file


def test_api_end_to_end_and_bad_input(client, auth, db_session, suricata_data, tmp_path):
    org = make_org(db_session, "SZ-API")
    analyst, admin = make_user(db_session, "security_analyst"), make_user(db_session, "commission_admin")
    dept = make_user(db_session, "department_submitter", org=org)
    ha, hadm, hd = auth.headers(analyst), auth.headers(admin), auth.headers(dept)
    r = client.post("/api/v1/secmon/assets/systems", headers=ha,
                    json={"name": "portal-web", "org": "SZ-API", "mlps_level": 3, "criticality": "high"})
    assert r.status_code == 201, r.get_json()
    assert client.post("/api/v1/secmon/assets/systems", headers=ha, json={"name": "x", "org": "nope", "mlps_level": 9,
                                                                          "criticality": "?"}).status_code == 422
    assert client.post("/api/v1/secmon/assets/networks", headers=ha,
                       json={"system": "portal-web", "cidr": "10.77.1.10/32"}).status_code == 201
    assert client.post("/api/v1/secmon/assets/networks", headers=ha,
                       json={"system": "portal-web", "cidr": "10.77.1.10"}).status_code == 409
    assert client.post("/api/v1/secmon/assets/networks", headers=ha,
                       json={"system": "portal-web", "cidr": "10.77.1.0/33"}).status_code == 422
    csv = "system,org,mlps_level,criticality,cidr\ndc,SZ-API,2,low,10.77.0.0/16\nbad,SZ-API,2,low,nonsense\n"
    bad = client.post("/api/v1/secmon/assets/import?format=csv", headers=ha | {"Content-Type": "text/csv"}, data=csv)
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["row"] == 2
    assert len(client.get("/api/v1/secmon/assets", headers=ha).get_json()["items"]) == 1
    ok = client.post("/api/v1/secmon/assets/import?format=csv", headers=ha | {"Content-Type": "text/csv"},
                     data=csv.rsplit("bad", 1)[0])
    assert ok.status_code == 200 and ok.get_json()["networks_added"] == 1
    assert client.get("/api/v1/secmon/assets/resolve?ip=10.77.1.10", headers=hd).get_json()["asset"]["system"] == "portal-web"
    assert client.get("/api/v1/secmon/assets/resolve?ip=nope", headers=ha).status_code == 422
    assert client.get("/api/v1/secmon/assets/shadow-it", headers=ha).status_code == 200
    assert client.get("/api/v1/secmon/assets/shadow-it", headers=hd).status_code == 403  # city-wide: analysts only
    lines, _ = planted_file(suricata_data, tmp_path)
    eve = tmp_path / "eve.json"
    eve.write_text("\n".join(lines) + "\n")
    from kernel import system_principal
    from secmon import services

    services.eve_ingest(db_session, system_principal("t"), [eve], sensor="tpot")
    c = client.post("/api/v1/secmon/incidents/correlate", headers=ha)
    assert c.status_code == 200 and c.get_json()["incidents_created"] >= 3
    items = client.get("/api/v1/secmon/incidents?state=new", headers=ha).get_json()["items"]
    iid = next(i["id"] for i in items if i["alert_count"] == 6)
    assert client.get(f"/api/v1/secmon/incidents/{iid}", headers=ha).get_json()["evidence_total"] == 12
    assert client.get("/api/v1/secmon/incidents/nope", headers=ha).status_code == 404
    assert client.get("/api/v1/secmon/incidents?severity=huge", headers=ha).status_code == 422
    assert client.post(f"/api/v1/secmon/incidents/{iid}/transition", headers=ha, json={"state": "closed"}).status_code == 409
    assert client.post(f"/api/v1/secmon/incidents/{iid}/transition", headers=ha, json={"state": "triaged"}).status_code == 200
    assert client.post(f"/api/v1/secmon/incidents/{iid}/transition", headers=hd, json={"state": "contained"}).status_code == 403
    assert client.post(f"/api/v1/secmon/incidents/{iid}/assign", headers=ha, json={"assignee": "me"}).status_code == 200
    assert client.post(f"/api/v1/secmon/incidents/{iid}/comments", headers=ha, json={"body": "x"}).status_code == 201
    assert client.post(f"/api/v1/secmon/incidents/{iid}/comments", headers=ha, json={"body": ""}).status_code == 422
    rules = client.post("/api/v1/secmon/incidents/rules/check", headers=ha | {"Content-Type": "application/yaml"},
                        data="rules: []\nseverity: {}\nsla: {}\n")
    assert rules.status_code == 422
    assert client.get("/api/v1/secmon/search?ip=10.77.1.10&limit=5", headers=ha).get_json()["has_more"]
    assert client.get("/api/v1/secmon/search", headers=ha).status_code == 422
    assert client.get("/api/v1/secmon/search?ip=10.0.0.0/99", headers=ha).status_code == 422
    assert client.get("/api/v1/secmon/notifications", headers=ha).status_code == 200
    # responses: two people
    p = client.post("/api/v1/secmon/responses", headers=ha, json={
        "title": "block", "incident_id": iid, "blocks": [{"cidr": "198.51.100.66", "ttl_hours": 24}],
        "rule_changes": [{"action": "disable", "selector": "1:2210048"}]})
    assert p.status_code == 201, p.get_json()
    rid = p.get_json()["id"]
    assert client.post("/api/v1/secmon/responses", headers=ha, json={
        "title": "bad", "blocks": [{"cidr": "1.2.3.4", "expires_at": "2020-01-01T00:00:00Z"}]}).status_code == 422
    own = client.post("/api/v1/secmon/responses", headers=hadm, json={
        "title": "mine", "blocks": [{"cidr": "192.0.2.1", "ttl_hours": 1}]}).get_json()["id"]
    assert client.post(f"/api/v1/secmon/responses/{own}/approve", headers=hadm).status_code == 403
    assert client.post(f"/api/v1/secmon/responses/{rid}/approve", headers=ha).status_code == 403
    assert client.post("/api/v1/secmon/responses/nope/approve", headers=hadm).status_code == 404
    assert client.post(f"/api/v1/secmon/responses/{rid}/approve", headers=hadm, json={"note": "ok"}).status_code == 200
    assert client.post(f"/api/v1/secmon/responses/{rid}/reject", headers=hadm).status_code == 409
    assert client.post(f"/api/v1/secmon/responses/{own}/withdraw", headers=hadm).status_code == 200
    assert client.get(f"/api/v1/secmon/responses/{rid}", headers=ha).get_json()["state"] == "approved"
    assert len(client.get("/api/v1/secmon/responses", headers=ha).get_json()["items"]) == 2
    text = client.get("/api/v1/secmon/blocklist", headers=ha)
    assert text.status_code == 200 and "198.51.100.66/32" in text.get_data(as_text=True)
    iprep = client.get("/api/v1/secmon/blocklist?format=iprep", headers=ha).get_json()["files"]
    assert "198.51.100.66/32,1,100" in iprep["reputation.list"]
    assert client.get("/api/v1/secmon/blocklist?format=pdf", headers=ha).status_code == 422
    # remediation: department scope
    t = client.post("/api/v1/secmon/remediation", headers=ha, json={"incident_id": iid, "quiet_days": 2})
    assert t.status_code == 201, t.get_json()
    tid = t.get_json()["id"]
    assert client.post("/api/v1/secmon/remediation", headers=ha, json={"incident_id": "nope"}).status_code == 404
    other = make_user(db_session, "department_submitter", org=make_org(db_session, "SZ-OTHER"))
    assert client.get(f"/api/v1/secmon/remediation/{tid}", headers=auth.headers(other)).status_code == 403
    assert client.get("/api/v1/secmon/remediation", headers=auth.headers(other)).get_json()["items"] == []
    assert client.post(f"/api/v1/secmon/remediation/{tid}/fix", headers=hd, json={"evidence": "done"}).status_code == 200
    assert client.get(f"/api/v1/secmon/remediation/{tid}", headers=hd).get_json()["state"] == "fixed"
    assert client.post("/api/v1/secmon/remediation/verify", headers=ha).status_code == 200
    assert client.post("/api/v1/secmon/remediation/escalate", headers=ha).status_code == 200
    assert client.post("/api/v1/secmon/remediation/verify", headers=hd).status_code == 403
