"""``/api/v1/opendata/...``: the steward workflow over HTTP (responses validated against the OpenAPI
document by the test client)."""

from __future__ import annotations

import csv
import io

from tests.factories import make_org
from tests.opendata.test_opendata_release import META, _clean_rows


def _csv_bytes(rows) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode("utf-8")


def test_api_workflow(client, auth):
    org = make_org(auth.session, "SZ-TRANS-A")
    alice, bob = auth.user("data_steward", org=org), auth.user("data_steward", org=org)
    ha, hb = auth.headers(alice), auth.headers(bob)
    r = client.post("/api/v1/opendata/datasets", json=META, headers=ha)
    assert r.status_code == 201 and r.json["state"] == "draft"
    assert client.get("/api/v1/opendata/datasets/bus-stops").status_code == 404  # draft: not public
    r = client.post("/api/v1/opendata/datasets", json=dict(META, name="x2", theme="NOPE"), headers=ha)
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/theme"
    r = client.post("/api/v1/opendata/datasets/bus-stops/grade", json={"grade": "conditional", "reason": "aggregates"}, headers=ha)
    assert r.status_code == 200
    rows = _clean_rows()
    rows[0].append("邮箱")
    for x in rows[1:]:
        x.append("")
    rows[3][-1] = "联系zhang.san@163.com谢谢"
    r = client.post("/api/v1/opendata/datasets/bus-stops/distributions?format=CSV&filename=s.csv", data=_csv_bytes(rows),
                    headers={**ha, "Content-Type": "text/csv"})
    assert r.status_code == 201
    r = client.post("/api/v1/opendata/datasets/bus-stops/check", headers=ha)
    assert r.status_code == 422
    err = [e for e in r.json["errors"] if e.get("entity")][0]
    assert (err["column"], err["entity"], err["rows"]) == ("邮箱", "EMAIL", [3])
    r = client.post("/api/v1/opendata/datasets/bus-stops/distributions?format=JSON&filename=s.json", data=b"{not json",
                    headers={**ha, "Content-Type": "application/octet-stream"})
    assert r.status_code == 422
    # a clean dataset goes through
    client.post("/api/v1/opendata/datasets", json=dict(META, name="stops-clean"), headers=ha)
    client.post("/api/v1/opendata/datasets/stops-clean/grade", json={"grade": "conditional", "reason": "aggregates"}, headers=ha)
    client.post("/api/v1/opendata/datasets/stops-clean/distributions?format=CSV&filename=s.csv", data=_csv_bytes(_clean_rows()),
                headers={**ha, "Content-Type": "text/csv"})
    assert client.post("/api/v1/opendata/datasets/stops-clean/check", headers=ha).status_code == 200
    assert client.post("/api/v1/opendata/datasets/stops-clean/approve", headers=ha).status_code == 403  # same person
    assert client.post("/api/v1/opendata/datasets/stops-clean/approve", headers=hb).status_code == 200
    r = client.post("/api/v1/opendata/datasets/stops-clean/publish", headers=hb)
    assert r.status_code == 200 and r.json["state"] == "published"
    r = client.get("/api/v1/opendata/datasets/stops-clean/proof")
    assert r.status_code == 200
    acts = [e["action"] for e in r.json["entries"]]
    assert acts[-1] == "opendata:dataset:publish" and "opendata:dataset:approve" in acts
    assert client.post("/api/v1/opendata/datasets/stops-clean/publish", headers=hb).status_code == 409
    r = client.post("/api/v1/opendata/datasets/stops-clean/withdraw", json={"reason": "x"}, headers=hb)
    assert r.status_code == 422
    assert client.post("/api/v1/opendata/datasets/stops-clean/withdraw", json={"reason": "data corrected"}, headers=hb).status_code == 200
    names = [d["name"] for d in client.get("/api/v1/opendata/datasets").json["items"]]
    assert names == []
