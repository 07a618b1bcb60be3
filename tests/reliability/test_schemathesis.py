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
from tests.reliability.conftest import ROLES
from schemathesis.specs.openapi.checks import positive_data_acceptance
from tests.reliability.schemathesis_stats import STATS

FAST_EXAMPLES = 6
SLOW_EXAMPLES = 40


@pytest.fixture(scope="session")
def http(served_instance):
    with requests.Session() as session:
        yield session


# The document the code assembles; test_served_document_is_the_assembled_one proves the instance serves it.
schema = schemathesis.openapi.from_dict(openapi_document())
if os.environ.get("CITYGOV_SCHEMATHESIS_ONLY"):  # a regular expression over "METHOD /path", to chase one failure
    schema = schema.include(name_regex=os.environ["CITYGOV_SCHEMATHESIS_ONLY"])


def test_served_document_is_the_assembled_one(served_instance, http):
    served = http.get(served_instance.api_url + "/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.json() == json.loads(json.dumps(openapi_document()))

_SETTINGS = dict(deadline=None, derandomize=True, database=None,
                 suppress_health_check=list(HealthCheck), print_blob=False)


# Rules a JSON Schema cannot state (relations between fields or parameters). A schema-valid request that
# breaks one is answered with this status and a problem whose detail contains this text; only then is the
# "schema-valid data accepted" check set aside for that one response — every other check still runs.
CROSS_FIELD_RULES: dict[str, list[tuple[int, str]]] = {
    "GET /audit/proof/inclusion": [(400, "exactly one of the query parameters 'index' and 'hash'")],
}


def _rule_applies(key: str, response) -> bool:
    for status, text in CROSS_FIELD_RULES.get(key, []):
        if response.status_code == status and response.headers.get("Content-Type", "").startswith(
                "application/problem+json") and text in response.text:
            return True
    return False


def _call(case, role, served_instance, http):
    started = time.perf_counter()
    key = f"{case.method.upper()} {case.path}"
    headers = served_instance.headers(role)
    response = case.call(base_url=served_instance.api_url, session=http, headers=headers, timeout=60)
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
