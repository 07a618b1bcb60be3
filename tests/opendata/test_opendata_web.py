"""Public catalog and dataset pages, the steward page (zh default, English)."""

from __future__ import annotations

from tests.opendata.test_opendata_ckan import served  # noqa: F401  (publishes datasets into the app)


def test_public_pages(client, served):  # noqa: F811
    r = client.get("/opendata")
    assert r.status_code == 200
    html = r.data.decode()
    assert "开放数据目录" in html and "bus-stops" in html and "tran" in html
    r = client.get("/opendata?q=metro")
    assert "metro-lines" in r.data.decode() and "bus-stops" not in r.data.decode()
    r = client.get("/opendata?tags=%E5%85%AC%E4%BA%A4")  # 公交
    assert "bus-stops" in r.data.decode() and "metro-lines" not in r.data.decode()
    r = client.get("/opendata/dataset/bus-stops")
    html = r.data.decode()
    assert r.status_code == 200 and "opendata:dataset:publish" in html and "有条件开放" in html and "CC-BY-4.0" in html
    assert client.get("/opendata/dataset/draft-only").status_code == 404
    client.get("/lang/en")
    r = client.get("/opendata/dataset/bus-stops", headers={"Accept-Language": "en"})
    assert r.status_code == 200


def test_steward_page_needs_login(client):
    r = client.get("/opendata/steward")
    assert r.status_code in (302, 401)
