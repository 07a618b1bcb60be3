"""Steward pages for preparing a release: new dataset (per-field errors), grade, upload a file, harvest
a DCAT-AP file, then check → approve (second person) → publish on the releases page."""

from __future__ import annotations

import io
from pathlib import Path

from sqlmodel import select

from opendata.models import Dataset, Distribution
from tests.factories import csrf_token, make_org
from tests.opendata.test_opendata_release import META, _clean_rows


def _csv_bytes(rows) -> bytes:
    return "\n".join(",".join(r) for r in rows).encode("utf-8")


def test_prepare_and_publish_through_pages(client, auth, db_session, od_data):
    org = make_org(db_session, "SZ-TRANS-P")
    alice, bob = auth.user("data_steward", org=org), auth.user("data_steward", org=org)
    assert client.get("/opendata/steward/new").status_code in (302, 401)
    auth.login(client, alice.username)
    page = client.get("/opendata/steward/new")
    assert page.status_code == 200 and "新建数据集" in page.get_data(as_text=True)
    form = {k: v for k, v in META.items() if isinstance(v, str)}
    form.update(keywords="公交, bus", quasi_identifiers="区, 年龄段", csrf_token=csrf_token(page))
    r = client.post("/opendata/steward/new", data=dict(form, name="Bad Name!"))
    assert r.status_code == 422 and 'aria-invalid="true"' in r.get_data(as_text=True)
    assert db_session.exec(select(Dataset)).all() == []  # nothing half-written
    r = client.post("/opendata/steward/new", data=form)
    assert r.status_code == 302
    ds = db_session.exec(select(Dataset).where(Dataset.name == "bus-stops")).one()
    assert ds.keywords == ["公交", "bus"] and ds.quasi_identifiers == ["区", "年龄段"] and ds.org_id == org.id
    steward = client.get("/opendata/steward")
    tok = csrf_token(steward)
    client.post("/opendata/steward/bus-stops/grade", data={"grade": "conditional", "reason": "district aggregates", "csrf_token": tok})
    r = client.post("/opendata/steward/bus-stops/upload", data={"format": "JSON", "csrf_token": tok,
                                                                "file": (io.BytesIO(_csv_bytes(_clean_rows())), "stops.csv")},
                    content_type="multipart/form-data", follow_redirects=True)
    assert "JSON" in r.get_data(as_text=True) and db_session.exec(select(Distribution)).all() == []  # not the declared format
    client.post("/opendata/steward/bus-stops/upload", data={"format": "CSV", "csrf_token": tok,
                                                            "file": (io.BytesIO(_csv_bytes(_clean_rows())), "stops.csv")},
                content_type="multipart/form-data")
    db_session.expire_all()
    assert db_session.get(Dataset, ds.id).grade == "conditional"
    assert [d.filename for d in db_session.exec(select(Distribution))] == ["stops.csv"]
    client.post("/opendata/steward/bus-stops/check", data={"csrf_token": tok})
    ex = Path(od_data) / "dcat" / "dcat-ap" / "3.0.1" / "examples" / "example-bee-population.ttl"
    r = client.post("/opendata/steward/harvest", data={"rdf_format": "ttl", "contact_email": "opendata@sz.gov.cn", "csrf_token": tok,
                                                       "file": (io.BytesIO(ex.read_bytes()), "bees.ttl")},
                    content_type="multipart/form-data", follow_redirects=True)
    assert r.status_code == 200
    assert len(db_session.exec(select(Dataset)).all()) == 2
    client.post("/logout", data={"csrf_token": tok})
    auth.login(client, bob.username)
    tok = csrf_token(client.get("/opendata/steward"))
    client.post("/opendata/steward/bus-stops/approve", data={"csrf_token": tok})
    client.post("/opendata/steward/bus-stops/publish", data={"csrf_token": tok})
    db_session.expire_all()
    assert db_session.get(Dataset, ds.id).state == "published"
    assert client.get("/api/3/action/package_search?q=公交").json["result"]["count"] == 1
