"""CLI, API, scheduler job and demo flow of certification (every API response is checked against the
OpenAPI document by the test client)."""

from __future__ import annotations

import json

from audit import notes
from portal import scheduler
from registry.certify import samples
from tests.certify.conftest import publish_standard
from tests.factories import make_org


def _files(tmp_path, vendor=None, har=None):
    spec = tmp_path / "vendor.json"
    spec.write_text(json.dumps(vendor or samples.vendor_spec()))
    h = tmp_path / "traffic.har"
    h.write_text(json.dumps(har or samples.good_har()))
    return str(spec), str(h)


def test_cli_certify_exit_codes_and_formats(runner, db_session, tmp_path):
    ref = publish_standard(db_session)
    spec, har = _files(tmp_path)
    res = runner.invoke(["certify", "--standard", ref, "--spec", spec, "--har", har, "--format", "json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert report["conformant"] and report["summary"]["entries"] == 6
    assert report["extra_operations"] == ["GET /health"]
    (tmp_path / "bad").mkdir()
    bad_spec, bad_har = _files(tmp_path / "bad", har=samples.bad_har())
    res = runner.invoke(["certify", "--standard", ref, "--spec", bad_spec, "--har", bad_har, "--format", "json"])
    assert res.exit_code == 1
    findings = json.loads(res.output)["findings"]
    by_entry = {(f.get("entry"), f.get("part")) for f in findings if f["check"] == "traffic" and f["level"] == "error"}
    assert {(1, "query"), (2, "body"), (3, "status"), (4, "host"), (5, "path"), (6, "content type"), (7, "har")} <= by_entry
    assert all("operation" in f and "reason" in f for f in findings if f["check"] == "traffic" and f.get("entry") in (1, 2, 3, 6))
    out = tmp_path / "out"
    for fmt in ("junit", "sarif", "html", "text"):
        res = runner.invoke(["certify", "--standard", ref, "--spec", bad_spec, "--har", bad_har, "--format", fmt,
                             "--out", str(out)])
        assert res.exit_code == 1, res.output
    import xml.etree.ElementTree as ET

    suites = ET.parse(out / "certification.xml").getroot()
    cases = [(c.get("classname"), c.get("name")) for c in suites.iter("testcase")]
    assert ("traffic", "GET /datasets/{datasetId}") in cases and ("spec-validity", "document") in cases
    sarif = json.loads((out / "certification.sarif").read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]
    assert "Not conformant" in (out / "certification.html").read_text()
    # input errors: exit 2 with a message
    (tmp_path / "broken.har").write_text('{"log": {"entries": [')
    res = runner.invoke(["certify", "--standard", ref, "--spec", spec, "--har", str(tmp_path / "broken.har")])
    assert res.exit_code == 2 and "not valid JSON" in res.output
    res = runner.invoke(["certify", "--standard", "nope@1.0.0", "--spec", spec])
    assert res.exit_code == 2
    res = runner.invoke(["certify", "--standard", ref, "--spec", spec, "--base-url", "http://example.org/"])
    assert res.exit_code == 2 and "allowlist" in res.output
    remote = samples.vendor_spec()
    remote["components"]["schemas"]["Dataset"] = {"$ref": "https://evil.example/schema.json"}
    (tmp_path / "remote.json").write_text(json.dumps(remote))
    res = runner.invoke(["certify", "--standard", ref, "--spec", str(tmp_path / "remote.json")])
    assert res.exit_code == 2 and "never fetched" in res.output


def test_api_flow_issue_verify_revoke(client, auth, db_session, app, tmp_path):
    ref = publish_standard(db_session)
    vendor = auth.user("vendor", org=make_org(db_session, "V-API", kind="vendor"))
    reviewer = auth.user("commission_reviewer", org=make_org(db_session, "C-API", kind="commission"))
    vh, rh = auth.headers(vendor), auth.headers(reviewer)
    body = {"standard": ref, "spec": json.dumps(samples.vendor_spec()), "spec_filename": "vendor.json",
            "system": "数据平台", "hars": [{"name": "t.har", "content": samples.good_har()}]}
    assert client.post("/api/v1/certifications", json=body).status_code == 401
    res = client.post("/api/v1/certifications", json=body, headers=vh)
    assert res.status_code == 201, res.json
    run = res.json
    assert run["conformant"] and run["vendor"] == "V-API"
    assert client.post("/api/v1/certifications", json={**body, "extra": 1}, headers=vh).status_code == 422
    assert client.post("/api/v1/certifications", json={**body, "hars": [{"content": "{"}]}, headers=vh).status_code == 400
    assert client.post("/api/v1/certifications", json={**body, "base_url": "http://10.0.0.1/"}, headers=vh).status_code == 400
    assert client.get(f"/api/v1/certifications/{run['id']}", headers=vh).status_code == 200
    assert client.get("/api/v1/certifications", headers=vh).json["items"][0]["id"] == run["id"]
    assert client.post(f"/api/v1/certifications/{run['id']}/certificate", json={}, headers=vh).status_code == 403
    res = client.post(f"/api/v1/certifications/{run['id']}/certificate", json={"validity_days": 30}, headers=rh)
    assert res.status_code == 201, res.json
    serial = res.json["serial"]
    pub = client.get(f"/api/v1/certificates/{serial}")
    assert pub.status_code == 200 and pub.json["certificate"]
    ver = client.get(f"/api/v1/certificates/{serial}/verification")
    assert ver.status_code == 200 and ver.json["valid"], ver.json
    keys = client.get("/api/v1/keys").json["keys"]
    assert keys and keys[0]["kty"] == "OKP" and keys[0]["crv"] == "Ed25519"
    verifiers = [notes.Verifier.from_string(k["verifier_key"]) for k in keys]
    from registry.certify.certificates import verify_file

    assert verify_file(pub.json["certificate"], verifiers)["valid"]
    assert client.get("/api/v1/certificates", query_string={"vendor": "V-API"}).json["items"][0]["serial"] == serial
    assert client.get("/api/v1/certificates", query_string={"standard": ref}).json["items"][0]["serial"] == serial
    assert client.get("/api/v1/certificates/NOPE").status_code == 404
    assert client.post(f"/api/v1/certificates/{serial}/revoke", json={"reason": "x"}, headers=vh).status_code == 403
    res = client.post(f"/api/v1/certificates/{serial}/revoke", json={"reason": "withdrawn"}, headers=rh)
    assert res.status_code == 200 and res.json["status"] == "revoked"
    ver = client.get(f"/api/v1/certificates/{serial}/verification")
    assert not ver.json["valid"] and ver.json["checks"]["revocation"] == "failed"


def test_cli_cert_issue_verify_and_job(runner, db_session, app, tmp_path, auth):
    ref = publish_standard(db_session)
    spec, har = _files(tmp_path)
    vendor = auth.user("vendor", org=make_org(db_session, "V-CLI", kind="vendor"))
    from registry.certify import services

    run = services.certification_run(db_session, auth.principal(vendor), standard=ref,
                                     spec=open(spec, "rb").read(), hars=[("t.har", open(har, "rb").read())],
                                     vendor="V-CLI")
    reviewer = auth.user("commission_reviewer", org=make_org(db_session, "C-CLI", kind="commission"))
    res = runner.invoke(["cert", "issue", run.id, "--as", reviewer.username, "--format", "json"])
    assert res.exit_code == 0, res.output
    serial = json.loads(res.output)["serial"]
    cert = services.certificate_get(db_session, serial)
    (tmp_path / "c.json").write_text(cert.document)
    res = runner.invoke(["keys", "public", "--format", "json"])
    assert res.exit_code == 0
    (tmp_path / "keys.json").write_text(res.output)
    res = runner.invoke(["cert", "verify", str(tmp_path / "c.json"), "--public-key", str(tmp_path / "keys.json")])
    assert res.exit_code == 0, res.output
    tampered = cert.document.replace('"leaf_index":', '"leaf_index": ')
    (tmp_path / "t.json").write_text(tampered)
    res = runner.invoke(["cert", "verify", str(tmp_path / "t.json"), "--public-key", str(tmp_path / "keys.json")])
    assert res.exit_code == 1
    res = runner.invoke(["cert", "verify", str(tmp_path / "c.json"), "--public-key", str(tmp_path / "nope")])
    assert res.exit_code == 2
    res = runner.invoke(["cert", "list", "--vendor", "V-CLI", "--format", "json"])
    assert [c["serial"] for c in json.loads(res.output)] == [serial]
    res = runner.invoke(["cert", "revoke", serial, "--reason", "test"])
    assert res.exit_code == 0
    res = runner.invoke(["cert", "verify", str(tmp_path / "c.json"), "--public-key", str(tmp_path / "keys.json")])
    assert res.exit_code == 1 and "revoked" in res.output
    scheduler._APP = app
    try:
        assert scheduler.run_job("registry:certificate:expire") == "expired 0, superseded 0"
    finally:
        scheduler._APP = None


def test_demo_flow(app, db_session, tmp_path):
    from kernel.principal import system_principal
    from portal.accounts import services as accounts
    from portal.demo import DemoContext
    from portal.demo_flows import certify as flow
    from tests.factories import make_user

    vorg = make_org(db_session, "V-PENGCHENG-T", kind="vendor")
    corg = make_org(db_session, "SZ-ICT-T", kind="commission")
    users = {"vendor.pengcheng": make_user(db_session, "vendor", org=vorg),
             "reviewer": make_user(db_session, "commission_reviewer", org=corg)}
    with app.app_context():
        ctx = DemoContext(app=app, session=db_session, system=system_principal("demo"), instance=tmp_path,
                          users={k: accounts.principal_for_user(db_session, u) for k, u in users.items()})
        result = flow.run(ctx)
        again = flow.run(ctx)
    assert result["conformant"] and result["verified_offline"] and again["verified_offline"]
