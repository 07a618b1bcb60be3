"""Requests generated from the vendor's OpenAPI document for the live probe, with Schemathesis as the engine
(its public API: ``schemathesis.openapi.from_dict`` → ``operation.as_strategy(generation_mode=…)``): for every
operation, *positive* requests — the documented examples first, then cases Schemathesis draws from the
parameter and body schemas — and *negative* ones that a conforming server must reject with a 4xx: citygov's
deterministic mutations (a required parameter or property missing, a value of the wrong type, a value out of
range, a required body missing) and Schemathesis' negative cases (schema constraints violated).

Generation is deterministic (hypothesis derandomized, no example database) and bounded: at most ``per_op``
positive and ``per_op`` Schemathesis-negative requests per operation. Read-only mode keeps only safe methods.
"""

from __future__ import annotations

import copy
import json
import warnings
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from standards import oaswalk


def sample(spec: dict, schema: Any) -> Any:
    from registry.certify.probe import sample as _sample

    return _sample(spec, schema)

OAS_ONLY = {"discriminator", "xml", "externalDocs", "example", "nullable", "readOnly", "writeOnly", "deprecated"}


@dataclass
class ProbeRequest:
    method: str
    path: str
    query: dict[str, Any]
    headers: dict[str, str]
    body: bytes | None
    content_type: str
    operation: str
    kind: str = "positive"  # positive | negative
    mutation: str = ""  # what the negative request breaks
    notes: list[str] = field(default_factory=list)


def json_schema(spec: dict, schema: Any, *, direction: str = "request", depth: int = 0,
                seen: frozenset = frozenset()) -> Any:
    """A self-contained JSON Schema for hypothesis-jsonschema: local ``$ref`` s inlined (cycles cut), OAS 3.0
    ``nullable`` turned into a type list, read-only properties left out of requests."""
    if isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
        ref = schema["$ref"]
        if ref in seen or depth > 12:
            return {}
        target, _ = oaswalk.deref(spec, schema)
        return json_schema(spec, target, direction=direction, depth=depth + 1, seen=seen | {ref})
    if isinstance(schema, list):
        return [json_schema(spec, s, direction=direction, depth=depth + 1, seen=seen) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for k, v in schema.items():
        if k in OAS_ONLY or k.startswith("x-"):
            continue
        if k == "properties" and isinstance(v, dict):
            props = {}
            for name, sub in v.items():
                sub_r, _ = oaswalk.deref(spec, sub)
                if direction == "request" and isinstance(sub_r, dict) and sub_r.get("readOnly"):
                    continue
                props[name] = json_schema(spec, sub, direction=direction, depth=depth + 1, seen=seen)
            out[k] = props
        elif k in ("items", "additionalProperties", "not", "contains", "if", "then", "else", "propertyNames"):
            out[k] = json_schema(spec, v, direction=direction, depth=depth + 1, seen=seen)
        elif k in ("allOf", "anyOf", "oneOf", "prefixItems") and isinstance(v, list):
            out[k] = [json_schema(spec, s, direction=direction, depth=depth + 1, seen=seen) for s in v]
        else:
            out[k] = copy.deepcopy(v)
    if isinstance(out.get("required"), list) and isinstance(out.get("properties"), dict):
        out["required"] = [r for r in out["required"] if r in out["properties"]]
    if schema.get("nullable") and "type" in out:
        t = out["type"]
        out["type"] = [*t, "null"] if isinstance(t, list) else [t, "null"]
    if schema.get("exclusiveMaximum") is True and "maximum" in out:  # OAS 3.0 boolean form
        out["exclusiveMaximum"] = out.pop("maximum")
    elif schema.get("exclusiveMaximum") is False:
        out.pop("exclusiveMaximum", None)
    if schema.get("exclusiveMinimum") is True and "minimum" in out:
        out["exclusiveMinimum"] = out.pop("minimum")
    elif schema.get("exclusiveMinimum") is False:
        out.pop("exclusiveMinimum", None)
    return out


def _settings(n: int):
    from hypothesis import HealthCheck, Phase, settings

    return settings(max_examples=max(n, 1), database=None, derandomize=True, deadline=None, phases=[Phase.generate],
                    suppress_health_check=list(HealthCheck))


def cases(schema_obj: Any, template: str, method: str, n: int, *, negative: bool = False) -> list[Any]:
    """Up to ``n`` Schemathesis cases of one operation (deterministic); [] when the operation is beyond it."""
    from hypothesis import given
    from schemathesis import GenerationMode

    if n <= 0:
        return []
    out: list[Any] = []
    try:
        strategy = schema_obj[template][method.upper()].as_strategy(
            generation_mode=GenerationMode.NEGATIVE if negative else GenerationMode.POSITIVE)

        @_settings(n * 2)
        @given(strategy)
        def collect(case):
            if len(out) < n:
                out.append(case)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            collect()
    except Exception:  # noqa: BLE001 - an operation Schemathesis cannot generate for: keep what was drawn
        pass
    return out


def _from_case(case: Any, label: str, method: str, template: str, kind: str) -> ProbeRequest | None:
    path = template
    for name, value in (case.path_parameters or {}).items():
        path = path.replace("{" + name + "}", quote(_text(value), safe="%") or "1")
    query = {k: (_text(v) if not isinstance(v, list) else [_text(x) for x in v]) for k, v in (case.query or {}).items()}
    headers = {}
    for k, v in (case.headers or {}).items():
        text = _text(v)
        if not text.isprintable() or len(text) > 1000 or not k.isascii():
            return None  # not sendable as an HTTP header (http.client refuses it)
        headers[k] = text
    body, ctype = None, ""
    if case.body is not None and not type(case.body).__name__ == "NotSet":
        ctype = case.media_type or "application/json"
        if isinstance(case.body, (bytes, bytearray)):
            body = bytes(case.body)
        elif "json" in ctype:
            body = json.dumps(case.body, ensure_ascii=False).encode("utf-8")
        else:
            body = _text(case.body).encode("utf-8")
    mutation = ""
    if kind == "negative":
        phase = getattr(getattr(case, "meta", None), "phase", None)
        mutation = "schemathesis: " + str(getattr(getattr(phase, "data", None), "description", "") or "negative case")
    return ProbeRequest(method, path, query, headers, body, ctype, label, kind, mutation)


def _ignored_negative(req: ProbeRequest) -> bool:
    """Unknown extra query parameters or headers are commonly ignored by servers, not rejected: not a fair test."""
    return "`additionalProperties`" in req.mutation and req.body is None


def _example(param_or_media: dict, spec: dict) -> tuple[bool, Any]:
    if "example" in param_or_media:
        return True, param_or_media["example"]
    exs = param_or_media.get("examples")
    if isinstance(exs, dict) and exs:
        first = oaswalk.resolve(spec, next(iter(exs.values())))
        if isinstance(first, dict) and "value" in first:
            return True, first["value"]
    return False, None


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    return "" if v is None else str(v)


def _params(spec: dict, item: dict, op: dict) -> list[dict]:
    merged: dict[tuple, dict] = {}
    for raw in (item.get("parameters") or []) + (op.get("parameters") or []):
        p = oaswalk.resolve(spec, raw)
        if isinstance(p, dict) and isinstance(p.get("name"), str):
            merged[(p.get("in"), p["name"])] = p
    return [p for p in merged.values() if p.get("in") in ("path", "query", "header")]


def _body_media(spec: dict, op: dict) -> tuple[str, dict, bool] | None:
    rb = oaswalk.resolve(spec, op.get("requestBody"))
    if isinstance(rb, dict) and isinstance(rb.get("content"), dict):
        for mt, media in rb["content"].items():
            if "json" in mt and isinstance(media, dict):
                return mt, media, bool(rb.get("required"))
    return None


def _wrong_type(schema: dict) -> Any | None:
    t = schema.get("type")
    t = t[0] if isinstance(t, list) and t else t
    return {"integer": "not-a-number", "number": "not-a-number", "boolean": "not-a-boolean",
            "array": 12345, "object": "not-an-object"}.get(t) if isinstance(t, str) else None


def _out_of_range(schema: dict) -> Any | None:
    if isinstance(schema.get("maximum"), (int, float)) and not isinstance(schema.get("maximum"), bool):
        return schema["maximum"] + 1 if schema.get("type") == "integer" else schema["maximum"] * 2 + 1
    if isinstance(schema.get("minimum"), (int, float)) and not isinstance(schema.get("minimum"), bool):
        return schema["minimum"] - 1 if schema.get("type") == "integer" else schema["minimum"] - 1.5
    if isinstance(schema.get("maxLength"), int):
        return "x" * (schema["maxLength"] + 1)
    if isinstance(schema.get("enum"), list) and all(isinstance(v, str) for v in schema["enum"]):
        return "zz-not-in-enum-zz"
    return None


def generate(spec: dict, *, per_op: int = 3, negative: bool = True, read_only: bool = False,
             operations: list[tuple[str, str]] | None = None) -> list[ProbeRequest]:
    """Requests for every operation of ``spec`` (or only ``operations``), positives before negatives."""
    import schemathesis

    wanted = set(operations) if operations is not None else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            schema_obj = schemathesis.openapi.from_dict(copy.deepcopy(spec))
    except Exception:  # noqa: BLE001 - a document Schemathesis refuses: examples and mutations only
        schema_obj = None
    positives: list[ProbeRequest] = []
    negatives: list[ProbeRequest] = []
    for template, method, op, _ptr in oaswalk.operations(spec):
        if wanted is not None and (method, template) not in wanted:
            continue
        if read_only and method not in oaswalk.SAFE_METHODS:
            continue
        item = oaswalk.resolve(spec, (spec.get("paths") or {}).get(template))
        params = _params(spec, item if isinstance(item, dict) else {}, op)
        body = _body_media(spec, op)
        label = f"{method.upper()} {template}"
        # the documented example (or a value built from the schema) of every parameter and of the body
        base_values: dict[tuple, Any] = {}
        for p in params:
            has, ex = _example(p, spec)
            base_values[(p["in"], p["name"])] = ex if has else sample(spec, p.get("schema") or {})
        base_body = None
        if body:
            has, ex = _example(body[1], spec)
            base_body = ex if has else sample(spec, body[1].get("schema") or {})
        positives.append(_build(label, method, template, params, base_values, body, base_body, "positive", ""))
        drawn = cases(schema_obj, template, method, per_op - 1) if schema_obj is not None else []
        positives += [r for r in (_from_case(c, label, method, template, "positive") for c in drawn) if r]
        if not negative:
            continue
        for p in params:
            key = (p["in"], p["name"])
            schema = json_schema(spec, p.get("schema") or {})
            if p.get("required") and p["in"] in ("query", "header"):
                vals = {k: v for k, v in base_values.items() if k != key}
                negatives.append(_build(label, method, template, params, vals, body, base_body, "negative",
                                        f"required {p['in']} parameter {p['name']!r} missing"))
            for what, bad in (("wrong type", _wrong_type(schema)), ("out of range", _out_of_range(schema))):
                if bad is not None:
                    negatives.append(_build(label, method, template, params, {**base_values, key: bad}, body,
                                            base_body, "negative", f"{p['in']} parameter {p['name']!r}: {what}"))
        if body and isinstance(base_body, dict):
            schema = json_schema(spec, body[1].get("schema") or {})
            for name in schema.get("required") or []:
                bad = {k: v for k, v in base_body.items() if k != name}
                negatives.append(_build(label, method, template, params, base_values, body, bad, "negative",
                                        f"required body property {name!r} missing"))
            for name, sub in (schema.get("properties") or {}).items():
                wt = _wrong_type(sub) if isinstance(sub, dict) else None
                if wt is not None and name in base_body:
                    negatives.append(_build(label, method, template, params, base_values, body,
                                            {**base_body, name: wt}, "negative",
                                            f"body property {name!r}: wrong type"))
        if body and body[2]:
            negatives.append(_build(label, method, template, params, base_values, None, None, "negative",
                                    "required request body missing"))
        if schema_obj is not None:
            neg = [r for r in (_from_case(c, label, method, template, "negative")
                               for c in cases(schema_obj, template, method, per_op, negative=True)) if r]
            negatives += [r for r in neg if not _ignored_negative(r)]
    return positives + negatives


def _build(label, method, template, params, values, body, bval, kind, mutation) -> ProbeRequest:
    path, query, headers = template, {}, {}
    for p in params:
        key = (p["in"], p["name"])
        if key not in values:
            continue
        v = values[key]
        if p["in"] == "path":
            path = path.replace("{" + p["name"] + "}", quote(_text(v) or "1", safe=""))
        elif p["in"] == "query":
            if v is not None or p.get("required"):
                query[p["name"]] = _text(v)
        elif p["in"] == "header" and (v is not None or p.get("required")):
            text = _text(v)
            if text.isprintable() and "\n" not in text and len(text) < 1000:
                headers[p["name"]] = text
    data, ctype = None, ""
    if body is not None and bval is not None:
        data, ctype = json.dumps(bval, ensure_ascii=False).encode("utf-8"), body[0]
    return ProbeRequest(method, path, query, headers, data, ctype, label, kind, mutation)
