"""Pre-check rules as data, duplicate detection through the services, import and export."""

from __future__ import annotations

import io
import json
import random

import pytest

from kernel.errors import Conflict, NotAuthorized, ValidationFailed
from registry import export, generator, importing, precheck
from registry import services as reg
from registry.similarity import SimilarityIndex, explain, features_of, shared_phrases
from tests.registry.conftest import proposal


def _rules(findings):
    return {f["rule"] for f in findings}


def test_packaged_rules_catch_the_usual_problems():
    doc = proposal(deployment="exception_dedicated", data_aggregation=["视频点位目录"], personal_data=True,
                   mlps_level=2, budget=30_000, attachments=[], start_year=2026, end_year=2033,
                   interfaces_provided=[{"name": "x", "standard": "no.such.standard@1.0.0"}])
    findings = precheck.evaluate(doc, list(precheck.packaged_rules()), lambda ref: False)
    assert {"cloud-first", "data-aggregation", "mlps-personal-data", "standards-published", "duration",
            "budget-plausible-min", "attachments-budget-detail"} <= _rules(findings)
    agg = next(f for f in findings if f["rule"] == "data-aggregation")
    assert agg["details"]["missing"] == ["视频事件库"] and agg["severity"] == "error" and agg["field"]
    clean = precheck.evaluate(proposal(), list(precheck.packaged_rules()), lambda ref: True)
    assert not [f for f in clean if f["severity"] == "error"]


def test_standards_referenced_must_be_published(world):
    from kernel.principal import system_principal
    from standards import services as standards

    s = world.session
    standards.publish(s, system_principal("t"), "city.population-api", "1.0.0",
                      json.dumps({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"}),
                      kind="jsonschema")
    ok = precheck.run(s, proposal(interfaces_provided=[{"name": "人口", "standard": "city.population-api@1.0.0"}]))
    assert "standards-published" not in _rules(ok["findings"])
    bad = precheck.run(s, proposal(interfaces_provided=[{"name": "人口", "standard": "city.population-api@9.0.0"}]))
    assert "standards-published" in _rules(bad["findings"]) and not bad["passed"]


def test_commission_adds_a_rule_without_code(world):
    s, p = world.session, world.p
    rule = {"code": "budget-cap-district", "severity": "error", "field": "budget",
            "message": "区级项目预算不超过一千万", "when": {"field": "district", "op": "ne", "value": "全市"},
            "check": {"field": "budget", "op": "lte", "value": 10_000_000}}
    with pytest.raises(NotAuthorized):
        reg.rule_create(s, p["sub_a"], rule)
    with pytest.raises(ValidationFailed):
        reg.rule_create(s, p["admin"], {**rule, "check": {"field": "budget", "op": "explode"}})
    reg.rule_create(s, p["admin"], rule)
    with pytest.raises(Conflict):
        reg.rule_create(s, p["admin"], rule)
    project = reg.project_create(s, p["sub_a"], proposal(district="福田区", budget=20_000_000), org_id=world.org_a.id)
    reg.project_submit(s, p["sub_a"], project.id)
    assert "budget-cap-district" in _rules(project.precheck["findings"]) and project.precheck["passed"] is False
    reg.rule_set_enabled(s, p["admin"], "budget-cap-district", False)
    reg.project_precheck(s, p["admin"], project.id)
    assert "budget-cap-district" not in _rules(project.precheck["findings"])
    assert any(r["source"] == "database" for r in reg.rule_list(s, p["admin"]))


def test_duplicate_caught_on_submit_and_marked(world):
    s, p = world.session, world.p
    rng = random.Random(3)
    docs = generator.library(30, seed=11, orgs=[world.org_a.code])
    ids = []
    for d in docs:
        pr = reg.project_create(s, p["admin"], d, org_id=world.org_a.id)
        reg.project_submit(s, p["admin"], pr.id)
        ids.append(pr.id)
    dup, _info = generator.near_duplicate(docs[7], rng, edit_rate=0.2)
    dup["organisation"] = world.org_b.code
    mine = reg.project_create(s, p["sub_b"], dup, org_id=world.org_b.id)
    reg.project_submit(s, p["sub_b"], mine.id)
    top = mine.matches[0]
    assert top["id"] == ids[7] and top["likely_duplicate"] and top["why"]["shared_phrases"]
    assert set(top["why"]["shared_tags"]) <= {t.lower() for t in docs[7]["capability_tags"]}
    ranked = reg.project_similar(s, p["reviewer"], data=dup, top=3)
    assert ranked[0]["id"] in (ids[7], mine.id)
    reg.pair_mark(s, p["reviewer"], mine.id, ids[7], "distinct", reason="不同建设内容")
    again = reg.project_similar(s, p["reviewer"], project_id=mine.id, top=5)
    assert ids[7] not in [m["id"] for m in again]  # not raised again
    assert ids[7] in [m["id"] for m in reg.project_similar(s, p["reviewer"], project_id=mine.id, include_distinct=True)]
    reg.pair_mark(s, p["reviewer"], ids[7], mine.id, "duplicate", reason="同一平台")
    clusters = reg.clusters(s, p["admin"])
    assert any({ids[7], mine.id} <= {x["id"] for x in c["projects"]} for c in clusters)


def test_index_is_incremental_and_explains():
    ix = SimilarityIndex(merge_every=3)
    docs = generator.library(10, seed=5)
    ix.build([(f"d{i}", d["title"] + d["summary"], features_of(d)) for i, d in enumerate(docs[:5])])
    for i, d in enumerate(docs[5:], start=5):
        ix.add(f"d{i}", d["title"] + d["summary"], features_of(d))
        assert ix.query(d["title"] + d["summary"], top=1)[0].id == f"d{i}"  # searchable at once
    ix.remove("d9")
    assert "d9" not in ix and len(ix) == 9
    assert ix.query(docs[9]["title"] + docs[9]["summary"], top=1)[0].id != "d9"
    why = explain("全市视频共享平台建设", frozenset({"t:视频分析"}), "视频共享平台建设项目", frozenset({"t:视频分析"}))
    assert why["shared_tags"] == ["视频分析"] and "视频共享平台建设" in why["shared_phrases"][0]
    assert shared_phrases("abc", "xyz") == []


def test_generator_quality_small():
    """The benchmark's claim on a small library (the full run is benchmarks/registry_similarity.py)."""
    rng = random.Random(1)
    docs = generator.library(2000, seed=2)
    ix = SimilarityIndex()
    ix.build([(f"p{i}", d["title"] + "\n" + d["summary"], features_of(d)) for i, d in enumerate(docs)])
    hits5 = hits1 = 0
    picks = rng.sample(range(len(docs)), 60)
    for i in picks:
        dup, _ = generator.near_duplicate(docs[i], rng)
        ids = [m.id for m in ix.query(dup["title"] + "\n" + dup["summary"], features_of(dup), top=5)]
        hits5 += f"p{i}" in ids
        hits1 += ids[0] == f"p{i}"
    assert hits5 / len(picks) >= 0.95 and hits1 / len(picks) >= 0.9


# ------------------------------------------------------------------------------------------- import


def _csv(rows, header=None, encoding="utf-8"):
    header = header or ["title", "summary", "organisation", "district", "area", "construction_mode", "budget",
                        "start_year", "end_year", "deployment", "data_resources", "data_aggregation",
                        "interfaces_provided", "interfaces_consumed", "capability_tags", "mlps_level"]
    buf = io.StringIO()
    import csv
    w = csv.writer(buf)
    w.writerow(header)
    for r in rows:
        w.writerow(r)
    return buf.getvalue().encode(encoding)


ROW = ["智慧停车诱导系统", "在全市商圈部署停车诱导屏，汇聚停车场泊位数据，提供实时泊位查询。", "SZ-TRANS", "福田区",
       "city_operations", "single_department_module", "3,000,000", "2026", "2027", "government_cloud",
       "泊位信息;停车场目录", "泊位信息；停车场目录", "泊位查询接口=city.parking-api@1.0.0", "统一身份认证接口",
       "智慧停车|GIS", "2"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings_detected(encoding):
    parsed = importing.parse(_csv([ROW], encoding=encoding), filename="lib.csv")
    assert not parsed.errors, parsed.errors
    row, doc = parsed.rows[0]
    assert row == 2 and doc["title"] == "智慧停车诱导系统" and doc["budget"] == 3_000_000.0
    assert doc["data_aggregation"] == ["泊位信息", "停车场目录"] and doc["capability_tags"] == ["智慧停车", "GIS"]
    assert doc["interfaces_provided"] == [{"name": "泊位查询接口", "standard": "city.parking-api@1.0.0"}]
    assert parsed.encoding in ({"utf-8": "utf-8", "utf-8-sig": "utf-8-sig"}.get(encoding, "gb18030"),)


def test_csv_bad_rows_reported():
    parsed = importing.parse(_csv([ROW, ROW[:6] + ["lots"] + ROW[7:]], header=None), filename="x.csv")
    assert any(e["row"] == 3 and e["field"] == "budget" for e in parsed.errors)
    missing = importing.parse(_csv([ROW[:3]], header=["title", "summary", "organisation"]), filename="x.csv")
    assert any("missing column" in e["message"] for e in missing.errors)


def test_import_is_all_or_nothing(world):
    s, p = world.session, world.p
    orgs = {world.org_a.code: world.org_a.id}
    good = proposal(organisation=world.org_a.code)
    rows = [(1, good), (2, proposal(organisation=world.org_a.code, title="另一个项目")),
            (3, proposal(organisation="NOPE", title="未知单位项目")), (4, dict(good)),
            (5, proposal(organisation=world.org_a.code, title="坏预算", budget=-1))]
    before, _ = reg.project_list(s, p["admin"])
    with pytest.raises(ValidationFailed) as exc:
        reg.project_import(s, p["admin"], rows, resolve_org=orgs.get)
    by_row = {(e["row"], e["field"]) for e in exc.value.errors}
    assert (3, "organisation") in by_row and (4, "title") in by_row and (5, "budget") in by_row
    after, _ = reg.project_list(s, p["admin"])
    assert len(after) == len(before)  # nothing half-imported
    with pytest.raises(NotAuthorized):
        reg.project_import(s, p["sub_a"], rows[:2], resolve_org=orgs.get)
    created = reg.project_import(s, p["admin"], rows[:2], resolve_org=orgs.get, submit=True)
    assert [c.state for c in created] == ["prechecked", "prechecked"]


def test_json_ndjson_xlsx_import_and_formula_neutralised_export(world, tmp_path):
    from openpyxl import Workbook, load_workbook

    doc = proposal(title="=cmd|' /C calc'!A0", organisation=world.org_a.code)
    assert importing.parse(json.dumps([doc]).encode(), filename="a.json").rows[0][1]["title"].startswith("=")
    nd = importing.parse((json.dumps(doc) + "\n\n{oops\n").encode(), filename="a.ndjson")
    assert len(nd.rows) == 1 and nd.errors[0]["row"] == 3
    wb = Workbook()
    ws = wb.active
    ws.append(["项目名称"] + list(doc)[1:])
    ws.append([doc["title"]] + [json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v
                                for k, v in list(doc.items())[1:]])
    ws.cell(row=2, column=1).data_type = "s"  # a text cell that looks like a formula
    buf = io.BytesIO()
    wb.save(buf)
    parsed = importing.parse(buf.getvalue(), filename="lib.xlsx")
    assert parsed.rows[0][1]["title"] == doc["title"]
    assert not parsed.errors, parsed.errors
    assert parsed.rows[0][1]["capability_tags"] == doc["capability_tags"]
    created = reg.project_import(world.session, world.p["admin"], parsed.rows, resolve_org={world.org_a.code: world.org_a.id}.get)
    csv_bytes = export.to_csv(created)
    assert csv_bytes.startswith(b"\xef\xbb\xbf") and "'=cmd" in csv_bytes.decode("utf-8-sig")
    out = load_workbook(io.BytesIO(export.to_xlsx(created)))
    cell = out.active.cell(row=2, column=2)
    assert cell.data_type == "s" and cell.value.startswith("'=")
    assert export.neutralise("@SUM(A1)") == "'@SUM(A1)" and export.neutralise("正常") == "正常"


def test_oversize_and_undecodable_files():
    from kernel.errors import PayloadTooLarge

    with pytest.raises(PayloadTooLarge):
        importing.parse(b"x" * (importing.MAX_BYTES + 1), filename="big.csv")
    with pytest.raises(ValidationFailed):
        importing.parse(b"\xff\xfe\x00" * 0 + b"\x81\x30\xff\xff", filename="bad.csv")
