"""Evaluation through the portal: API (validated against the OpenAPI document), CLI, pages (zh and en)."""

from __future__ import annotations

import io
import json

import pytest

from tests.factories import csrf_token
from tests.secmon import evaluation_fixture as fx


@pytest.fixture
def world(db_session, tmp_path):
    return fx.build(db_session, tmp_path)


def test_api_run_list_get_verify_compare(client, auth, world):
    pypdf = pytest.importorskip("pypdf")
    h = auth.headers(auth.user("security_analyst"))
    r = client.post("/api/v1/secmon/evaluations", headers=h, json={"period": "2024-Q1"})
    assert r.status_code == 201, r.get_data(as_text=True)
    rep = r.get_json()
    again = client.post("/api/v1/secmon/evaluations", headers=h, json={"period": "2024-Q1"})
    assert again.status_code == 200 and again.get_json()["id"] == rep["id"]  # same data, same digest
    q2 = client.post("/api/v1/secmon/evaluations", headers=h,
                     json={"period": "2024-Q2", "department": "SZ-EVAL", "compare": "2024-Q1"})
    assert q2.status_code == 201, q2.get_data(as_text=True)
    items = client.get("/api/v1/secmon/evaluations?scope=city", headers=h).get_json()["items"]
    assert [i["id"] for i in items] == [rep["id"]]
    doc = client.get(f"/api/v1/secmon/evaluations/{rep['id']}", headers=h).get_json()
    assert doc["document"]["score"]["score"] == rep["score"]
    html = client.get(f"/api/v1/secmon/evaluations/{rep['id']}?format=html", headers=h)
    assert html.status_code == 200 and "<svg" in html.get_data(as_text=True)
    pdf = client.get(f"/api/v1/secmon/evaluations/{rep['id']}?format=pdf", headers=h)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "网络安全评估报告" in pypdf.PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    v = client.get(f"/api/v1/secmon/evaluations/{rep['id']}/verify", headers=h).get_json()
    assert v["ok"] and v["stored"]["pdf"]["recorded"]
    c = client.get(f"/api/v1/secmon/evaluations/{q2.get_json()['id']}/compare/{rep['id']}", headers=h)
    assert c.status_code == 200 and c.get_json()["previous_period"] == "2024-Q1"
    assert client.get(f"/api/v1/secmon/evaluations/{rep['id']}/compare/{rep['id']}", headers=h).status_code == 400


def test_api_bad_input(client, auth, world):
    h = auth.headers(auth.user("security_analyst"))
    q9 = client.post("/api/v1/secmon/evaluations", headers=h, json={"period": "2024-Q9"})  # refused by the schema
    assert q9.status_code == 422 and [e["field"] for e in q9.get_json()["errors"]] == ["period"]
    for body, status, text in [({"period": "2024-q5"}, 422, ""),
                               ({"period": "2019-Q1"}, 422, "is empty"),
                               ({"period": "2024-Q1", "department": "SZ-EMPTY"}, 422, "has no assets"),
                               ({"period": "2024-Q1", "department": "NOPE"}, 404, "no department"),
                               ({"period": "2024-Q1", "extra": 1}, 422, ""),
                               ({}, 422, "")]:
        r = client.post("/api/v1/secmon/evaluations", headers=h, json=body)
        assert r.status_code == status, (body, r.get_data(as_text=True))
        assert text in r.get_json()["detail"]
    assert client.get("/api/v1/secmon/evaluations/nope", headers=h).status_code == 404
    assert client.get("/api/v1/secmon/evaluations?period=bad", headers=h).status_code == 422
    vendor = auth.headers(auth.user("vendor"))
    assert client.post("/api/v1/secmon/evaluations", headers=vendor, json={"period": "2024-Q1"}).status_code == 403
    assert client.get("/api/v1/secmon/evaluations").status_code == 401


def test_cli_evaluate_formats_and_exit_codes(runner, world, tmp_path):
    out = tmp_path / "out"
    r = runner.invoke(["secmon", "evaluate", "--period", "2024-Q1", "--format", "json", "-o", str(out) + "/"])
    assert r.exit_code == 0, r.output
    files = list(out.iterdir())
    assert len(files) == 1 and files[0].suffix == ".json"
    doc = json.loads(files[0].read_text(encoding="utf-8"))
    assert doc["period"]["label"] == "2024-Q1" and doc["report"]["digest"] in r.output
    r = runner.invoke(["secmon", "evaluate", "--period", "2024-Q2", "--department", "SZ-EVAL", "--format", "pdf",
                       "--compare", "2024-Q1", "-o", str(tmp_path / "r.pdf")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF") and "compared with 2024-Q1" in r.output
    for args, msg in [(["--period", "2024-Q9"], "unknown period"), (["--period", "2019-Q1"], "is empty"),
                      (["--period", "2024-Q1", "--department", "SZ-EMPTY"], "has no assets"),
                      (["--period", "2024-Q1", "--weights", str(tmp_path / "none.yaml")], "no such weights file")]:
        r = runner.invoke(["secmon", "evaluate", *args])
        assert r.exit_code == 2 and msg in r.output, (args, r.output)
    bad = tmp_path / "w.yaml"
    bad.write_text("version: 1\nbands: []\nindicators: {}\n")
    r = runner.invoke(["secmon", "evaluate", "--period", "2024-Q1", "--weights", str(bad)])
    assert r.exit_code == 2 and "weights file" in r.output and "is invalid" in r.output
    listing = runner.invoke(["secmon", "evaluations", "list", "--format", "json"])
    rid = json.loads(listing.output)[0]["id"]
    assert runner.invoke(["secmon", "evaluations", "verify", rid]).exit_code == 0
    tampered = tmp_path / "t.pdf"
    tampered.write_bytes(b"%PDF-1.7 forged")
    assert runner.invoke(["secmon", "evaluations", "verify", rid, "--file", str(tampered)]).exit_code == 1
    r = runner.invoke(["secmon", "prune", "--days", "10"])
    assert r.exit_code == 2 and "legal minimum" in r.output


def test_pages_zh_and_en(client, auth, world):
    auth.user("security_analyst", username="soc")
    auth.login(client, "soc")
    page = client.get("/secmon/evaluations")
    assert page.status_code == 200 and "安全评估" in page.get_data(as_text=True)
    bad = client.post("/secmon/evaluations", data={"period": "2024-Q9", "csrf_token": csrf_token(page)})
    assert bad.status_code == 422 and "unknown period" in bad.get_data(as_text=True)
    r = client.post("/secmon/evaluations", data={"period": "2024-Q1", "department": "SZ-EVAL",
                                                 "csrf_token": csrf_token(page)})
    assert r.status_code == 302
    detail = client.get(r.headers["Location"])
    body = detail.get_data(as_text=True)
    assert detail.status_code == 200 and "评估测试局" in body and "MLPS3-SMC-CENTRAL" in body
    assert "平均研判时长" in body  # indicator names in Chinese
    assert "现状与目标轮廓" in body and "主要风险与建议措施" in body
    rid = r.headers["Location"].rstrip("/").split("/")[-1]
    assert client.get(f"/secmon/evaluations/{rid}/report.html").data.count(b"<svg") >= 4
    assert client.get(f"/secmon/evaluations/{rid}/report.pdf").data.startswith(b"%PDF")
    assert client.get(f"/secmon/evaluations/{rid}/report.exe").status_code == 404
    client.get("/lang/en")
    en = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Mean time to triage" in en and "How the score was computed" in en


def test_scheduler_job_wrappers(app, world):
    from portal.scheduler_jobs import secmon_evaluation as jobs_mod

    with app.app_context():
        out = jobs_mod.quarterly_reports()  # the last finished quarter has no EVE data in the fixture
        assert "evaluation:" in out and "no report: period" in out and "is empty" in out
        assert "skipped: claimed by another run" in jobs_mod.quarterly_reports()  # done once, not twice
        app.config["SECMON_EVE_RETENTION_DAYS"] = 90
        assert "below the legal minimum" in jobs_mod.prune_eve()
        app.config["SECMON_EVE_RETENTION_DAYS"] = 400
        assert jobs_mod.prune_eve().startswith("pruned ")
        assert "claimed by another run" in jobs_mod.prune_eve()  # once per day across scheduler processes
        assert jobs_mod.stale_sensors().startswith("0 stale sensor(s)")  # eval-s1 delivered data just now
