"""OpenAPI breaking-change engine against oasdiff's own base/revision fixtures.

Two sources of expectations:
- ``reference/oasdiff-test-expectations.json`` (rule ids mentioned by oasdiff's Go tests for a pair):
  every mentioned id must be found, except the entries in NOT_EXPECTED (negative assertions of the Go
  tests, or rules that depend on oasdiff's deprecation-days configuration, which we do not claim);
- ``data/oasdiff_checker_expected.json``: for every ``checker/<name>_base.yaml`` / ``_revision.yaml`` pair,
  exactly the rule ids we find (reviewed by hand against the fixture's intent) — an unexpected finding fails
  as much as a missing one; mentions in NOT_EXPECTED must be absent.
Every comparison runs in strict mode: a detected change with no rule in oasdiff's table raises.
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
        _CACHE[key] = (o, n, diff(o, n, strict=True))
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
    got = {f["rule"] for f in diff(o, n, deprecation_days=30, today=dt.date(9999, 8, 1), strict=True)}
    assert set(ids) <= got
    assert not CONFIG_DEPENDENT & {f["rule"] for f in diff(o, n, strict=True)}


@pytest.mark.parametrize(("old", "new", "ids"), _expectation_cases())
def test_oasdiff_expectations(old, new, ids):
    _, _, findings = _diff(old, new)
    got = {f["rule"] for f in findings}
    assert set(ids) <= got, f"missing {sorted(set(ids) - got)}; got {sorted(got)}"


def _checker_stems():
    stems = sorted(p.name[:-len("_base.yaml")] for p in (FIXTURES / "checker").glob("*_base.yaml")
                   if (FIXTURES / "checker" / (p.name[:-len("_base.yaml")] + "_revision.yaml")).is_file()) \
        if FIXTURES.is_dir() else []
    return stems or sorted(CHECKER_EXPECTED)


def test_every_checker_pair_has_expectations():
    if not FIXTURES.is_dir():
        pytest.skip("oasdiff fixtures absent")
    assert set(_checker_stems()) == set(CHECKER_EXPECTED)


@pytest.mark.parametrize(("old", "new", "rule"), sorted(NOT_EXPECTED))
def test_negative_mentions_are_absent(old, new, rule):
    """The Go tests' negative assertions: the pair must not produce these ids."""
    if not FIXTURES.is_dir():
        pytest.skip("oasdiff fixtures absent")
    _, _, findings = _diff(old, new)
    assert rule not in {f["rule"] for f in findings}


# Pairs whose Go test requires no finding for ONE check only, while the pair also holds another real change.
OTHER_CHANGE = {("deprecation/deprecated-future.yaml", "deprecation/deprecated-future-2.yaml"):
                {"response-success-status-removed"}}


def _no_change_cases():
    if not EXPECTATIONS.is_file():
        return []
    return sorted({tuple(t["files_old_new"]) for t in json.loads(EXPECTATIONS.read_text())["tests"]
                   if t["asserts_no_changes"]})


@pytest.mark.parametrize(("old", "new"), _no_change_cases())
def test_no_change_pairs_are_not_breaking(old, new):
    _, _, findings = _diff(old, new)
    errors = {f["rule"] for f in findings if f["level"] == "error"}
    assert errors == OTHER_CHANGE.get((old, new), set())


@pytest.mark.parametrize("stem", _checker_stems())
def test_checker_fixture_pairs(stem):
    if not FIXTURES.is_dir():
        pytest.skip("oasdiff fixtures absent")
    o, n, findings = _diff(f"checker/{stem}_base.yaml", f"checker/{stem}_revision.yaml")
    got = {f["rule"] for f in findings}
    want = set(CHECKER_EXPECTED[stem])
    assert got == want, f"missing {sorted(want - got)}; unexpected {sorted(got - want)}"
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


PARAM_RENAME = ["method", "one-of-two", "op", "two"]


@pytest.mark.parametrize("stem", PARAM_RENAME + ["op-ref"])
def test_path_parameter_rename_is_not_breaking(stem):
    """oasdiff's TestBreaking_PathParamRename: /books/{bookId} -> /books/{id} is the same endpoint."""
    if not FIXTURES.is_dir():
        pytest.skip("oasdiff fixtures absent")
    old, new = (("param-rename/op-base-ref.yaml", "param-rename/op-revision-ref.yaml") if stem == "op-ref" else
                (f"param-rename/{stem}-base.yaml", f"param-rename/{stem}-revision.yaml"))
    _, _, findings = _diff(old, new)
    assert [f for f in findings if f["level"] != "info"] == []
    assert not {"api-path-removed-without-deprecation", "endpoint-added"} & {f["rule"] for f in findings}


def test_renamed_path_parameter_is_still_compared():
    """A renamed path parameter is compared under its new name: a type change is still breaking."""
    base = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {"/d/{id}": {"get": {
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "ok"}}}}}}
    rev = json.loads(json.dumps(base).replace("{id}", "{datasetId}").replace('"name": "id"', '"name": "datasetId"'))
    assert diff(base, rev, strict=True) == []
    rev["paths"]["/d/{datasetId}"]["get"]["parameters"][0]["schema"]["type"] = "integer"
    assert [f["rule"] for f in diff(base, rev, strict=True)] == ["request-parameter-type-changed"]
    # two paths of the same shape on one side are not guessed at
    two = json.loads(json.dumps(base))
    two["paths"]["/d/{key}"] = two["paths"]["/d/{id}"]
    assert "api-path-removed-without-deprecation" in {f["rule"] for f in diff(two, rev)}


def _doc(schema, where="response"):
    op = {"responses": {"200": {"description": "ok"}}}
    if where == "response":
        op["responses"]["200"]["content"] = {"application/json": {"schema": schema}}
    else:
        op["requestBody"] = {"content": {"application/json": {"schema": schema}}}
    return {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {"/a": {"post": op}}}


def test_silent_drops_are_reported():
    # a top-level response enum value removal
    got = diff(_doc({"type": "string", "enum": ["a", "b"]}), _doc({"type": "string", "enum": ["a"]}), strict=True)
    assert [f["rule"] for f in got] == ["response-mediatype-enum-value-removed"]
    # min/max-contains set on a request property
    o = _doc({"type": "object", "properties": {"xs": {"type": "array", "contains": {"type": "string"}}}}, "request")
    n = json.loads(json.dumps(o))
    n["paths"]["/a"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]["xs"].update(
        maxContains=2, minContains=2)
    assert {f["rule"] for f in diff(o, n, strict=True)} == {"request-property-max-contains-decreased",
                                                           "request-property-min-contains-increased"}
    # a change inside `not` counts in the other direction (narrowing `not` widens the request)
    o = _doc({"type": "object", "not": {"properties": {"x": {"type": "string", "maxLength": 5}}}}, "request")
    n = json.loads(json.dumps(o).replace('"maxLength": 5', '"maxLength": 9'))
    got = diff(o, n, strict=True)
    assert [f["rule"] for f in got] == ["response-property-max-length-increased"]
    assert "inside not" in got[0]["message"] and got[0]["new_pointer"].endswith("/not/properties/x")


def test_unmapped_change_is_never_dropped():
    """A change oasdiff's table has no rule for: strict raises; otherwise a warning marked unmapped."""
    from standards.oasdiff import UnmappedChange

    o = _doc({"type": "array", "items": {"type": "string"}}, "request")
    n = json.loads(json.dumps(o).replace('"type": "array"', '"type": "array", "maxItems": 3'))
    got = diff(o, n)
    assert [(f["rule"], f["level"], f.get("unmapped")) for f in got] == [("request-body-max-items-set", "warning",
                                                                          True)]
    n2 = json.loads(json.dumps(o).replace('"type": "array"', '"type": "array", "maxProperties": 3'))
    assert diff(o, n2) == []  # maxProperties is not compared by oasdiff either (no keyword entry)
    o3 = _doc({"type": "object", "dependentRequired": {"a": ["b"]}}, "request")
    n3 = json.loads(json.dumps(o3).replace('"b"', '"c"'))
    assert [f["rule"] for f in diff(o3, n3, strict=True)] == ["request-body-dependent-required-changed"]
    import standards.oasdiff.schemas as sch

    class Fake:
        strict = True
    with pytest.raises(UnmappedChange):
        sch.SchemaDiff(Fake(), "request", "body", []).emit("no-such-change", "x", "/a", "/a", "")


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


_KW = [("maxLength", 5, 9), ("minLength", 2, 1), ("maximum", 5, 9), ("minimum", 2, 1), ("maxItems", 5, 9),
       ("minItems", 2, 1), ("exclusiveMaximum", 5, 9), ("exclusiveMinimum", 2, 1), ("pattern", "^a$", "^b$"),
       ("enum", ["a", "b"], ["a"]), ("enum", ["a"], ["a", "b"]), ("format", "date", "email"),
       ("default", "a", "b"), ("const", "a", "b"), ("maxContains", 2, 3), ("minContains", 2, 1),
       ("nullable", False, True), ("type", "string", "integer")]


@pytest.mark.parametrize(("kw", "a", "b"), _KW, ids=[f"{k}-{i}" for i, (k, _a, _b) in enumerate(_KW)])
def test_every_keyword_change_everywhere_is_classified(kw, a, b):
    """Each keyword set / changed / removed, at the top and one property down, in a query parameter, a request
    body, a response header and a response body: in strict mode nothing is unclassified (a rule of the table, or
    declared in rules/oasdiff-schema.yaml as not reported or for review), and review items are warnings."""
    def doc(where, nested, value):
        def schema(w):
            s = {"type": "string"} if kw != "type" else {}
            if w == where and value is not None:
                s[kw] = value
            return {"type": "object", "properties": {"p": s}} if nested else s
        return {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {"/a": {"post": {
            "parameters": [{"name": "q", "in": "query", "schema": schema("param")}],
            "requestBody": {"content": {"application/json": {"schema": schema("body")}}},
            "responses": {"200": {"description": "ok", "headers": {"X-H": {"schema": schema("header")}},
                                  "content": {"application/json": {"schema": schema("resp")}}}}}}}}
    for where in ("param", "body", "header", "resp"):
        for nested in (False, True):
            for old, new in ((a, b), (None, b), (a, None)):
                for f in diff(doc(where, nested, old), doc(where, nested, new), strict=True):
                    assert f["level"] in ("error", "warning", "info")
                    if f.get("unmapped"):
                        assert f["level"] == "warning" and "review it by hand" in f["message"]
