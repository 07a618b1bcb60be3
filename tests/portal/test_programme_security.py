"""The programme view's security standing per project: secmon links an information system to the project that
built it, and incidents, remediation tasks and evaluation reports to the system; the view joins them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from tests.factories import make_user, principal_of
from tests.portal.test_web_pages import _proposal

NOW = datetime(2026, 11, 30, tzinfo=UTC)


def test_security_standing_per_project(db_session, auth, client, tmp_path):
    from kernel.principal import system_principal
    from portal import programme
    from registry import services as registry
    from secmon import assets
    from secmon.evaluation import services as ev
    from secmon.models import SecmonIncident, SecmonRemediationTask
    from tests.secmon import evaluation_fixture as fx

    world = fx.build(db_session, tmp_path)  # one department (SZ-EVAL), one system with incidents and tasks
    dept = make_user(db_session, "department_submitter", org="SZ-EVAL", username="eval.dept")
    project = registry.project_create(db_session, principal_of(db_session, dept),
                                      _proposal(organisation="SZ-EVAL", title="政务外网门户升级"))
    other = registry.project_create(db_session, principal_of(db_session, dept),
                                    _proposal(organisation="SZ-EVAL", title="政务外网门户二期", budget=1_000_000))
    system_principal_ = system_principal("test")
    systems = {s["name"]: s for s in assets.asset_list(db_session, system_principal_)}
    sys_id = systems["政务外网门户"]["id"]
    assets.system_update(db_session, system_principal_, sys_id, project_id=project.id)
    report, _info = ev.evaluation_run(db_session, world["principal"], "2024-Q1", system=sys_id,
                                      retention_days=365, now=NOW)

    def open_count(model, closed):
        return db_session.execute(select(func.count()).select_from(model).where(
            model.system_id == sys_id, model.state.not_in(closed))).scalar_one()

    want_inc = open_count(SecmonIncident, ("resolved", "closed", "false_positive"))
    want_rem = open_count(SecmonRemediationTask, ("verified", "cancelled"))
    assert db_session.execute(select(func.count()).select_from(SecmonIncident)).scalar_one() > 0

    boss = principal_of(db_session, make_user(db_session, "commission_admin", "commission_reviewer", username="boss"))
    view = programme.project_view(db_session, boss, project.id)
    sec = view["security"]
    pp = sec["per_project"][project.id]
    assert pp["systems"] == [{"id": sys_id, "name": "政务外网门户"}]
    assert (pp["incidents_open"], pp["remediation_open"]) == (want_inc, want_rem)
    assert pp["last_evaluation"]["report_id"] == report.id and pp["last_evaluation"]["score"] == report.score
    assert sec["incidents"]["linked_by"] == "system_id" and sec["incidents"]["rows"]
    assert all(r["project_id"] == project.id and r["system"] == "政务外网门户" for r in sec["incidents"]["rows"])
    assert sec["evaluations"]["linked_by"] == "scope" and sec["evaluations"]["count"] == 1

    # the department view: both projects, only the one that built the system has standing
    dview = programme.department_view(db_session, boss, "SZ-EVAL")
    assert dview["security"]["per_project"][other.id] == {"systems": [], "incidents_open": 0, "remediation_open": 0,
                                                          "last_evaluation": None}
    assert dview["security"]["per_project"][project.id]["incidents_open"] == want_inc

    # a reviewer sees the standing (counts, scores) but not the incident rows secmon keeps from them
    reviewer = principal_of(db_session, make_user(db_session, "commission_reviewer", username="rev"))
    rview = programme.project_view(db_session, reviewer, project.id)["security"]
    assert rview["incidents"]["rows"] == [] and rview["incidents"]["rows_hidden"] > 0
    assert rview["per_project"][project.id]["incidents_open"] == want_inc

    # the page and the API show it (the API response is validated against the OpenAPI document)
    auth.login(client, "boss")
    page = client.get(f"/programme/projects/{project.id}").get_data(as_text=True)
    assert "政务外网门户" in page and f"/secmon/evaluations/{report.id}" in page
    api = client.get("/api/v1/programme/departments/SZ-EVAL", headers=auth.headers(
        make_user(db_session, "commission_admin", username="boss.api")))
    assert api.status_code == 200
    assert api.get_json()["security"]["per_project"][project.id]["systems"][0]["name"] == "政务外网门户"
