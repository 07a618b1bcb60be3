"""Loading the existing library: import with real states (audited, ranked at once), bad rows, the
all-or-nothing --create-organisations, the O(1) change counter, streamed export and portfolio."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlmodel import func, select

from tests.registry.conftest import proposal


def _rows(*docs):
    return [(i, d) for i, d in enumerate(docs, start=1)]


def _resolver(world):
    orgs = {world.org_a.code: world.org_a.id, world.org_b.code: world.org_b.id}
    return lambda ref: orgs.get(ref)


def test_import_with_states_is_ranked_audited_and_dated(world):
    from audit.models import AuditEvent
    from registry import services as reg
    from registry.models import Project, Transition

    s, admin = world.session, world.p["admin"]
    a = world.org_a.code
    rows = _rows(
        proposal(organisation=a, title="存量视频共享平台", state="approved", approved_on="2024-03-01",
                 decision_ref="深发改〔2024〕12号"),
        proposal(organisation=a, title="存量城市运行中心", summary="建设城市运行管理中心，汇聚交通、水务、能源运行数据，实现态势监测和联动指挥。",
                 capability_tags=["运行监测"], data_resources=["城市运行指标库"], state="在建", approved_on="2023-05-01",
                 started_on="2023-09-01", decision_ref="深发改〔2023〕8号"),
        proposal(organisation=a, title="存量电子证照库", summary="建设全市统一电子证照库，支撑证照共享和免证办。",
                 state="completed", approved_on="2021-01-05", started_on="2021-03-01", completed_on="2022-06-30",
                 decision_ref="深发改〔2021〕3号"),
        proposal(organisation=a, title="存量统一身份认证", summary="统一身份认证平台建设，提供单点登录和实名核验。",
                 state="evaluated", approved_on="2019-01-05", started_on="2019-03-01", completed_on="2020-06-30",
                 evaluated_on="2021-06-30", decision_ref="深发改〔2019〕1号"),
        proposal(organisation=a, title="在途申报项目", summary="在途申报的政务服务事项梳理项目。", state="submitted",
                 submitted_on="2026-01-10"),
    )
    before = s.exec(select(func.count()).select_from(AuditEvent)).one()
    created = reg.project_import(s, admin, rows, resolve_org=_resolver(world),
                                 source={"sha256": "ab" * 32, "filename": "lib.csv", "format": "csv"})
    assert [p.state for p in created] == ["approved", "in_construction", "completed", "evaluated", "submitted"]
    approved = created[0]
    assert approved.decision == "approved" and approved.decision_ref == "深发改〔2024〕12号"
    assert approved.decided_at.date().isoformat() == "2024-03-01"
    assert created[3].evaluated_at.date().isoformat() == "2021-06-30"
    # one batch event with the file digest, plus one per project
    events = s.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()[before:]
    actions = [e.action for e in events]
    assert actions.count("registry:library:import") == 1 and actions.count("registry:project:import") == 5
    batch = next(e for e in events if e.action == "registry:library:import")
    assert batch.details["sha256"] == "ab" * 32 and batch.details["by_state"]["evaluated"] == 1
    # the import is the transition, dated by the project's last step
    tr = s.exec(select(Transition).where(Transition.project_id == created[2].id)).one()
    assert (tr.event, tr.from_state, tr.to_state) == ("import", "none", "completed")
    assert tr.at.date().isoformat() == "2022-06-30"
    # ranked at once: a new proposal restating the imported one finds it first
    dup = proposal(organisation=world.org_b.code, title="存量视频共享平台（二期）")
    top = reg.project_similar(s, admin, data=dup, top=3)
    assert top and top[0]["id"] == approved.id
    top = reg.project_similar(s, admin, project_id=created[1].id, top=5)
    assert all(m["id"] != created[1].id for m in top)
    assert s.get(Project, approved.id).seq > 0


@pytest.mark.parametrize("bad, field, message", [
    ({"state": "running"}, "state", "unknown state"),
    ({"state": "approved", "decision_ref": "X-1"}, "approved_on", "required"),
    ({"state": "approved", "approved_on": "2024-02-30", "decision_ref": "X-1"}, "approved_on", "not a date"),
    ({"state": "completed", "approved_on": "2024-05-01", "started_on": "2024-03-01", "completed_on": "2024-09-01",
      "decision_ref": "X-1"}, "started_on", "before approved_on"),
    ({"state": "approved", "approved_on": "2024-05-01"}, "decision_ref", "required"),
    ({"state": "approved", "approved_on": "2024-05-01", "decision_ref": "X", "completed_on": "2024-06-01"},
     "completed_on", "has no completed date"),
    ({"state": "approved", "approved_on": "2099-05-01", "decision_ref": "X"}, "approved_on", "in the future"),
    ({"state": "approved", "approved_on": "2024-05-01", "decision_ref": "X", "budget": None}, "budget", ""),
])
def test_bad_rows_are_reported_per_row_and_field_nothing_written(world, bad, field, message):
    from kernel.errors import ValidationFailed
    from registry import services as reg
    from registry.models import Library, Project

    s = world.session
    good = proposal(organisation=world.org_a.code, title="好的一行", state="approved", approved_on="2024-01-01",
                    decision_ref="OK-1")
    doc = proposal(organisation=world.org_a.code, title="坏的一行")
    doc.update({k: v for k, v in bad.items() if v is not None})
    for k, v in bad.items():
        if v is None:
            doc.pop(k, None)
    count = s.exec(select(func.count()).select_from(Project)).one()
    seq = s.get(Library, 1).seq
    with pytest.raises(ValidationFailed) as exc:
        reg.project_import(s, world.p["admin"], _rows(good, doc), resolve_org=_resolver(world))
    hits = [e for e in exc.value.errors if e["row"] == 2 and e["field"] == field]
    assert hits and message in hits[0]["message"], exc.value.errors
    assert not [e for e in exc.value.errors if e["row"] == 1]
    assert s.exec(select(func.count()).select_from(Project)).one() == count
    assert s.get(Library, 1).seq == seq


def test_import_csv_with_chinese_lifecycle_columns(world):
    from registry import importing
    from registry import services as reg

    doc = proposal(organisation=world.org_a.code)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["项目名称", "项目概述", "申报单位", "所属区", "领域", "建设模式", "预算", "开始年份", "结束年份", "部署方式",
                "数据资源", "数据汇聚", "能力标签", "等保级别", "安全方案", "附件", "个人信息", "提供接口", "调用接口", "状态", "批复日期", "开工日期", "批复文号"])
    w.writerow([doc["title"], doc["summary"], doc["organisation"], doc["district"], doc["area"], doc["construction_mode"],
                "1200万", 2024, 2025, doc["deployment"], "视频点位目录;视频事件库", "视频点位目录", "视频分析", 3, "等保三级",
                "feasibility_study;budget_detail", "否", "视频调阅接口", "统一身份认证接口", "建设中", "2024年3月1日", "2024/04/15", "深发改〔2024〕12号"])
    parsed = importing.parse(buf.getvalue().encode("gb18030"), filename="lib.csv")
    assert not parsed.errors, parsed.errors
    [p] = reg.project_import(world.session, world.p["admin"], parsed.rows, resolve_org=_resolver(world))
    assert p.state == "in_construction" and p.started_at.date().isoformat() == "2024-04-15"
    assert p.budget == 12_000_000


def test_change_counter_is_o1_and_every_change_bumps_it(world):
    from registry import indexstore
    from registry import services as reg
    from registry.models import Library

    s, sub = world.session, world.p["sub_a"]
    start = s.get(Library, 1).seq
    p = reg.project_create(s, sub, proposal(organisation=world.org_a.code), org_id=world.org_a.id)
    reg.project_submit(s, sub, p.id)
    after = s.get(Library, 1).seq
    assert after >= start + 3 and p.seq == after  # create, submit, precheck
    live = indexstore.live_index(s)
    assert live.seq == after and p.id in live.index
    # a fresh check reads one integer: no catch-up when nothing changed
    assert indexstore.live_index(s) is live and live.seq == after


def test_create_organisations_is_all_or_nothing_and_retry_succeeds(runner, db_session, tmp_path):
    from portal.accounts.models import Organisation
    from registry.models import Project

    lib = tmp_path / "lib.json"
    rows = [proposal(organisation="全新局甲", title="新局项目一", state="approved", approved_on="2024-01-01",
                     decision_ref="R-1"),
            proposal(organisation="全新局乙", title="新局项目二", state="approved", approved_on="2024-02-30",
                     decision_ref="R-2")]
    lib.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    r = runner.invoke(["projects", "import", str(lib), "--create-organisations"])
    assert r.exit_code == 2 and "row 2 approved_on" in r.output, r.output
    assert db_session.exec(select(Organisation).where(Organisation.name.in_(["全新局甲", "全新局乙"]))).all() == []
    rows[1]["approved_on"] = "2024-02-28"
    lib.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    r = runner.invoke(["projects", "import", str(lib), "--create-organisations", "--format", "json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["imported"] == 2 and out["by_state"] == {"approved": 2} and out["indexed"] >= 2
    assert sorted(out["organisations_created"]) == ["全新局乙", "全新局甲"]
    assert db_session.exec(select(func.count()).select_from(Project).where(Project.id.in_(out["ids"]))).one() == 2
    sim = runner.invoke(["projects", "similar", "--id", out["ids"][0], "--format", "json"])
    assert sim.exit_code == 0 and out["ids"][1] in [m["id"] for m in json.loads(sim.output)["items"]]


def test_export_and_portfolio_stream(world, tmp_path):
    from openpyxl import load_workbook

    from registry import export
    from registry import services as reg

    s, admin = world.session, world.p["admin"]
    docs = [proposal(organisation=world.org_a.code, title=f"流式导出项目{i}", budget=1000 * (i + 1), state="approved",
                     approved_on="2024-01-01", decision_ref=f"S-{i}") for i in range(7)]
    reg.project_import(s, admin, _rows(*docs), resolve_org=_resolver(world))
    items = reg.projects_for_export(s, admin, filters={"organisation": world.org_a.name} if False else {"org_id": world.org_a.id},
                                    chunk=3)
    assert not isinstance(items, list)
    csv_bytes = b"".join(export.stream(items, "csv", chunk=2))
    rows = list(csv.reader(io.StringIO(csv_bytes.decode("utf-8-sig"))))
    assert len(rows) == 8 and sorted(r[1] for r in rows[1:]) == sorted(d["title"] for d in docs)
    js = json.loads(b"".join(export.stream(reg.projects_for_export(s, admin, filters={"org_id": world.org_a.id}), "json")))
    assert len(js) == 7
    xl = tmp_path / "x.xlsx"
    xl.write_bytes(b"".join(export.stream(reg.projects_for_export(s, admin, filters={"org_id": world.org_a.id}), "xlsx")))
    assert len(list(load_workbook(xl, read_only=True).worksheets[0].iter_rows(values_only=True))) == 8
    totals = reg.portfolio(s, admin, filters={"org_id": world.org_a.id})
    assert totals["projects"] == 7 and totals["budget"] == sum(d["budget"] for d in docs)
    assert totals["by"]["state"]["approved"]["count"] == 7
    assert sum(totals["by"]["budget_band"].values()) == 7


def test_a_proposal_restated_partly_in_english_is_found_and_explained(world):
    from registry import services as reg

    s, admin = world.session, world.p["admin"]
    rows = _rows(
        proposal(organisation=world.org_a.code, title="福田区视频监控共享平台", district="福田区", state="approved",
                 approved_on="2024-01-01", decision_ref="A-1",
                 summary="整合福田区公共视频监控资源，建设视频共享平台，提供人脸识别和应急指挥能力。建立统一的数据共享接口。"),
        proposal(organisation=world.org_a.code, title="罗湖区智慧停车管理系统", district="罗湖区", state="approved",
                 approved_on="2024-01-01", decision_ref="A-2", capability_tags=["停车诱导"], data_resources=["停车场泊位数据"],
                 interfaces_provided=[{"name": "泊位查询接口"}],
                 summary="建设罗湖区智慧停车管理系统，汇聚停车场泊位数据，提供停车诱导和预约服务。"),
    )
    created = reg.project_import(s, admin, rows, resolve_org=_resolver(world))
    restated = proposal(organisation=world.org_b.code, district="Futian District",
                        title="福田区视频监控共享平台 (Futian District video surveillance sharing platform)",
                        summary="Integrate public video surveillance resources of Futian District and build a video sharing "
                                "platform with face recognition and emergency command. 建立统一的数据共享接口。")
    top = reg.project_similar(s, admin, data=restated, top=2)
    assert top[0]["id"] == created[0].id
    across = top[0]["why"]["across_languages"]
    assert "video surveillance ↔ 视频监控" in across and "face recognition ↔ 人脸识别" in across
