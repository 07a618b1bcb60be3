"""The whole API against Schemathesis: every operation of ``/api/v1/openapi.json`` of a served instance
(waitress on loopback, the demo city, a token per role), generated positive and negative requests, every
default check (no server error, status code / content type / headers / body conform to the document,
negative data rejected, authentication not ignored …).

The role that calls is part of each generated example (Hypothesis shrinks it too). The fast variant runs
in the default suite; the long one (``-m slow``) is what CI runs. Figures: ``pytest_terminal_summary`` in
this folder's conftest prints operations, examples, server errors and failures of the run.
"""

from __future__ import annotations

import json
import os
import time

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from portal.api import openapi_document
from portal.web.opendata import ckan_openapi_document
from tests.reliability.conftest import ROLES
from schemathesis.specs.openapi.checks import positive_data_acceptance
from tests.reliability.schemathesis_stats import STATS

FAST_EXAMPLES = 6
SLOW_EXAMPLES = 25


@pytest.fixture(scope="session")
def http(served_instance):
    with requests.Session() as session:
        yield session


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx, value) -> bytes:
    """EVE JSON lines: a generated string is sent as it is, anything else one JSON value per line."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return "".join(json.dumps(v) + "\n" for v in (value if isinstance(value, list) else [value])).encode()


# The document the code assembles; test_served_document_is_the_assembled_one proves the instance serves it.
schema = schemathesis.openapi.from_dict(openapi_document())
# unknown query parameters are ignored, as HTTP APIs do; negative cases do not invent them
# and NUL characters are refused everywhere (a 400 every operation documents; PostgreSQL cannot store them),
# so schema-valid examples hold none (negative ones still may)
schema.config.generation.update(allow_extra_parameters=False, allow_x00=False)
if os.environ.get("CITYGOV_SCHEMATHESIS_ONLY"):  # a regular expression over "METHOD /path", to chase one failure
    schema = schema.include(name_regex=os.environ["CITYGOV_SCHEMATHESIS_ONLY"])


# The CKAN-compatible Action API and the DCAT-AP export: their own document, served at /api/3/openapi.json.
ckan_schema = schemathesis.openapi.from_dict(ckan_openapi_document())
ckan_schema.config.generation.update(allow_extra_parameters=False, allow_x00=False)
if os.environ.get("CITYGOV_SCHEMATHESIS_ONLY"):
    ckan_schema = ckan_schema.include(name_regex=os.environ["CITYGOV_SCHEMATHESIS_ONLY"])


def test_served_documents_are_the_assembled_ones(served_instance, http):
    served = http.get(served_instance.api_url + "/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.json() == json.loads(json.dumps(openapi_document()))
    served = http.get(served_instance.base_url + "/api/3/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.json() == json.loads(json.dumps(ckan_openapi_document()))

_SETTINGS = dict(deadline=None, derandomize=True, database=None,
                 suppress_health_check=list(HealthCheck), print_blob=False)


# What a JSON Schema cannot state, listed per operation. A schema-valid request that breaks one of these
# rules is answered with a 4xx problem; only for such an answer (its status and a text of its body match)
# is the "schema-valid data accepted" check set aside, for that one response; every other check still runs.
#   - relations between fields or parameters (exactly one of two, a range's ends in order, not the same id twice);
#   - references to objects that must exist (an organisation, a user, a project named in a body);
#   - rules over a value's content (password policy, a CIDR, a semantic version in a path);
#   - documents carried inside the request in their own format (YAML, RDF, OpenAPI, CSV/XLSX, EVE lines),
#     whose validity the envelope's schema cannot describe: those operations answer 400/422 with the
#     document's own problems (invalid_input / validation_failed).
RULES: dict[str, list[tuple[int, str]]] = {
    "GET /audit/proof/inclusion": [(400, "exactly one of the query parameters 'index' and 'hash'"),
                                   (400, "is not below tree size"), (400, "size must be at least 1"),
                                   (400, "larger than"), (400, "the log is empty"),
                                   (400, "beyond the current tree size")],
    "GET /audit/proof/consistency": [(400, "larger than"), (400, "at least 1"), (400, "beyond the current tree size")],
    "POST /users": [(422, "must not contain the username"), (422, "too few distinct characters"),
                    (422, "no organisation")],
    "POST /projects": [(422, "end_year is before start_year"), (422, "unknown organisation"),
                       (422, "does not satisfy registry.proposal")],  # ?submit=true with an incomplete draft
    "PUT /projects/{project_id}": [(422, "end_year is before start_year"), (422, "unknown organisation")],
    "POST /projects/{project_id}/panel": [(422, "unknown experts")],
    "POST /projects/pairs": [(422, "a project is not its own duplicate")],
    "POST /secmon/assets/systems": [(422, "unknown organisation"), (422, "no registry project")],
    "DELETE /secmon/assets/networks": [(422, '"field": "cidr"')],
    "GET /secmon/search": [(422, "give at least one filter")],
    "POST /secmon/rulesets/builds": [(422, "at least one .rules file")],
    "POST /secmon/responses": [(422, "propose at least one"), (422, "invalid field(s); nothing proposed"),
                               (422, "incident")],
    "GET /audit/entries": [(400, "beyond the tree size"), (400, "larger than"), (400, "is before start")],
    "PATCH /standards/{name}": [(422, "lint rule sets apply to OpenAPI standards")],
    "PUT /standards/{name}/versions/{version}": [(422, "is not a semantic version")],
    "POST /secmon/evaluations": [(422, '"field": "department"'), (422, '"field": "system"'), (404, ""),
                                 (422, "no monitoring data in the period")],
    "GET /secmon/evaluations/{report_id}/compare/{other_id}": [(400, "compare two different reports")],
    "POST /opendata/datasets": [(422, "a dataset with this name exists")],
    # CKAN answers in its own envelope (application/json), not problem+json
    "GET /api/3/action/package_search": [(400, "Search Query Error")],
}
EMBEDDED_DOCUMENTS = {
    "POST /standards", "PUT /standards/{name}/versions/{version}", "POST /standards/check", "POST /standards/diff",
    "POST /standards/lint", "POST /standards/{name}/versions/{version}/validate", "POST /projects/import",
    "POST /secmon/assets/import", "POST /secmon/incidents/rules/check", "POST /secmon/eve", "POST /certifications",
    "POST /projects/{project_id}/acceptance", "POST /opendata/datasets/{name}/distributions",
    "POST /standards/{name}/compatibility", "POST /secmon/rulesets/builds",
}


def _rule_applies(key: str, response) -> bool:
    if not 400 <= response.status_code < 500:
        return False
    if not (response.headers.get("content-type") or [""])[0].startswith(("application/problem+json",
                                                                            "application/json")):
        return False
    if key in EMBEDDED_DOCUMENTS and response.status_code in (400, 422):
        return True
    return any(response.status_code == status and text in response.text for status, text in RULES.get(key, []))


def _call(case, role, served_instance, http, base_url=None):
    started = time.perf_counter()
    key = f"{case.method.upper()} {case.path}"
    headers = served_instance.headers(role)
    response = case.call(base_url=base_url or served_instance.api_url, session=http, headers=headers, timeout=60)
    STATS.record(key, role, response.status_code, time.perf_counter() - started)
    excluded = [positive_data_acceptance] if _rule_applies(key, response) else None
    try:
        case.validate_response(response, headers=headers, excluded_checks=excluded)
    except Exception:
        STATS.failures += 1
        raise


@schema.parametrize()
@schema.given(role=st.sampled_from(ROLES))
@settings(max_examples=FAST_EXAMPLES, **_SETTINGS)
def test_api_conforms(case, role, served_instance, http):
    _call(case, role, served_instance, http)


@pytest.mark.slow
@schema.parametrize()
@schema.given(role=st.sampled_from(ROLES))
@settings(max_examples=SLOW_EXAMPLES, **_SETTINGS)
def test_api_conforms_long(case, role, served_instance, http):
    _call(case, role, served_instance, http)


@ckan_schema.parametrize()
@ckan_schema.given(role=st.sampled_from(ROLES))
@settings(max_examples=FAST_EXAMPLES, **_SETTINGS)
def test_ckan_dcat_conform(case, role, served_instance, http):
    _call(case, role, served_instance, http, base_url=served_instance.base_url)


@pytest.mark.slow
@ckan_schema.parametrize()
@ckan_schema.given(role=st.sampled_from(ROLES))
@settings(max_examples=SLOW_EXAMPLES, **_SETTINGS)
def test_ckan_dcat_conform_long(case, role, served_instance, http):
    _call(case, role, served_instance, http, base_url=served_instance.base_url)
