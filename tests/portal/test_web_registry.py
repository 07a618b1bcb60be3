"""The project library pages: departments see their own, the commission sees duplicates and decides."""

from tests.factories import csrf_token, make_org


def _proposal(**over):
    data = {
        "title": "南山区智慧停车管理平台", "summary": "建设全区统一的智慧停车诱导与管理系统，汇聚停车数据。",
        "organisation": "NS-DEP", "district": "南山区", "area": "city_operations",
        "construction_mode": "single_department_module", "budget": 3_200_000, "start_year": 2026,
        "end_year": 2027, "deployment": "government_cloud", "data_resources": ["停车场泊位数据"],
        "interfaces_provided": [], "interfaces_consumed": [], "capability_tags": ["parking"], "mlps_level": 3,
    }
    data.update(over)
    return data


def test_department_lists_own_projects_and_commission_decides(client, auth, db_session):
    from registry import services as registry

    make_org(db_session, "NS-DEP", kind="district")
    make_org(db_session, "FT-DEP", kind="district")
    ns = auth.user("department_submitter", org="NS-DEP", username="ns.user")
    ft = auth.user("department_submitter", org="FT-DEP", username="ft.user")
    admin = auth.user("commission_admin", "commission_reviewer", username="boss")
    own = registry.project_create(db_session, auth.principal(ns), _proposal())
    other = registry.project_create(db_session, auth.principal(ft), _proposal(title="福田区停车诱导系统", organisation="FT-DEP"))

    auth.login(client, "ns.user")
    page = client.get("/projects").get_data(as_text=True)
    assert "南山区智慧停车管理平台" in page and "福田区停车诱导系统" not in page
    assert client.get(f"/projects/{other.id}").status_code == 404  # another department's draft does not exist for them
    assert client.get(f"/projects/{own.id}").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/account"))})

    registry.project_submit(db_session, auth.principal(ns), own.id)
    registry.project_submit(db_session, auth.principal(ft), other.id)
    auth.login(client, "boss")
    detail = client.get(f"/projects/{own.id}")
    body = detail.get_data(as_text=True)
    assert detail.status_code == 200 and "福田区停车诱导系统" in body  # the similar project is shown
    assert "return_for_revision" in registry.project_json(
        db_session, auth.principal(admin), registry.project_get(db_session, auth.principal(admin), own.id))["allowed_events"]
    resp = client.post(f"/projects/{own.id}/decide", data={"csrf_token": csrf_token(detail),
                                                           "decision": "returned_for_revision",
                                                           "reason": "请补充云资源申请说明"})
    assert resp.status_code == 302
    db_session.expire_all()
    assert registry.project_get(db_session, auth.principal(admin), own.id).state == "returned_for_revision"
    assert "请补充云资源申请说明" in client.get(f"/projects/{own.id}").get_data(as_text=True)
