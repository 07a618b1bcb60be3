"""The commission's auto-approval policy (data, audited, commission_admin only) and the certificates of a
project's interfaces (service, API, project page)."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from audit.models import AuditEvent
from kernel.errors import NotAuthorized, NotFound, ValidationFailed
from registry.certify import approval, samples, services
from tests.certify.conftest import har_bytes, publish_standard
from tests.factories import make_org, make_user, principal_of


def _run(session, world, har=None, vendor="V-TEST"):
    return services.certification_run(session, world.vendor, standard=world.standard_ref,
                                      spec=json.dumps(samples.vendor_spec()).encode(), spec_filename="vendor.json",
                                      hars=[("good.har", har_bytes(har or samples.good_har()))] if har is not False
                                      else [], system="数据共享平台", vendor=vendor)


@pytest.fixture
def admin(db_session):
    org = make_org(db_session, "C-ADMIN", kind="commission")
    return principal_of(db_session, make_user(db_session, "commission_admin", org=org))


def test_policy_is_data_changed_by_commission_admins_and_audited(db_session, world, admin):
    with pytest.raises(NotAuthorized):
        approval.auto_policy_set(db_session, world.reviewer, "*", enabled=True)
    with pytest.raises(NotAuthorized):
        approval.auto_policy_set(db_session, world.vendor, "*", enabled=True)
    with pytest.raises(ValidationFailed):
        approval.auto_policy_set(db_session, admin, "*", min_coverage=1.5)
    with pytest.raises(ValidationFailed):
        approval.auto_policy_set(db_session, admin, "uds@1.0.0", enabled=True)
    with pytest.raises(ValidationFailed):
        approval.auto_policy_set(db_session, admin, "*", colour="red")
    row = approval.auto_policy_set(db_session, admin, samples.STANDARD_NAME, enabled=True, min_coverage=0.5,
                                   max_warnings=3, vendors=["V-TEST"], validity_days=90)
    assert row.version == 1 and row.vendors == ["V-TEST"]
    row = approval.auto_policy_set(db_session, admin, samples.STANDARD_NAME, min_coverage=0.6)
    assert row.version == 2 and row.validity_days == 90 and row.min_coverage == 0.6
    events = db_session.exec(select(AuditEvent).where(AuditEvent.action == "registry:certpolicy:set")).all()
    assert len(events) == 2
    assert [p.standard_name for p in approval.auto_policy_list(db_session, world.reviewer)] == [samples.STANDARD_NAME]
    with pytest.raises(NotAuthorized):
        approval.auto_policy_list(db_session, world.vendor)


def test_run_meeting_the_policy_is_issued_automatically(db_session, world, admin):
    run = _run(db_session, world)
    decision = approval.auto_approve(db_session, run, key_dir=world.key_dir, origin=world.origin)
    assert not decision["met"] and decision["certificate"] is None and "no auto-approval policy" in decision["reasons"][0]

    approval.auto_policy_set(db_session, admin, "*", enabled=True, min_coverage=1.0, require_traffic=True,
                             validity_days=30)
    decision = approval.auto_approve(db_session, run, key_dir=world.key_dir, origin=world.origin)
    assert decision["met"] and decision["policy"] == "*" and decision["certificate"], decision
    cert = services.certificate_get(db_session, decision["certificate"])
    assert cert.status == "valid" and approval.AUTO_ACTOR in cert.issued_by
    assert (cert.expires_at - cert.issued_at).days == 30
    ev = db_session.get(AuditEvent, cert.audit_index)
    assert ev.action == "registry:certificate:issue"
    assert ev.details["auto_approval"] == {"policy": "*", "version": 1}
    assert cert.document  # proof attached like a reviewer's issue

    # the standard's own policy wins over "*"; unmet criteria are listed
    approval.auto_policy_set(db_session, admin, samples.STANDARD_NAME, enabled=True, vendors=["SOMEONE-ELSE"],
                             max_warnings=0)
    run2 = _run(db_session, world)
    decision = approval.auto_approve(db_session, run2, key_dir=world.key_dir, origin=world.origin)
    assert decision["policy"] == samples.STANDARD_NAME and not decision["met"]
    assert any("vendor" in r for r in decision["reasons"])
    approval.auto_policy_set(db_session, admin, samples.STANDARD_NAME, vendors=[], enabled=False, max_warnings=None)
    decision = approval.auto_approve(db_session, run2, key_dir=world.key_dir, origin=world.origin)
    assert decision["reasons"] == ["auto-approval is disabled for this standard"]

    # without traffic, a policy requiring it does not approve
    approval.auto_policy_set(db_session, admin, samples.STANDARD_NAME, enabled=True)
    run3 = _run(db_session, world, har=False)
    decision = approval.auto_approve(db_session, run3, key_dir=world.key_dir, origin=world.origin)
    assert not decision["met"] and any("exercised" in r for r in decision["reasons"])
    # a non-conformant run never is
    run4 = _run(db_session, world, har=samples.bad_har())
    decision = approval.auto_approve(db_session, run4, key_dir=world.key_dir, origin=world.origin)
    assert not decision["met"] and "the run is not conformant" in decision["reasons"]


def _project(db_session, org, interfaces_provided, interfaces_consumed):
    from registry import services as registry
    from tests.registry.conftest import proposal

    sub = principal_of(db_session, make_user(db_session, "department_submitter", org=org))
    p = registry.project_create(db_session, sub, proposal(interfaces_provided=interfaces_provided,
                                                          interfaces_consumed=interfaces_consumed))
    return p, sub


def test_project_interfaces_reference_certificates(db_session, world, admin):
    dept = make_org(db_session, "D-TEST", kind="department")
    other = make_org(db_session, "D-OTHER", kind="department")
    project, sub = _project(db_session, dept, [{"name": "数据查询接口", "standard": samples.STANDARD_NAME},
                                               {"name": "统计接口"}],
                            [{"name": "统一身份认证接口", "standard": "other-standard"}])
    run = _run(db_session, world)
    cert = services.certificate_issue(db_session, world.reviewer, run.id, key_dir=world.key_dir, origin=world.origin)

    status = approval.project_certificates(db_session, world.reviewer, project.id)
    assert status["summary"] == {"interfaces": 3, "certified": 0}
    assert {i["interface"]: i["status"] for i in status["interfaces"]} == {
        "数据查询接口": "not_certified", "统计接口": "not_certified", "统一身份认证接口": "not_certified"}

    approval.project_certificate_link(db_session, sub, project.id, direction="provided", interface="数据查询接口",
                                      serial=cert.serial)
    with pytest.raises(ValidationFailed):  # declared standard differs from the certificate's
        approval.project_certificate_link(db_session, sub, project.id, direction="consumed",
                                          interface="统一身份认证接口", serial=cert.serial)
    with pytest.raises(ValidationFailed):  # not an interface of the proposal
        approval.project_certificate_link(db_session, sub, project.id, direction="provided", interface="nope",
                                          serial=cert.serial)
    with pytest.raises(NotFound):
        approval.project_certificate_link(db_session, sub, project.id, direction="provided", interface="统计接口",
                                          serial="CGC-NOPE")
    outsider = principal_of(db_session, make_user(db_session, "department_submitter", org=other))
    with pytest.raises(NotFound):  # other departments do not even see the project
        approval.project_certificate_link(db_session, outsider, project.id, direction="provided",
                                          interface="统计接口", serial=cert.serial)
    with pytest.raises(NotFound):  # vendors do not see proposals
        approval.project_certificate_link(db_session, world.vendor, project.id, direction="provided",
                                          interface="统计接口", serial=cert.serial)
    approval.project_certificate_link(db_session, world.reviewer, project.id, direction="provided",
                                      interface="统计接口", serial=cert.serial)

    status = approval.project_certificates(db_session, world.reviewer, project.id)
    by = {i["interface"]: i for i in status["interfaces"]}
    assert by["数据查询接口"]["status"] == "certified" and by["数据查询接口"]["certificate"]["serial"] == cert.serial
    assert by["统计接口"]["certified"] and status["summary"]["certified"] == 2
    links = db_session.exec(select(AuditEvent).where(AuditEvent.action == "registry:projectcert:link")).all()
    assert len(links) == 2

    services.certificate_revoke(db_session, world.reviewer, cert.serial, reason="withdrawn")
    by = {i["interface"]: i for i in approval.project_certificates(db_session, sub, project.id)["interfaces"]}
    assert by["数据查询接口"]["status"] == "revoked" and not by["数据查询接口"]["certified"]

    approval.project_certificate_link(db_session, sub, project.id, direction="provided", interface="统计接口",
                                      serial=None)
    by = {i["interface"]: i for i in approval.project_certificates(db_session, sub, project.id)["interfaces"]}
    assert by["统计接口"]["status"] == "not_certified"


def test_api_policy_auto_approval_and_project_certificates(client, auth, db_session, app):
    ref = publish_standard(db_session)
    vendor = auth.user("vendor", org=make_org(db_session, "V-AUTO", kind="vendor"))
    corg = make_org(db_session, "C-AUTO", kind="commission")
    admin = auth.user("commission_admin", org=corg)
    reviewer = auth.user("commission_reviewer", org=corg)
    dept = make_org(db_session, "D-AUTO", kind="department")
    submitter = auth.user("department_submitter", org=dept)
    vh, ah, rh, sh = (auth.headers(u) for u in (vendor, admin, reviewer, submitter))

    pol = {"enabled": True, "min_coverage": 0.5, "require_traffic": True, "validity_days": 60}
    assert client.put("/api/v1/certification-policies/*", json=pol, headers=rh).status_code == 403
    assert client.put("/api/v1/certification-policies/*", json={"min_coverage": 2}, headers=ah).status_code == 422
    res = client.put("/api/v1/certification-policies/*", json=pol, headers=ah)
    assert res.status_code == 200 and res.json["version"] == 1, res.json
    assert client.get("/api/v1/certification-policies", headers=rh).json["items"][0]["standard"] == "*"
    assert client.get("/api/v1/certification-policies", headers=vh).status_code == 403

    body = {"standard": ref, "spec": json.dumps(samples.vendor_spec()), "spec_filename": "vendor.json",
            "system": "数据平台", "hars": [{"name": "t.har", "content": samples.good_har()}]}
    res = client.post("/api/v1/certifications", json=body, headers=vh)
    assert res.status_code == 201, res.json
    decision = res.json["auto_approval"]
    assert decision["met"] and decision["certificate"], decision
    serial = decision["certificate"]
    assert client.get(f"/api/v1/certificates/{serial}").json["status"] == "valid"

    from registry import services as registry
    from tests.registry.conftest import proposal

    project = registry.project_create(db_session, auth.principal(submitter),
                                      proposal(interfaces_provided=[{"name": "数据接口", "standard": ref}]))
    url = f"/api/v1/projects/{project.id}/certificates"
    res = client.get(url, headers=rh)
    assert res.status_code == 200 and res.json["summary"] == {"interfaces": 2, "certified": 0}, res.json
    assert client.get(url, headers=vh).status_code in (403, 404)
    assert client.get("/api/v1/projects/NOPE/certificates", headers=rh).status_code == 404
    link = {"direction": "provided", "interface": "数据接口", "serial": serial}
    assert client.put(url, json={**link, "interface": "nope"}, headers=sh).status_code == 422
    res = client.put(url, json=link, headers=sh)
    assert res.status_code == 200 and res.json["summary"]["certified"] == 1, res.json
    auth.login(client, reviewer.username)
    page = client.get(f"/projects/{project.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert serial in html and "数据接口" in html and "not_certified" in html


def test_cli_policy_set_and_list(runner, db_session, app, auth):
    admin = auth.user("commission_admin", org=make_org(db_session, "C-CLIP", kind="commission"))
    reviewer = auth.user("commission_reviewer", org=make_org(db_session, "C-CLIR", kind="commission"))
    res = runner.invoke(["cert", "policy", "set", "--enable", "--min-coverage", "0.8", "--vendor", "V-1",
                         "--max-warnings", "2", "--as", admin.username, "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["standard"] == "*" and out["vendors"] == ["V-1"] and out["max_warnings"] == 2
    res = runner.invoke(["cert", "policy", "set", "uds", "--disable", "--as", reviewer.username])
    assert res.exit_code == 2 and "error" in res.output
    res = runner.invoke(["cert", "policy", "set", "*", "--any-vendor", "--max-warnings", "-1"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(["cert", "policy", "list"])
    assert res.exit_code == 0 and "*: enabled, coverage >= 80%" in res.output and "vendors any" in res.output
    assert "(v2)" in res.output
