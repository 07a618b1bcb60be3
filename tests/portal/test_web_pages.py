"""The web application per user group: navigation guarded by policies, codes with the published schema's
labels, the dashboard's audit count, the programme view (page and API), standards catalog and management,
certificate verification, audit proofs — and a crawler per role over every reachable link."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest

from tests.factories import SYSTEM, csrf_token, make_org

ROLES = {
    "boss": ("commission_admin", "commission_reviewer"),
    "reviewer": ("commission_reviewer",),
    "ns.user": ("department_submitter",),
    "expert1": ("expert",),
    "vendor1": ("vendor",),
    "analyst1": ("security_analyst",),
    "steward1": ("data_steward",),
}


def _proposal(**over):
    data = {
        "title": "南山区智慧停车管理平台", "summary": "建设全区统一的智慧停车诱导与管理系统，汇聚停车数据。",
        "organisation": "NS-DEP", "district": "南山区", "area": "city_operations",
        "construction_mode": "single_department_module", "budget": 3_200_000, "start_year": 2026,
        "end_year": 2027, "deployment": "government_cloud", "data_resources": ["停车场泊位数据"],
        "interfaces_provided": [{"name": "泊位查询", "standard": "registry.proposal@1.0.0"}],
        "interfaces_consumed": [], "capability_tags": ["parking"], "mlps_level": 3,
    }
    data.update(over)
    return data


@pytest.fixture
def city(db_session, auth, app):
    """A small city: two departments with submitted proposals (one likely duplicate), users of every role,
    a signed audit checkpoint."""
    from audit.checkpoints import checkpoint_sign
    from registry import services as registry

    make_org(db_session, "NS-DEP", kind="district")
    make_org(db_session, "FT-DEP", kind="district")
    make_org(db_session, "VEND", kind="vendor")
    users = {}
    for name, roles in ROLES.items():
        org = {"ns.user": "NS-DEP", "vendor1": "VEND"}.get(name)
        users[name] = auth.user(*roles, username=name, **({"org": org} if org else {}))
    ns = auth.user("department_submitter", org="NS-DEP", username="ns.other")
    ft = auth.user("department_submitter", org="FT-DEP", username="ft.user")
    a = registry.project_create(db_session, auth.principal(users["ns.user"]), _proposal())
    b = registry.project_create(db_session, auth.principal(ft), _proposal(title="福田区智慧停车管理平台",
                                                                          organisation="FT-DEP", district="福田区"))
    registry.project_submit(db_session, auth.principal(ns), a.id)
    registry.project_submit(db_session, auth.principal(ft), b.id)
    from portal.keys import key_dir

    with app.app_context():
        kd = key_dir()
    checkpoint_sign(db_session, SYSTEM, key_dir=kd)
    return {"users": users, "a": a, "b": b}


def _logout(client):
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/account"))})


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.title = False
        self.lang = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "title":
            self.title = True
        if tag == "html":
            self.lang = a.get("lang")


def _nav_hrefs(html: str) -> list[str]:
    nav = re.search(r"<nav>(.*?)</nav>", html, re.S) or re.search(r'<nav aria-label="[^"]*">(.*?)</nav>', html, re.S)
    return re.findall(r'href="([^"]+)"', nav.group(1)) if nav else []


def test_navigation_only_shows_pages_the_role_may_open(client, auth, city):
    for name in ROLES:
        auth.login(client, name)
        home = client.get("/").get_data(as_text=True)
        for href in _nav_hrefs(home):
            if href.startswith("/lang/"):
                continue
            resp = client.get(href)
            assert resp.status_code in (200, 302), (name, href, resp.status_code)
            if resp.status_code == 302:
                assert client.get(resp.headers["Location"]).status_code == 200, (name, href)
        _logout(client)
    auth.login(client, "vendor1")
    assert "/projects" not in _nav_hrefs(client.get("/").get_data(as_text=True))
    assert client.get("/projects").status_code == 403


@pytest.mark.parametrize("role", list(ROLES) + ["anonymous"])
def test_crawler_per_role(client, auth, city, role):
    """Follow every same-site link a role can reach (GET only): no 5xx, a <title> and a lang attribute on
    every page, and no link that answers 403."""
    if role != "anonymous":
        auth.login(client, role)
    seen: set[str] = set()
    queue = ["/"]
    while queue and len(seen) < 120:
        url = queue.pop(0)
        path = urlsplit(url).path
        if url in seen or path.startswith(("/lang/", "/api/", "/healthz", "/metrics", "/static/")) \
                or "/download" in path:
            continue
        seen.add(url)
        resp = client.get(url)
        assert resp.status_code < 500, (role, url, resp.status_code)
        assert resp.status_code != 403, (role, url, "a page offered a link it refuses")
        if resp.status_code in (301, 302, 303):
            queue.append(resp.headers["Location"])
            continue
        if not resp.mimetype == "text/html":
            continue
        html = resp.get_data(as_text=True)
        parser = _Links()
        parser.feed(html)
        assert parser.title and parser.lang in ("zh-CN", "en"), (role, url)
        for href in parser.links:
            target = urljoin(url, href)
            if urlsplit(target).netloc in ("", "localhost") and target not in seen:
                queue.append(urlsplit(target).path + (("?" + urlsplit(target).query) if urlsplit(target).query else ""))
    assert len(seen) > 3, seen


# pages a role may open that need no link: the login form (the layout links it for anonymous visitors only)
_UNLINKED = {"web.login"}


def _reachable_paths(client, limit: int = 400) -> set[str]:
    """Every same-site path reachable from / by following links (query strings ignored)."""
    seen: set[str] = set()
    queue = ["/"]
    while queue and len(seen) < limit:
        path = urlsplit(queue.pop(0)).path
        if path in seen or path.startswith(("/lang/", "/api/", "/static/")) or "/download" in path:
            continue
        seen.add(path)
        resp = client.get(path)
        if resp.status_code in (301, 302, 303):
            queue.append(resp.headers["Location"])
            continue
        if resp.status_code != 200 or resp.mimetype != "text/html":
            continue
        parser = _Links()
        parser.feed(resp.get_data(as_text=True))
        for href in parser.links:
            target = urljoin(path, href)
            if urlsplit(target).netloc in ("", "localhost"):
                queue.append(urlsplit(target).path)
    return seen


@pytest.mark.parametrize("role", list(ROLES) + ["anonymous"])
def test_nav_entries_open_and_every_page_a_role_may_open_is_reachable(app, client, auth, city, role):
    """The navigation is data (portal.web.nav, policy-checked): each entry a role sees answers 200 for that role
    and appears in the rendered layout; every page without parameters in the url map that answers 200 for the
    role is in its navigation or linked from a page it can reach."""
    from kernel.principal import ANONYMOUS
    from portal.web import nav

    if role == "anonymous":
        principal = ANONYMOUS
    else:
        auth.login(client, role)
        principal = auth.principal(city["users"][role])
    with app.test_request_context():
        from flask import url_for

        entries = {e.endpoint: url_for(e.endpoint, **e.kwargs) for e in nav.entries_for(principal)}
        rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("web.") and not r.arguments
                 and "GET" in (r.methods or ())]
    rendered = set(_nav_hrefs(client.get("/").get_data(as_text=True)))
    for endpoint, url in entries.items():
        assert url in rendered, (role, endpoint, "registered entry missing from the layout")
        resp = client.get(url, follow_redirects=True)
        assert resp.status_code == 200, (role, endpoint, url, resp.status_code)
    reachable = _reachable_paths(client)
    assert {urlsplit(u).path for u in entries.values()} <= reachable
    for rule in rules:
        if rule.endpoint in _UNLINKED or rule.endpoint in ("web.logout",):
            continue
        resp = client.get(rule.rule)
        if resp.status_code == 200 and resp.mimetype == "text/html":
            assert rule.rule in reachable, (role, rule.endpoint, "a page this role may open is not linked")


def test_codes_show_bilingual_labels_and_filters_are_choices(client, auth, city):
    auth.login(client, "boss")
    page = client.get("/projects").get_data(as_text=True)
    assert "城市运行管理" in page and "city_operations</td>" not in page
    assert '<select name="area">' in page and 'value="city_operations"' in page
    assert '<select name="state">' in page and "已提交" in page
    client.get("/lang/en")
    page = client.get("/projects?area=city_operations&sort=title").get_data(as_text=True)
    assert "city operations management" in page
    assert client.get("/projects?area=nowhere").status_code == 400
    assert client.get("/projects?sort=drop").status_code == 400


def test_dashboard_shows_audit_count_and_charts(client, auth, city, db_session):
    from audit.proofs import current_size

    auth.login(client, "boss")
    home = client.get("/").get_data(as_text=True)
    assert f"<h2>{current_size(db_session)}</h2>" in home
    dash = client.get("/dashboard")
    body = dash.get_data(as_text=True)
    assert dash.status_code == 200 and body.count("<svg") >= 3 and "<script" not in body
    assert "南山区" in body  # budget by district, in the chart's data table
    queue = client.get("/review").get_data(as_text=True)
    assert "南山区智慧停车管理平台" in queue and "福田区智慧停车管理平台" in queue
    _logout(client)
    auth.login(client, "ns.user")
    assert client.get("/dashboard").status_code == 403


def test_programme_view_page_and_api(client, auth, city, db_session):
    a = city["a"]
    auth.login(client, "boss")
    page = client.get(f"/programme/projects/{a.id}").get_data(as_text=True)
    assert "registry.proposal@1.0.0" in page and "停车场泊位数据" in page
    dept = client.get(f"/programme/departments/{a.org_id}").get_data(as_text=True)
    assert "南山区智慧停车管理平台" in dept
    _logout(client)

    headers = auth.headers(city["users"]["boss"])
    view = client.get(f"/api/v1/programme/projects/{a.id}", headers=headers).get_json()
    assert view["project"]["state"] == "prechecked"  # submitting runs the pre-check
    assert view["standards"]["standards"][0] == {**view["standards"]["standards"][0], "ref": "registry.proposal@1.0.0",
                                                 "state": "published"}
    assert view["standards"]["summary"] == {"interfaces": 1, "certified": 0}
    assert view["datasets"]["promised"] == [{"project_id": a.id, "name": "停车场泊位数据"}]
    delivered = view["datasets"]["delivered"]  # the catalog links datasets to organisations, not projects
    assert delivered["available"] and delivered["linked_by"] == "org_id" and delivered["rows"] == []
    assert view["security"]["mlps_levels"] == {a.id: 3}
    dept = client.get("/api/v1/programme/departments/NS-DEP", headers=headers).get_json()
    assert dept["totals"]["projects"] == 1 and dept["organisation"]["code"] == "NS-DEP"
    assert any(o["code"] == "FT-DEP" for o in client.get("/api/v1/programme/departments", headers=headers)
               .get_json()["items"])

    ns = auth.headers(city["users"]["ns.user"])
    assert client.get("/api/v1/programme/departments/NS-DEP", headers=ns).status_code == 200
    assert client.get("/api/v1/programme/departments/FT-DEP", headers=ns).status_code == 403
    assert client.get(f"/api/v1/programme/projects/{city['b'].id}", headers=ns).status_code == 404
    assert client.get("/api/v1/programme/departments", headers=ns).status_code == 403
    assert client.get("/api/v1/programme/departments/NOPE", headers=headers).status_code == 404


def test_programme_picks_up_module_tables_when_they_exist(db_session, auth, city, monkeypatch):
    """A module table linking rows to projects fills the section without a change to the view; the real
    secmon systems table (``project_id``) is one."""
    import sqlalchemy as sa

    from portal import programme

    conn = db_session.connection()
    conn.execute(sa.text("CREATE TABLE test_prog_incident (id VARCHAR(32) PRIMARY KEY, project_id VARCHAR(32), "
                         "title VARCHAR(200), severity INTEGER)"))
    conn.execute(sa.text("INSERT INTO test_prog_incident VALUES ('i1', :p, '弱口令', 2)"), {"p": city["a"].id})
    monkeypatch.setitem(programme.SECURITY_TABLES, "incidents", "test_prog_incident")
    view = programme.project_view(db_session, auth.principal(city["users"]["boss"]), city["a"].id)
    assert view["security"]["incidents"]["available"] is True
    assert view["security"]["incidents"]["count"] == 1
    assert view["security"]["incidents"]["rows"][0]["title"] == "弱口令"
    assert view["security"]["assets"]["available"] is True and view["security"]["assets"]["count"] == 0


def test_standards_catalog_download_and_managed_publish(client, auth, city, db_session):
    import hashlib
    import io
    import json

    page = client.get("/standards").get_data(as_text=True)
    assert "registry.proposal" in page
    std = client.get("/standards/registry.proposal").get_data(as_text=True)
    dl = client.get("/standards/registry.proposal/1.0.0/download")
    assert dl.status_code == 200 and hashlib.sha256(dl.data).hexdigest() in std
    assert client.get("/standards/publish").status_code == 302  # log in first

    auth.login(client, "boss")
    form = client.get("/standards/publish")
    v1 = {"type": "object", "properties": {"name": {"type": "string"}}}
    resp = client.post("/standards/publish", data={
        "csrf_token": csrf_token(form), "name": "city.parking", "version": "1.0.0", "kind": "jsonschema",
        "file": (io.BytesIO(json.dumps(v1).encode()), "parking.json")}, content_type="multipart/form-data")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'name="confirm"' in body, body[-3000:]
    from kernel.errors import NotFound
    from standards import services as standards

    with pytest.raises(NotFound):  # the check published nothing
        standards.version_get(db_session, SYSTEM, "city.parking@1.0.0")
    digest = re.search(r'name="checked_sha256" value="([0-9a-f]+)"', body).group(1)
    content = re.search(r'name="content" value="([^"]*)"', body).group(1)
    import html as htmlmod

    resp = client.post("/standards/publish", data={
        "csrf_token": csrf_token(form), "name": "city.parking", "version": "1.0.0", "kind": "jsonschema",
        "content": htmlmod.unescape(content), "checked_sha256": digest, "confirm": "1", "filename": "parking.json"})
    assert resp.status_code == 302
    assert standards.version_get(db_session, SYSTEM, "city.parking@1.0.0").state == "published"
    # a breaking 2nd version: the verdict is shown, nothing is published
    v2 = {"type": "object", "properties": {"name": {"type": "integer"}}, "required": ["name"]}
    resp = client.post("/standards/publish", data={
        "csrf_token": csrf_token(form), "name": "city.parking", "version": "1.1.0",
        "file": (io.BytesIO(json.dumps(v2).encode()), "parking.json")}, content_type="multipart/form-data")
    body = resp.get_data(as_text=True)
    assert 'name="confirm"' not in body and "flash error" in body
    resp = client.post("/standards/city.parking/1.0.0/deprecate", data={"csrf_token": csrf_token(form)})
    assert resp.status_code == 302
    assert standards.version_get(db_session, SYSTEM, "city.parking@1.0.0").state == "deprecated"
    resp = client.post("/standards/publish", data={"csrf_token": csrf_token(form), "name": "", "version": ""})
    assert resp.status_code == 422 and 'id="err-name"' in resp.get_data(as_text=True)


def test_transparency_proofs_verify_on_the_page(client, city, db_session):
    page = client.get("/transparency?index=0").get_data(as_text=True)
    assert "tag\">已验证" in page or "verified" in page
    page = client.get("/transparency?first=1").get_data(as_text=True)
    assert "已验证" in page or "verified" in page
    assert client.get("/transparency?index=999999").status_code == 400
    assert client.get("/transparency?first=abc").status_code == 400


def test_certificate_verification_by_serial_and_file(client, city):
    assert client.get("/certificates/verify?serial=NOPE").status_code == 404
    page = client.get("/certificates/verify")
    resp = client.post("/certificates/verify", data={"csrf_token": csrf_token(page),
                                                     "file": (__import__("io").BytesIO(b"{not json"), "c.json")},
                       content_type="multipart/form-data")
    assert resp.status_code == 200 and "tag bad" in resp.get_data(as_text=True)


def test_review_journey_compare_panel_blind_review(client, auth, city, db_session):
    """The reviewer compares the pair side by side (shared phrases highlighted) and marks it, forms a panel
    (an expert of the submitter's own organisation is excluded), experts review blind, the panel closes."""
    from registry import services as registry

    a, b = city["a"], city["b"]
    for i in range(3):
        auth.user("expert", username=f"exp{i}")
    auth.user("expert", org="NS-DEP", username="exp.ns")
    auth.login(client, "boss")
    cmp_page = client.get(f"/projects/{a.id}/compare/{b.id}")
    body = cmp_page.get_data(as_text=True)
    assert cmp_page.status_code == 200 and "<mark>" in body and "parking" in body
    resp = client.post(f"/projects/{a.id}/pairs/{b.id}", data={"csrf_token": csrf_token(cmp_page),
                                                               "verdict": "duplicate", "reason": "同一建设内容"})
    assert resp.status_code == 302
    panel = client.get(f"/projects/{a.id}/panel")
    assert "conflict" in panel.get_data(as_text=True) or "利益冲突" in panel.get_data(as_text=True)
    resp = client.post(f"/projects/{a.id}/panel", data={"csrf_token": csrf_token(panel),
                                                        "experts": ["exp0", "exp.ns"]})
    assert resp.status_code == 422 and "exp.ns" in resp.get_data(as_text=True)
    resp = client.post(f"/projects/{a.id}/panel", data={"csrf_token": csrf_token(panel),
                                                        "experts": ["exp0", "exp1", "exp2", "exp.ns"]})
    assert resp.status_code == 302
    _logout(client)
    for i in range(3):
        auth.login(client, f"exp{i}")
        mine = client.get("/reviews").get_data(as_text=True)
        assert a.title in mine and b.title not in mine
        form = client.get(f"/projects/{a.id}/review")
        scores = {f"score_{c}": "8" for c in ("necessity", "duplication_risk", "technical_soundness",
                                              "data_sharing", "security", "cost")}
        if i == 0:
            bad = client.post(f"/projects/{a.id}/review", data={"csrf_token": csrf_token(form), **scores,
                                                                "score_cost": "11"})
            assert bad.status_code == 422 and 'id="e-cost"' in bad.get_data(as_text=True)
        resp = client.post(f"/projects/{a.id}/review", data={"csrf_token": csrf_token(form), **scores})
        assert resp.status_code == 302
        _logout(client)
    auth.login(client, "boss")
    page = client.get(f"/projects/{a.id}/panel")
    resp = client.post(f"/projects/{a.id}/panel/close", data={"csrf_token": csrf_token(page)})
    assert resp.status_code == 302
    assert registry.reviews_get(db_session, auth.principal(city["users"]["boss"]), a.id)["blind"] is False


def test_rules_page_adds_and_switches_rules(client, auth, city):
    auth.login(client, "boss")
    page = client.get("/rules")
    assert page.status_code == 200 and "cloud-first" in page.get_data(as_text=True)
    bad = client.post("/rules", data={"csrf_token": csrf_token(page), "action": "create", "definition": "code: x"})
    assert bad.status_code == 422
    rule = ("code: budget-cap\nseverity: warning\nfield: budget\nmessage: 预算过大\n"
            "check: {field: budget, op: lte, value: 100000000}\n")
    assert client.post("/rules", data={"csrf_token": csrf_token(page), "action": "create",
                                       "definition": rule}).status_code == 302
    assert "budget-cap" in client.get("/rules").get_data(as_text=True)
    assert client.post("/rules", data={"csrf_token": csrf_token(page), "action": "toggle", "code": "budget-cap",
                                       "enabled": "0"}).status_code == 302


def test_programme_datasets_fall_back_to_the_organisation(db_session, auth, city):
    """The open-data catalog links datasets to organisations only (not projects); it still fills the
    "delivered" part, saying so."""
    from portal import programme

    view = programme.department_view(db_session, auth.principal(city["users"]["boss"]), city["a"].org_id)
    delivered = view["datasets"]["delivered"]
    assert delivered["available"] and delivered["linked_by"] == "org_id" and delivered["rows"] == []


def test_steward_scan_preview_and_anonymity(app, client, auth, db_session):
    import io

    from portal import jobs
    from portal.db import get_db

    auth.user("data_steward", username="steward")
    auth.login(client, "steward")
    csv = ("姓名,身份证号,手机号,年龄,区\n"
           + "".join(f"张{i},11010519491231002X,1380013{i:04d},{20 + i % 50},{'南山区' if i % 2 else '福田区'}\n"
                     for i in range(60))).encode("utf-8")
    page = client.get("/steward")
    resp = client.post("/steward", data={"csrf_token": csrf_token(page), "file": (io.BytesIO(csv), "people.csv")},
                       content_type="multipart/form-data")
    assert resp.status_code == 302
    assert jobs.run_pending(get_db(app).sessionmaker) == 1
    job_id = resp.headers["Location"].rsplit("/", 1)[1]
    scan = client.get(f"/steward/scans/{job_id}").get_data(as_text=True)
    assert "11010519491231002X" not in scan and "1*" in scan  # examples are masked
    assert "身份证号" in scan

    policy = "version: 1\ncolumns:\n  身份证号: {type: drop}\n  手机号: {type: mask, keep_first: 3}\n"
    prev = client.post("/steward/preview", data={"csrf_token": csrf_token(page), "policy": policy,
                                                 "file": (io.BytesIO(csv), "people.csv")},
                       content_type="multipart/form-data")
    body = prev.get_data(as_text=True)
    assert prev.status_code == 200 and "138*" in body and "11010519491231002X" not in body
    bad = client.post("/steward/preview", data={"csrf_token": csrf_token(page), "policy": "columns: 3",
                                                "file": (io.BytesIO(csv), "people.csv")},
                      content_type="multipart/form-data")
    assert bad.status_code == 422 and 'id="e-policy"' in bad.get_data(as_text=True)

    meas = client.post("/steward/anonymity", data={"csrf_token": csrf_token(page), "qi": "年龄,区", "k": "5",
                                                   "file": (io.BytesIO(csv), "people.csv")},
                       content_type="multipart/form-data")
    body = meas.get_data(as_text=True)
    assert meas.status_code == 200 and "<svg" in body
    nope = client.post("/steward/anonymity", data={"csrf_token": csrf_token(page), "qi": "",
                                                   "file": (io.BytesIO(csv), "people.csv")},
                       content_type="multipart/form-data")
    assert nope.status_code == 422 and 'id="e-qi"' in nope.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/account"))})
    auth.user("vendor", username="v9")
    auth.login(client, "v9")
    assert client.get("/steward").status_code == 403


def test_standard_lint_results_page_and_own_document(client, auth, city, db_session):
    """Lint results of an OpenAPI standard's version (public, like the catalog) and of an uploaded document
    (signed in) with the same rule set."""
    import io
    import json

    from standards import services as standards

    spec = {"openapi": "3.1.0", "info": {"title": "泊位查询", "version": "1.0.0"},
            "paths": {"/berths": {"get": {"responses": {"200": {"description": "ok"}}}}}}
    standards.publish(db_session, SYSTEM, "parking.api", "1.0.0", json.dumps(spec, ensure_ascii=False),
                      kind="openapi")
    page = client.get("/standards/parking.api")
    assert "/standards/parking.api/1.0.0/lint" in page.get_data(as_text=True)
    lint = client.get("/standards/parking.api/1.0.0/lint")
    html = lint.get_data(as_text=True)
    assert lint.status_code == 200 and "operation" in html.lower()  # e.g. operationId / tags rules
    assert client.get("/standards/registry.proposal/1.0.0/lint").status_code == 422  # not an OpenAPI standard
    assert client.get("/standards/parking.api/9.9.9/lint").status_code == 404
    assert client.post("/standards/parking.api/1.0.0/lint", data={}).status_code in (400, 401)  # CSRF / login

    auth.login(client, "vendor1")
    form = client.get("/standards/parking.api/1.0.0/lint")
    better = dict(spec, paths={"/berths": {"get": {"operationId": "listBerths", "tags": ["berths"],
                                                   "summary": "Berths", "responses": {"200": {"description": "ok"}}}}})
    resp = client.post("/standards/parking.api/1.0.0/lint", data={
        "csrf_token": csrf_token(form), "file": (io.BytesIO(json.dumps(better).encode()), "mine.json")},
        content_type="multipart/form-data")
    assert resp.status_code == 200 and "mine.json" in resp.get_data(as_text=True)
    bad = client.post("/standards/parking.api/1.0.0/lint", data={
        "csrf_token": csrf_token(form), "file": (io.BytesIO(b"{not json"), "broken.json")},
        content_type="multipart/form-data")
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.get_data(as_text=True)
