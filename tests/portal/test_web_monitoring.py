"""The analysts' pages: dashboard with charts, alert search by IP (state in the URL), rule-set versions
and their difference."""

from __future__ import annotations

from secmon import services


def _alerts(n: int) -> bytes:
    return b"".join(
        b'{"timestamp":"2026-08-18T05:%02d:00.000001+0000","event_type":"alert","src_ip":"10.1.0.%d",'
        b'"dest_ip":"192.168.9.9","src_port":4444,"dest_port":80,"proto":"TCP","alert":{"action":"allowed",'
        b'"gid":1,"signature_id":%d,"rev":1,"signature":"ET TEST sig %d","category":"Test","severity":2}}\n'
        % (i % 60, i % 3, 2000000 + i % 4, i % 4) for i in range(n))


def test_monitoring_search_and_rule_diff(client, auth, db_session, tmp_path):
    analyst = auth.user("security_analyst", username="soc")
    p = auth.principal(analyst)
    eve = tmp_path / "eve.json"
    eve.write_bytes(_alerts(40))
    services.eve_ingest(db_session, p, [eve], sensor="edge-1")
    (tmp_path / "a.rules").write_text(
        'alert ip any any -> any any (msg:"ET TEST sig 0"; sid:2000000; rev:1;)\n'
        'alert ip any any -> any any (msg:"ET TEST sig 1"; sid:2000001; rev:1;)\n')
    (tmp_path / "b.rules").write_text(
        'alert ip any any -> any any (msg:"ET TEST sig 0"; sid:2000000; rev:1; classtype:trojan-activity;)\n'
        'alert ip any any -> any any (msg:"ET TEST sig 2"; sid:2000002; rev:1;)\n')
    v1 = services.ruleset_import(db_session, p, [tmp_path / "a.rules"], name="a")
    v2 = services.ruleset_import(db_session, p, [tmp_path / "b.rules"], name="b")

    auth.login(client, "soc")
    dash = client.get("/monitoring").get_data(as_text=True)
    assert "<svg" in dash and "ET TEST sig 0" in dash and "edge-1" in dash
    found = client.get("/monitoring/alerts?ip=10.1.0.2").get_data(as_text=True)
    assert "10.1.0.2" in found and "10.1.0.1<" not in found
    assert client.get("/monitoring/alerts?sid=abc").status_code == 400
    assert client.get("/monitoring/alerts?since=yesterday").status_code == 422
    diff = client.get(f"/monitoring/rulesets?old={v1['version_id']}&new={v2['version_id']}").get_data(as_text=True)
    assert "1:2000002" in diff and "1:2000001" in diff
    assert "changed without a rev bump" in diff or "未升级 rev" in diff
    assert client.get("/monitoring/rulesets?old=x&new=y").status_code == 404
    assert client.get("/projects").status_code == 403
