import json

from kernel import system_principal
from secmon import services

LINE = b'{"timestamp":"2023-08-18T05:38:42.437967+0000","event_type":"alert","src_ip":"1.2.3.4","dest_ip":"10.0.0.1",' \
       b'"alert":{"signature":"ET TEST","gid":1,"signature_id":2000001,"rev":1,"severity":2,"category":"x"}}\n'


def test_eve_push_with_sensor_token(client, db_session, auth):
    reg = services.sensor_register(db_session, system_principal("t"), "edge-1")
    other = services.sensor_register(db_session, system_principal("t"), "edge-2")
    body = LINE + b"garbage\n" + LINE
    r = client.post("/api/v1/secmon/eve?sensor=edge-1", data=body, content_type="application/x-ndjson",
                    headers={"X-Sensor-Token": reg["token"]})
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json()["events"] == 2 and r.get_json()["quarantined"] == 1
    again = client.post("/api/v1/secmon/eve?sensor=edge-1", data=body, content_type="application/x-ndjson",
                        headers={"X-Sensor-Token": reg["token"]})
    assert again.get_json()["duplicates_skipped"] == 3
    wrong = client.post("/api/v1/secmon/eve?sensor=edge-1", data=body, content_type="application/x-ndjson",
                        headers={"X-Sensor-Token": other["token"]})
    assert wrong.status_code == 401
    assert client.post("/api/v1/secmon/eve?sensor=edge-1", data=body,
                       content_type="application/x-ndjson").status_code == 401
    bad_type = client.post("/api/v1/secmon/eve?sensor=edge-1", data=body, content_type="image/png",
                           headers={"X-Sensor-Token": reg["token"]})
    assert bad_type.status_code == 415

    analyst = auth.user("security_analyst")
    h = auth.headers(analyst)
    top = client.get("/api/v1/secmon/alerts/top?by=src_ip", headers=h)
    assert top.status_code == 200 and top.get_json()["items"] == [{"value": "1.2.3.4", "count": 2}]
    tl = client.get("/api/v1/secmon/alerts/timeline?bucket=day", headers=h).get_json()["items"]
    assert tl == [{"bucket": "2023-08-18T00:00:00Z", "severity": 2, "count": 2}]
    assert client.get("/api/v1/secmon/alerts/timeline?since=2023-08-19T00:00:00Z", headers=h).get_json()["items"] == []
    win = client.get("/api/v1/secmon/alerts/top?since=2023-08-18T05:00:00Z&until=2023-08-18T06:00:00", headers=h)
    assert win.get_json()["items"][0]["count"] == 2
    assert client.get("/api/v1/secmon/alerts/top?since=yesterday", headers=h).status_code == 422
    # no rule-set version built for any sensor: the view says so instead of using "the last import"
    assert client.get("/api/v1/secmon/alerts/unknown-sids", headers=h).status_code == 404
    assert client.get("/api/v1/secmon/sensors/health", headers=h).status_code == 200
    assert client.get("/api/v1/secmon/quarantine", headers=h).get_json()["items"][0]["line"] == 2
    assert client.get("/api/v1/secmon/coverage", headers=h).status_code == 404
    assert client.get("/api/v1/secmon/alerts/top?by=nope", headers=h).status_code == 422
    assert client.get("/api/v1/secmon/rulesets", headers=h).status_code == 200
    vendor = auth.user("vendor")
    assert client.get("/api/v1/secmon/alerts/top", headers=auth.headers(vendor)).status_code == 403


def test_lint_endpoint(client, auth):
    h = auth.headers(auth.user("security_analyst"))
    r = client.post("/api/v1/secmon/rules/lint", headers=h, json={
        "rules": 'alert tcp any any -> any any (msg:"x"; sid:1;)\nnot a rule\n', "filename": "t.rules"})
    assert r.status_code == 200, r.get_data(as_text=True)
    checks = {f["check"] for f in r.get_json()["findings"]}
    assert checks == {"missing-rev", "parse-error"}
    assert client.post("/api/v1/secmon/rules/lint", headers=h, json={"nope": 1}).status_code == 422
