"""Plan → build → check → evaluate: targets on approval, milestones and spending, acceptance with actual values
and evidence, the evaluation's rating and reasons — audited — and the per-field refusals."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from kernel.clock import utcnow
from kernel.errors import Conflict, NotAuthorized, ValidationFailed
from tests.registry.conftest import proposal


def _approved(world, **overrides):
    from registry import services as reg

    doc = proposal(organisation=world.org_a.code, state="approved", approved_on="2025-01-10",
                   decision_ref="深发改〔2025〕7号", **overrides)
    [p] = reg.project_import(world.session, world.p["admin"], [(1, doc)],
                             resolve_org=lambda ref: world.org_a.id if ref == world.org_a.code else None)
    return p


def _actions(s, pid):
    from audit.models import AuditEvent

    return [e.action for e in s.exec(select(AuditEvent).where(AuditEvent.object_id == pid).order_by(AuditEvent.seq))]


def test_targets_construction_acceptance_evaluation(world):
    from registry import evaluation
    from registry import services as reg
    from registry.models import Evidence

    s, admin, sub = world.session, world.p["admin"], world.p["sub_a"]
    p = _approved(world, budget=10_000_000)
    evaluation.targets_declare(s, admin, p.id, [
        {"indicator": "数据共享率", "unit": "%", "baseline": 40, "target": 90, "due": "2027-06-30"},
        {"indicator": "平均办理时长", "unit": "天", "baseline": 10, "target": 3, "due": "2027-06-30"},
        {"indicator": "服务人次", "unit": "万人次", "target": 100, "due": "2027-06-30"},
    ])
    reg.project_transition(s, admin, p.id, "start_construction", reason="开工")
    today = utcnow().date().isoformat()
    with pytest.raises(ValidationFailed):
        evaluation.milestone_record(s, sub, p.id, name="开工前", reached_on="2025-03-01", spent=1)
    evaluation.milestone_record(s, sub, p.id, name="需求分析完成", reached_on=today, spent=2_000_000)
    m = evaluation.milestone_record(s, admin, p.id, name="系统上线", reached_on=today, spent=9_500_000)
    assert m["total_spent"] == 11_500_000 and m["over_budget"]
    with pytest.raises(ValidationFailed) as exc:
        evaluation.project_accept(s, admin, p.id, actuals={"数据共享率": 95, "平均办理时长": 2}, evidence=[])
    fields = {e["field"] for e in exc.value.errors}
    assert {"actuals.服务人次", "evidence"} <= fields
    assert p.state == "in_construction"
    evaluation.project_accept(s, admin, p.id, actuals={"数据共享率": 95, "平均办理时长": 4, "服务人次": 120},
                              evidence=[("竣工验收报告.pdf", b"%PDF-1.7 report", "application/pdf")],
                              completed_on=today)
    assert p.state == "completed"
    ev = s.exec(select(Evidence).where(Evidence.project_id == p.id)).one()
    assert ev.size == len(b"%PDF-1.7 report") and len(ev.sha256) == 64
    result = evaluation.project_evaluate(s, admin, p.id, comment="总体达标")
    assert p.state == "evaluated"
    by = {r["indicator"]: r for r in result.results}
    assert by["数据共享率"]["met"] and not by["平均办理时长"]["met"] and by["服务人次"]["met"]
    assert by["平均办理时长"]["achievement"] == pytest.approx((10 - 4) / (10 - 3), abs=1e-3)
    codes = [r["code"] for r in result.reasons]
    assert "over_budget" in codes and codes.count("target_met") == 2 and "target_missed" in codes
    # score: (1 + 0.857 + 1)/3*100 = 95.2, minus 15 points for spending 115 % → 80.2 → good
    assert result.rating == "good" and result.score == pytest.approx(80.2, abs=0.1)
    acts = _actions(s, p.id)
    for a in ("registry:target:declare", "registry:milestone:record", "registry:project:complete",
              "registry:project:evaluate"):
        assert a in acts
    out = evaluation.project_outcomes(s, admin, p.id)
    assert out["evaluation"]["rating"] == "good" and len(out["milestones"]) == 2 and out["evidence"][0]["filename"]


@pytest.mark.parametrize("target, field", [
    ({"indicator": "共享率", "target": 90, "due": "2026-01-01"}, "targets[0].unit"),
    ({"indicator": "共享率", "unit": "%", "target": "很多", "due": "2026-01-01"}, "targets[0].target"),
    ({"indicator": "共享率", "unit": "%", "target": 90, "due": "明年"}, "targets[0].due"),
    ({"indicator": "共享率", "unit": "%", "target": 90, "due": "2020-01-01"}, "targets[0].due"),
    ({"indicator": "共享率", "unit": "%", "baseline": 95, "target": 90, "direction": "up", "due": "2026-01-01"},
     "targets[0].target"),
    ({"unit": "%", "target": 90, "due": "2026-01-01"}, "targets[0].indicator"),
])
def test_bad_targets_are_refused_per_field(world, target, field):
    from registry import evaluation
    from registry.models import Target

    p = _approved(world)
    with pytest.raises(ValidationFailed) as exc:
        evaluation.targets_declare(world.session, world.p["admin"], p.id,
                                   [{"indicator": "好指标", "unit": "个", "target": 5, "due": "2026-01-01"}, target])
    assert field.replace("[0]", "[1]") in {e["field"] for e in exc.value.errors}
    assert world.session.exec(select(Target).where(Target.project_id == p.id)).all() == []


def test_state_and_permission_refusals(world):
    from registry import evaluation
    from registry import services as reg

    s, admin = world.session, world.p["admin"]
    p = _approved(world)
    with pytest.raises(Conflict):
        evaluation.project_evaluate(s, admin, p.id)  # not completed
    with pytest.raises(Conflict):
        evaluation.project_accept(s, admin, p.id, actuals={}, evidence=[("a.pdf", b"x", "application/pdf")])
    with pytest.raises(Conflict):
        evaluation.milestone_record(s, admin, p.id, name="x", reached_on="2025-02-01")
    with pytest.raises(ValidationFailed):  # completion without evidence and actual values is not a transition
        reg.project_transition(s, admin, p.id, "start_construction", reason="开工")
        reg.project_transition(s, admin, p.id, "complete", reason="done")
    with pytest.raises(ValidationFailed) as exc:
        evaluation.milestone_record(s, admin, p.id, name="", reached_on="2099-01-01", spent=-5)
    assert {e["field"] for e in exc.value.errors} == {"name", "reached_on", "spent"}
    with pytest.raises(ValidationFailed) as exc:
        evaluation.project_accept(s, admin, p.id, actuals={"不存在": 1}, evidence=[("a.pdf", b"x", "application/pdf")])
    assert {"targets", "actuals.不存在"} <= {e["field"] for e in exc.value.errors}
    with pytest.raises(NotAuthorized):
        evaluation.targets_declare(s, world.p["sub_a"], p.id, [{"indicator": "a", "unit": "%", "target": 1, "due": "2026-01-01"}])
    from kernel.errors import NotFound

    with pytest.raises((NotFound, NotAuthorized)):
        evaluation.milestone_record(s, world.p["sub_b"], p.id, name="x", reached_on="2025-02-01")


def test_cli_targets_to_evaluation_and_statistics(runner, db_session, tmp_path):
    from openpyxl import load_workbook

    from kernel.clock import utcnow

    lib = tmp_path / "lib.json"
    lib.write_text(json.dumps([proposal(organisation="CLI-OUT", title="命令行成效项目", state="approved",
                                        approved_on="2025-03-01", decision_ref="CLI-1")], ensure_ascii=False),
                   encoding="utf-8")
    r = runner.invoke(["projects", "import", str(lib), "--create-organisations", "--format", "json"])
    assert r.exit_code == 0, r.output
    pid = json.loads(r.output)["ids"][0]
    targets = tmp_path / "t.json"
    targets.write_text(json.dumps([{"indicator": "办理时长", "unit": "天", "baseline": 10, "target": 2,
                                    "due": "2027-01-01"}], ensure_ascii=False), encoding="utf-8")
    no_unit = tmp_path / "bad.json"
    no_unit.write_text(json.dumps([{"indicator": "办理时长", "baseline": 10, "target": 2, "due": "2027-01-01"}]),
                       encoding="utf-8")
    bad = runner.invoke(["projects", "targets", pid, str(no_unit)])
    assert bad.exit_code == 2 and "targets[0].unit" in bad.output
    assert runner.invoke(["projects", "targets", pid, str(targets)]).exit_code == 0
    assert runner.invoke(["projects", "evaluate", pid]).exit_code == 2  # not completed
    assert runner.invoke(["projects", "start", pid, "--reason", "合同签订"]).exit_code == 0
    today = utcnow().date().isoformat()
    m = runner.invoke(["projects", "milestone", pid, "--name", "上线", "--date", today, "--spent", "500000"])
    assert m.exit_code == 0, m.output
    report = tmp_path / "验收报告.pdf"
    report.write_bytes(b"%PDF-1.4 report")
    assert runner.invoke(["projects", "accept", pid, "--actual", "办理时长=2"]).exit_code == 2  # no evidence
    ok = runner.invoke(["projects", "accept", pid, "--actual", "办理时长=2", "--evidence", str(report)])
    assert ok.exit_code == 0, ok.output
    ev = runner.invoke(["projects", "evaluate", pid, "--format", "json"])
    assert ev.exit_code == 0 and json.loads(ev.output)["evaluation"]["rating"] == "excellent"
    out = tmp_path / "stats.xlsx"
    st = runner.invoke(["programme", "stats", "-o", str(out)])
    assert st.exit_code == 0 and "data commitments kept: no data" in st.output
    assert "department" in load_workbook(out, read_only=True).sheetnames
