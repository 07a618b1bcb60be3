"""Every OAS3 rule of Spectral's ``oas`` ruleset, each on a document that passes and one that fails; custom rules
with JSONPath filter expressions and the schema / xor / enumeration functions; coverage against Spectral's list."""

from __future__ import annotations

import copy
import json

import pytest

from standards.lint import BUILTIN, lint, load_ruleset
from standards.loading import InputError
from tests.shared import shared_data_path

CLEAN = {
    "openapi": "3.0.3",
    "info": {"title": "Clean", "version": "1.0.0", "description": "A document every rule accepts.",
             "contact": {"name": "Commission", "url": "https://city.example/", "email": "std@city.example"},
             "license": {"name": "MIT", "url": "https://opensource.org/licenses/MIT"}},
    "servers": [{"url": "https://api.city.example/{version}", "variables": {"version": {"default": "v1",
                                                                                        "enum": ["v1", "v2"]}}}],
    "tags": [{"name": "alpha", "description": "A"}, {"name": "beta", "description": "B"}],
    "security": [{"key": []}],
    "paths": {
        "/items/{itemId}": {
            "get": {
                "operationId": "getItem", "tags": ["alpha"], "description": "One item.",
                "parameters": [{"name": "itemId", "in": "path", "required": True, "description": "The id.",
                                "schema": {"type": "string"}, "example": "A-1"},
                               {"name": "fields", "in": "query", "description": "Fields.",
                                "schema": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}}}],
                "responses": {
                    "200": {"description": "The item", "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Item"},
                        "examples": {"small": {"value": {"id": "A-2", "size": 1}}}}}},
                    "404": {"description": "Not found"}},
                "callbacks": {"done": {"{$request.query.cb}": {"post": {
                    "description": "Done.", "responses": {"200": {"description": "ok"}}}}}},
            },
        },
    },
    "components": {
        "schemas": {"Item": {"type": "object", "required": ["id"], "properties": {
            "id": {"type": "string", "example": "A-3"},
            "size": {"type": "integer", "minimum": 0, "default": 0},
            "kind": {"type": "string", "enum": ["x", "y"]}}}},
        "securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-Key"}},
    },
}

SPECTRAL = shared_data_path() / "openapi" / "reference" / "spectral-oas-rules.json"
OAS3_RULES = [r["name"] for r in json.loads(SPECTRAL.read_text())] if SPECTRAL.is_file() else []


def _set(doc, path, value):
    node = doc
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value


def _del(doc, path):
    node = doc
    for k in path[:-1]:
        node = node[k]
    del node[path[-1]]


OP = ("paths", "/items/{itemId}", "get")
MEDIA = (*OP, "responses", "200", "content", "application/json")

# rule -> a change of CLEAN that the rule must report
BREAKS = {
    "contact-properties": lambda d: _del(d, ("info", "contact", "url")),
    "duplicated-entry-in-enum": lambda d: _set(d, ("components", "schemas", "Item", "properties", "kind", "enum"),
                                               ["x", "x"]),
    "info-contact": lambda d: _del(d, ("info", "contact")),
    "info-description": lambda d: _del(d, ("info", "description")),
    "info-license": lambda d: _del(d, ("info", "license")),
    "license-url": lambda d: _del(d, ("info", "license", "url")),
    "no-$ref-siblings": lambda d: _set(d, (*MEDIA, "schema"), {"$ref": "#/components/schemas/Item",
                                                               "description": "x"}),
    "no-eval-in-markdown": lambda d: _set(d, ("info", "description"), "run eval('x') please"),
    "no-script-tags-in-markdown": lambda d: _set(d, ("info", "description"), "<script>alert(1)</script>"),
    "openapi-tags": lambda d: _del(d, ("tags",)),
    "openapi-tags-alphabetical": lambda d: d["tags"].reverse(),
    "openapi-tags-uniqueness": lambda d: d["tags"].append({"name": "alpha", "description": "again"}),
    "operation-description": lambda d: _del(d, (*OP, "description")),
    "operation-operationId": lambda d: _del(d, (*OP, "operationId")),
    "operation-operationId-unique": lambda d: _set(d, ("paths", "/other"), {"get": {
        **copy.deepcopy(d["paths"]["/items/{itemId}"]["get"]), "parameters": []}}),
    "operation-operationId-valid-in-url": lambda d: _set(d, (*OP, "operationId"), "get item"),
    "operation-parameters": lambda d: d["paths"]["/items/{itemId}"]["get"]["parameters"].append(
        {"name": "fields", "in": "query", "description": "again", "schema": {"type": "string"}}),
    "operation-singular-tag": lambda d: _set(d, (*OP, "tags"), ["alpha", "beta"]),
    "operation-success-response": lambda d: _del(d, (*OP, "responses", "200")),
    "operation-tags": lambda d: _del(d, (*OP, "tags")),
    "operation-tag-defined": lambda d: _set(d, (*OP, "tags"), ["gamma"]),
    "path-declarations-must-exist": lambda d: _set(d, ("paths", "/things/{}"), {}),
    "path-keys-no-trailing-slash": lambda d: _set(d, ("paths", "/things/"), {}),
    "path-not-include-query": lambda d: _set(d, ("paths", "/things?x=1"), {}),
    "path-params": lambda d: _set(d, (*OP, "parameters"), []),
    "tag-description": lambda d: _del(d, ("tags", 0, "description")),
    "typed-enum": lambda d: _set(d, ("components", "schemas", "Item", "properties", "kind", "enum"), ["x", 1]),
    "array-items": lambda d: _del(d, (*OP, "parameters", 1, "schema", "items")),
    "oas3-api-servers": lambda d: _del(d, ("servers",)),
    "oas3-examples-value-or-externalValue": lambda d: _set(d, (*MEDIA, "examples", "small", "externalValue"),
                                                           "https://city.example/x.json"),
    "oas3-operation-security-defined": lambda d: _set(d, (*OP, "security"), [{"oauth": []}]),
    "oas3-parameter-description": lambda d: _del(d, (*OP, "parameters", 0, "description")),
    "oas3-schema": lambda d: _set(d, (*OP, "responses", "200"), {"content": {}}),
    "oas3-server-not-example.com": lambda d: _set(d, ("servers",), [{"url": "https://example.com/api"}]),
    "oas3-server-trailing-slash": lambda d: _set(d, ("servers",), [{"url": "https://api.city.example/v1/"}]),
    "oas3-unused-component": lambda d: _set(d, ("components", "schemas", "Unused"), {"type": "string"}),
    "oas3-valid-media-example": lambda d: _set(d, (*MEDIA, "examples", "small", "value"), {"id": 7}),
    "oas3-valid-schema-example": lambda d: _set(d, ("components", "schemas", "Item", "properties", "size",
                                                    "default"), -1),
    "oas3-server-variables": lambda d: _set(d, ("servers", 0, "url"), "https://api.city.example/{version}/{x}"),
    "oas3_callbacks_in_callbacks": lambda d: _set(
        d, (*OP, "callbacks", "done", "{$request.query.cb}", "post", "callbacks"),
        {"again": {"{$request.query.cb}": {"post": {"responses": {"200": {"description": "ok"}}}}}}),
    "oas3_1-servers-in-webhook": lambda d: (_set(d, ("openapi",), "3.1.0"), _set(d, ("webhooks",), {"ping": {
        "post": {"servers": [{"url": "https://api.city.example/v1"}], "responses": {"200": {"description": "ok"}}}}})),
    "oas3_1-callbacks-in-webhook": lambda d: (_set(d, ("openapi",), "3.1.0"), _set(d, ("webhooks",), {"ping": {
        "post": {"callbacks": {}, "responses": {"200": {"description": "ok"}}}}})),
}

ALL_ON = {"rules": {r: "error" for r in BREAKS}}


def test_the_clean_document_passes_every_rule():
    rep = lint(CLEAN, {**ALL_ON, "extends": "none"})
    assert rep.findings() == []
    # with the city's defaults only citygov's own server rule speaks (the url is templated: {version})
    assert set(lint(CLEAN).counts) == {"citygov-versioned-server"}


@pytest.mark.parametrize("rule", sorted(BREAKS))
def test_rule_fails_its_document(rule):
    doc = copy.deepcopy(CLEAN)
    BREAKS[rule](doc)
    rep = lint(doc, {"extends": "none", "rules": {rule: "error"}})
    assert rule in rep.counts, rep.findings()
    assert all(f["pointer"] is not None for f in rep.findings())
    # and passes the clean one alone, too
    assert lint(CLEAN, {"extends": "none", "rules": {rule: "error"}}).findings() == []


def test_every_oas3_spectral_rule_is_implemented():
    if not OAS3_RULES:
        pytest.skip("Spectral's rule list is absent")
    oas3 = [r for r in OAS3_RULES if not r.startswith("oas2-")]
    assert len(OAS3_RULES) == 55 and len(oas3) == 42
    assert sorted(oas3) == sorted(BREAKS)
    assert set(oas3) <= set(BUILTIN)
    defaults = load_ruleset(None)
    assert set(oas3) <= set(defaults)


def test_custom_rules_with_filters_and_functions():
    ruleset = {"extends": "none", "rules": {
        "deprecated-needs-sunset": {
            "given": "$.paths.*[?@.deprecated == true]", "severity": "error",
            "then": {"field": "x-sunset", "function": "defined"}},
        "big-limits": {
            "given": "$..parameters[?@.in == 'query' && @.schema.maximum > 100]", "severity": "warn",
            "then": {"field": "name", "function": "enumeration", "functionOptions": {"values": ["bulk"]}}},
        "item-shape": {
            "given": "$.components.schemas.Item", "severity": "error",
            "then": {"function": "schema", "functionOptions": {"schema": {
                "type": "object", "required": ["required"], "properties": {"required": {"minItems": 2}}}}}},
        "example-xor": {
            "given": "$..examples.*", "severity": "error",
            "then": {"function": "xor", "functionOptions": {"properties": ["value", "externalValue"]}}},
    }}
    doc = copy.deepcopy(CLEAN)
    assert set(lint(doc, ruleset).counts) == {"item-shape"}
    doc["paths"]["/items/{itemId}"]["get"]["deprecated"] = True
    doc["paths"]["/items/{itemId}"]["get"]["parameters"][1]["schema"] = {"type": "integer", "maximum": 500}
    doc["paths"]["/items/{itemId}"]["get"]["responses"]["200"]["content"]["application/json"]["examples"]["small"] = {}
    rep = lint(doc, ruleset)
    got = {(f["rule"], f["pointer"]) for f in rep.findings()}
    assert ("deprecated-needs-sunset", "/paths/~1items~1{itemId}/get/x-sunset") in got
    assert ("big-limits", "/paths/~1items~1{itemId}/get/parameters/1/name") in got
    assert ("item-shape", "/components/schemas/Item") in got  # required has one entry, minItems 2
    assert ("example-xor",
            "/paths/~1items~1{itemId}/get/responses/200/content/application~1json/examples/small") in got
    # a parameter that is not a query one, or not above 100, is not matched by the filter
    assert sum(1 for r, _p in got if r == "big-limits") == 1


@pytest.mark.parametrize("bad", [
    "rules: {x: {given: 'paths', then: {function: truthy}}}",
    "rules: {x: {given: '$.paths[?@.a ==]', then: {function: truthy}}}",
    "rules: {x: {given: '$.paths', then: {function: nope}}}",
    "rules: {x: {given: '$.paths', then: {function: schema}}}",
])
def test_bad_custom_rules_are_refused(bad):
    with pytest.raises(InputError):
        load_ruleset(bad)


def test_rule_set_per_standard_in_lint_and_certification(runner, client, auth, tmp_path):
    """The commission sets a rule set on a standard; lint by that standard and certification use it."""
    from kernel.principal import Role

    api = tmp_path / "std.json"
    std = copy.deepcopy(CLEAN)
    std["paths"]["/items/{itemId}"]["get"].pop("description")
    api.write_text(json.dumps(std))
    assert runner.invoke(["standards", "publish", "items@1.0.0", str(api), "--kind", "openapi"]).exit_code == 0
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  operation-description: error\n")
    assert runner.invoke(["standards", "update", "items", "--lint-ruleset", str(rules)]).exit_code == 0
    res = runner.invoke(["standards", "lint", "items@1.0.0", "--format", "json"])
    assert res.exit_code == 1 and json.loads(res.output)["levels"].get("error") == 1
    res = runner.invoke(["standards", "lint", str(api), "--standard", "items", "--format", "json"])
    assert res.exit_code == 1
    assert runner.invoke(["standards", "lint", str(api), "--format", "json"]).exit_code == 0  # defaults: a warning
    h = auth.headers(auth.user(Role.VENDOR))
    rep = client.post("/api/v1/standards/lint", json={"document": std, "standard": "items"}, headers=h).get_json()
    assert rep["levels"].get("error") == 1
    # certification lints with the standard's rule set: the same document fails its lint check
    vendor = tmp_path / "vendor.json"
    vendor.write_text(json.dumps(std))
    res = runner.invoke(["certify", "--standard", "items@1.0.0", "--spec", str(vendor), "--format", "json"])
    assert res.exit_code == 1, res.output
    report = json.loads(res.output)
    assert {c["id"]: c["status"] for c in report["checks"]}["lint"] == "failed"
    assert any(f["rule"] == "operation-description" and f["level"] == "error" for f in report["findings"])
    # back to the defaults
    assert runner.invoke(["standards", "update", "items", "--default-lint-ruleset"]).exit_code == 0
    assert runner.invoke(["standards", "lint", "items@1.0.0"]).exit_code == 0
    res = runner.invoke(["certify", "--standard", "items@1.0.0", "--spec", str(vendor), "--format", "json"])
    assert res.exit_code == 0, res.output
