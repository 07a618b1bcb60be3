"""The CKAN-compatible Action API driven by the real ``ckanapi`` client (RemoteCKAN and the
``ckanapi`` command) against an instance served on loopback by waitress (issue 13)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ckanapi = pytest.importorskip("ckanapi")

from tests.opendata.test_opendata_release import META, _clean_rows, _csv, steward  # noqa: E402

DEMO = Path(__file__).resolve().parents[2]


@pytest.fixture
def served(app, db_session, tmp_path):
    from waitress.server import create_server

    from opendata.catalog import dataset_create, dataset_grade, distribution_add
    from opendata.release import dataset_approve, dataset_check, dataset_publish, dataset_withdraw
    from portal.web.opendata import storage_dir

    with app.app_context():
        store = storage_dir()
    alice, bob = steward("alice"), steward("bob")
    other = steward("carol", "org-health")
    for i, (name, theme, tags, org) in enumerate([("bus-stops", "TRAN", ["公交", "bus"], (alice, bob)),
                                                   ("metro-lines", "TRAN", ["地铁", "metro"], (alice, bob)),
                                                   ("clinics", "HEAL", ["医疗", "health"], (other, steward("dan", "org-health"))),
                                                   ("old-data", "GOVE", ["archive"], (alice, bob)),
                                                   ("draft-only", "TRAN", ["bus"], (alice, bob))]):
        prep, appr = org
        dataset_create(db_session, prep, dict(META, name=name, theme=theme, keywords=tags,
                                              title_en=f"{name} en", description_en=f"About {name}"))
        dataset_grade(db_session, prep, name, "conditional", "district-level aggregates")
        distribution_add(db_session, prep, name, source=_csv(tmp_path / f"{i}.csv", _clean_rows()), filename=f"{name}.csv",
                         fmt="CSV", storage=store)
        if name == "draft-only":
            continue
        dataset_check(db_session, prep, name, storage=store)
        dataset_approve(db_session, appr, name)
        dataset_publish(db_session, appr, name, storage=store)
    dataset_withdraw(db_session, bob, "old-data", reason="superseded by metro-lines")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = create_server(app, host="127.0.0.1", port=port, threads=1)
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{port}"
    server.close()


def test_remoteckan(served):
    ck = ckanapi.RemoteCKAN(served)
    assert ck.action.status_show()["ckan_version"].startswith("2.")
    assert ck.action.package_list() == ["bus-stops", "clinics", "metro-lines"]
    res = ck.action.package_search(q="bus", fq="organization:org-transport", rows=10,
                                   **{"facet.field": json.dumps(["organization", "tags", "res_format", "groups"])})
    assert [p["name"] for p in res["results"]] == ["bus-stops"]
    assert res["facets"]["res_format"] == {"CSV": 1} and res["search_facets"]["tags"]["items"]
    # a Chinese keyword that only the keyword list holds ('公交' is in the titles too: use a tag-only word)
    assert [p["name"] for p in ck.action.package_search(q="地铁")["results"]] == ["metro-lines"]
    assert ck.action.package_search(q="100%_!")["count"] == 0
    res = ck.action.package_search(fq="groups:tran res_format:CSV", sort="name asc", rows=1, start=1)
    assert res["count"] == 2 and [p["name"] for p in res["results"]] == ["metro-lines"]
    pkg = ck.action.package_show(id="bus-stops")
    real = json.loads((Path(__import__("os").environ.get("CITYGOV_SHARED_DATA", "/work/shared/data")) / "ckan" /
                       "demo-ckan-responses-2017" / "17be64bb-da74-4195-9bb8-565c39846af2.json").read_text())["result"]
    assert set(real) <= set(pkg), set(real) - set(pkg)
    assert set(real["resources"][0]) <= set(pkg["resources"][0])
    assert ck.action.organization_list() == ["org-health", "org-transport"]
    assert ck.action.organization_show(id="org-transport")["package_count"] == 2
    assert ck.action.group_list() == ["heal", "tran"]
    assert "公交" in ck.action.tag_list()
    rid = pkg["resources"][0]["id"]
    assert ck.action.resource_show(id=rid)["hash"].startswith("sha256:")
    ds = ck.action.datastore_search(resource_id=rid, limit=5)
    assert ds["total"] == 60 and len(ds["records"]) == 5 and ds["records"][0]["区"] == "南山区"
    with pytest.raises(ckanapi.NotFound):
        ck.action.package_show(id="draft-only")  # drafts are not public
    with pytest.raises(ckanapi.NotFound) as ei:
        ck.action.package_show(id="old-data")
    assert "withdrawn" in str(ei.value)
    with pytest.raises(ckanapi.SearchQueryError):
        ck.action.package_search(fq="bogus_field:x")
    with pytest.raises(ckanapi.ValidationError):
        ck.action.package_search(rows="many")
    with pytest.raises(ckanapi.NotAuthorized):  # an unknown key is refused, not ignored
        ckanapi.RemoteCKAN(served, apikey="cg_not-a-key").action.package_list()
    with pytest.raises(ckanapi.CKANAPIError):
        ck.action.no_such_action()
    ck_get = ckanapi.RemoteCKAN(served, get_only=True)
    assert ck_get.action.package_show(id="clinics")["organization"]["name"] == "org-health"


def test_ckanapi_cli(served, tmp_path):
    exe = [sys.executable, "-m", "ckanapi"] if False else [str(Path(sys.executable).with_name("ckanapi"))]
    out = subprocess.run(exe + ["search", "datasets", "q=metro", "-r", served], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert [json.loads(line)["name"] for line in out.stdout.splitlines()] == ["metro-lines"]
    dump = tmp_path / "dump.jsonl"
    out = subprocess.run(exe + ["dump", "datasets", "--all", "-r", served, "-O", str(dump), "-p", "1", "-q"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert sorted(json.loads(line)["name"] for line in dump.read_text().splitlines()) == ["bus-stops", "clinics", "metro-lines"]
