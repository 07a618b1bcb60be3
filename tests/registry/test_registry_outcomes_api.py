"""/api/v1/projects/{id}/targets|milestones|acceptance|evaluation and /programme/statistics (every response is
validated against the OpenAPI document by the test client)."""

from __future__ import annotations

import io
import json

from kernel.clock import utcnow
from tests.registry.conftest import proposal


def test_outcomes_over_the_api(client, auth, db_session):
    from openpyxl import load_workbook

    from tests.factories import make_org

    a = make_org(db_session, "OUT-A", name="成效甲局")
    com = make_org(db_session, "OUT-COM", kind="commission")
    admin, sub = auth.user("commission_admin", org=com), auth.user("department_submitter", org=a)
    h, hs = auth.headers(admin), auth.headers(sub)
    doc = proposal(organisation="OUT-A", state="approved", approved_on="2025-02-01", decision_ref="深发改〔2025〕1号",
                   budget=5_000_000)
    r = client.post("/api/v1/projects/import", data=json.dumps([doc], ensure_ascii=False).encode(),
                    content_type="application/json", headers=h)
    assert r.status_code == 201 and r.json["by_state"] == {"approved": 1}, r.json
    pid = r.json["ids"][0]
    bad = client.put(f"/api/v1/projects/{pid}/targets", json={"targets": [{"indicator": "共享率", "target": 90,
                                                                           "due": "2027-01-01"}]}, headers=h)
    assert bad.status_code == 422
    t = client.put(f"/api/v1/projects/{pid}/targets", json={"targets": [
        {"indicator": "共享率", "unit": "%", "baseline": 30, "target": 90, "due": "2027-01-01"}]}, headers=h)
    assert t.status_code == 200 and t.json["targets"][0]["unit"] == "%"
    assert client.put(f"/api/v1/projects/{pid}/targets", json={"targets": []}, headers=hs).status_code in (403, 422)
    assert client.post(f"/api/v1/projects/{pid}/evaluation", json={}, headers=h).status_code == 409
    assert client.post(f"/api/v1/projects/{pid}/transitions", json={"event": "start_construction", "reason": "开工"},
                       headers=h).status_code == 200
    today = utcnow().date().isoformat()
    m = client.post(f"/api/v1/projects/{pid}/milestones", json={"name": "上线", "reached_on": today, "spent": 4_000_000},
                    headers=hs)
    assert m.status_code == 201 and m.json["total_spent"] == 4_000_000 and not m.json["over_budget"]
    no_ev = client.post(f"/api/v1/projects/{pid}/acceptance", data={"actuals": json.dumps({"共享率": 80})},
                        content_type="multipart/form-data", headers=h)
    assert no_ev.status_code == 422 and any(e["field"] == "evidence" for e in no_ev.json["errors"])
    acc = client.post(f"/api/v1/projects/{pid}/acceptance",
                      data={"actuals": json.dumps({"共享率": 80}), "completed_on": today,
                            "evidence": [(io.BytesIO(b"%PDF-1.7 acceptance"), "验收报告.pdf")]},
                      content_type="multipart/form-data", headers=h)
    assert acc.status_code == 200 and acc.json["state"] == "completed", acc.json
    ev_id = acc.json["evidence"][0]["id"]
    f = client.get(f"/api/v1/projects/{pid}/evidence/{ev_id}", headers=h)
    assert f.status_code == 200 and f.data == b"%PDF-1.7 acceptance"
    e = client.post(f"/api/v1/projects/{pid}/evaluation", json={"comment": "基本达标"}, headers=h)
    assert e.status_code == 201 and e.json["evaluation"]["rating"] == "good"  # (80-30)/(90-30) = 83 %
    assert e.json["state"] == "evaluated"
    s = client.get("/api/v1/programme/statistics", headers=h)
    assert s.status_code == 200
    assert s.json["totals"]["budget_spent"] >= 4_000_000 and s.json["totals"]["data_commitments_kept"] == "no data"
    dist = {row["key"]: row for row in s.json["by"]["department"]}
    assert dist["OUT-A"]["states"] == {"evaluated": 1} and dist["OUT-A"]["budget_approved"] == 5_000_000
    x = client.get("/api/v1/programme/statistics?format=xlsx", headers=h)
    assert x.status_code == 200
    wb = load_workbook(io.BytesIO(x.data), read_only=True)
    assert {"totals", "district", "department", "area", "year"} <= set(wb.sheetnames)
    assert client.get("/api/v1/programme/statistics", headers=hs).status_code == 403
