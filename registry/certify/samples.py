"""A small *unified data service interface* standard, a vendor implementation of it and recorded traffic:
used by the demo flow and the tests (generated here, no files)."""

from __future__ import annotations

import base64
import copy
import gzip
import json
from typing import Any

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
