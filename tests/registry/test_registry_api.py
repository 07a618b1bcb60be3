"""/api/v1/projects…: every response is validated against the OpenAPI document by the test client."""

from __future__ import annotations

from tests.registry.conftest import proposal


def test_api_flow(client, auth, db_session):
    from tests.factories import make_org

    a = make_org(db_session, "API-A", name="接口甲局")
    b = make_org(db_session, "API-B", name="接口乙局")
    com = make_org(db_session, "API-COM", kind="commission")
    eorg = make_org(db_session, "API-EXP", kind="commission")
    sub_a, sub_b = auth.user("department_submitter", org=a), auth.user("department_submitter", org=b)
    admin = auth.user("commission_admin", org=com)
    experts = [auth.user("expert", org=eorg) for _ in range(3)]
    ha, hb, hadm = auth.headers(sub_a), auth.headers(sub_b), auth.headers(admin)

    assert client.get("/api/v1/projects").status_code == 401
    assert client.get("/api/v1/projects/schema").status_code == 200
    bad = client.post("/api/v1/projects", json=proposal(organisation="API-A", area="nope"), headers=ha)
    assert bad.status_code == 422 and any(e["field"] == "area" for e in bad.json["errors"])
    assert client.post("/api/v1/projects", json=proposal(organisation="API-A"), headers=hb).status_code == 403
    assert client.post("/api/v1/projects", data="x", headers=ha).status_code == 415
    r = client.post("/api/v1/projects", json=proposal(organisation="API-A"), headers=ha)
    assert r.status_code == 201, r.json
    pid = r.json["id"]
    assert client.get(f"/api/v1/projects/{pid}", headers=hb).status_code == 404
    assert client.get("/api/v1/projects", headers=hb).json["total"] == 0
    assert client.put(f"/api/v1/projects/{pid}", json=proposal(organisation="API-A", budget=1e6), headers=ha).status_code == 200
    s = client.post(f"/api/v1/projects/{pid}/submit", json={"reason": "申报"}, headers=ha)
    assert s.status_code == 200 and s.json["state"] == "prechecked" and s.json["matches"] is None
    assert client.post(f"/api/v1/projects/{pid}/submit", headers=ha).status_code == 403
    assert client.get(f"/api/v1/projects/{pid}/similar", headers=ha).status_code == 403
    assert client.get(f"/api/v1/projects/{pid}/similar", headers=hadm).status_code == 200
    assert client.post("/api/v1/projects/similar", json=proposal(), headers=hadm).status_code == 200
    assert client.post("/api/v1/projects/precheck", json=proposal(mlps_level=9), headers=ha).json["schema_errors"]
    p = client.post(f"/api/v1/projects/{pid}/panel", json={"experts": [e.username for e in experts]}, headers=hadm)
    assert p.status_code == 201, p.json
    scores = {"necessity": 8, "duplication_risk": 7, "technical_soundness": 8, "data_sharing": 9, "security": 8, "cost": 6}
    for e in experts:
        rv = client.post(f"/api/v1/projects/{pid}/reviews", json={"scores": scores}, headers=auth.headers(e))
        assert rv.status_code == 201, rv.json
    again = client.post(f"/api/v1/projects/{pid}/reviews", json={"scores": scores}, headers=auth.headers(experts[0]))
    assert again.status_code == 409
    assert client.get(f"/api/v1/projects/{pid}/reviews", headers=auth.headers(experts[1])).json["blind"] is True
    assert client.post(f"/api/v1/projects/{pid}/panel/close", headers=hadm).status_code == 200
    assert client.post(f"/api/v1/projects/{pid}/decision", json={"decision": "approved", "reason": ""}, headers=hadm).status_code == 422
    d = client.post(f"/api/v1/projects/{pid}/decision", json={"decision": "approved", "reason": "同意立项建设"}, headers=hadm)
    assert d.status_code == 200 and d.json["state"] == "approved"
    assert client.post(f"/api/v1/projects/{pid}/transitions", json={"event": "complete", "reason": "x"}, headers=hadm).status_code == 409
    assert client.post(f"/api/v1/projects/{pid}/transitions", json={"event": "start_construction", "reason": "开工"}, headers=hadm).status_code == 200
    assert [h["to"] for h in client.get(f"/api/v1/projects/{pid}/history", headers=ha).json["items"]][-1] == "in_construction"
    page = client.get("/api/v1/projects?area=public_safety&per_page=1&page=1", headers=hadm).json
    assert page["total"] >= 1 and len(page["items"]) == 1
    assert client.get("/api/v1/projects?page=0", headers=hadm).status_code == 400
    assert client.get("/api/v1/projects/portfolio", headers=hadm).json["projects"] >= 1
    assert client.get("/api/v1/projects/clusters", headers=hadm).status_code == 200
    assert client.get("/api/v1/projects/rules", headers=ha).status_code == 200
    rule = {"code": "api-rule", "severity": "warning", "field": "budget", "message": "m", "check": {"field": "budget", "op": "gt", "value": 0}}
    assert client.post("/api/v1/projects/rules", json=rule, headers=ha).status_code == 403
    assert client.post("/api/v1/projects/rules", json=rule, headers=hadm).status_code == 201
    exp = client.get("/api/v1/projects/export?format=csv", headers=hadm)
    assert exp.status_code == 200 and exp.data.startswith(b"\xef\xbb\xbf")


def test_api_import(client, auth, db_session):
    import csv
    import io

    from tests.factories import make_org

    make_org(db_session, "IMP-A", name="导入甲局")
    admin = auth.user("commission_admin", org=make_org(db_session, "IMP-COM", kind="commission"))
    h = auth.headers(admin)
    doc = proposal(organisation="IMP-A")
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(list(doc))
    for title in ("导入项目一号", "导入项目二号"):
        w.writerow([title if k == "title" else ";".join(x if isinstance(x, str) else x["name"] for x in v)
                    if isinstance(v, list) else v for k, v in doc.items()])
    w.writerow(["导入项目三号" if k == "title" else ("NOPE" if k == "organisation" else
                (";".join(x if isinstance(x, str) else x["name"] for x in v) if isinstance(v, list) else v)) for k, v in doc.items()])
    body = buf.getvalue().encode("gb18030")
    r = client.post("/api/v1/projects/import", data=body, content_type="text/csv", headers=h)
    assert r.status_code == 422 and any(e.get("row") == 4 and e["field"] == "organisation" for e in r.json["errors"])
    good = "\n".join(buf.getvalue().splitlines()[:3]).encode("gb18030")
    r = client.post("/api/v1/projects/import?submit=true", data=good, content_type="text/csv", headers=h)
    assert r.status_code == 201 and r.json["imported"] == 2 and r.json["encoding"] == "gb18030", r.json
    assert client.post("/api/v1/projects/import", data=b"x", content_type="image/png", headers=h).status_code == 415
