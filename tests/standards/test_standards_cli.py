"""``citygov standards …`` / ``citygov validate``: formats and exit codes (0 valid, 1 invalid, 2 bad input)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

SCHEMA = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "required": ["id"],
          "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}


@pytest.fixture
def files(tmp_path):
    (tmp_path / "s.json").write_text(json.dumps(SCHEMA))
    (tmp_path / "ok.ndjson").write_text('{"id": 1}\n{"id": 2, "name": "x"}\n')
    (tmp_path / "bad.ndjson").write_text('{"id": 1}\n{"name": 3}\nnot json\n')
    (tmp_path / "bad.csv").write_text("id,name\n1,a\nx,b\n")
    (tmp_path / "bomb.yaml").write_text("a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8)))
    (tmp_path / "bad-utf8.json").write_bytes(b'{"id": "\xff"}')
    (tmp_path / "deep.json").write_text("[" * 10000 + "]" * 10000)
    return tmp_path


def test_validate_exit_codes_and_formats(runner, files):
    ok = runner.invoke(["validate", "--schema", str(files / "s.json"), str(files / "ok.ndjson")])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(["validate", "--schema", str(files / "s.json"), str(files / "bad.ndjson"),
                         "--format", "json"])
    assert bad.exit_code == 1
    rep = json.loads(bad.output)
    assert rep["counts"] == {"required": 1, "type": 1, "json-syntax": 1}
    assert {f["line"] for fs in rep["examples"].values() for f in fs} == {2, 3}
    junit = runner.invoke(["validate", "--schema", str(files / "s.json"), str(files / "bad.csv"), "--format", "junit"])
    assert junit.exit_code == 1 and ET.fromstring(junit.output).tag == "testsuites"
    sarif = runner.invoke(["validate", "--schema", str(files / "s.json"), str(files / "bad.csv"), "--format", "sarif"])
    doc = json.loads(sarif.output)
    assert doc["version"] == "2.1.0" and doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"][
        "startLine"] == 3


@pytest.mark.parametrize("name", ["bomb.yaml", "bad-utf8.json", "deep.json"])
def test_bad_input_exits_2(runner, files, name):
    res = runner.invoke(["validate", "--schema", str(files / "s.json"), str(files / name)])
    assert res.exit_code == 2, res.output
    assert "error:" in res.output


def test_usage_errors_exit_2(runner, files):
    assert runner.invoke(["validate", str(files / "ok.ndjson")]).exit_code == 2
    assert runner.invoke(["validate", "--schema", str(files / "s.json"), str(files / "missing.json")]).exit_code == 2
    assert runner.invoke(["standards", "diff", "nope.yaml", "other.yaml"]).exit_code == 2
    assert runner.invoke(["validate", "--standard", "unknown@1.0.0", str(files / "ok.ndjson")]).exit_code == 2


def test_publish_list_show_diff_lint(runner, files, tmp_path):
    v1 = tmp_path / "api1.yaml"
    v1.write_text("""openapi: 3.0.3
info: {title: T, version: "1"}
paths:
  /a:
    get:
      operationId: getA
      parameters: [{name: q, in: query, schema: {type: string}}]
      responses: {"200": {description: ok}}
""")
    v2 = tmp_path / "api2.yaml"
    v2.write_text(v1.read_text().replace("{name: q, in: query,", "{name: q, in: query, required: true,"))
    res = runner.invoke(["standards", "publish", "svc.api@1.0.0", str(v1)])
    assert res.exit_code == 0, res.output
    refused = runner.invoke(["standards", "publish", "svc.api@2.0.0", str(v2), "--format", "json"])
    assert refused.exit_code == 1
    assert "request-parameter-became-required" in refused.output
    listed = runner.invoke(["standards", "list", "--format", "json"])
    assert json.loads(listed.output)[0]["latest"] == "1.0.0"
    assert runner.invoke(["standards", "show", "svc.api@1.0.0"]).exit_code == 0
    d = runner.invoke(["standards", "diff", "svc.api@1.0.0", str(v2), "--format", "json"])
    assert d.exit_code == 1 and json.loads(d.output)["counts"] == {"request-parameter-became-required": 1}
    lint = runner.invoke(["standards", "lint", str(v1), "--format", "json", "--fail-on", "never"])
    assert lint.exit_code == 0 and "info-contact" in json.loads(lint.output)["counts"]
    schema_publish = runner.invoke(["standards", "publish", "p@1.0.0", str(files / "s.json")])
    assert schema_publish.exit_code == 0, schema_publish.output
    assert runner.invoke(["validate", "--standard", "p@1.0.0", str(files / "ok.ndjson")]).exit_code == 0
    assert runner.invoke(["standards", "deprecate", "p@1.0.0"]).exit_code == 0
