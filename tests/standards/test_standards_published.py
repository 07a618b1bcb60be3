"""What a published version is (its exact bytes and their digest), format assertion, remote references as input
errors, JUnit one testcase per record, SARIF regions, and the rules that change over time (compatibility level,
dry-run check, disabled versions, global default)."""

from __future__ import annotations

import base64
import hashlib
import json
import xml.etree.ElementTree as ET

import pytest

from kernel.principal import Role

YAML_SCHEMA = b"""# the city's person record \xe2\x80\x94 kept as written
$schema: https://json-schema.org/draft/2020-12/schema
type: object
required: [id, born]
properties:
  id:   {type: integer}
  born: {type: string, format: date}
  mail: {type: string, format: email}
"""

API = """openapi: 3.0.3
info: {title: T, version: "1"}
paths:
  /a:
    get:
      operationId: getA
      responses: {"200": {description: ok}}
"""


def test_downloaded_standard_verifies_against_its_digest(client, auth):
    h = auth.headers(auth.user(Role.COMMISSION_ADMIN))
    body = {"content": YAML_SCHEMA.decode("utf-8"), "filename": "person.yaml", "kind": "jsonschema"}
    res = client.put("/api/v1/standards/person/versions/1.0.0", json=body, headers=h)
    assert res.status_code == 201, res.get_json()
    published = res.get_json()["sha256"]
    assert published == hashlib.sha256(YAML_SCHEMA).hexdigest()
    got = client.get("/api/v1/standards/person/versions/1.0.0/content")
    assert got.status_code == 200
    assert got.data == YAML_SCHEMA  # byte for byte, comments and layout included
    assert hashlib.sha256(got.data).hexdigest() == published
    assert got.headers["ETag"] == f'"{published}"'
    assert got.headers["Repr-Digest"] == "sha-256=:" + base64.b64encode(hashlib.sha256(YAML_SCHEMA).digest()).decode() + ":"
    assert got.mimetype == "application/yaml"
    # the published JSON form is served as it was sent, too
    raw_json = b'{ "type" : "object",\n  "properties": {"x": {"type": "string"}} }\n'
    res = client.put("/api/v1/standards/x/versions/1.0.0", headers=h,
                     json={"content": raw_json.decode(), "filename": "x.json", "kind": "jsonschema"})
    got = client.get("/api/v1/standards/x/versions/1.0.0/content")
    assert got.data == raw_json and hashlib.sha256(got.data).hexdigest() == res.get_json()["sha256"]


def test_cli_download_matches_digest(runner, tmp_path):
    src = tmp_path / "person.yaml"
    src.write_bytes(YAML_SCHEMA)
    assert runner.invoke(["standards", "publish", "person@1.0.0", str(src)]).exit_code == 0
    out = tmp_path / "down.yaml"
    res = runner.invoke(["standards", "show", "person@1.0.0", "-o", str(out)])
    assert res.exit_code == 0, res.output
    shown = json.loads(runner.invoke(["standards", "show", "person@1.0.0", "--format", "json"]).output)
    assert out.read_bytes() == YAML_SCHEMA and hashlib.sha256(out.read_bytes()).hexdigest() == shown["sha256"]


def test_format_is_asserted_by_default_and_can_be_declared_off(runner, tmp_path):
    src = tmp_path / "person.yaml"
    src.write_bytes(YAML_SCHEMA)
    bad = tmp_path / "bad.ndjson"
    bad.write_text('{"id": 1, "born": "2024-13-45"}\n{"id": 2, "born": "2024-02-29", "mail": "not-an-email"}\n'
                   '{"id": 3, "born": "1990-01-01"}\n')
    assert runner.invoke(["standards", "publish", "person@1.0.0", str(src)]).exit_code == 0
    res = runner.invoke(["validate", "--standard", "person@1.0.0", str(bad), "--format", "json"])
    assert res.exit_code == 1, res.output
    rep = json.loads(res.output)
    assert rep["counts"] == {"format": 2} and rep["meta"]["format_assert"] is True
    # overridden per run
    off = runner.invoke(["validate", "--standard", "person@1.0.0", str(bad), "--no-format-assert"])
    assert off.exit_code == 0, off.output
    # declared off for the standard (audited update), then publish can turn it back on
    assert runner.invoke(["standards", "update", "person", "--no-format-assert"]).exit_code == 0
    assert runner.invoke(["validate", "--standard", "person@1.0.0", str(bad)]).exit_code == 0
    src2 = tmp_path / "person2.yaml"
    src2.write_bytes(YAML_SCHEMA + b"  note: {type: string}\n")
    assert runner.invoke(["standards", "publish", "person@1.1.0", str(src2), "--format-assert"]).exit_code == 0
    assert runner.invoke(["validate", "--standard", "person@1.1.0", str(bad)]).exit_code == 1
    # a plain --schema file asserts format too
    assert runner.invoke(["validate", "--schema", str(src), str(bad)]).exit_code == 1


def test_format_assert_via_api(client, auth):
    h = auth.headers(auth.user(Role.COMMISSION_ADMIN))
    body = {"content": YAML_SCHEMA.decode(), "filename": "p.yaml", "kind": "jsonschema", "format_assert": False}
    assert client.put("/api/v1/standards/p/versions/1.0.0", json=body, headers=h).status_code == 201
    assert client.get("/api/v1/standards/p").get_json()["format_assert"] is False
    data = b'{"id": 1, "born": "2024-13-45"}'
    url = "/api/v1/standards/p/versions/1.0.0/validate"
    assert client.post(url, data=data, content_type="application/json", headers=h).get_json()["valid"] is True
    rep = client.post(url + "?format_assert=true", data=data, content_type="application/json", headers=h).get_json()
    assert rep["valid"] is False and rep["counts"] == {"format": 1}
    assert client.post(url + "?format_assert=yes", data=data, content_type="application/json",
                       headers=h).status_code == 400


REMOTE = """openapi: 3.0.3
info: {title: T, version: "1"}
paths:
  /a:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "https://evil.example/schemas.yaml#/Pet"}
"""


@pytest.mark.parametrize("command", [
    ["standards", "lint", "{f}"],
    ["standards", "diff", "{f}", "{ok}"],
    ["standards", "diff", "{ok}", "{f}"],
    ["standards", "check", "{f}"],
    ["standards", "publish", "remote@1.0.0", "{f}"],
])
def test_remote_ref_is_a_clear_input_error_in_every_command(runner, tmp_path, command):
    f = tmp_path / "remote.yaml"
    f.write_text(REMOTE)
    ok = tmp_path / "ok.yaml"
    ok.write_text(API)
    res = runner.invoke([a.format(f=f, ok=ok) for a in command])
    assert res.exit_code == 2, res.output
    assert "https://evil.example/schemas.yaml#/Pet" in res.output and "never fetched" in res.output


def test_remote_ref_is_400_in_the_api(client, auth):
    h = auth.headers(auth.user(Role.VENDOR))
    import yaml

    doc = yaml.safe_load(REMOTE)
    for path, body in (("lint", {"document": doc}), ("diff", {"old": doc, "new": doc}),
                       ("check", {"kind": "openapi", "content": REMOTE})):
        res = client.post(f"/api/v1/standards/{path}", json=body, headers=h)
        assert res.status_code == 400, (path, res.get_json())
        assert "never fetched" in res.get_json()["detail"]


def test_junit_has_one_testcase_per_record(runner, tmp_path):
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps({"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}))
    data = tmp_path / "d.ndjson"
    data.write_text('{"id": 1}\n{"id": "x"}\n\n{"id": 3}\n{}\n')
    csv = tmp_path / "d.csv"
    csv.write_text("id,name\n1,a\nx,b\n")
    res = runner.invoke(["validate", "--schema", str(schema), str(data), str(csv), "--format", "junit"])
    assert res.exit_code == 1
    root = ET.fromstring(res.output)
    assert root.get("tests") == "6" and root.get("failures") == "3"
    cases = root.findall(".//testcase")
    assert [c.get("name") for c in cases] == ["record 1 (line 1)", "record 2 (line 2)", "record 3 (line 4)",
                                              "record 4 (line 5)", "row 1 (line 2)", "row 2 (line 3)"]
    failed = {c.get("name"): c.find("failure") for c in cases}
    assert failed["record 1 (line 1)"] is None and failed["row 1 (line 2)"] is None
    assert "required" in failed["record 4 (line 5)"].text and "type" in failed["record 2 (line 2)"].text
    assert {s.get("name") for s in root.findall("testsuite")} == {"d.ndjson", "d.csv"}


def test_sarif_results_carry_line_and_column(runner, tmp_path):
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps({"type": "object", "properties": {"id": {"type": "integer"}}}))
    doc = tmp_path / "d.json"
    doc.write_text('{\n  "name": "x",\n  "id": "seven"\n}\n')
    res = runner.invoke(["validate", "--schema", str(schema), str(doc), "--format", "sarif"])
    region = json.loads(res.output)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 3, "startColumn": 9}
    ydoc = tmp_path / "d.yaml"
    ydoc.write_text("name: x\nid:   seven\n")
    res = runner.invoke(["validate", "--schema", str(schema), str(ydoc), "--format", "sarif"])
    region = json.loads(res.output)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 2, "startColumn": 7}
    api = tmp_path / "api.yaml"
    api.write_text(API)
    lint = runner.invoke(["standards", "lint", str(api), "--format", "sarif", "--fail-on", "never"])
    results = json.loads(lint.output)["runs"][0]["results"]
    info = next(r for r in results if r["ruleId"] == "info-contact")
    assert info["locations"][0]["physicalLocation"]["region"] == {"startLine": 2, "startColumn": 7}  # "info: {"


def test_compatibility_rules_change_over_time(runner, client, auth, tmp_path):
    v1 = tmp_path / "v1.json"
    v1.write_text(json.dumps({"type": "object", "properties": {"id": {"type": "integer"}}}))
    v2 = tmp_path / "v2.json"
    v2.write_text(json.dumps({"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}))
    assert runner.invoke(["standards", "settings", "--default-compatibility", "FULL"]).exit_code == 0
    assert runner.invoke(["standards", "publish", "rec@1.0.0", str(v1)]).exit_code == 0
    shown = json.loads(runner.invoke(["standards", "show", "rec", "--format", "json"]).output)
    assert shown["compatibility"] == "FULL"  # the global default at creation
    dry = runner.invoke(["standards", "compatibility", "rec", str(v2), "--format", "json"])
    assert dry.exit_code == 1 and json.loads(dry.output)["is_compatible"] is False
    listed = json.loads(runner.invoke(["standards", "list", "--format", "json"]).output)
    assert [v["version"] for v in listed[0]["versions"]] == ["1.0.0"]  # the dry run stored nothing
    # FORWARD accepts a tightening: the dry run says so under --level, then the standard is changed (audited)
    assert runner.invoke(["standards", "compatibility", "rec", str(v2), "--level", "FORWARD"]).exit_code == 0
    assert runner.invoke(["standards", "update", "rec", "--compatibility", "FORWARD"]).exit_code == 0
    assert runner.invoke(["standards", "publish", "rec@1.1.0", str(v2)]).exit_code == 0
    # disabled: not served for validation, and back in service
    assert runner.invoke(["standards", "disable", "rec@1.0.0"]).exit_code == 0
    data = tmp_path / "d.json"
    data.write_text('{"id": 1}')
    assert runner.invoke(["validate", "--standard", "rec@1.0.0", str(data)]).exit_code == 2
    assert runner.invoke(["standards", "enable", "rec@1.0.0"]).exit_code == 0
    assert runner.invoke(["validate", "--standard", "rec@1.0.0", str(data)]).exit_code == 0
    # the API: the same, and only the commission may change rules
    vendor = auth.headers(auth.user(Role.VENDOR))
    admin = auth.headers(auth.user(Role.COMMISSION_ADMIN))
    assert client.patch("/api/v1/standards/rec", json={"compatibility": "NONE"}, headers=vendor).status_code == 403
    res = client.patch("/api/v1/standards/rec", json={"compatibility": "NONE"}, headers=admin)
    assert res.status_code == 200 and res.get_json()["compatibility"] == "NONE"
    chk = client.post("/api/v1/standards/rec/compatibility", headers=vendor,
                      json={"content": v1.read_text(), "level": "BACKWARD_TRANSITIVE"})
    assert chk.status_code == 200 and chk.get_json()["compared_with"] == ["1.0.0", "1.1.0"]
    assert client.get("/api/v1/standards-settings").get_json()["default_compatibility"] == "FULL"
    assert client.put("/api/v1/standards-settings", json={"default_compatibility": "SIDEWAYS"},
                      headers=admin).status_code == 422
    assert client.post("/api/v1/standards/rec/versions/1.0.0/disable", headers=admin).get_json()["state"] == "disabled"
    assert client.post("/api/v1/standards/rec/versions/1.0.0/disable", headers=admin).status_code == 409
    assert client.post("/api/v1/standards/rec/versions/1.0.0/enable", headers=admin).get_json()["state"] == "published"


def test_rule_changes_are_audited(db_session):
    from sqlmodel import select

    from audit.models import AuditEvent  # noqa: F401 - the table exists
    from kernel.principal import system_principal
    from standards import services, settings

    p = system_principal("t")
    services.publish(db_session, p, "a", "1.0.0", b'{"type": "object"}', kind="jsonschema", filename="a.json")
    settings.standard_update(db_session, p, "a", compatibility="FULL_TRANSITIVE", format_assert=False)
    settings.set_default_compatibility(db_session, p, "forward")
    events = db_session.exec(select(AuditEvent)).all()
    kinds = [e.action for e in events]
    assert "standards:standard:update" in kinds and "standards:settings:update" in kinds
    upd = next(e for e in events if e.action == "standards:standard:update")
    assert upd.details["compatibility"] == {"old": "BACKWARD", "new": "FULL_TRANSITIVE"}
    assert upd.details["format_assert"] == {"old": True, "new": False}


def test_records_are_kept_only_for_junit():
    """Streaming validation stays constant-memory unless a per-record rendering was asked for."""
    import io

    from standards import documents
    from standards.jsonschema_engine import compile_schema
    from standards.reports import keep_cases

    compiled = compile_schema({"type": "object", "required": ["id"]})
    data = b"".join(b'{"id": %d}\n' % i for i in range(1000)) + b"{}\n"
    token = keep_cases.set(False)
    try:
        rep = documents.validate_ndjson(compiled, io.BytesIO(data))
        assert rep.checked == 1001 and rep.cases == [] and rep.counts == {"required": 1}
        keep_cases.set(True)
        rep = documents.validate_ndjson(compiled, io.BytesIO(data))
        assert len(rep.cases) == 1001 and [c["name"] for c in rep.cases if c["errors"]] == ["record 1001 (line 1001)"]
    finally:
        keep_cases.reset(token)


def test_cli_show_content_prints_the_published_bytes(runner, tmp_path):
    src = tmp_path / "person.yaml"
    src.write_bytes(YAML_SCHEMA)
    assert runner.invoke(["standards", "publish", "person@1.0.0", str(src)]).exit_code == 0
    res = runner.invoke(["standards", "show", "person@1.0.0", "--content"])
    assert res.exit_code == 0 and res.stdout_bytes == YAML_SCHEMA
