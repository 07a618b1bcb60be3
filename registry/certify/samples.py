"""A small *unified data service interface* standard, a vendor implementation of it and recorded traffic:
used by the demo flow and the tests (generated here, no files)."""

from __future__ import annotations

import base64
import copy
import gzip
import json
import re
from typing import Any
from urllib.parse import quote

STANDARD_NAME = "unified-data-service"


def standard_spec(version: str = "1.0.0") -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Unified data service interface", "version": version,
                 "description": "City standard for data service interfaces: datasets and their records.",
                 "contact": {"name": "City Informatization Commission", "email": "standards@city.example"}},
        "servers": [{"url": "https://api.city.example/uds/v1"}],
        "tags": [{"name": "datasets", "description": "Datasets and records"}],
        "paths": {
            "/datasets": {"get": {
                "operationId": "listDatasets", "tags": ["datasets"], "description": "List datasets.",
                "parameters": [{"name": "limit", "in": "query", "required": False,
                                "schema": {"type": "integer", "minimum": 1, "maximum": 100}}],
                "responses": {"200": {"description": "Datasets", "content": {"application/json": {
                    "schema": {"type": "array", "items": {"$ref": "#/components/schemas/Dataset"}}}}},
                    "400": {"$ref": "#/components/responses/Problem"}}}},
            "/datasets/{datasetId}": {"get": {
                "operationId": "getDataset", "tags": ["datasets"], "description": "One dataset.",
                "parameters": [{"name": "datasetId", "in": "path", "required": True,
                                "schema": {"type": "string", "pattern": "^[A-Z]{2}-[0-9]{3}$"}, "example": "DS-001"}],
                "responses": {"200": {"description": "The dataset", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Dataset"}}}},
                    "404": {"$ref": "#/components/responses/Problem"}}}},
            "/datasets/{datasetId}/records": {"post": {
                "operationId": "createRecord", "tags": ["datasets"], "description": "Add a record.",
                "parameters": [{"name": "datasetId", "in": "path", "required": True,
                                "schema": {"type": "string"}, "example": "DS-001"}],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Record"},
                    "example": {"id": "R-1", "value": 42}}}},
                "responses": {"201": {"description": "Created", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Record"}}}},
                    "400": {"$ref": "#/components/responses/Problem"}}}},
        },
        "components": {
            "schemas": {
                "Dataset": {"type": "object", "required": ["id", "title"], "properties": {
                    "id": {"type": "string"}, "title": {"type": "string"},
                    "records": {"type": "integer", "minimum": 0}}},
                "Record": {"type": "object", "required": ["id", "value"], "properties": {
                    "id": {"type": "string"}, "value": {"type": "number"}}},
                "Problem": {"type": "object", "required": ["title"], "properties": {
                    "title": {"type": "string"}, "status": {"type": "integer"}}},
            },
            "responses": {"Problem": {"description": "An RFC 9457 problem", "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}},
        },
    }


def vendor_spec(server: str = "https://data.pengcheng.example/api") -> dict[str, Any]:
    """The standard, served by the vendor at its own URL, plus one extra operation."""
    spec = standard_spec()
    spec["info"] = {**spec["info"], "title": "Pengcheng data service", "version": "2.3.0"}
    spec["servers"] = [{"url": server}]
    spec["paths"]["/health"] = {"get": {
        "operationId": "getHealth", "tags": ["datasets"], "description": "Liveness.",
        "responses": {"200": {"description": "OK", "content": {"application/json": {
            "schema": {"type": "object", "properties": {"status": {"type": "string"}}}}}}}}}
    return spec


def breaking_vendor_spec() -> dict[str, Any]:
    """A vendor document that drops an operation and makes a request property narrower."""
    spec = vendor_spec()
    del spec["paths"]["/datasets/{datasetId}/records"]
    spec["components"]["schemas"]["Dataset"]["required"] = ["id"]  # response widening: breaking
    return spec


def _entry(method: str, url: str, status: int, body: Any = None, *, request_body: Any = None,
           b64: bool = False, gzip_it: bool = False, record_body: bool = True,
           content_type: str = "application/json") -> dict[str, Any]:
    req: dict[str, Any] = {"method": method, "url": url, "httpVersion": "HTTP/1.1", "headers": [], "cookies": [],
                           "queryString": [], "headersSize": -1, "bodySize": 0}
    if request_body is not None:
        text = json.dumps(request_body)
        req["postData"] = {"mimeType": "application/json", "text": text}
        req["headers"].append({"name": "Content-Type", "value": "application/json"})
        req["bodySize"] = len(text)
    raw = json.dumps(body).encode() if body is not None else b""
    content: dict[str, Any] = {"size": len(raw), "mimeType": content_type}
    headers = [{"name": "Content-Type", "value": content_type}]
    if record_body and body is not None:
        if gzip_it:
            content["text"] = base64.b64encode(gzip.compress(raw)).decode()
            content["encoding"] = "base64"
            headers.append({"name": "Content-Encoding", "value": "gzip"})
        elif b64:
            content["text"] = base64.b64encode(raw).decode()
            content["encoding"] = "base64"
        else:
            content["text"] = raw.decode()
    return {"startedDateTime": "2026-11-20T08:00:00.000Z", "time": 12, "request": req,
            "response": {"status": status, "statusText": "", "httpVersion": "HTTP/1.1", "headers": headers,
                         "cookies": [], "content": content, "redirectURL": "", "headersSize": -1, "bodySize": len(raw)},
            "cache": {}, "timings": {"send": 1, "wait": 10, "receive": 1}}


def har(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"log": {"version": "1.2", "creator": {"name": "citygov-samples", "version": "1"}, "entries": entries}}


def good_har(server: str = "https://data.pengcheng.example/api") -> dict[str, Any]:
    ds = {"id": "DS-001", "title": "Air quality", "records": 3}
    return har([
        _entry("GET", f"{server}/datasets?limit=10", 200, [ds]),
        _entry("GET", f"{server}/datasets/DS-001", 200, ds, b64=True),
        _entry("POST", f"{server}/datasets/DS-001/records", 201, {"id": "R-1", "value": 42},
               request_body={"id": "R-1", "value": 42}, gzip_it=True),
        _entry("GET", f"{server}/datasets/XX-999", 404, {"title": "Not found", "status": 404},
               content_type="application/problem+json"),
        _entry("GET", f"{server}/health", 200, {"status": "ok"}),
        _entry("GET", f"{server}/datasets", 200, [ds], record_body=False),
    ])


def bad_har(server: str = "https://data.pengcheng.example/api") -> dict[str, Any]:
    """Entry 0 fine; 1 bad query; 2 response missing a required property; 3 undocumented status;
    4 unknown host; 5 unknown path; 6 wrong content type; 7 malformed entry."""
    ds = {"id": "DS-001", "title": "Air quality"}
    entries = [
        _entry("GET", f"{server}/datasets", 200, [ds]),
        _entry("GET", f"{server}/datasets?limit=abc", 200, [ds]),
        _entry("GET", f"{server}/datasets/DS-001", 200, {"id": "DS-001"}),
        _entry("GET", f"{server}/datasets/DS-001", 418, {"title": "teapot"}),
        _entry("GET", "https://evil.example/api/datasets", 200, [ds]),
        _entry("GET", f"{server}/nowhere", 200, {}),
        _entry("GET", f"{server}/datasets/DS-001", 200, ds, content_type="text/plain"),
        {"request": "nope"},
    ]
    return har(entries)


def copy_spec(spec: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(spec)


# ------------------------------------------------------------------------------- generated traffic

_MUTATIONS = ("path_param", "query_type", "drop_required_query", "drop_auth", "status", "response_shape",
              "response_type", "empty_response", "request_body", "bad_json", "unknown_path", "extra_header",
              "empty_query")


def generated_traffic(spec: dict[str, Any], n: int, *, seed: int = 0, broken: float = 0.3,
                      host: str = "https://api.generated.example", methods: tuple[str, ...] | None = None,
                      vary: bool = False) -> list[dict[str, Any]]:
    """``n`` HAR entries exercising the operations of ``spec`` round-robin: parameters, credentials, request
    and response bodies built from the schemas (:func:`registry.certify.probe.sample`); a share ``broken`` of
    them is mutated (wrong parameter types, missing required parameters or credentials, undocumented status,
    wrong shapes / content types, empty or non-JSON bodies, unknown paths). ``vary``: every body differs in
    its bytes (whitespace), so nothing can be memoised across entries. Deterministic for a ``seed``."""
    import random

    from registry.certify.probe import _resolve, sample

    rnd = random.Random(seed)
    server = ((spec.get("servers") or [{}])[0].get("url") or "/").rstrip("/")
    if server.startswith("//"):
        server = "https:" + server
    elif not server.startswith(("http://", "https://")):
        server = host + ("/" + server.strip("/") if server.strip("/") else "")
    server = re.sub(r"\{[^}]+\}", "x", server)
    schemes = ((spec.get("components") or {}).get("securitySchemes") or {})
    ops = []
    for path, item in (spec.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for method in ("get", "post", "put", "patch", "delete"):
            op = item.get(method)
            if isinstance(op, dict) and (methods is None or method in methods):
                params = [_resolve(spec, p) for p in (op.get("parameters") or []) + (item.get("parameters") or [])]
                ops.append((path, method, op, [p for p in params if isinstance(p, dict)]))
    if not ops:
        return []

    def text(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if v is None or isinstance(v, (dict, list)):
            return "1"
        return str(v)

    def dump(v: Any, i: int) -> str:
        s = json.dumps(v)
        return s + " " * (i % 97) + "\n" * ((i // 97) % 3) if vary else s

    out = []
    for i in range(n):
        path, method, op, params = ops[i % len(ops)]
        mutation = rnd.choice(_MUTATIONS) if rnd.random() < broken else None
        url_path = path
        query: list[tuple[str, str]] = []
        headers: list[dict[str, str]] = []
        for p in params:
            schema = _resolve(spec, p.get("schema") or {})
            value = sample(spec, schema)
            where = p.get("in")
            if where == "path":
                v = "not a number!" if mutation == "path_param" else text(value)
                url_path = url_path.replace("{" + str(p.get("name")) + "}", quote(v, safe=""))
            elif where == "query":
                if p.get("required") and mutation == "drop_required_query":
                    continue
                if not p.get("required") and rnd.random() < 0.5 or isinstance(value, dict) or "content" in p:
                    continue
                if mutation == "query_type" and isinstance(schema, dict) and schema.get("type") in ("integer", "number", "boolean"):
                    value = "abc"
                if mutation == "empty_query":
                    value = ""
                if isinstance(value, list):
                    query += [(p["name"], text(x)) for x in value]
                else:
                    query.append((p["name"], text(value)))
            elif where == "header" and (p.get("required") or rnd.random() < 0.5) and not isinstance(value, dict):
                headers.append({"name": p["name"], "value": text(value)})
        cookies = []
        if mutation != "drop_auth":
            for s in schemes.values():
                if not isinstance(s, dict):
                    continue
                if s.get("type") == "http":
                    headers.append({"name": "Authorization", "value": f"{str(s.get('scheme', 'bearer')).title()} dG9rZW4="})
                elif s.get("type") == "apiKey" and s.get("in") == "header":
                    headers.append({"name": s.get("name", "X-Key"), "value": "k-123"})
                elif s.get("type") == "apiKey" and s.get("in") == "query":
                    query.append((s.get("name", "key"), "k-123"))
                elif s.get("type") == "apiKey" and s.get("in") == "cookie":
                    cookies.append({"name": s.get("name", "token"), "value": "k-123"})
        if mutation == "extra_header":
            headers.append({"name": "X-Unexpected", "value": "1"})
        url = server + ("/definitely/not/here" if mutation == "unknown_path" else url_path)
        if query:
            url += "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query)
        req: dict[str, Any] = {"method": method.upper(), "url": url, "httpVersion": "HTTP/1.1", "headers": headers,
                               "cookies": cookies, "queryString": [], "headersSize": -1, "bodySize": 0}
        rb = _resolve(spec, op.get("requestBody"))
        if isinstance(rb, dict):
            content = rb.get("content") or {}
            mt = next((m for m in content if "json" in m), None) or next(iter(content), None)
            if mt is not None:
                body = sample(spec, (content.get(mt) or {}).get("schema"))
                if mutation == "request_body":
                    body = [] if isinstance(body, dict) else {"unexpected": True}
                req["postData"] = {"mimeType": mt, "text": dump(body, i) if "json" in mt else text(body)}
                headers.append({"name": "Content-Type", "value": mt})
        responses = op.get("responses") or {}
        codes = [c for c in responses if isinstance(c, str)]
        code = rnd.choice(codes) if codes else "200"
        status = 200 if code in ("default", "2XX") else int(code[0]) * 100 if code.endswith("XX") else int(code) \
            if code.isdigit() else 200
        if mutation == "status":
            status = 599
        resp = _resolve(spec, responses.get(code)) or {}
        rcontent = resp.get("content") or {} if isinstance(resp, dict) else {}
        rmt = next((m for m in rcontent if "json" in m), None) or next(iter(rcontent), None)
        rheaders = []
        content_obj: dict[str, Any] = {"size": 0, "mimeType": rmt or "application/octet-stream"}
        if rmt is not None:
            rbody = sample(spec, (rcontent.get(rmt) or {}).get("schema"))
            if mutation == "response_shape":
                rbody = [] if isinstance(rbody, dict) else {"unexpected": [1, 2]}
            txt = dump(rbody, i) if "json" in rmt else text(rbody)
            if mutation == "response_type":
                rmt, txt = "text/html", "<html></html>"
            elif mutation == "empty_response":
                txt = ""
            elif mutation == "bad_json" and "json" in rmt:
                txt = "{not json"
            rheaders.append({"name": "Content-Type", "value": rmt})
            content_obj = {"size": len(txt), "mimeType": rmt, "text": txt}
        out.append({"request": req, "response": {"status": status, "statusText": "", "httpVersion": "HTTP/1.1",
                                                 "headers": rheaders, "cookies": [], "content": content_obj,
                                                 "redirectURL": "", "headersSize": -1, "bodySize": -1}})
    return out
