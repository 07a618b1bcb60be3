"""Full-text catalog search (SQLite FTS5 / PostgreSQL tsvector): CKAN package_search answers checked
against a brute-force oracle over the same datasets; Chinese substrings without a segmenter; the index
follows every change (publish, withdraw, new distribution) in the same transaction."""

from __future__ import annotations

import json
import random
import re

import pytest
from sqlmodel import select

from kernel.principal import Principal
from opendata import ckan, search
from opendata.catalog import dataset_create, distribution_add
from opendata.models import Dataset, Distribution, SearchDoc
from tests.opendata.test_opendata_release import META, _csv, steward

ANON = Principal(kind="anonymous")
WORDS = ["公交", "公交站", "地铁", "医疗", "门诊", "学校", "空气质量", "预算", "道路", "停车", "人口", "车",
         "bus", "buses", "metro", "clinic", "school", "air"]
ORGS = ["org-transport", "org-health", "org-education"]
THEMES = ["TRAN", "HEAL", "EDUC", "ENVI"]


def _publish_all(session, names):
    for ds in session.exec(select(Dataset).where(Dataset.name.in_(names))):
        ds.state = "published"  # state changes through the ORM: the flush hook re-indexes
        session.add(ds)
    session.commit()


@pytest.fixture
def corpus(db_session, tmp_path):
    rnd = random.Random(13)
    stewards = {o: steward(f"s-{o}", o) for o in ORGS}
    rows = []
    for i in range(80):
        kw = rnd.sample(WORDS, 3)
        org = ORGS[i % 3]
        meta = dict(META, name=f"ds-{i:03d}", title_zh=f"{kw[0]}数据{i}", title_en=f"{kw[1]} data {i}",
                    description_zh=f"关于{kw[0]}和{kw[2]}的统计", description_en=f"About {kw[1]}", theme=rnd.choice(THEMES),
                    keywords=kw[:2], quasi_identifiers=[])
        dataset_create(db_session, stewards[org], meta)
        fmts = rnd.sample(["CSV", "JSON"], rnd.randint(1, 2))
        for f in fmts:
            src = _csv(tmp_path / f"{i}.csv", [["a", "b"], ["1", "2"]]) if f == "CSV" else tmp_path / f"{i}.json"
            if f == "JSON":
                src.write_text('[{"a": 1}]', encoding="utf-8")
            distribution_add(db_session, stewards[org], meta["name"], source=src, filename=src.name, fmt=f, storage=tmp_path / "s")
        rows.append((meta, org, fmts))
    _publish_all(db_session, [m["name"] for m, _o, _f in rows[:70]])  # 10 stay drafts
    return rows, stewards


def _oracle(session, q, must, must_not, drafts_org=None):
    """Every published (or own draft) dataset whose text holds every query word (latin: as a word
    prefix, CJK: as a substring) and whose facets satisfy the filters."""
    out = []
    for ds in session.exec(select(Dataset)):
        if not (ds.state == "published" or (drafts_org and ds.org_id == drafts_org and ds.state != "withdrawn")):
            continue
        fmts = {d.format for d in session.exec(select(Distribution).where(Distribution.dataset_id == ds.id))}
        f = {"organization": {search.org_name(ds.org_id)}, "groups": {ds.theme.lower()}, "tags": set(ds.keywords),
             "res_format": fmts, "name": {ds.name}, "license_id": {ds.licence}}
        if not all(v in f[k] for k, v in must) or any(v in f[k] for k, v in must_not):
            continue
        text = " ".join([ds.name, ds.title_zh, ds.title_en, ds.description_zh, ds.description_en, *ds.keywords]).lower()
        latin = set(re.findall(r"[a-z0-9]+", text))
        ok = True
        for w in q.split():
            for run in re.findall(r"[\u4e00-\u9fff]+|[a-z0-9]+", w.lower()):
                if re.match(r"[a-z0-9]", run):
                    ok &= any(t.startswith(run) for t in latin)
                else:
                    ok &= run in text
        if ok:
            out.append(ds)
    return out


def test_search_matches_brute_force(db_session, corpus):
    rnd = random.Random(7)
    for _ in range(60):
        q = " ".join(rnd.sample(WORDS, rnd.choice([0, 1, 1, 2])))
        must, must_not = [], []
        if rnd.random() < 0.5:
            must.append(("groups", rnd.choice(THEMES).lower()))
        if rnd.random() < 0.5:
            must.append(("res_format", rnd.choice(["CSV", "JSON"])))
        if rnd.random() < 0.3:
            must.append(("organization", rnd.choice(ORGS)))
        if rnd.random() < 0.3:
            must_not.append(("tags", rnd.choice(WORDS)))
        fq = " ".join([f'{k}:"{v}"' for k, v in must] + [f'-{k}:"{v}"' for k, v in must_not])
        res = ckan.package_search(db_session, ANON, {"q": q, "fq": fq, "rows": 1000, "sort": "name asc",
                                                    "facet.field": json.dumps(["organization", "tags", "res_format", "groups"]),
                                                    "facet.limit": -1}, "http://x")
        want = _oracle(db_session, q, must, must_not)
        assert [p["name"] for p in res["results"]] == sorted(d.name for d in want), (q, fq)
        assert res["count"] == len(want)
        tags: dict[str, int] = {}
        for d in want:
            for t in d.keywords:
                tags[t] = tags.get(t, 0) + 1
        assert res["facets"]["tags"] == {k: v for k, v in sorted(tags.items(), key=lambda x: (-x[1], x[0]))}
        orgs: dict[str, int] = {}
        for d in want:
            orgs[d.org_id] = orgs.get(d.org_id, 0) + 1
        assert res["facets"]["organization"] == dict(sorted(orgs.items(), key=lambda x: (-x[1], x[0])))
        assert sum(res["facets"]["groups"].values()) == len(want)


def test_chinese_substrings_and_paging(db_session, corpus):
    # 公交站 is a phrase of the bigrams 公交 交站: a text holding 公交 but not 公交站 does not match
    with_phrase = ckan.package_search(db_session, ANON, {"q": "公交站", "rows": 1000}, "http://x")
    assert with_phrase["count"] > 0
    for p in with_phrase["results"]:
        assert "公交站" in " ".join([p["title"], p["notes"], *[t["name"] for t in p["tags"]]])
    wider = ckan.package_search(db_session, ANON, {"q": "公交", "rows": 1000}, "http://x")["count"]
    assert wider > with_phrase["count"]
    one = ckan.package_search(db_session, ANON, {"q": "车", "rows": 1000}, "http://x")  # a single character
    assert one["count"] >= 1 and all("车" in p["title"] + p["notes"] + "".join(t["name"] for t in p["tags"]) for p in one["results"])
    page1 = ckan.package_search(db_session, ANON, {"q": "", "rows": 7, "start": 0, "sort": "name asc"}, "http://x")
    page2 = ckan.package_search(db_session, ANON, {"q": "", "rows": 7, "start": 7, "sort": "name asc"}, "http://x")
    assert page1["count"] == 70 and [p["name"] for p in page1["results"]] == [f"ds-{i:03d}" for i in range(7)]
    assert [p["name"] for p in page2["results"]] == [f"ds-{i:03d}" for i in range(7, 14)]
    desc = ckan.package_search(db_session, ANON, {"rows": 3, "sort": "name desc"}, "http://x")
    assert [p["name"] for p in desc["results"]] == ["ds-069", "ds-068", "ds-067"]
    # hostile q: FTS syntax characters are data, not syntax
    for q in ('"', "bus OR", "NOT", "a:b*", "(((", "公交\" OR \"x", "'; DROP TABLE opendata_dataset; --"):
        ckan.package_search(db_session, ANON, {"q": q}, "http://x")
    with pytest.raises(ckan.SearchQueryError):
        ckan.package_search(db_session, ANON, {"q": "公交 " * 40}, "http://x")


def test_drafts_and_sync(db_session, corpus, tmp_path):
    rows, stewards = corpus
    draft = rows[75][0]["name"]
    anon = ckan.package_search(db_session, ANON, {"fq": f"name:{draft}", "include_drafts": True}, "http://x")
    assert anon["count"] == 0  # drafts never reach the public, whatever they ask for
    org = rows[75][1]
    own = ckan.package_search(db_session, stewards[org], {"fq": f"name:{draft}", "include_drafts": True}, "http://x")
    assert own["count"] == 1
    other = next(o for o in ORGS if o != org)
    assert ckan.package_search(db_session, stewards[other], {"fq": f"name:{draft}", "include_drafts": True}, "http://x")["count"] == 0
    # withdrawal leaves the index in the same flush
    name = rows[0][0]["name"]
    assert ckan.package_search(db_session, ANON, {"fq": f"name:{name}"}, "http://x")["count"] == 1
    ds = db_session.exec(select(Dataset).where(Dataset.name == name)).one()
    ds.state = "withdrawn"
    db_session.add(ds)
    db_session.commit()
    assert ckan.package_search(db_session, ANON, {"fq": f"name:{name}"}, "http://x")["count"] == 0
    # a new distribution format shows in the facet at once
    pub = rows[1][0]["name"]
    src = tmp_path / "g.geojson"
    src.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    distribution_add(db_session, stewards[rows[1][1]], pub, source=src, filename="g.geojson", fmt="GEOJSON", storage=tmp_path / "s")
    _publish_all(db_session, [pub])
    res = ckan.package_search(db_session, ANON, {"fq": "res_format:GEOJSON", "facet.field": '["res_format"]'}, "http://x")
    assert [p["name"] for p in res["results"]] == [pub] and res["facets"]["res_format"]["GEOJSON"] == 1
    # rebuild reproduces the incrementally kept index
    before = sorted((d.dataset_id, d.body, d.uni, d.meta) for d in db_session.exec(select(SearchDoc)))
    assert search.rebuild(db_session) == 80
    db_session.commit()
    assert sorted((d.dataset_id, d.body, d.uni, d.meta) for d in db_session.exec(select(SearchDoc))) == before
