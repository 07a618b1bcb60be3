"""The rest of Spectral's ``oas`` ruleset for OpenAPI 3.x: contact and license, markdown safety, tag order and
uniqueness, parameters, path declarations, array items, examples (valid against their schema; value xor
externalValue), parameter descriptions, the OAS 3 schema itself, servers (not example.com, variables), callbacks
and webhooks. Names and defaults follow Spectral (``rules/lint-default.yaml``); the 13 ``oas2-*`` rules do not
apply (Swagger 2.0 documents are refused at publish).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from standards import oaswalk
from standards.lint.base import _ops, _p, _resolve, _schemas, rule

_SCRIPT = re.compile(r"<script", re.IGNORECASE)
_EVAL = re.compile(r"eval\(", re.IGNORECASE)
_VAR = re.compile(r"\{([^{}]+)\}")


@rule("contact-properties")
def _contact_props(spec, opts):
    contact = (spec.get("info") or {}).get("contact")
    if isinstance(contact, dict):
        for field in ("name", "url", "email"):
            if not contact.get(field):
                yield "/info/contact", f"contact has no {field}"


@rule("license-url")
def _license_url(spec, opts):
    lic = (spec.get("info") or {}).get("license")
    if isinstance(lic, dict) and not lic.get("url"):
        yield "/info/license", "license has no url"


def _texts(spec: dict) -> Iterator[tuple[str, str]]:
    """Every ``description`` and ``title`` string (markdown) with its pointer."""
    stack: list[tuple[Any, str]] = [(spec, "")]
    while stack:
        node, ptr = stack.pop()
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("description", "title") and isinstance(v, str):
                    yield ptr + _p(k), v
                elif isinstance(v, (dict, list)) and k not in ("example", "examples", "enum", "default", "const"):
                    stack.append((v, ptr + _p(k)))
        elif isinstance(node, list):
            stack.extend((v, ptr + _p(i)) for i, v in enumerate(node) if isinstance(v, (dict, list)))


@rule("no-eval-in-markdown")
def _no_eval(spec, opts):
    for ptr, text in _texts(spec):
        if _EVAL.search(text):
            yield ptr, "markdown must not contain eval("


@rule("no-script-tags-in-markdown")
def _no_script(spec, opts):
    for ptr, text in _texts(spec):
        if _SCRIPT.search(text):
            yield ptr, "markdown must not contain <script> tags"


@rule("openapi-tags-alphabetical")
def _tags_alpha(spec, opts):
    names = [t.get("name") for t in spec.get("tags") or [] if isinstance(t, dict)]
    for i in range(1, len(names)):
        if isinstance(names[i - 1], str) and isinstance(names[i], str) and names[i] < names[i - 1]:
            yield _p("tags", i), f"tag {names[i]!r} is not in alphabetical order (after {names[i - 1]!r})"
            return


@rule("openapi-tags-uniqueness")
def _tags_unique(spec, opts):
    seen: set = set()
    for i, t in enumerate(spec.get("tags") or []):
        name = t.get("name") if isinstance(t, dict) else None
        if name in seen:
            yield _p("tags", i, "name"), f"tag {name!r} is defined more than once"
        seen.add(name)


@rule("operation-parameters")
def _op_params(spec, opts):
    for path, m, op, ptr in _ops(spec):
        seen: dict[tuple, int] = {}
        for i, raw in enumerate(op.get("parameters") or []):
            p = _resolve(spec, raw)
            key = (p.get("in"), p.get("name").lower() if p.get("in") == "header" and isinstance(p.get("name"), str)
                   else p.get("name"))
            if key[1] is None:
                continue
            if key in seen:
                yield ptr + _p("parameters", i), (f"{m.upper()} {path}: parameter {key[1]!r} in {key[0]} is "
                                                  f"declared twice (index {seen[key]} and {i})")
            else:
                seen[key] = i


@rule("operation-singular-tag")
def _singular_tag(spec, opts):
    for path, m, op, ptr in _ops(spec):
        if len(op.get("tags") or []) > 1:
            yield ptr + "/tags", f"{m.upper()} {path} has more than one tag"


@rule("path-declarations-must-exist")
def _path_decl(spec, opts):
    for path in spec.get("paths") or {}:
        if "{}" in path:
            yield _p("paths", path), f"path {path} has an empty parameter declaration {{}}"


@rule("array-items")
def _array_items(spec, opts):
    for ptr, s in _schemas(spec):
        t = s.get("type")
        if (t == "array" or (isinstance(t, list) and "array" in t)) and "items" not in s and "prefixItems" not in s:
            yield ptr, "a schema of type array needs items"


def _example_objects(spec: dict) -> Iterator[tuple[str, dict]]:
    """Example objects: ``examples`` maps of media types, parameters and headers, and components/examples."""
    for name, ex in ((spec.get("components") or {}).get("examples") or {}).items():
        if isinstance(ex, dict) and "$ref" not in ex:
            yield _p("components", "examples", name), ex
    for ptr, media in _media(spec):
        for name, ex in (media.get("examples") or {}).items() if isinstance(media.get("examples"), dict) else ():
            if isinstance(ex, dict) and "$ref" not in ex:
                yield ptr + _p("examples", name), ex


def _media(spec: dict) -> Iterator[tuple[str, dict]]:
    """Media type objects and parameter / header objects (which carry schema + example(s))."""
    stack: list[tuple[Any, str, str]] = [(spec, "", "")]
    while stack:
        node, ptr, parent = stack.pop()
        if isinstance(node, dict):
            if parent == "content":
                for mt, media in node.items():
                    if isinstance(media, dict):
                        yield ptr + _p(mt), media
                        stack.append((media, ptr + _p(mt), "media"))
                continue
            if ("schema" in node and ("in" in node or parent == "headers")) and not parent == "media":
                yield ptr, node
            for k, v in node.items():
                if k in ("example", "examples", "enum", "default", "const", "schema") and parent != "headers":
                    if k != "schema":
                        continue
                if isinstance(v, (dict, list)):
                    stack.append((v, ptr + _p(k), "content" if k == "content" else "headers" if k == "headers"
                                  else ""))
        elif isinstance(node, list):
            stack.extend((v, ptr + _p(i), "") for i, v in enumerate(node) if isinstance(v, (dict, list)))


@rule("oas3-examples-value-or-externalValue")
def _ex_xor(spec, opts):
    for ptr, ex in _example_objects(spec):
        if ("value" in ex) == ("externalValue" in ex):
            yield ptr, "an example needs exactly one of value and externalValue"


@rule("oas3-parameter-description")
def _param_desc(spec, opts):
    for path, item in (spec.get("paths") or {}).items():
        item = _resolve(spec, item)
        lists = [(_p("paths", path), item.get("parameters") or [])]
        lists += [(ptr, op.get("parameters") or []) for p2, _m, op, ptr in _ops(spec) if p2 == path]
        for base, params in lists:
            for i, raw in enumerate(params):
                if isinstance(raw, dict) and "$ref" in raw:
                    continue
                if isinstance(raw, dict) and not (raw.get("description") or "").strip():
                    yield base + _p("parameters", i), f"parameter {raw.get('name')!r} has no description"
    for name, p in ((spec.get("components") or {}).get("parameters") or {}).items():
        if isinstance(p, dict) and "$ref" not in p and not (p.get("description") or "").strip():
            yield _p("components", "parameters", name), f"parameter {p.get('name')!r} has no description"


@rule("oas3-schema")
def _oas3_schema(spec, opts):
    import json

    from kernel.ids import sha256_hex
    from standards.openapi_engine import problems_cached

    digest = sha256_hex(json.dumps(spec, sort_keys=True, default=str, ensure_ascii=False))
    for p in problems_cached(spec, digest):
        yield p.get("pointer", ""), p.get("message", "not a valid OpenAPI 3 document")


@rule("oas3-server-not-example.com")
def _server_example(spec, opts):
    for i, s in enumerate(spec.get("servers") or []):
        url = s.get("url", "") if isinstance(s, dict) else ""
        if re.match(r"^(https?://)?(www\.)?example\.com(/|:|$)", url or ""):
            yield _p("servers", i, "url"), f"server url {url!r} points at example.com"


def _servers(spec: dict) -> Iterator[tuple[str, dict]]:
    for i, s in enumerate(spec.get("servers") or []):
        if isinstance(s, dict):
            yield _p("servers", i), s
    for path, item in (spec.get("paths") or {}).items():
        if isinstance(item, dict):
            for i, s in enumerate(item.get("servers") or []):
                if isinstance(s, dict):
                    yield _p("paths", path, "servers", i), s
    for path, m, op, ptr in _ops(spec):
        for i, s in enumerate(op.get("servers") or []):
            if isinstance(s, dict):
                yield ptr + _p("servers", i), s


@rule("oas3-server-variables")
def _server_vars(spec, opts):
    for ptr, s in _servers(spec):
        url = s.get("url") if isinstance(s.get("url"), str) else ""
        used = _VAR.findall(url)
        declared = s.get("variables") if isinstance(s.get("variables"), dict) else {}
        for v in used:
            if v not in declared:
                yield ptr + "/url", f"server variable {v!r} is not defined in variables"
        for v, spec_v in declared.items():
            if v not in used:
                yield ptr + _p("variables", v), f"server variable {v!r} is not used in the url"
            if isinstance(spec_v, dict) and isinstance(spec_v.get("enum"), list) and \
                    spec_v.get("default") not in spec_v["enum"]:
                yield ptr + _p("variables", v, "default"), f"the default of {v!r} is not one of its enum values"


def _callbacks(op: dict, ptr: str) -> Iterator[tuple[str, dict]]:
    for name, cb in (op.get("callbacks") or {}).items() if isinstance(op.get("callbacks"), dict) else ():
        for expr, item in (cb or {}).items() if isinstance(cb, dict) else ():
            for m in oaswalk.METHODS:
                if isinstance(item, dict) and isinstance(item.get(m), dict):
                    yield ptr + _p("callbacks", name, expr, m), item[m]


@rule("oas3_callbacks_in_callbacks")
def _cb_in_cb(spec, opts):
    for path, m, op, ptr in _ops(spec):
        for cptr, cop in _callbacks(op, ptr):
            if cop.get("callbacks"):
                yield cptr + "/callbacks", "a callback must not define callbacks"


@rule("oas3_1-servers-in-webhook")
def _wh_servers(spec, opts):
    for name, m, op, ptr in oaswalk.operations(spec, key="webhooks"):
        if "servers" in op:
            yield ptr + "/servers", f"webhook {name!r} must not define servers"


@rule("oas3_1-callbacks-in-webhook")
def _wh_callbacks(spec, opts):
    for name, m, op, ptr in oaswalk.operations(spec, key="webhooks"):
        if "callbacks" in op:
            yield ptr + "/callbacks", f"webhook {name!r} must not define callbacks"


# ---------------------------------------------------------------------------------- examples vs schemas


def _validator(spec: dict):
    """A factory ``schema pointer -> validator`` over the whole document (local $refs resolve)."""
    from openapi_schema_validator import OAS30Validator, OAS31Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4, DRAFT202012

    v31 = str(spec.get("openapi", "")).startswith("3.1")
    reg = Registry().with_resource("urn:citygov:doc", Resource(contents=spec,
                                                               specification=DRAFT202012 if v31 else DRAFT4))
    cls = OAS31Validator if v31 else OAS30Validator
    cache: dict[str, Any] = {}

    def errors(schema_ptr: str, value: Any) -> list[str]:
        val = cache.get(schema_ptr)
        if val is None:
            val = cache[schema_ptr] = cls({"$ref": "urn:citygov:doc#" + schema_ptr}, registry=reg)
        out = []
        for e in val.iter_errors(value):
            where = "/".join(str(x) for x in e.absolute_path)
            out.append((f"at {where}: " if where else "") + e.message)
            if len(out) >= 3:
                break
        return out

    return errors


def _check_example(errors, schema_ptr: str, value: Any, where: str) -> Iterator[tuple[str, str]]:
    try:
        problems = errors(schema_ptr, value)
    except Exception as exc:  # noqa: BLE001 - an unresolvable schema is oas3-schema's business
        yield where, f"the example could not be checked: {type(exc).__name__}"
        return
    for msg in problems:
        yield where, f"example is not valid against its schema: {msg}"


@rule("oas3-valid-media-example")
def _media_example(spec, opts):
    errors = _validator(spec)
    for ptr, media in _media(spec):
        if "schema" not in media:
            continue
        sptr = ptr + "/schema"
        if "example" in media:
            yield from _check_example(errors, sptr, media["example"], ptr + "/example")
        exs = media.get("examples")
        if isinstance(exs, dict):
            for name, ex in exs.items():
                ex_r = _resolve(spec, ex)
                if "value" in ex_r:
                    yield from _check_example(errors, sptr, ex_r["value"], ptr + _p("examples", name, "value"))


@rule("oas3-valid-schema-example")
def _schema_example(spec, opts):
    errors = _validator(spec)
    for ptr, s in _schemas(spec):
        if "$ref" in s:
            continue
        for kw in ("example", "default"):
            if kw in s:
                yield from _check_example(errors, ptr, s[kw], ptr + _p(kw))
        if isinstance(s.get("examples"), list):
            for i, v in enumerate(s["examples"]):
                yield from _check_example(errors, ptr, v, ptr + _p("examples", i))
