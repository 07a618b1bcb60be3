import re

import pytest
from openapi_spec_validator import validate

from portal.api import openapi_document
from tests.factories import PASSWORD


def test_openapi_document_is_valid_openapi_31(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def _operations():
    for path, item in openapi_document()["paths"].items():
        for method, op in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, op


def _concrete(path: str) -> str:
    # object ids route only in their own shape (<oid:...>, 32 hex), so fixed paths beside them win
    return re.sub(r"\{[^}]+\}", lambda m: "0" * 32 if m.group(0).endswith("_id}") else "x", path)


PUBLIC = [(p, m) for p, m, op in _operations() if op.get("security") == []]
PROTECTED = [(p, m) for p, m, op in _operations() if op.get("security") != []]


@pytest.mark.parametrize(("path", "method"), PROTECTED, ids=[f"{m.upper()} {p}" for p, m in PROTECTED])
def test_every_protected_operation_answers_401_problem_without_credentials(client, path, method):
    resp = client.open("/api/v1" + _concrete(path), method=method.upper(), json={})
    assert resp.status_code == 401, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_only_login_and_public_reads_are_open():
    for path, method in PUBLIC:
        assert method == "get" or path == "/auth/token", f"{method} {path} is open to anonymous callers"


def test_login_returns_a_token_that_works(client, auth):
    auth.user("expert", username="erin")
    resp = client.post("/api/v1/auth/token", json={"username": "erin", "password": PASSWORD})
    assert resp.status_code == 201
    token = resp.get_json()["token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.get_json()["roles"] == ["expert"]


def test_bad_credentials_are_401_problem(client, auth):
    auth.user(username="frank")
    resp = client.post("/api/v1/auth/token", json={"username": "frank", "password": "wrong-password"})
    assert resp.status_code == 401 and resp.get_json()["code"] == "not_authenticated"


def test_malformed_token_header(client):
    resp = client.get("/api/v1/me", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert resp.status_code == 401
    resp = client.get("/api/v1/me", headers={"Authorization": "Bearer cgv_nonsense"})
    assert resp.status_code == 401


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"data": "{not json", "content_type": "application/json"}, 400, "bad_request"),
        ({"data": "username=a", "content_type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"),
        ({"json": {"username": "a", "password": "b", "admin": True}}, 422, "validation_failed"),
        ({"json": ["not", "an", "object"]}, 422, "validation_failed"),
        ({"data": '{"username": "a", "password": NaN}', "content_type": "application/json"}, 400, "bad_request"),
        ({"data": "[" * 100_000 + "]" * 100_000, "content_type": "application/json"}, 400, "bad_request"),
    ],
    ids=["malformed", "content-type", "unknown-field", "wrong-type", "nan", "deep-nesting"],
)
def test_bad_bodies_are_4xx_problems(client, kwargs, status, code):
    resp = client.post("/api/v1/auth/token", **kwargs)
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json()
    assert body["code"] == code and body["status"] == status and "Traceback" not in resp.get_data(as_text=True)


def test_oversize_body_is_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    resp = client.post("/api/v1/auth/token", data="x" * 5000, content_type="application/json")
    assert resp.status_code == 413 and resp.mimetype == "application/problem+json"


def test_validation_errors_name_the_pointer(client, auth):
    admin = auth.user("commission_admin")
    resp = client.post("/api/v1/organisations", json={"code": "X", "name": "n", "kind": "palace"},
                       headers=auth.headers(admin))
    assert resp.status_code == 422
    assert resp.get_json()["errors"][0]["pointer"] == "/kind"


def test_token_lifecycle_over_the_api(client, auth):
    user = auth.user("data_steward")
    headers = auth.headers(user)
    created = client.post("/api/v1/tokens", json={"name": "etl", "scopes": ["opendata:*"], "days": 7}, headers=headers)
    assert created.status_code == 201
    listed = client.get("/api/v1/tokens", headers=headers).get_json()["items"]
    assert {t["name"] for t in listed} >= {"etl"} and all("token" not in t for t in listed)
    revoked = client.delete(f"/api/v1/tokens/{created.get_json()['id']}", headers=headers)
    assert revoked.status_code == 200 and revoked.get_json()["revoked"] is True
    gone = client.get("/api/v1/me", headers={"Authorization": f"Bearer {created.get_json()['token']}"})
    assert gone.status_code == 401


def test_scoped_token_cannot_reach_outside_its_scope(client, auth):
    admin = auth.user("commission_admin")
    headers = auth.headers(admin, scopes=["audit:*"])
    resp = client.post("/api/v1/organisations", json={"code": "S1", "name": "n", "kind": "department"},
                       headers=headers)
    assert resp.status_code == 403


def test_unknown_api_route_is_problem_404(client, auth):
    resp = client.get("/api/v1/does-not-exist", headers=auth.headers(auth.user()))
    assert resp.status_code == 404 and resp.mimetype == "application/problem+json"


def test_healthz_and_metrics(client):
    health = client.get("/healthz")
    assert health.status_code == 200 and health.get_json()["status"] == "ok"
    client.get("/api/v1/openapi.json")
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'citygov_http_requests_total{endpoint="api_meta.openapi_json",method="GET",status="200"}' in metrics
    assert "citygov_http_request_duration_seconds_bucket" in metrics


def test_request_id_is_echoed_and_generated(client):
    resp = client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert resp.headers["X-Request-Id"] == "abc-123"
    assert re.fullmatch(r"[0-9a-f]{32}", client.get("/healthz", headers={"X-Request-Id": "bad id!"}).headers["X-Request-Id"])
