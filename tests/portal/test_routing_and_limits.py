"""Issue 15, fix 4: LIKE wildcards are literal, fixed paths win over ``<id>`` routes (so ``Allow`` is right),
revoking someone else's token is a 404, and oversize bodies get problem+json (API) / an error page (web) —
through the test client and through a real waitress server on loopback."""

from __future__ import annotations

import http.client
import threading

import pytest

from kernel.principal import Role, system_principal
from registry import services as reg
from tests.registry.conftest import proposal


# ---------------------------------------------------------------- LIKE wildcards


@pytest.mark.parametrize("q, expected", [("%", {"100% 覆盖的平台"}), ("_", {"a_b 接口平台"}),
                                         ("\\", {"反斜杠\\平台"}), ("平台", None)])
def test_search_wildcards_are_literal(client, auth, db_session, q, expected):
    from tests.factories import make_org

    org = make_org(db_session, "WILD-DEP")
    titles = ["100% 覆盖的平台", "a_b 接口平台", "反斜杠\\平台", "普通的平台"]
    for t in titles:
        reg.project_create(db_session, system_principal("t"), proposal(title=t), org_id=org.id)
    h = auth.headers(auth.user(Role.COMMISSION_ADMIN))
    res = client.get("/api/v1/projects", query_string={"q": q, "per_page": 500}, headers=h)
    assert res.status_code == 200
    found = {p["title"] for p in res.get_json()["items"]}
    assert found == (expected if expected is not None else set(titles))


@pytest.mark.parametrize("q", ["100%", '"引号"', "A_B", "a_b 接", "平台", "覆盖的", "Ab", "没有这个标题"])
def test_title_search_through_the_index_answers_as_like(db_session, q):
    """On SQLite a title search of three or more characters reads the FTS5 trigram index (registry_0004): the same
    answer as a case-insensitive substring test of every title (shorter ones and PostgreSQL: ILIKE), renames
    followed."""
    from sqlmodel import select

    from registry.models import Project
    from tests.factories import make_org

    org = make_org(db_session, "TRIGRAM-DEP")
    sysp = system_principal("t")
    titles = ["100% 覆盖的平台", "a_b 接口平台", 'AB 的"引号"平台', "普通的平台", "ab 小写平台"]
    made = [reg.project_create(db_session, sysp, proposal(title=t), org_id=org.id) for t in titles]
    renamed = made[3]
    reg.project_update(db_session, sysp, renamed.id, proposal(title="改名后的覆盖的系统"), revision=renamed.revision)
    live = [p.title for p in db_session.exec(select(Project).where(Project.org_id == org.id))]
    assert "普通的平台" not in live and "改名后的覆盖的系统" in live
    expected = {t for t in live if q.lower() in t.lower()}
    items, total = reg.project_list(db_session, sysp, filters={"q": q, "org_id": org.id}, per_page=100)
    assert {p.title for p in items} == expected and total == len(expected)


def test_title_search_pages_follow_the_order_whichever_plan(db_session):
    """A common phrase (the plan walks the order's index) and a rare one (the plan reads the matches and sorts)
    page through the same rows in the same order as sorting every match."""
    from tests.factories import make_org

    org = make_org(db_session, "TRIGRAM-PAGES")
    sysp = system_principal("t")
    made = [reg.project_create(db_session, sysp, proposal(title=("共享平台" if i % 3 else "独立系统") + f"第{i}期"),
                               org_id=org.id) for i in range(30)]
    for q in ("共享平台", "独立系统第9期"):
        want = [p.id for p in sorted((p for p in made if q in p.title), key=lambda p: (p.updated_at, p.id), reverse=True)]
        got = []
        for page in range(1, 6):
            items, total = reg.project_list(db_session, sysp, filters={"q": q}, page=page, per_page=5)
            assert total == len(want)
            got += [p.id for p in items]
        assert got == want


def test_title_search_total_keeps_a_zero_valued_filter(db_session):
    """``budget_min=0`` still narrows (a draft without a budget does not pass it): the total is not the title
    index's count alone."""
    from tests.factories import make_org

    org = make_org(db_session, "TRIGRAM-ZERO")
    sysp = system_principal("t")
    reg.project_create(db_session, sysp, proposal(title="零值过滤的平台甲"), org_id=org.id)
    reg.project_create(db_session, sysp, proposal(title="零值过滤的平台乙", budget=None), org_id=org.id)
    items, total = reg.project_list(db_session, sysp, filters={"q": "零值过滤", "budget_min": 0.0})
    assert [p.title for p in items] == ["零值过滤的平台甲"] and total == 1


# ---------------------------------------------------------------- fixed paths vs <id> routes


def _static_rules(app):
    return [r for r in app.url_map.iter_rules() if not r.arguments]


def test_fixed_paths_are_not_shadowed_by_parameter_routes(app):
    """For every fixed path, the methods the router allows are exactly those of the fixed path's own rules
    (a ``<project_id>`` rule beside it would add PUT to ``/projects/clusters``)."""
    adapter = app.url_map.bind("localhost")
    problems = {}
    for rule in _static_rules(app):
        own = set().union(*(r.methods for r in app.url_map.iter_rules() if r.rule == rule.rule))
        extra = set(adapter.allowed_methods(rule.rule)) - own
        if extra:
            problems[rule.rule] = sorted(extra)
    assert problems == {}


def test_options_and_wrong_method_on_fixed_paths(app, client, auth):
    from flask.testing import FlaskClient

    h = auth.headers(auth.user(Role.COMMISSION_ADMIN))
    plain = FlaskClient(app)  # OPTIONS is answered by the router, not an operation of the document
    allow = plain.options("/api/v1/projects/clusters", headers=h).headers["Allow"]
    assert set(allow.replace(" ", "").split(",")) == {"GET", "HEAD", "OPTIONS"}
    res = plain.open("/api/v1/projects/clusters", method="PUT", json={}, headers=h)
    assert res.status_code == 405 and res.content_type == "application/problem+json"
    assert "PUT" not in res.headers["Allow"]
    diff = plain.options("/api/v1/standards/diff", headers=h).headers["Allow"]
    assert set(diff.replace(" ", "").split(",")) == {"POST", "OPTIONS"}
    # real ids still route
    assert client.get("/api/v1/projects/" + "0" * 32, headers=h).status_code == 404


# ---------------------------------------------------------------- token revocation


def test_revoking_another_users_token_is_404_like_a_missing_one(client, auth, db_session):
    owner = auth.user(Role.VENDOR)
    other = auth.headers(auth.user(Role.SECURITY_ANALYST))
    created = client.post("/api/v1/tokens", json={"name": "mine"}, headers=auth.headers(owner)).get_json()
    theirs = client.delete(f"/api/v1/tokens/{created['id']}", headers=other)
    missing = client.delete(f"/api/v1/tokens/{'f' * 32}", headers=other)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.get_json()["title"] == missing.get_json()["title"]
    from portal.accounts.models import ApiToken

    assert db_session.get(ApiToken, created["id"]).revoked_at is None


# ---------------------------------------------------------------- oversize bodies


def test_oversize_bodies_through_the_test_client(app, client, auth):
    from tests.factories import csrf_token

    app.config["MAX_CONTENT_LENGTH"] = 2048
    big = b'{"username": "' + b"x" * 4096 + b'", "password": "y"}'
    res = client.post("/api/v1/auth/token", data=big, content_type="application/json")
    assert res.status_code == 413 and res.content_type == "application/problem+json"
    assert res.get_json()["code"] == "payload_too_large"
    token_headers = auth.headers(auth.user(Role.COMMISSION_ADMIN))
    res = client.put("/api/v1/standards/big/versions/1.0.0", data=big, content_type="application/json",
                     headers=token_headers)
    assert res.status_code == 413 and res.content_type == "application/problem+json"
    page = client.get("/login")
    res = client.post("/login", data={"username": "x" * 4096, "password": "y", "csrf_token": csrf_token(page)})
    assert res.status_code == 413 and res.content_type.startswith("text/html")
    assert "413" in res.get_data(as_text=True)


@pytest.fixture
def served(app):
    """The app under waitress (portal.serving, what `citygov serve` runs) on a free loopback port."""
    from portal.serving import create_server

    app.config["MAX_CONTENT_LENGTH"] = 4096
    server = create_server(app, host="127.0.0.1", port=0, threads=2)
    def run():
        try:
            server.run()
        except (OSError, ValueError):
            pass  # close() from the test thread ends the select loop with EBADF: that is the shutdown

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield server.effective_port
    finally:
        server.close()
        thread.join(timeout=5)


def _post(port, path, body, content_type, chunked=False):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        if chunked:
            conn.putrequest("POST", path)
            conn.putheader("Content-Type", content_type)
            conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            try:
                for i in range(0, len(body), 1024):
                    part = body[i:i + 1024]
                    conn.send(b"%x\r\n%s\r\n" % (len(part), part))
                conn.send(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answered and closed once the limit was passed: read that answer
        else:
            try:
                conn.request("POST", path, body=body, headers={"Content-Type": content_type})
            except (BrokenPipeError, ConnectionResetError):
                pass  # a declared length over the limit: the server may answer and close before the body is sent
        res = conn.getresponse()
        return res.status, res.getheader("Content-Type"), res.getheader("Content-Security-Policy"), res.read()
    finally:
        conn.close()


@pytest.mark.parametrize("size", [4097, 5000, 1_000_000])
@pytest.mark.parametrize("chunked", [False, True])
def test_oversize_bodies_under_waitress(served, size, chunked):
    import json

    status, ctype, csp, body = _post(served, "/api/v1/auth/token", b"x" * size, "application/json", chunked)
    assert status == 413 and ctype == "application/problem+json"
    problem = json.loads(body)
    assert problem["code"] == "payload_too_large" and problem["status"] == 413 and csp
    status, ctype, csp, body = _post(served, "/login", b"u=" + b"x" * size, "application/x-www-form-urlencoded",
                                     chunked)
    assert status == 413 and ctype.startswith("text/html") and b"<html" in body and csp
