"""The standards API (every response is validated against the served OpenAPI document by the client)."""

from __future__ import annotations

import json

from kernel.principal import Role

SCHEMA = {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}
API = {"openapi": "3.0.3", "info": {"title": "T", "version": "1"}, "paths": {"/a": {"get": {
    "operationId": "getA", "responses": {"200": {"description": "ok"}}}}}}


def test_publish_validate_and_lifecycle(client, auth):
    admin = auth.user(Role.COMMISSION_ADMIN)
    h = auth.headers(admin)
    body = {"content": json.dumps(SCHEMA), "filename": "s.json", "kind": "jsonschema"}
    assert client.put("/api/v1/standards/p/versions/1.0.0", json=body).status_code == 401
    vendor = auth.headers(auth.user(Role.VENDOR))
    assert client.put("/api/v1/standards/p/versions/1.0.0", json=body, headers=vendor).status_code == 403
    res = client.put("/api/v1/standards/p/versions/1.0.0", json=body, headers=h)
    assert res.status_code == 201, res.get_json()
    assert res.get_json()["state"] == "published"
    tighter = {"content": json.dumps({**SCHEMA, "required": ["id", "x"]}), "filename": "s.json"}
    refused = client.put("/api/v1/standards/p/versions/2.0.0", json=tighter, headers=h)
    assert refused.status_code == 409 and refused.get_json()["rule"] == "compatibility"
    invalid = client.put("/api/v1/standards/q/versions/1.0.0", headers=h,
                         json={"content": '{"type": 5}', "filename": "q.json", "kind": "jsonschema"})
    assert invalid.status_code == 422 and invalid.get_json()["errors"]
    rep = client.post("/api/v1/standards/p/versions/1.0.0/validate", data=b'{"id": 1}\n{"id": "x"}\n',
                      content_type="application/x-ndjson", headers=vendor)
    assert rep.status_code == 200 and rep.get_json()["counts"] == {"type": 1}
    assert client.get("/api/v1/standards").get_json()["items"][0]["name"] == "p"
    assert client.get("/api/v1/standards/p/versions/1.0.0/content").status_code == 200
    assert client.post("/api/v1/standards/p/versions/1.0.0/deprecate", headers=h).get_json()["state"] == "deprecated"
    assert client.post("/api/v1/standards/p/versions/1.0.0/deprecate", headers=h).status_code == 409
    assert client.get("/api/v1/standards/nope").status_code == 404


def test_checks_need_any_authenticated_caller(client, auth):
    h = auth.headers(auth.user(Role.VENDOR))
    assert client.post("/api/v1/standards/diff", json={"old": API, "new": API}).status_code == 401
    old = API
    new = json.loads(json.dumps(API))
    new["paths"] = {}
    d = client.post("/api/v1/standards/diff", json={"old": old, "new": new}, headers=h)
    assert d.status_code == 200 and not d.get_json()["valid"]
    assert "api-path-removed-without-deprecation" in d.get_json()["counts"]
    lint = client.post("/api/v1/standards/lint", json={"document": API, "ruleset": "rules: {info-contact: off}"},
                       headers=h)
    assert lint.status_code == 200 and "info-contact" not in lint.get_json()["counts"]
    chk = client.post("/api/v1/standards/check", json={"kind": "openapi", "content": "openapi: 3.0.3\ninfo: {}\n"},
                      headers=h)
    assert chk.status_code == 200 and not chk.get_json()["valid"]
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8))
    bad = client.post("/api/v1/standards/check", json={"kind": "openapi", "content": bomb}, headers=h)
    assert bad.status_code == 400 and "billion" in bad.get_json()["detail"]
    assert client.post("/api/v1/standards/diff", json={"old": "x", "new": API}, headers=h).status_code == 400


def test_a_reference_from_the_network_never_reads_a_server_file(client, auth, tmp_path):
    secret = tmp_path / "secret@1.0.0"
    secret.write_text(json.dumps(API), encoding="utf-8")  # a valid OpenAPI document at a path with '@'
    h = auth.headers(auth.user(Role.VENDOR))
    for op, body in (("lint", {"document": str(secret)}), ("diff", {"old": str(secret), "new": API})):
        resp = client.post(f"/api/v1/standards/{op}", json=body, headers=h)
        assert 400 <= resp.status_code < 500, (op, resp.status_code)
        assert resp.mimetype == "application/problem+json"
