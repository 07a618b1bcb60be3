"""Commission pages for built projects and the programme: forms for each step, SVG charts with tables, downloads."""

import io
import json

from kernel.clock import utcnow
from tests.factories import csrf_token, make_org
from tests.registry.conftest import proposal


def test_outcome_pages_walk_a_project_to_its_evaluation(client, auth, db_session):
    from registry import services as registry

    org = make_org(db_session, "WEB-OUT", name="网页成效局")
    admin = auth.user("commission_admin", "commission_reviewer", username="prog.boss")
    auth.user("department_submitter", org="WEB-OUT", username="prog.dep")
    [p] = registry.project_import(db_session, auth.principal(admin), [(1, proposal(
        organisation="WEB-OUT", title="网页成效<script>项目", state="approved", approved_on="2025-01-01",
        decision_ref="深发改〔2025〕9号"))], resolve_org=lambda ref: org.id)
    auth.login(client, "prog.boss")
    page = client.get(f"/projects/{p.id}/outcomes")
    assert page.status_code == 200 and "深发改〔2025〕9号" in page.get_data(as_text=True)
    token = csrf_token(page)
    url = f"/projects/{p.id}/outcomes"
    bad = client.post(url + "/targets", data={"csrf_token": token, "indicator": "共享率", "unit": "", "target": "90",
                                              "due": "2027-01-01"}, follow_redirects=True)
    assert "targets[0].unit" in bad.get_data(as_text=True) or "unit" in bad.get_data(as_text=True)
    client.post(url + "/targets", data={"csrf_token": token, "indicator": "共享率", "unit": "%", "baseline": "20",
                                        "target": "90", "due": "2027-01-01"})
    client.post(url + "/start", data={"csrf_token": token, "reason": "合同签订"})
    today = utcnow().date().isoformat()
    client.post(url + "/milestones", data={"csrf_token": token, "name": "上线", "reached_on": today, "spent": "100000"})
    refused = client.post(url + "/acceptance", data={"csrf_token": token, "actual:共享率": "95"},
                          content_type="multipart/form-data", follow_redirects=True)
    assert "evidence" in refused.get_data(as_text=True)
    client.post(url + "/acceptance", data={"csrf_token": token, "actual:共享率": "95", "completed_on": today,
                                           "evidence": (io.BytesIO(b"%PDF acceptance"), "report.pdf")},
                content_type="multipart/form-data")
    done = client.post(url + "/evaluation", data={"csrf_token": token, "comment": "达标"}, follow_redirects=True)
    body = done.get_data(as_text=True)
    assert "excellent" in body and "report.pdf" in body and "<script>项目" not in body
    db_session.refresh(p)
    assert p.state == "evaluated"

    prog = client.get("/programme/statistics")
    html = prog.get_data(as_text=True)
    assert prog.status_code == 200 and html.count("<svg") >= 4 and "<table>" in html
    x = client.get("/programme/statistics.xlsx")
    assert x.status_code == 200 and x.data[:2] == b"PK"
    js = json.loads(client.get("/programme/statistics.json").data)
    assert js["totals"]["states"]["evaluated"] >= 1
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/account"))})
    auth.login(client, "prog.dep")
    assert client.get("/programme/statistics").status_code == 403
    assert client.get(f"/projects/{p.id}/outcomes").status_code == 200  # their own project
