"""Conditional access end to end over the API (responses validated against the OpenAPI document), the
web pages (applicant page, steward inbox, dataset page form) and the CLI: apply, reject with a reason,
approve with a validity, the applicant collects the key, download with it, revoke; every step audited."""

from __future__ import annotations

import re

from sqlmodel import select

from audit.models import AuditEvent
from tests.factories import csrf_token, make_org
from tests.opendata.test_opendata_ckan import served  # noqa: F401  (publishes conditional datasets)


def _resource_url(client) -> str:
    r = client.get("/api/3/action/package_show?id=bus-stops")
    return "/" + r.json["result"]["resources"][0]["url"].split("//", 1)[1].split("/", 1)[1]


def _transport_steward(auth, db_session):
    # the `served` datasets belong to org id "org-transport": a steward of that organisation decides
    from portal.accounts.models import Organisation

    org = db_session.exec(select(Organisation).where(Organisation.id == "org-transport")).first()
    if org is None:
        org = make_org(db_session, "SZ-TRANS-X")
        org.id = "org-transport"
        db_session.add(org)
        db_session.commit()
    return auth.user("data_steward", org=org)


def test_access_api(client, auth, db_session, served):  # noqa: F811
    company = auth.user("vendor", org=make_org(db_session, "V-ACME", kind="vendor"))
    hc = auth.headers(company)
    steward = _transport_steward(auth, db_session)
    hs = auth.headers(steward)
    outsider = auth.headers(auth.user("data_steward", org=make_org(db_session, "SZ-HEALTH-X")))
    assert client.post("/api/v1/opendata/datasets/bus-stops/access-applications", json={"purpose": "x"}, headers=hc).status_code == 422
    assert client.post("/api/v1/opendata/datasets/bus-stops/access-applications", json={"purpose": "transport planning study"}).status_code == 401
    r = client.post("/api/v1/opendata/datasets/bus-stops/access-applications", json={"purpose": "transport planning study"}, headers=hc)
    assert r.status_code == 201 and r.json["state"] == "pending"
    first = r.json["id"]
    r = client.post("/api/v1/opendata/datasets/bus-stops/access-applications", json={"purpose": "transport planning study"}, headers=hc)
    assert r.status_code == 409  # one pending application per dataset
    assert client.post("/api/v1/opendata/datasets/draft-only/access-applications", json={"purpose": "a long enough purpose"},
                       headers=hc).status_code == 404
    assert [a["id"] for a in client.get("/api/v1/opendata/access-applications", headers=hc).json["items"]] == [first]
    assert [a["id"] for a in client.get("/api/v1/opendata/access-applications?box=inbox", headers=hs).json["items"]] == [first]
    assert client.get("/api/v1/opendata/access-applications?box=inbox", headers=outsider).json["items"] == []
    assert client.get(f"/api/v1/opendata/access-applications/{first}", headers=outsider).status_code == 404
    assert client.get("/api/v1/opendata/access-applications?box=everything", headers=hs).status_code == 422
    # reject needs a reason; the applicant cannot decide
    r = client.post(f"/api/v1/opendata/access-applications/{first}/decision", json={"decision": "reject"}, headers=hs)
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/reason"
    assert client.post(f"/api/v1/opendata/access-applications/{first}/decision", json={"decision": "approve"}, headers=hc).status_code == 403
    r = client.post(f"/api/v1/opendata/access-applications/{first}/decision", json={"decision": "reject", "reason": "purpose too vague"},
                    headers=hs)
    assert r.status_code == 200 and r.json["state"] == "rejected" and r.json["decision_note"] == "purpose too vague"
    assert client.post(f"/api/v1/opendata/access-applications/{first}/key", headers=hc).status_code == 409
    # a second application is approved; the key goes to the applicant only
    second = client.post("/api/v1/opendata/datasets/bus-stops/access-applications",
                         json={"purpose": "Nanshan bus stop accessibility study"}, headers=hc).json["id"]
    r = client.post(f"/api/v1/opendata/access-applications/{second}/decision", json={"decision": "approve", "days": 30}, headers=hs)
    assert r.status_code == 200 and r.json["state"] == "approved" and "key" not in r.json and r.json["key_prefix"] is None
    assert client.post(f"/api/v1/opendata/access-applications/{second}/decision", json={"decision": "approve", "days": 0},
                       headers=hs).status_code == 422
    assert client.post(f"/api/v1/opendata/access-applications/{second}/key", headers=hs).status_code == 403
    r = client.post(f"/api/v1/opendata/access-applications/{second}/key", headers=hc)
    assert r.status_code == 200 and r.json["key"].startswith("odk_") and r.json["key_prefix"] == r.json["key"][:10]
    key = r.json["key"]
    url = _resource_url(client)
    assert client.get(url).status_code == 403
    assert client.get(url, headers={"X-CKAN-API-Key": key}).status_code == 200
    assert client.post(f"/api/v1/opendata/access-applications/{second}/revoke", json={"reason": "no"}, headers=hs).status_code == 422
    r = client.post(f"/api/v1/opendata/access-applications/{second}/revoke", json={"reason": "study finished"}, headers=hs)
    assert r.status_code == 200 and r.json["state"] == "revoked"
    assert client.get(url, headers={"X-CKAN-API-Key": key}).status_code == 403
    acts = [e.action for e in db_session.exec(select(AuditEvent).where(AuditEvent.object_type == "opendata_access_application")
                                                .order_by(AuditEvent.seq))]
    assert acts == ["opendata:access:apply", "opendata:access:reject", "opendata:access:apply", "opendata:access:approve",
                    "opendata:access:key", "opendata:access:revoke"]
    assert key not in str([e.details for e in db_session.exec(select(AuditEvent))])  # the key itself is never logged


def test_access_pages(client, auth, db_session, served):  # noqa: F811
    company = auth.user("vendor", org=make_org(db_session, "V-ACME2", kind="vendor"))
    steward = _transport_steward(auth, db_session)
    page = client.get("/opendata/dataset/bus-stops")
    assert "登录后申请" in page.get_data(as_text=True)  # anonymous: log in to apply
    auth.login(client, company.username)
    page = client.get("/opendata/dataset/bus-stops")
    html = page.get_data(as_text=True)
    assert "申请访问" in html and "/opendata/dataset/bus-stops/apply" in html
    r = client.post("/opendata/dataset/bus-stops/apply", data={"purpose": "short", "csrf_token": csrf_token(page)})
    assert r.status_code == 302
    r = client.post("/opendata/dataset/bus-stops/apply", data={"purpose": "bus network planning research", "csrf_token": csrf_token(page)},
                    follow_redirects=True)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "bus network planning research" in html and "待审批" in html
    assert "我的数据访问" in html  # the navigation entry
    client.post("/logout", data={"csrf_token": csrf_token(r)})
    auth.login(client, steward.username)
    inbox = client.get("/opendata/access/inbox")
    html = inbox.get_data(as_text=True)
    assert inbox.status_code == 200 and "bus network planning research" in html and "访问申请" in html
    app_id = re.search(r"/opendata/access/([0-9a-z]+)/decide", html).group(1)
    r = client.post(f"/opendata/access/{app_id}/decide", data={"decision": "reject", "reason": "", "csrf_token": csrf_token(inbox)},
                    follow_redirects=True)
    assert f"/opendata/access/{app_id}/decide" in r.get_data(as_text=True)  # refused without a reason: still pending
    r = client.post(f"/opendata/access/{app_id}/decide", data={"decision": "approve", "days": "30", "csrf_token": csrf_token(inbox)},
                    follow_redirects=True)
    assert r.status_code == 200 and "已批准" in r.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(r)})
    auth.login(client, company.username)
    mine = client.get("/opendata/access")
    r = client.post(f"/opendata/access/{app_id}/key", data={"csrf_token": csrf_token(mine)})
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    key = re.search(r'<code id="access-key">(odk_[^<]+)</code>', r.get_data(as_text=True)).group(1)
    assert client.get(_resource_url(client), headers={"X-CKAN-API-Key": key}).status_code == 200
    assert key not in client.get("/opendata/access").get_data(as_text=True)  # shown once
    client.post("/logout", data={"csrf_token": csrf_token(mine)})
    auth.login(client, steward.username)
    inbox = client.get("/opendata/access/inbox")
    r = client.post(f"/opendata/access/{app_id}/revoke", data={"reason": "study finished", "csrf_token": csrf_token(inbox)},
                    follow_redirects=True)
    assert "已撤销" in r.get_data(as_text=True)
    assert client.get(_resource_url(client), headers={"X-CKAN-API-Key": key}).status_code == 403


def test_withdraw_form(client, auth, db_session, served):  # noqa: F811
    steward = _transport_steward(auth, db_session)
    auth.login(client, steward.username)
    page = client.get("/opendata/steward")
    html = page.get_data(as_text=True)
    assert "/opendata/steward/bus-stops/withdraw" in html and "撤回理由" in html
    r = client.post("/opendata/steward/bus-stops/withdraw", data={"reason": "", "csrf_token": csrf_token(page)}, follow_redirects=True)
    assert client.get("/api/3/action/package_show?id=bus-stops").status_code == 200  # refused: no reason
    r = client.post("/opendata/steward/bus-stops/withdraw", data={"reason": "superseded by a new survey", "csrf_token": csrf_token(page)},
                    follow_redirects=True)
    assert r.status_code == 200
    r = client.get("/api/3/action/package_show?id=bus-stops")
    assert r.status_code == 404 and "withdrawn" in r.json["error"]["message"]
    ev = db_session.exec(select(AuditEvent).where(AuditEvent.action == "opendata:dataset:withdraw")
                         .order_by(AuditEvent.seq.desc())).first()
    assert ev.details["reason"] == "superseded by a new survey"


def test_download_log(client, auth, db_session, served, runner):  # noqa: F811
    """Every download is logged (who, what, when, with which key) and the owning department's stewards read the log
    over the API, on /opendata/downloads and with `citygov opendata downloads`; nobody else does."""
    company = auth.user("vendor", org=make_org(db_session, "V-LOG", kind="vendor"))
    hc = auth.headers(company)
    steward = _transport_steward(auth, db_session)
    hs = auth.headers(steward)
    outsider = auth.user("data_steward", org=make_org(db_session, "SZ-HEALTH-LOG"))
    app_id = client.post("/api/v1/opendata/datasets/bus-stops/access-applications",
                         json={"purpose": "download log study"}, headers=hc).json["id"]
    client.post(f"/api/v1/opendata/access-applications/{app_id}/decision", json={"decision": "approve", "days": 30},
                headers=hs)
    key = client.post(f"/api/v1/opendata/access-applications/{app_id}/key", headers=hc).json["key"]
    url = _resource_url(client)
    assert client.get(url, headers={"X-CKAN-API-Key": key}).status_code == 200
    assert client.get(url).status_code == 403  # refused downloads are not logged as downloads
    log = client.get("/api/v1/opendata/downloads", headers=hs)
    assert log.status_code == 200 and log.json["total"] >= 1
    first = log.json["items"][0]
    # the person, not the token they used (the audit log names the token)
    assert first["dataset"] == "bus-stops" and first["actor"] == f"user:{company.id}"
    assert first["applicant_name"] == company.username
    assert first["application"] == app_id and first["key_prefix"] == key[:10] and key not in str(log.json)
    assert client.get("/api/v1/opendata/downloads?dataset=bus-stops&limit=1", headers=hs).json["items"] == [first]
    # another department's steward: nothing, and one of our datasets is "not found"; the public: sign in
    assert client.get("/api/v1/opendata/downloads", headers=auth.headers(outsider)).json == \
        {"items": [], "total": 0, "limit": 100, "offset": 0}
    assert client.get("/api/v1/opendata/downloads?dataset=bus-stops", headers=auth.headers(outsider)).status_code == 404
    assert client.get("/api/v1/opendata/downloads").status_code == 401
    assert client.get("/api/v1/opendata/downloads?limit=0", headers=hs).status_code == 400
    # the page and the command
    auth.login(client, steward.username)
    html = client.get("/opendata/usage-log").get_data(as_text=True)
    assert "下载记录" in html and company.username in html and key[:10] in html
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/opendata/usage-log"))})
    auth.login(client, outsider.username)
    assert company.username not in client.get("/opendata/usage-log").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/opendata/usage-log"))})
    auth.login(client, company.username)
    assert client.get("/opendata/usage-log").status_code == 403
    # applied with an API token, the application is the person's: their browser session sees it too
    assert "download log study" in client.get("/opendata/access").get_data(as_text=True)
    got = runner.invoke(args=["opendata", "downloads", "--dataset", "bus-stops", "--format", "json"])
    assert got.exit_code == 0, got.output
    import json

    assert json.loads(got.output)["items"][0]["application"] == app_id
    assert runner.invoke(args=["opendata", "downloads", "--dataset", "no-such"]).exit_code == 2
