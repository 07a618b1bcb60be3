"""OpenAPI breaking-change engine against oasdiff's own base/revision fixtures.

Two sources of expectations:
- ``reference/oasdiff-test-expectations.json`` (rule ids mentioned by oasdiff's Go tests for a pair):
  every mentioned id must be found, except the entries in NOT_EXPECTED (negative assertions of the Go
  tests, or rules that depend on oasdiff's deprecation-days configuration, which we do not claim);
- ``data/oasdiff_checker_expected.json``: for every ``checker/<name>_base.yaml`` / ``_revision.yaml`` pair,
  the rule ids we claim to find (reviewed by hand against the fixture's intent).
Every finding carries a level equal to oasdiff's rule table and JSON pointers that resolve in both documents.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.shared import shared_data_path

from standards.loading import load_document
from standards.oasdiff import Doc, diff, rule_table

HERE = Path(__file__).resolve().parent




DATA = shared_data_path() / "openapi"
FIXTURES = DATA / "oasdiff-testdata"
EXPECTATIONS = DATA / "reference" / "oasdiff-test-expectations.json"
CHECKER_EXPECTED = json.loads((HERE / "data" / "oasdiff_checker_expected.json").read_text())

# Rules that need oasdiff's deprecation-days policy (checked with ``deprecation_days`` below), and mentions that
# are negative
# assertions in the Go tests (the pair must NOT produce them, or produces them only under another option).
CONFIG_DEPENDENT = {
    "api-deprecated-sunset-missing", "api-sunset-date-too-small", "request-parameter-deprecated-sunset-missing",
    "request-parameter-sunset-date-too-small", "request-property-deprecated-sunset-missing",
    "request-property-sunset-date-too-small", "response-property-deprecated-sunset-missing",
    "response-property-sunset-date-too-small",
}
NOT_EXPECTED = {
    ("deprecation/base.yaml", "deprecation/deprecated-future.yaml", "api-deprecated-sunset-parse"),
    ("param-deprecation/deprecated-with-sunset-path.yaml", "param-deprecation/deprecated-no-sunset-path-renamed.yaml",
     "request-parameter-sunset-deleted"),
    ("list-of-types/single-to-list-base.yaml", "list-of-types/single-to-list-revision.yaml",
     "request-property-list-of-types-narrowed"),
    ("list-of-types/list-to-single-base.yaml", "list-of-types/list-to-single-revision.yaml",
     "request-property-list-of-types-widened"),
    ("list-of-types/list-to-single-base.yaml", "list-of-types/list-to-single-revision.yaml",
     "response-property-list-of-types-narrowed"),
    ("list-of-types/list-to-single-base.yaml", "list-of-types/list-to-single-revision.yaml",
     "request-parameter-list-of-types-narrowed"),
    ("list-of-types/list-to-single-base.yaml", "list-of-types/list-to-single-revision.yaml",
     "request-parameter-property-list-of-types-narrowed"),
    ("list-of-types/list-to-single-base.yaml", "list-of-types/list-to-single-revision.yaml",
     "request-parameter-property-list-of-types-widened"),
    ("checker/nullable_wrap_response_base.yaml", "checker/nullable_wrap_response_revision.yaml",
     "response-property-enum-value-removed"),
    ("checker/nullable_wrap_body_base.yaml", "checker/nullable_wrap_body_revision.yaml",
     "request-parameter-became-nullable"),
    ("checker/nullable_wrap_revision.yaml", "checker/nullable_wrap_base.yaml", "request-body-became-not-nullable"),
    ("checker/nullable_wrap_revision.yaml", "checker/nullable_wrap_base.yaml",
     "request-parameter-became-not-nullable"),
    ("checker/nullable_wrap_revision.yaml", "checker/nullable_wrap_base.yaml",
     "response-property-became-not-nullable"),
    ("checker/nullable_type_array_param_base.yaml", "checker/nullable_type_array_param_revision.yaml",
     "request-parameter-became-nullable"),
    ("checker/nullable_type_array_param_base.yaml", "checker/nullable_type_array_param_revision.yaml",
     "request-parameter-property-became-nullable"),
    ("checker/transition_claims_enum_base.yaml", "checker/transition_claims_enum_revision.yaml",
     "request-property-enum-value-removed"),
}


def _expectation_cases():
    if not EXPECTATIONS.is_file():
        return [pytest.param(None, None, None, marks=pytest.mark.skip(reason="oasdiff fixtures absent"))]
    out = []
    for t in json.loads(EXPECTATIONS.read_text())["tests"]:
        old, new = t["files_old_new"]
        ids = [i for i in t["ids_mentioned"] if i not in CONFIG_DEPENDENT and (old, new, i) not in NOT_EXPECTED]
        if ids and not t["asserts_no_changes"]:
            out.append(pytest.param(old, new, ids, id=t["test"].split("::")[-1]))
    return out


_CACHE: dict = {}


def _diff(old: str, new: str):
    key = (old, new)
    if key not in _CACHE:
        o, n = load_document(FIXTURES / old), load_document(FIXTURES / new)
        _CACHE[key] = (o, n, diff(o, n))
    return _CACHE[key]


def _policy_cases():
    if not EXPECTATIONS.is_file():
        return [pytest.param(None, None, None, marks=pytest.mark.skip(reason="oasdiff fixtures absent"))]
    out = []
    for t in json.loads(EXPECTATIONS.read_text())["tests"]:
        ids = [i for i in t["ids_mentioned"] if i in CONFIG_DEPENDENT]
        if ids:
            out.append(pytest.param(*t["files_old_new"], ids, id=t["test"].split("::")[-1]))
    return out


@pytest.mark.parametrize(("old", "new", "ids"), _policy_cases())
def test_oasdiff_deprecation_policy(old, new, ids):
    """With a 30-day policy: deprecations without a sunset, and (on a date just before the fixtures' far-future
    sunset 9999-08-10) sunsets too close, are errors; without a policy they are not reported."""
    import datetime as dt

    o, n = load_document(FIXTURES / old), load_document(FIXTURES / new)
    got = {f["rule"] for f in diff(o, n, deprecation_days=30, today=dt.date(9999, 8, 1))}
    assert set(ids) <= got
    assert not CONFIG_DEPENDENT & {f["rule"] for f in diff(o, n)}


@pytest.mark.parametrize(("old", "new", "ids"), _expectation_cases())
def test_oasdiff_expectations(old, new, ids):
    _, _, findings = _diff(old, new)
    got = {f["rule"] for f in findings}
    assert set(ids) <= got, f"missing {sorted(set(ids) - got)}; got {sorted(got)}"


@pytest.mark.parametrize("stem", sorted(CHECKER_EXPECTED))
def test_checker_fixture_pairs(stem):
    if not FIXTURES.is_dir():
        pytest.skip("oasdiff fixtures absent")
    o, n, findings = _diff(f"checker/{stem}_base.yaml", f"checker/{stem}_revision.yaml")
    got = {f["rule"] for f in findings}
    assert set(CHECKER_EXPECTED[stem]) <= got, f"missing {sorted(set(CHECKER_EXPECTED[stem]) - got)}"
    table = rule_table()
    levels = {"ERR": "error", "WARN": "warning", "INFO": "info"}
    od, nd = Doc(o), Doc(n)
    for f in findings:
        assert f["level"] == levels[table[f["rule"]]["level"]]
        assert f["old_pointer"] or f["new_pointer"]
        if f["old_pointer"]:
            od.get(f["old_pointer"])  # resolves in the base document
        if f["new_pointer"]:
            nd.get(f["new_pointer"])  # resolves in the revision


def test_claimed_rules_are_in_table():
    claimed = set().union(*CHECKER_EXPECTED.values()) | CONFIG_DEPENDENT
    assert claimed <= set(rule_table())
    assert len(claimed) >= 100


def test_breaking_example_levels():
    old = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {"/a": {"get": {
        "parameters": [{"name": "q", "in": "query", "schema": {"type": "string", "enum": ["x", "y"]}}],
        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
            "type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}}}}}}}}}
    new = json.loads(json.dumps(old))
    op = new["paths"]["/a"]["get"]
    op["parameters"][0]["schema"]["enum"] = ["x"]
    op["parameters"].append({"name": "r", "in": "query", "required": True, "schema": {"type": "string"}})
    op["responses"]["200"]["content"]["application/json"]["schema"]["required"] = []
    got = {(f["rule"], f["level"]) for f in diff(old, new)}
    assert ("request-parameter-enum-value-removed", "error") in got
    assert ("new-required-request-parameter", "error") in got
    assert ("response-property-became-optional", "error") in got
    removed = diff(old, {**old, "paths": {}})
    assert [f["rule"] for f in removed] == ["api-path-removed-without-deprecation"]
    assert removed[0]["old_pointer"] == "/paths/~1a/get" and removed[0]["new_pointer"] is None
