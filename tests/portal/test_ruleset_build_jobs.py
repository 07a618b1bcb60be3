"""Rule-set builds run as background jobs when started from the web page or the API: uploaded files are built
into a stored version as the user who queued them; bad uploads are refused before anything is queued."""

from __future__ import annotations

import io

from tests.factories import csrf_token

RULES = ('alert tcp any any -> any 80 (msg:"citygov test one"; flow:established; sid:9100001; rev:1;)\n'
         'alert tcp any any -> any 443 (msg:"citygov test two"; sid:9100002; rev:1;)\n')
MORE = RULES + '# alert udp any any -> any 53 (msg:"citygov test three"; sid:9100003; rev:1;)\n'


def _engine(app):
    from portal.db import get_db

    return get_db(app).sessionmaker


def test_build_from_the_page_runs_as_a_job_and_links_the_difference(app, client, auth, db_session):
    from portal import jobs
    from secmon import services

    analyst = auth.user("security_analyst", username="analyst1")
    auth.login(client, "analyst1")
    page = client.get("/monitoring/rulesets")
    assert page.status_code == 200 and "/monitoring/rulesets/build" in page.get_data(as_text=True)
    resp = client.post("/monitoring/rulesets/build", data={
        "csrf_token": csrf_token(page), "name": "city-et", "disable_conf": "",
        "files": [(io.BytesIO(RULES.encode()), "local.rules")]}, content_type="multipart/form-data")
    assert resp.status_code == 302 and "/jobs/" in resp.headers["Location"]
    first = jobs.run_one(_engine(app))
    job = jobs.job_get(db_session, auth.principal(analyst), first)
    assert job.state == "succeeded", job.error
    assert job.result["unchanged"] is False and "2 rules in the files" in job.result["summary"]
    versions = services.ruleset_versions(db_session, auth.principal(analyst))
    assert [v["id"] for v in versions] == [job.result["version_id"]]

    # a second build of the same name with one more rule and a policy file: the result links the difference
    page = client.get("/monitoring/rulesets")
    client.post("/monitoring/rulesets/build", data={
        "csrf_token": csrf_token(page), "name": "city-et", "enable_conf": "9100003\n",
        "files": [(io.BytesIO(MORE.encode()), "local.rules")]}, content_type="multipart/form-data")
    second = jobs.job_get(db_session, auth.principal(analyst), jobs.run_one(_engine(app)))
    assert second.state == "succeeded", second.error
    diff = second.result["links"][0]["href"]
    assert diff == f"/monitoring/rulesets?old={job.result['version_id']}&new={second.result['version_id']}"
    shown = client.get(diff).get_data(as_text=True)
    assert "1:9100003" in shown or "9100003" in shown


def test_bad_uploads_are_refused_before_queueing_and_other_roles_may_not_build(app, client, auth, db_session):
    from sqlmodel import select

    from portal.jobs.models import Job

    auth.user("security_analyst", username="analyst1")
    vendor = auth.user("vendor", username="vendor1")
    auth.login(client, "analyst1")
    page = client.get("/monitoring/rulesets")
    resp = client.post("/monitoring/rulesets/build", data={
        "csrf_token": csrf_token(page), "name": "",
        "files": [(io.BytesIO(b"\xff\xfe not utf-8"), "bad.rules")]}, content_type="multipart/form-data")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "bad.rules" in body and "UTF-8" in body
    resp = client.post("/monitoring/rulesets/build", data={"csrf_token": csrf_token(page), "name": "x"},
                       content_type="multipart/form-data")
    assert resp.status_code == 422 and 'aria-invalid="true"' in resp.get_data(as_text=True)
    assert db_session.exec(select(Job)).first() is None
    assert client.post("/api/v1/secmon/rulesets/builds", json={"name": "x", "files": {"../x.rules": RULES}},
                       headers=auth.headers(auth.user("security_analyst", username="a2"))).status_code == 422
    assert client.post("/api/v1/secmon/rulesets/builds", json={"name": "x", "files": {"x.rules": RULES}},
                       headers=auth.headers(vendor)).status_code == 403
    assert db_session.exec(select(Job)).first() is None


def test_build_through_the_api_is_a_job_followed_through_the_jobs_api(app, client, auth, db_session):
    from portal import jobs

    analyst = auth.user("security_analyst", username="analyst1")
    headers = auth.headers(analyst)
    resp = client.post("/api/v1/secmon/rulesets/builds", headers=headers,
                       json={"name": "api-set", "files": {"local.rules": RULES},
                             "policy": {"disable.conf": "9100002\n"}})
    assert resp.status_code == 202 and resp.json["state"] == "queued" and resp.json["kind"] == "secmon:ruleset:build"
    assert resp.headers["Location"] == f"/api/v1/jobs/{resp.json['id']}"
    jobs.run_one(_engine(app))
    done = client.get(f"/api/v1/jobs/{resp.json['id']}", headers=headers).json
    assert done["state"] == "succeeded" and done["progress"] == 100
    assert "built: rules 2, enabled 1, disabled 1" in done["result"]["summary"], done["result"]["summary"]
    # unknown sensor: the build fails with the reason, nothing stored
    resp = client.post("/api/v1/secmon/rulesets/builds", headers=headers,
                       json={"name": "api-set", "files": {"local.rules": MORE}, "sensor": "no-such-sensor"})
    jobs.run_one(_engine(app))
    failed = client.get(f"/api/v1/jobs/{resp.json['id']}", headers=headers).json
    assert failed["state"] == "failed" and "no-such-sensor" in failed["error"]["detail"]


def test_lint_results_of_a_stored_version_page_api_and_cli(app, client, auth, db_session, runner):
    """A version's lint results: the findings point at the imported files' lines; page (filters in the URL),
    API and CLI give the same findings."""
    import json as _json

    from portal import jobs

    analyst = auth.user("security_analyst", username="analyst1")
    headers = auth.headers(analyst)
    broken = RULES + "\n\n" + 'alert tcp any any -> any 80 (msg:"same sid again"; sid:9100001; rev:2;)\n'
    resp = client.post("/api/v1/secmon/rulesets/builds", headers=headers,
                       json={"name": "lint-me", "files": {"local.rules": broken}})
    jobs.run_one(_engine(app))
    version_id = client.get(f"/api/v1/jobs/{resp.json['id']}", headers=headers).json["result"]["version_id"]

    api = client.get(f"/api/v1/secmon/rulesets/{version_id}/lint", headers=headers)
    assert api.status_code == 200
    findings = api.json["findings"]
    dup = [f for f in findings if f["sid"] == 9100001 and "dup" in f["check"]]
    assert dup and {f["line"] for f in dup} & {1, 5}, findings  # the imported file's own line numbers
    assert api.json["summary"]["findings"] == len(findings)

    auth.login(client, "analyst1")
    listing = client.get("/monitoring/rulesets").get_data(as_text=True)
    assert f"/monitoring/rulesets/{version_id}/lint" in listing
    page = client.get(f"/monitoring/rulesets/{version_id}/lint?check={dup[0]['check']}").get_data(as_text=True)
    assert "same sid again" in page or "9100001" in page
    assert client.get("/monitoring/rulesets/nope/lint").status_code == 404
    vendor = auth.user("vendor", username="vendor1")
    assert client.get(f"/api/v1/secmon/rulesets/{version_id}/lint", headers=auth.headers(vendor)).status_code == 403

    out = runner.invoke(["secmon", "rules", "version-lint", version_id, "--format", "json", "--fail-on", "never"])
    assert out.exit_code == 0, out.output
    assert _json.loads(out.output)["findings"] == findings
