"""The audited release workflow: draft → checked → approved → published → withdrawn (issue 13)."""

from __future__ import annotations

import csv

import pytest
from sqlmodel import select

from audit.models import AuditEvent
from kernel.errors import Conflict, NotAuthorized, NotFound, PayloadTooLarge, ValidationFailed
from kernel.ids import new_id
from kernel.principal import Principal
from opendata.catalog import dataset_create, dataset_get, dataset_grade, distribution_add, vocab
from opendata.generate import Generator
from opendata.release import ReleaseRefused, dataset_approve, dataset_check, dataset_publish, dataset_withdraw

ORG = "org-transport"


def steward(name: str, org: str = ORG) -> Principal:
    return Principal(kind="user", id=new_id(), name=name, org_id=org, org_kind="department",
                     roles=frozenset({"data_steward"}))


ANON = Principal(kind="anonymous")
META = {"name": "bus-stops", "title_zh": "公交站点", "title_en": "Bus stops", "description_zh": "全市公交站点",
        "description_en": "Bus stops of the city", "theme": "TRAN", "keywords": ["公交", "bus"], "licence": "CC-BY-4.0",
        "frequency": "MONTHLY", "contact_email": "opendata@sz.gov.cn", "quasi_identifiers": ["区", "年龄段"]}


def _csv(path, rows, encoding="utf-8"):
    with open(path, "w", encoding=encoding, newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _clean_rows(n=60):
    return [["站点", "区", "年龄段"]] + [[f"站{i}", ["南山区", "福田区"][i % 2], ["20-29", "30-39"][i % 3 == 0]] for i in range(n)]


def test_full_workflow_is_audited(db_session, tmp_path):
    alice, bob = steward("alice"), steward("bob")
    store = tmp_path / "store"
    ds = dataset_create(db_session, alice, META)
    assert ds.state == "draft" and ds.grade == "not_open"
    with pytest.raises(NotFound):  # drafts are invisible outside the department
        dataset_get(db_session, ANON, "bus-stops")
    with pytest.raises(NotFound):
        dataset_get(db_session, steward("eve", "org-health"), "bus-stops")
    # a file with resident IDs in 2 of 60 remarks: refused, naming column, rows and type
    g = Generator(seed=1)
    rows = _clean_rows()
    rows[0].append("备注")
    for i, r in enumerate(rows[1:], 1):
        r.append(f"乘客身份证{g.resident_id()}" if i in (7, 40) else "无")
    distribution_add(db_session, alice, "bus-stops", source=_csv(tmp_path / "a.csv", rows), filename="stops.csv",
                     fmt="CSV", storage=store)
    with pytest.raises(ReleaseRefused) as ei:
        dataset_check(db_session, alice, "bus-stops", storage=store)
    assert any(e["message"].startswith("graded 'not open'") for e in ei.value.errors)
    dataset_grade(db_session, alice, "bus-stops", "conditional", "contains district-level passenger data")
    with pytest.raises(ReleaseRefused) as ei:
        dataset_check(db_session, alice, "bus-stops", storage=store)
    refusal = [e for e in ei.value.errors if e.get("entity")]
    assert [(e["column"], e["entity"], e["rows"]) for e in refusal] == [("备注", "CN_RESIDENT_ID", [7, 40])]
    assert dataset_get(db_session, alice, "bus-stops").state == "draft"
    # replace by a clean file
    ds = dataset_get(db_session, alice, "bus-stops")
    from opendata.models import Distribution
    for d in db_session.exec(select(Distribution).where(Distribution.dataset_id == ds.id)):
        db_session.delete(d)
    db_session.commit()
    dist = distribution_add(db_session, alice, "bus-stops", source=_csv(tmp_path / "b.csv", _clean_rows()),
                            filename="stops.csv", fmt="CSV", storage=store)
    summary = dataset_check(db_session, alice, "bus-stops", storage=store)
    assert summary["passed"] and summary["k"] >= 5
    with pytest.raises(NotAuthorized):  # two-person rule
        dataset_approve(db_session, alice, "bus-stops")
    dataset_approve(db_session, bob, "bus-stops")
    ds = dataset_publish(db_session, bob, "bus-stops", storage=store)
    assert ds.state == "published" and dataset_get(db_session, ANON, "bus-stops").id == ds.id
    events = list(db_session.exec(select(AuditEvent).where(AuditEvent.object_id == ds.id).order_by(AuditEvent.seq)))
    actions = [e.action for e in events]
    assert actions.count("opendata:dataset:check") == 3
    pub = [e for e in events if e.action == "opendata:dataset:publish"][0]
    assert pub.details["digests"] == [dist.sha256] and pub.details["k"] == summary["k"]
    refused = [e for e in events if e.action == "opendata:dataset:check" and e.details["outcome"] == "refused"][-1]
    assert refused.details["refusals"][0]["rows"] == [7, 40]
    with pytest.raises(Conflict):
        dataset_approve(db_session, bob, "bus-stops")
    dataset_withdraw(db_session, bob, "bus-stops", reason="source data corrected")
    with pytest.raises(NotFound):
        dataset_get(db_session, ANON, "bus-stops")


def test_k_below_threshold_refused(db_session, tmp_path):
    alice = steward("alice")
    dataset_create(db_session, alice, dict(META, name="ages"))
    dataset_grade(db_session, alice, "ages", "unconditional", "statistics only")
    rows = _clean_rows(12)
    rows.append(["站x", "罗湖区", "80-89"])  # a class of one
    distribution_add(db_session, alice, "ages", source=_csv(tmp_path / "c.csv", rows), filename="c.csv", fmt="CSV",
                     storage=tmp_path / "s")
    with pytest.raises(ReleaseRefused) as ei:
        dataset_check(db_session, alice, "ages", storage=tmp_path / "s")
    assert any("k = 1 is below 10" in e["message"] for e in ei.value.errors)


def test_bad_input(db_session, tmp_path):
    alice = steward("alice")
    with pytest.raises(ValidationFailed) as ei:
        dataset_create(db_session, alice, dict(META, theme="XXXX", licence="WTFPL"))
    assert {e["pointer"] for e in ei.value.errors} == {"/theme", "/licence"}
    dataset_create(db_session, alice, dict(META, name="bad-files"))
    store = tmp_path / "s"
    jpg = tmp_path / "x.csv"
    jpg.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    with pytest.raises(ValidationFailed, match="not CSV"):
        distribution_add(db_session, alice, "bad-files", source=jpg, filename="x.csv", fmt="CSV", storage=store)
    notjson = _csv(tmp_path / "n.json", [["a"], ["b"]])
    with pytest.raises(ValidationFailed, match="not valid JSON"):
        distribution_add(db_session, alice, "bad-files", source=notjson, filename="n.json", fmt="JSON", storage=store)
    # GBK text is accepted and stored as UTF-8
    gbk = _csv(tmp_path / "g.csv", [["区", "站点"], ["南山区", "科技园站"]], encoding="gbk")
    d = distribution_add(db_session, alice, "bad-files", source=gbk, filename="g.csv", fmt="CSV", storage=store)
    from opendata.catalog import blob_path
    assert blob_path(store, d.sha256).read_text(encoding="utf-8").startswith("区,站点")
    big = tmp_path / "big.csv"
    with open(big, "wb") as fh:
        fh.truncate(vocab()["max_upload_bytes"] + 1)
    with pytest.raises(PayloadTooLarge):
        distribution_add(db_session, alice, "bad-files", source=big, filename="big.csv", fmt="CSV", storage=store)
    assert sorted(p.name for p in store.rglob("*") if p.is_file()) == [d.sha256]  # nothing half-written


def test_stale_datasets_flagged_once(db_session, tmp_path):
    from datetime import timedelta

    from kernel.clock import utcnow
    from kernel.principal import system_principal
    from opendata.stale import flag_stale

    alice, bob = steward("alice"), steward("bob")
    dataset_create(db_session, alice, dict(META, frequency="MONTHLY"))
    dataset_grade(db_session, alice, "bus-stops", "conditional", "district-level aggregates")
    distribution_add(db_session, alice, "bus-stops", source=_csv(tmp_path / "a.csv", _clean_rows()), filename="a.csv",
                     fmt="CSV", storage=tmp_path / "s")
    dataset_check(db_session, alice, "bus-stops", storage=tmp_path / "s")
    dataset_approve(db_session, bob, "bus-stops")
    dataset_publish(db_session, bob, "bus-stops", storage=tmp_path / "s")
    sysp = system_principal("test")
    assert flag_stale(db_session, sysp, now=utcnow() + timedelta(days=30)) == []
    got = flag_stale(db_session, sysp, now=utcnow() + timedelta(days=40))
    assert [d.name for d in got] == ["bus-stops"]
    assert flag_stale(db_session, sysp, now=utcnow() + timedelta(days=80)) == []  # flagged once
    ev = db_session.exec(select(AuditEvent).where(AuditEvent.action == "opendata:dataset:stale")).one()
    assert ev.details["owner_org"] == ORG
