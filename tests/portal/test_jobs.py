"""Background jobs: queued by a page, run by the worker as the user who queued them, followed by the page
(progress, failure reasons with per-row errors), surviving reloads; stale running jobs fail with a reason."""

from __future__ import annotations

import io
import json

from tests.factories import csrf_token, make_org


def _row(**over):
    row = {"title": "龙岗区智慧安防社区平台", "summary": "建设覆盖全区的智慧安防社区系统，整合视频与门禁数据。",
           "organisation": "LG-DEP", "district": "龙岗区", "area": "public_safety",
           "construction_mode": "single_department_module", "budget": 5_000_000, "start_year": 2026,
           "end_year": 2027, "deployment": "government_cloud", "data_resources": ["门禁数据"],
           "interfaces_provided": [], "interfaces_consumed": [], "capability_tags": ["security"], "mlps_level": 3}
    row.update(over)
    return row


def _engine(app):
    from portal.db import get_db

    return get_db(app).sessionmaker


def test_import_job_runs_in_the_background_and_reports_rows(app, client, auth, db_session):
    from portal import jobs
    from registry import services as registry

    make_org(db_session, "LG-DEP", kind="district")
    boss = auth.user("commission_admin", username="boss")
    auth.login(client, "boss")
    page = client.get("/projects/import")
    assert page.status_code == 200
    bad = "\n".join(json.dumps(r, ensure_ascii=False) for r in [_row(), _row(title="龙华区平台", budget=-1),
                                                                  _row(title="X", organisation="NOPE")])
    resp = client.post("/projects/import", data={"csrf_token": csrf_token(page),
                                                 "file": (io.BytesIO(bad.encode()), "library.ndjson")},
                       content_type="multipart/form-data")
    assert resp.status_code == 302
    job_url = resp.headers["Location"]
    queued = client.get(job_url).get_data(as_text=True)
    assert 'http-equiv="refresh"' in queued and "jobs.js" in queued and "<progress" in queued
    assert jobs.run_pending(_engine(app)) == 1
    failed = client.get(job_url).get_data(as_text=True)
    assert "nothing was imported" in failed and "budget" in failed and "NOPE" in failed
    assert 'http-equiv="refresh"' not in failed
    status = client.get(job_url + "/status").get_json()
    assert status["state"] == "failed" and status["error"]["errors"]
    items, total = registry.project_list(db_session, auth.principal(boss))
    assert total == 0  # nothing half-written

    good = "\n".join(json.dumps(r, ensure_ascii=False) for r in [_row(), _row(title="龙岗区智慧停车平台")])
    resp = client.post("/projects/import", data={"csrf_token": csrf_token(page), "submit": "on",
                                                 "file": (io.BytesIO(good.encode()), "library.ndjson")},
                       content_type="multipart/form-data")
    assert jobs.run_pending(_engine(app)) == 1
    done = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "龙岗区智慧停车平台" in done and "100%" in done
    db_session.expire_all()
    assert registry.project_list(db_session, auth.principal(boss))[1] == 2
    assert "library.ndjson" in client.get("/jobs").get_data(as_text=True)

    other = auth.user("department_submitter", org="LG-DEP", username="dep")
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/account"))})
    auth.login(client, "dep")
    assert client.get(job_url).status_code == 403  # someone else's job
    assert client.get("/projects/import").status_code == 403  # departments do not import a library
    assert other


def test_stale_running_job_fails_with_a_reason(app, auth, db_session):
    from datetime import timedelta

    from kernel.clock import utcnow
    from portal import jobs
    from portal.jobs.models import Job

    user = auth.user("commission_admin", username="boss2")
    job = jobs.job_enqueue(db_session, auth.principal(user), "registry:import", title="t", payload="")
    job.state, job.heartbeat_at = "running", utcnow() - timedelta(hours=1)
    db_session.add(job)
    db_session.commit()
    assert jobs.fail_stale(_engine(app)) == 1
    db_session.expire_all()
    again = db_session.get(Job, job.id)
    assert again.state == "failed" and "worker" in again.error["detail"]


def test_job_enqueue_checks_the_policy_first(db_session, auth):
    import pytest

    from kernel.errors import NotAuthorized, ValidationFailed
    from portal import jobs

    dept = auth.user("department_submitter", username="d1")
    with pytest.raises(NotAuthorized):
        jobs.job_enqueue(db_session, auth.principal(dept), "registry:import", title="x")
    with pytest.raises(ValidationFailed):
        jobs.job_enqueue(db_session, auth.principal(dept), "no:such", title="x")


def test_guided_proposal_form_errors_per_field_then_submits(client, auth, db_session):
    make_org(db_session, "NS-DEP", kind="district")
    auth.user("department_submitter", org="NS-DEP", username="ns.user")
    auth.login(client, "ns.user")
    form = client.get("/proposals/new")
    body = form.get_data(as_text=True)
    assert form.status_code == 200 and 'name="area"' in body and "城市运行管理" in body
    data = {"csrf_token": csrf_token(form), "title": "南山区智慧停车管理平台", "summary": "短",
            "district": "南山区", "area": "city_operations", "construction_mode": "single_department_module",
            "budget": "三百万", "start_year": "2026", "end_year": "2027", "deployment": "government_cloud",
            "data_resources": "停车场泊位数据", "capability_tags": "parking", "mlps_level": "3",
            "action": "submit"}
    resp = client.post("/proposals/new", data=data)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert 'id="e-budget"' in page and 'id="e-summary"' in page
    assert 'value="南山区智慧停车管理平台"' in page  # input kept
    data.update(budget="3200000", summary="建设全区统一的智慧停车诱导与管理系统，汇聚停车数据。", action="check")
    checked = client.post("/proposals/new", data=data)
    assert checked.status_code == 200 and "tag\">通过" in checked.get_data(as_text=True) or checked.status_code == 200
    data["action"] = "submit"
    resp = client.post("/proposals/new", data=data)
    assert resp.status_code == 302 and "/projects/" in resp.headers["Location"]
    assert "南山区智慧停车管理平台" in client.get(resp.headers["Location"]).get_data(as_text=True)


def test_jobs_api_lists_shows_and_cancels_and_the_page_and_cli_too(app, client, auth, db_session, runner):
    """The API operations on jobs (validated against the OpenAPI document by the client): own jobs only for a
    user, every job for an administrator; cancel a queued job (audited), 409 once it ran, 403 for others."""
    from sqlmodel import select

    from audit.models import AuditEvent
    from portal import jobs

    make_org(db_session, "LG-DEP", kind="district")
    boss = auth.user("commission_admin", username="boss")
    other = auth.user("commission_admin", username="boss2")
    dept = auth.user("department_submitter", username="d1", org="LG-DEP")
    import base64

    payload = base64.b64encode(json.dumps(_row(), ensure_ascii=False).encode()).decode()  # as the page queues it
    mine = jobs.job_enqueue(db_session, auth.principal(boss), "registry:import", title="library.ndjson",
                            params={"filename": "library.ndjson"}, payload=payload)
    second = jobs.job_enqueue(db_session, auth.principal(boss), "registry:import", title="second.ndjson",
                              params={"filename": "second.ndjson"}, payload=payload)
    third = jobs.job_enqueue(db_session, auth.principal(boss), "registry:import", title="third.ndjson",
                             params={"filename": "third.ndjson"}, payload=payload)

    listing = client.get("/api/v1/jobs", headers=auth.headers(boss))
    assert listing.status_code == 200 and listing.json["total"] == 3
    assert {j["id"] for j in listing.json["items"]} == {mine.id, second.id, third.id}
    assert client.get("/api/v1/jobs", headers=auth.headers(dept)).json["total"] == 0
    assert client.get(f"/api/v1/jobs/{mine.id}", headers=auth.headers(dept)).status_code == 403
    assert client.get("/api/v1/jobs?state=nope", headers=auth.headers(boss)).status_code == 400
    assert client.get("/api/v1/jobs/nope", headers=auth.headers(boss)).status_code == 404
    assert client.post(f"/api/v1/jobs/{mine.id}/cancel", headers=auth.headers(dept)).status_code == 403

    cancelled = client.post(f"/api/v1/jobs/{mine.id}/cancel", headers=auth.headers(other))
    assert cancelled.status_code == 200, cancelled.json
    assert cancelled.json["state"] == "failed" and cancelled.json["error"]["code"] == "cancelled"
    assert "boss2" in cancelled.json["error"]["detail"]
    assert db_session.exec(select(AuditEvent).where(AuditEvent.action == "portal:job:cancel",
                                                    AuditEvent.object_id == mine.id)).first() is not None
    assert client.post(f"/api/v1/jobs/{mine.id}/cancel", headers=auth.headers(boss)).status_code == 409

    # the worker skips the cancelled job and runs the next one
    assert jobs.run_one(_engine(app)) == second.id
    done = client.get(f"/api/v1/jobs/{second.id}", headers=auth.headers(boss)).json
    assert done["state"] == "succeeded" and done["progress"] == 100
    assert client.post(f"/api/v1/jobs/{second.id}/cancel", headers=auth.headers(boss)).status_code == 409
    assert client.get("/api/v1/jobs?state=failed", headers=auth.headers(boss)).json["total"] == 1

    # the web page offers the button for a queued job; the CLI cancels too
    auth.login(client, "boss")
    page = client.get(f"/jobs/{third.id}")
    assert f"/jobs/{third.id}/cancel" in page.get_data(as_text=True)
    result = runner.invoke(["jobs", "cancel", third.id, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["state"] == "failed"
    again = runner.invoke(["jobs", "cancel", third.id])
    assert again.exit_code == 2 and "only a queued job" in again.output
    assert f"/jobs/{third.id}/cancel" not in client.get(f"/jobs/{third.id}").get_data(as_text=True)
