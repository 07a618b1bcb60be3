"""Governance lint: built-in Spectral-like rules, severities, enable/disable, custom rules."""

from __future__ import annotations

import pytest

from standards.lint import lint, load_ruleset
from standards.loading import InputError

SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "Sensors", "version": "1.0.0"},
    "paths": {
        "/Sensors/{id}": {"get": {"operationId": "get_sensor", "tags": ["x"], "responses": {"200": {"description": "ok"}}}},
        "/b/": {"get": {"operationId": "get_sensor", "responses": {"200": {"description": "ok"}}}},
    },
    "components": {"schemas": {"Unused": {"type": "string", "enum": ["a", "a", 3]}}},
}


def test_builtin_rules_find_the_classics():
    rep = lint(SPEC)
    rules = set(rep.counts)
    assert {"operation-operationId-unique", "path-params", "path-keys-no-trailing-slash", "operation-tag-defined",
            "oas3-unused-component", "duplicated-entry-in-enum", "typed-enum", "citygov-error-responses",
            "citygov-path-kebab-case", "info-contact", "oas3-api-servers"} <= rules
    unique = rep.examples["operation-operationId-unique"][0]
    assert unique["level"] == "error" and unique["pointer"] == "/paths/~1b~1/get/operationId"
    assert not rep.ok


def test_disable_change_severity_and_custom_rule():
    ruleset = """
rules:
  path-params: off
  operation-operationId-unique: warn
  info-contact: {enabled: false}
  city-summary:
    description: every operation has a summary
    given: "$.paths.*[get,put,post,delete,patch]"
    severity: error
    then: {field: summary, function: truthy}
  city-operation-id-case:
    given: "$..operationId"
    severity: hint
    then: {function: casing, functionOptions: {type: camel}}
"""
    rep = lint(SPEC, ruleset)
    assert "path-params" not in rep.counts and "info-contact" not in rep.counts
    assert rep.examples["operation-operationId-unique"][0]["level"] == "warning"
    assert rep.counts["city-summary"] == 2 and rep.examples["city-summary"][0]["level"] == "error"
    assert rep.counts["city-operation-id-case"] == 2


def test_bad_rulesets_are_input_errors():
    with pytest.raises(InputError):
        load_ruleset("rules: {no-such-rule: error}")
    with pytest.raises(InputError):
        load_ruleset("rules: {x: {given: 'paths', then: {function: truthy}}}")
    with pytest.raises(InputError):
        lint(SPEC, "rules: {x: {given: '$.paths', then: {function: nope}}}")
