"""The memoised openapi-core validators (registry.certify.fastcore) give exactly the findings of openapi-core's
own validators: on the HAR fixtures and on generated valid and broken traffic for several APIs.guru specs,
with the exact-bytes body memo cold, warm and off."""

from __future__ import annotations

import base64
import json

import pytest

from registry.certify import fastcore, har, samples
from registry.certify.matching import compiled


def _pair(vendor: dict, standard: dict | None = None):
    fast = har.TrafficValidator(compiled(vendor), compiled(standard) if standard else None)
    ref = har.TrafficValidator(compiled(vendor, fast=False), compiled(standard, fast=False) if standard else None)
    assert type(fast.vendor.api.request_validator) is not type(ref.vendor.api.request_validator)
    return fast, ref


def _assert_same(fast, ref, entries) -> int:
    findings = 0
    parsed = [har.parse_entry(i, e) for i, e in enumerate(entries)]
    for memo in (True, False):
        fastcore.BODY_MEMO = memo
        try:
            for e in parsed:
                if isinstance(e, dict):
                    continue
                expected = ref.validate(e)
                first, again = fast.validate(e), fast.validate(e)  # cold, then memo / plan hits
                assert first == expected, (e.index, e.method, e.url)
                assert again == expected, (e.index, e.method, e.url)
                findings += len(expected[2])
        finally:
            fastcore.BODY_MEMO = True
    return findings


def _fixture_entries() -> list:
    entries = samples.good_har()["log"]["entries"] + samples.bad_har()["log"]["entries"]
    e = json.loads(json.dumps(entries[0]))
    e["response"]["content"] = {"size": 4, "mimeType": "application/octet-stream", "encoding": "base64",
                                "text": base64.b64encode(b"\x00\xff\xfe\x01").decode()}
    e["response"]["headers"] = [{"name": "Content-Type", "value": "application/octet-stream"}]
    entries.append(e)
    for text in ("[]", "{}", "[{\"id\": 5}]", "not json", ""):
        x = json.loads(json.dumps(entries[0]))
        x["response"]["content"]["text"] = text
        entries.append(x)
    q = json.loads(json.dumps(entries[0]))
    q["request"]["url"] += "?limit=&limit=3"
    entries.append(q)
    return entries


def test_fixtures_same_findings_as_openapi_core():
    fast, ref = _pair(samples.vendor_spec(), samples.standard_spec())
    assert _assert_same(fast, ref, _fixture_entries()) > 0


def test_generated_traffic_on_the_samples_same_findings():
    fast, ref = _pair(samples.vendor_spec(), samples.standard_spec())
    entries = samples.generated_traffic(samples.vendor_spec(), 120, seed=3, broken=0.5)
    assert _assert_same(fast, ref, entries) > 0


@pytest.mark.parametrize("name, n", [("shipengine.com.json", 160), ("meshery.local.json", 160),
                                     ("probely.com.json", 160), ("digitalocean.com.json", 200)])
def test_generated_traffic_on_apis_guru_same_findings(shared_data, name, n):
    path = shared_data / "openapi" / "apis-guru" / name
    if not path.exists():
        pytest.skip(f"{name} not in the shared data")
    spec = json.loads(path.read_text())
    fast, ref = _pair(spec)
    entries = samples.generated_traffic(spec, n, seed=11, broken=0.4)
    assert _assert_same(fast, ref, entries) > 0


@pytest.mark.slow
@pytest.mark.parametrize("name", ["stripe.com.json", "trello.com.json"])
def test_generated_traffic_on_large_specs_same_findings(shared_data, name):
    path = shared_data / "openapi" / "apis-guru" / name
    if not path.exists():
        pytest.skip(f"{name} not in the shared data")
    spec = json.loads(path.read_text())
    fast, ref = _pair(spec)
    entries = samples.generated_traffic(spec, 300, seed=5, broken=0.4, vary=True)
    assert _assert_same(fast, ref, entries) > 0


def test_body_memo_is_bounded_and_keyed_on_exact_bytes():
    fast, _ = _pair(samples.vendor_spec())
    entries = samples.generated_traffic(samples.vendor_spec(), 40, seed=1, broken=0.0, vary=True)
    memo = fast.vendor.api.response_validator._fc()["memo"]
    before = len(memo.data)
    for i, e in enumerate(entries):
        fast.validate(har.parse_entry(i, e))
    assert len(memo.data) > before  # distinct bytes: distinct keys
    assert len(memo.data) <= fastcore.BODY_MEMO_MAX_ENTRIES
    assert memo.bytes == sum(len(k[2]) for k in memo.data)
    old = fastcore.BODY_MEMO_BUDGET_BYTES
    fastcore.BODY_MEMO_BUDGET_BYTES = 200
    more = samples.generated_traffic(samples.vendor_spec(), 40, seed=2, broken=0.0, vary=True)
    try:
        for i, e in enumerate(more):
            fast.validate(har.parse_entry(i, e))
        assert memo.bytes <= 200 and memo.bytes == sum(len(k[2]) for k in memo.data)
    finally:
        fastcore.BODY_MEMO_BUDGET_BYTES = old
