"""HAR validation throughput of registry.certify against a large real spec (APIs.guru stripe.com, 2.5 MB).

Ways of validating the same generated entries (request + response of each):

1. citygov: the document parsed, indexed and openapi-core objects built once (``matching.compiled``),
   requests matched by server URL + path template, openapi-core's validators with every node of the
   document they need read once per operation / parameter / response / media type
   (:mod:`registry.certify.fastcore`); measured (a) with the exact-bytes body memo on traffic that repeats
   bodies (as real traffic does: same list pages, same errors) and (b) with the memo off on traffic whose
   every body differs in its bytes — (b) is the figure that counts;
2. openapi-core with one cached ``OpenAPI`` object (its own path finder, MockRequest / MockResponse);
3. naive: openapi-core's module-level ``validate_request`` / ``validate_response`` per entry (a new
   ``OpenAPI`` — and a full spec validation — per call), measured on a few entries only.

The per-operation plans are built lazily the first time an operation is seen: that one-time cost is
reported separately ("first touch"), then the timed passes run over warm plans.

Run: ``python benchmarks/certify_har.py [spec.json] [entries]``. Prints the load average, entries/s and ratios.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from registry.certify import har as har_mod  # noqa: E402
from registry.certify.matching import compiled  # noqa: E402
from registry.certify.probe import sample  # noqa: E402

DATA = Path(os.environ.get("CITYGOV_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")


def make_entries(spec: dict, n: int, *, vary: bool = False) -> list[dict]:
    server = spec["servers"][0]["url"].rstrip("/")
    ops = []
    for path, item in spec["paths"].items():
        op = item.get("get")
        if not isinstance(op, dict):
            continue
        params = (item.get("parameters") or []) + (op.get("parameters") or [])
        if any(isinstance(p, dict) and p.get("required") and p.get("in") != "path" for p in params):
            continue
        resp = (op.get("responses") or {}).get("200") or {}
        schema = ((resp.get("content") or {}).get("application/json") or {}).get("schema")
        body = sample(spec, schema) if schema else {}
        url = server + path
        for p in params:
            if isinstance(p, dict) and p.get("in") == "path":
                url = url.replace("{" + p["name"] + "}", "id_123")
        import re

        url = re.sub(r"\{[^}]+\}", "id_123", url)
        ops.append((url, body))
    entries = []
    for i in range(n):
        url, body = ops[i % len(ops)]
        entries.append({"request": {"method": "GET", "url": url, "headers": [{"name": "Authorization", "value": "Bearer sk_test"}]},
                        "response": {"status": 200, "headers": [{"name": "Content-Type", "value": "application/json"}],
                                     "content": {"mimeType": "application/json",
                                                 "text": json.dumps(body) + (" " * (i % 499) + "\n" * (i // 499)
                                                                             if vary else "")}}})
    return entries


def _rate(validator, parsed) -> tuple[float, int]:
    t = time.perf_counter()
    findings = 0
    for e in parsed:
        findings += len(validator.validate(e)[2])
    return len(parsed) / (time.perf_counter() - t), findings


def main() -> None:
    from registry.certify import fastcore

    spec_path = Path(sys.argv[1]) if len(sys.argv) > 1 else DATA / "openapi" / "apis-guru" / "stripe.com.json"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    spec = json.loads(spec_path.read_text())
    entries = make_entries(spec, n)
    distinct = make_entries(spec, n, vary=True)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    print(f"spec {spec_path.name}: {spec_path.stat().st_size / 1e6:.1f} MB, {len(spec['paths'])} paths; "
          f"{n} entries over {len({e['request']['url'] for e in entries})} distinct GET operations")

    t = time.perf_counter()
    doc = compiled(spec)
    load = time.perf_counter() - t
    validator = har_mod.TrafficValidator(doc)
    t = time.perf_counter()
    parsed = [har_mod.parse_entry(i, e) for i, e in enumerate(entries)]
    parsed_distinct = [har_mod.parse_entry(i, e) for i, e in enumerate(distinct)]
    parse_rate = 2 * n / (time.perf_counter() - t)
    first: dict[str, object] = {}
    for e in parsed:
        first.setdefault(e.url, e)
    t = time.perf_counter()
    for e in first.values():
        validator.validate(e)
    touch = time.perf_counter() - t
    print(f"one-time: load {load:.2f} s; first touch of {len(first)} operations {touch:.2f} s "
          f"({touch / max(1, len(first)) * 1e3:.1f} ms each); HAR entry parsing {parse_rate:,.0f} entries/s")

    fastcore.BODY_MEMO = False
    ours, findings = _rate(validator, parsed_distinct)
    print(f"citygov, every body distinct, memo off: {ours:,.0f} entries/s  ({findings} findings)")
    fastcore.BODY_MEMO = True
    ours_memo, findings_memo = _rate(validator, parsed)
    print(f"citygov, repeated bodies, exact-bytes memo on: {ours_memo:,.0f} entries/s  ({findings_memo} findings)")

    from openapi_core import Config, OpenAPI
    from openapi_core.testing import MockRequest, MockResponse

    t = time.perf_counter()
    api = OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))
    load2 = time.perf_counter() - t

    def mock(e):
        from urllib.parse import urlsplit

        u = urlsplit(e["request"]["url"])
        req = MockRequest(f"{u.scheme}://{u.netloc}", "get", u.path, headers={"Authorization": "Bearer sk_test"})
        resp = MockResponse(e["response"]["content"]["text"].encode(), 200, content_type="application/json")
        return req, resp

    sub = distinct[: max(200, n // 10)]
    mocks = [mock(e) for e in sub]
    for req, resp in mocks[:20]:  # warm-up
        list(api.iter_request_errors(req))
        list(api.iter_response_errors(req, resp))
    t = time.perf_counter()
    for req, resp in mocks:
        list(api.iter_request_errors(req))
        list(api.iter_response_errors(req, resp))
    cached = len(sub) / (time.perf_counter() - t)
    print(f"openapi-core, one cached OpenAPI object (load {load2:.2f} s): {cached:,.0f} entries/s ({len(sub)} entries)")

    import openapi_core
    from jsonschema_path import SchemaPath

    naive_n = 3
    t = time.perf_counter()
    for req, resp in mocks[:naive_n]:
        sp = SchemaPath.from_dict(spec)
        try:
            openapi_core.validate_request(req, sp)
        except Exception:  # noqa: BLE001
            pass
        try:
            openapi_core.validate_response(req, resp, sp)
        except Exception:  # noqa: BLE001
            pass
    naive = naive_n / (time.perf_counter() - t)
    print(f"naive module-level openapi-core per entry: {naive:,.3f} entries/s ({naive_n} entries)")
    print(f"ratios (memo off / memo on): citygov / naive {ours / naive:,.0f}x / {ours_memo / naive:,.0f}x;  "
          f"citygov / cached openapi-core {ours / cached:.1f}x / {ours_memo / cached:.1f}x;  target 2,000 entries/s")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
