"""secmon pages: analyst (incidents, incident, search), approver (two-person rule on the page), department
(own remediation tasks only), in zh-CN and English."""

from sqlalchemy import select

from secmon import remediation, responses
from secmon.models import SecmonIncident
from tests.factories import csrf_token, make_user, principal_of
from tests.secmon.conftest import suricata_data  # noqa: F401  (fixture)
from tests.secmon.test_strike_workflow import world  # noqa: F401  (fixture)


def _login(client, auth, user):
    auth.login(client, user.username)


def test_analyst_pages(client, auth, db_session, world):  # noqa: F811
    analyst = make_user(db_session, "security_analyst")
    _login(client, auth, analyst)
    r = client.get("/secmon/incidents")
    assert r.status_code == 200 and "ET WEB_SERVER Possible SQL Injection" in r.get_data(as_text=True)
    inc = db_session.execute(select(SecmonIncident).where(SecmonIncident.alert_count == 6)).scalars().first()
    page = client.get(f"/secmon/incidents/{inc.id}").get_data(as_text=True)
    assert "198.51.100.66" in page and "flow_id" in page
    r = client.get("/secmon/search?ip=198.51.100.66&event_type=alert")
    assert r.status_code == 200 and "SQL Injection" in r.get_data(as_text=True)
    bad = client.get("/secmon/search?ip=10.0.0.0/99")
    assert bad.status_code == 200 and "malformed CIDR" in bad.get_data(as_text=True)
    assert client.get("/secmon/incidents/nope").status_code == 404
    en = client.get("/secmon/incidents", headers={"Accept-Language": "en"})
    assert en.status_code == 200


def test_approver_page_enforces_two_person_rule(client, auth, db_session, world):  # noqa: F811
    admin = make_user(db_session, "commission_admin")
    p_admin = principal_of(db_session, admin)
    own = responses.response_propose(db_session, p_admin, title="my own block",
                                     blocks=[{"cidr": "192.0.2.55", "ttl_hours": 2}])
    other = responses.response_propose(db_session, world["p"]["analyst"], title="analyst block",
                                       blocks=[{"cidr": "192.0.2.66", "ttl_hours": 2}])
    _login(client, auth, admin)
    resp = client.get("/secmon/approvals")
    page = resp.get_data(as_text=True)
    assert "my own block" in page and "analyst block" in page
    assert "another approver must decide" in page or "另一位审批人" in page
    tok = csrf_token(resp)
    r = client.post(f"/secmon/approvals/{own['id']}", data={"decision": "approve", "csrf_token": tok},
                    follow_redirects=True)
    assert r.status_code == 200
    assert responses.response_get(db_session, p_admin, own["id"])["state"] == "proposed"
    client.post(f"/secmon/approvals/{other['id']}", data={"decision": "approve", "csrf_token": tok})
    assert responses.response_get(db_session, p_admin, other["id"])["state"] == "approved"


def test_department_sees_only_its_tasks(client, auth, db_session, world):  # noqa: F811
    inc = db_session.execute(select(SecmonIncident).where(SecmonIncident.alert_count == 6)).scalars().first()
    t = remediation.remediation_create(db_session, world["p"]["analyst"], incident_id=inc.id)
    dept1 = make_user(db_session, "department_submitter", org=world["org1"])
    dept2 = make_user(db_session, "department_submitter", org=world["org2"])
    _login(client, auth, dept2)
    resp = client.get("/secmon/remediation")
    assert t["title"] not in resp.get_data(as_text=True)
    r = client.post(f"/secmon/remediation/{t['id']}/fix", data={"evidence": "not mine", "csrf_token": csrf_token(resp)})
    assert r.status_code == 403
    assert remediation.remediation_get(db_session, world["p"]["analyst"], t["id"])["state"] == "open"
    assert client.get("/secmon/incidents").status_code == 200  # own (none) only
    assert inc.title not in client.get("/secmon/incidents").get_data(as_text=True)
    other = client.application.test_client()
    _login(other, auth, dept1)
    resp = other.get("/secmon/remediation")
    assert t["title"] in resp.get_data(as_text=True)
    other.post(f"/secmon/remediation/{t['id']}/fix", data={"evidence": "patched and redeployed",
                                                           "csrf_token": csrf_token(resp)})
    assert remediation.remediation_get(db_session, world["p"]["analyst"], t["id"])["state"] == "fixed"


def test_shadow_it_page_and_navigation(client, auth, db_session, world):  # noqa: F811
    from secmon import assets

    expected = assets.shadow_it(db_session, world["p"]["analyst"], limit=10000)
    every = assets.shadow_it(db_session, world["p"]["analyst"], limit=10000, internal_only=False)
    assert len(every) > len(expected)
    analyst = make_user(db_session, "security_analyst")
    _login(client, auth, analyst)
    page = client.get("/secmon/shadow-it", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'href="/secmon/shadow-it"' in page and 'href="/secmon/incidents"' in page  # nav entries
    rows = page.split('<table id="shadow-it">')[1]
    for r in expected:  # in order of volume, each with its count
        assert f"<code>{r['address']}</code></td><td>{r['events']}</td>" in rows
    assert [r["address"] for r in expected] == [
        chunk.split("</code>")[0] for chunk in rows.split("<code>")[1:]]
    top = client.get("/secmon/shadow-it?all=1&limit=3").get_data(as_text=True).split('<table id="shadow-it">')[1]
    assert [c.split("</code>")[0] for c in top.split("<code>")[1:]] == [r["address"] for r in every[:3]]
    assert "<svg" in client.get("/secmon/shadow-it?all=1").get_data(as_text=True)
    assert "影子" in client.get("/secmon/shadow-it", headers={"Accept-Language": "zh"}).get_data(as_text=True)
    assert client.get("/secmon/shadow-it?limit=many").status_code == 400
    # city-wide, so not for a department (page 403, no nav entry; its nav shows its remediation tasks)
    dept = make_user(db_session, "department_submitter", org=world["org1"])
    other = client.application.test_client()
    _login(other, auth, dept)
    assert other.get("/secmon/shadow-it").status_code == 403
    start = other.get("/").get_data(as_text=True)
    assert 'href="/secmon/shadow-it"' not in start and 'href="/secmon/remediation"' in start


def test_asset_pages_list_resolve_add_import(client, auth, db_session, world):  # noqa: F811
    from secmon import assets

    analyst = make_user(db_session, "security_analyst")
    _login(client, auth, analyst)
    resp = client.get("/secmon/assets", headers={"Accept-Language": "en"})
    page = resp.get_data(as_text=True)
    assert 'href="/secmon/assets"' in page
    for s in assets.asset_list(db_session, world["p"]["analyst"]):
        assert s["name"] in page and all(n["cidr"] in page for n in s["networks"])
    hit = assets.asset_resolve(db_session, world["p"]["analyst"], "10.77.1.10")["asset"]
    res = client.get("/secmon/assets?ip=10.77.1.10").get_data(as_text=True)
    assert hit["system"] in res.split('id="resolved"')[1] and hit["cidr"] in res.split('id="resolved"')[1]
    assert "not an IP address" in client.get("/secmon/assets?ip=nope").get_data(as_text=True)
    tok = csrf_token(resp)
    org = world["org1"].code
    r = client.post("/secmon/assets/systems", data={"csrf_token": tok, "name": "网页新增系统", "org": org,
                                                    "mlps_level": "2", "criticality": "medium"}, follow_redirects=True)
    assert r.status_code == 200 and "网页新增系统" in r.get_data(as_text=True)
    r = client.post("/secmon/assets/networks", data={"csrf_token": tok, "system": "网页新增系统", "cidr": "10.99.0.0/33"},
                    follow_redirects=True)
    assert "malformed CIDR" in r.get_data(as_text=True)
    client.post("/secmon/assets/networks", data={"csrf_token": tok, "system": "网页新增系统", "cidr": "10.99.0.0/24"})
    assert assets.asset_resolve(db_session, world["p"]["analyst"], "10.99.0.7")["asset"]["system"] == "网页新增系统"
    import io

    bad = b"system,org,mlps_level,criticality,cidr\nimp-a," + org.encode() + b",2,low,10.98.0.0/24\nimp-b,nope,9,x,junk\n"
    r = client.post("/secmon/assets/import", data={"csrf_token": tok, "file": (io.BytesIO(bad), "a.csv")},
                    content_type="multipart/form-data", follow_redirects=True)
    text = r.get_data(as_text=True)
    assert ("row 2" in text or "行 2" in text) and "imp-a" not in text.split('<table id="assets">')[1]  # nothing half-imported
    good = bad.rsplit(b"imp-b", 1)[0]
    r = client.post("/secmon/assets/import", data={"csrf_token": tok, "file": (io.BytesIO(good), "a.csv")},
                    content_type="multipart/form-data", follow_redirects=True)
    assert "imp-a" in r.get_data(as_text=True).split('<table id="assets">')[1]
    # a department: its own systems only, no editing
    dept = make_user(db_session, "department_submitter", org=world["org2"])
    other = client.application.test_client()
    _login(other, auth, dept)
    own = other.get("/secmon/assets").get_data(as_text=True)
    assert "网页新增系统" not in own and "Add an information system" not in own and "添加信息系统" not in own
    assert other.post("/secmon/assets/systems", data={"csrf_token": csrf_token(other.get("/secmon/assets")),
                                                      "name": "x", "org": org, "mlps_level": "2",
                                                      "criticality": "low"}).status_code == 403
