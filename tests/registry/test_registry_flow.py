"""The proposal lifecycle end to end through the services, with audit events and the state machine."""

from __future__ import annotations

import pytest
from sqlmodel import select

from audit.models import AuditEvent
from kernel.errors import Conflict, NotAuthorized, NotFound, ValidationFailed
from registry import lifecycle, proposal as proposal_mod
from registry import services as reg
from tests.registry.conftest import expert_refs, proposal


def _actions(session, object_id):
    return [e.action for e in session.exec(select(AuditEvent).where(AuditEvent.object_id == object_id)
                                           .order_by(AuditEvent.seq))]


def test_schema_is_published_in_the_standards_registry(db_session):
    from standards import services as standards
    from kernel.principal import ANONYMOUS

    v = proposal_mod.ensure_published(db_session)
    assert v.state == "published"
    again = standards.version_get(db_session, ANONYMOUS, proposal_mod.SCHEMA_REF)
    assert again.id == v.id
    schema = proposal_mod.packaged_schema()
    assert [b["const"] for b in schema["properties"]["area"]["oneOf"]][:2] == ["broadband_network", "sensing_system"]
    assert set(proposal_mod.codes("deployment")) >= {"government_cloud"}


def test_full_lifecycle_is_audited(world):
    s, p = world.session, world.p
    project = reg.project_create(s, p["sub_a"], proposal(), org_id=world.org_a.id)
    assert project.state == "draft"
    reg.project_submit(s, p["sub_a"], project.id)
    assert project.state == "prechecked"
    assert project.precheck["passed"] is True, project.precheck
    result = reg.panel_form(s, p["admin"], project.id, expert_refs(world, "exp1", "exp2", "exp3", "exp_a"))
    assert [x["id"] for x in result["excluded"]] == [p["exp_a"].id]  # conflict of interest
    assert project.state == "under_expert_review"
    scores = {"necessity": 8, "duplication_risk": 7, "technical_soundness": 8, "data_sharing": 9, "security": 8, "cost": 6}
    for i, name in enumerate(("exp1", "exp2", "exp3")):
        reg.review_submit(s, p[name], project.id, {k: v - i for k, v in scores.items()}, comment="ok")
        blind = reg.reviews_get(s, p[name], project.id)
        assert blind["blind"] and [r["expert_id"] for r in blind["reviews"]] == [p[name].id]
    with pytest.raises(Conflict):
        reg.project_decide(s, p["admin"], project.id, "approved", reason="总体可行，同意立项")
    closed = reg.panel_close(s, p["admin"], project.id)
    assert closed["summary"]["reviews"] == 3 and closed["summary"]["spread"] == 2.0
    assert len(reg.reviews_get(s, p["exp2"], project.id)["reviews"]) == 3
    reg.project_decide(s, p["admin"], project.id, "approved", reason="总体可行，同意立项")
    from registry import evaluation

    evaluation.targets_declare(s, p["admin"], project.id, [{"indicator": "视频共享率", "unit": "%", "baseline": 40,
                                                            "target": 90, "due": "2026-12-31"}])
    reg.project_transition(s, p["admin"], project.id, "start_construction", reason="start_construction per plan")
    evaluation.project_accept(s, p["admin"], project.id, actuals={"视频共享率": 92},
                              evidence=[("验收报告.pdf", b"%PDF-1.4 acceptance", "application/pdf")])
    evaluation.project_evaluate(s, p["admin"], project.id)
    assert project.state == "evaluated"
    acts = _actions(s, project.id)
    for verb in ("create", "submit", "precheck", "start_review", "approve", "start_construction", "complete", "evaluate"):
        assert f"registry:project:{verb}" in acts
    history = reg.project_history(s, p["admin"], project.id)
    assert [h["to"] for h in history][-1] == "evaluated"
    assert all(h["actor"] for h in history)


def test_illegal_transitions_are_refused_with_allowed_events(world):
    s, p = world.session, world.p
    project = reg.project_create(s, p["sub_a"], proposal(), org_id=world.org_a.id)
    with pytest.raises(Conflict) as exc:
        reg.project_transition(s, p["admin"], project.id, "start_construction", reason="too early")
    assert exc.value.extra["allowed_events"] == ["submit"]
    with pytest.raises(ValidationFailed):
        reg.project_decide(s, p["admin"], project.id, "approved", reason="")


def test_state_machine_graph():
    assert lifecycle.STATES[0] == "draft"
    assert lifecycle.allowed_events("under_expert_review") == ["approve", "reject", "return_for_revision"]
    assert lifecycle.allowed_events("returned_for_revision") == ["submit"]
    assert lifecycle.allowed_events("evaluated") == []


def test_panel_rules(world):
    s, p = world.session, world.p
    project = reg.project_create(s, p["sub_a"], proposal(), org_id=world.org_a.id)
    reg.project_submit(s, p["sub_a"], project.id)
    with pytest.raises(ValidationFailed) as exc:  # only 2 experts left after the conflict exclusion
        reg.panel_form(s, p["admin"], project.id, expert_refs(world, "exp1", "exp2", "exp_a"))
    assert exc.value.extra["excluded"][0]["id"] == p["exp_a"].id
    with pytest.raises(ValidationFailed):  # not an expert
        reg.panel_form(s, p["admin"], project.id, expert_refs(world, "exp1", "exp2", "exp3", "vendor"))
    reg.panel_form(s, p["admin"], project.id, expert_refs(world, "exp1", "exp2", "exp3"))
    scores = dict.fromkeys(["necessity", "duplication_risk", "technical_soundness", "data_sharing", "security", "cost"], 5)
    reg.review_submit(s, p["exp1"], project.id, scores)
    with pytest.raises(Conflict):  # one review per expert
        reg.review_submit(s, p["exp1"], project.id, scores)
    with pytest.raises(ValidationFailed):
        reg.review_submit(s, p["exp2"], project.id, {**scores, "cost": 11})
    with pytest.raises(NotFound):  # not assigned: not even visible
        reg.review_submit(s, p["exp_a"], project.id, scores)
    with pytest.raises(Conflict):  # panel not complete
        reg.panel_close(s, p["admin"], project.id)
    assert reg.reviews_get(s, p["admin"], project.id)["reviews"] == []  # blind for the commission too


def test_return_and_resubmit(world):
    s, p = world.session, world.p
    project = reg.project_create(s, p["sub_a"], proposal(), org_id=world.org_a.id)
    reg.project_submit(s, p["sub_a"], project.id)
    with pytest.raises(NotAuthorized):
        reg.project_update(s, p["sub_a"], project.id, proposal(budget=1))
    reg.project_decide(s, p["reviewer"], project.id, "returned_for_revision", reason="请补充可研报告")
    reg.project_update(s, p["sub_a"], project.id, proposal(budget=9_000_000))
    reg.project_submit(s, p["sub_a"], project.id, reason="已补充")
    assert project.state == "prechecked" and project.budget == 9_000_000


def test_submission_errors_per_field(world):
    s, p = world.session, world.p
    bad = proposal(area="smart_everything", budget="lots", mlps_level=7, end_year=2020)
    with pytest.raises(ValidationFailed) as exc:
        reg.project_create(s, p["sub_a"], bad, org_id=world.org_a.id)
    fields = {e["field"] for e in exc.value.errors}
    assert {"area", "budget", "mlps_level", "end_year"} <= fields
    area = next(e for e in exc.value.errors if e["field"] == "area")
    assert "public_safety" in area["message"]
    draft = reg.project_create(s, p["sub_a"], {"title": "半成品草稿"}, org_id=world.org_a.id)
    with pytest.raises(ValidationFailed) as exc:
        reg.project_submit(s, p["sub_a"], draft.id)
    assert {"summary", "budget", "area"} <= {e["field"] for e in exc.value.errors}
    assert draft.state == "draft"
