"""Built-in rules named as in Spectral's ``oas`` ruleset (operations, paths, info, servers, tags, enums, $ref
siblings, unused components, security) and citygov's own (``citygov-*``)."""

from __future__ import annotations

import re

from standards.lint.base import METHODS, _ops, _p, _resolve, _schemas, rule


@rule("operation-operationId")
def _op_id(spec, opts):
    for path, m, op, ptr in _ops(spec):
        if not op.get("operationId"):
            yield ptr, f"{m.upper()} {path} has no operationId"


@rule("operation-operationId-unique")
def _op_id_unique(spec, opts):
    seen: dict[str, str] = {}
    for path, m, op, ptr in _ops(spec):
        oid = op.get("operationId")
        if isinstance(oid, str):
            if oid in seen:
                yield ptr + "/operationId", f"operationId {oid!r} is also used by {seen[oid]}"
            else:
                seen[oid] = f"{m.upper()} {path}"


@rule("operation-operationId-valid-in-url")
def _op_id_url(spec, opts):
    for path, m, op, ptr in _ops(spec):
        oid = op.get("operationId")
        if isinstance(oid, str) and not re.fullmatch(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]*", oid):
            yield ptr + "/operationId", f"operationId {oid!r} has characters that are invalid in a URL"


@rule("operation-description")
def _op_desc(spec, opts):
    for path, m, op, ptr in _ops(spec):
        if not (op.get("description") or "").strip():
            yield ptr, f"{m.upper()} {path} has no description"


@rule("operation-tags")
def _op_tags(spec, opts):
    for path, m, op, ptr in _ops(spec):
        if not op.get("tags"):
            yield ptr, f"{m.upper()} {path} has no tags"


@rule("operation-tag-defined")
def _op_tag_defined(spec, opts):
    defined = {t.get("name") for t in spec.get("tags") or [] if isinstance(t, dict)}
    for path, m, op, ptr in _ops(spec):
        for i, t in enumerate(op.get("tags") or []):
            if t not in defined:
                yield ptr + _p("tags", i), f"tag {t!r} is not defined in the global tags"


@rule("operation-success-response")
def _op_success(spec, opts):
    for path, m, op, ptr in _ops(spec):
        codes = [str(c) for c in (op.get("responses") or {})]
        if not any(c.startswith(("2", "3")) or c.upper() in ("2XX", "3XX") for c in codes):
            yield ptr + "/responses", f"{m.upper()} {path} declares no 2xx/3xx response"


@rule("path-params")
def _path_params(spec, opts):
    for path, item in (spec.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        names = re.findall(r"{([^}]+)}", path)
        if len(names) != len(set(names)):
            yield _p("paths", path), f"path {path} repeats a parameter name"
        common = {p.get("name") for p in item.get("parameters") or [] if isinstance(p, dict) and p.get("in") == "path"}
        for m in METHODS:
            op = item.get(m)
            if not isinstance(op, dict):
                continue
            declared = set(common) | {p.get("name") for p in op.get("parameters") or []
                                      if isinstance(p, dict) and p.get("in") == "path"}
            refs = [p for p in op.get("parameters") or [] if isinstance(p, dict) and "$ref" in p]
            declared |= {_resolve(spec, p).get("name") for p in refs if _resolve(spec, p).get("in") == "path"}
            for n in names:
                if n not in declared:
                    yield _p("paths", path, m), f"path parameter {n!r} of {path} is not declared by {m.upper()}"
            for n in declared - set(names) - {None}:
                yield _p("paths", path, m), f"{m.upper()} {path} declares path parameter {n!r} not in the path"


@rule("path-keys-no-trailing-slash")
def _trailing(spec, opts):
    for path in spec.get("paths") or {}:
        if len(path) > 1 and path.endswith("/"):
            yield _p("paths", path), f"path {path} ends with a slash"


@rule("path-not-include-query")
def _query(spec, opts):
    for path in spec.get("paths") or {}:
        if "?" in path:
            yield _p("paths", path), f"path {path} includes a query string"


@rule("info-contact")
def _contact(spec, opts):
    if not (spec.get("info") or {}).get("contact"):
        yield "/info", "info has no contact"


@rule("info-description")
def _info_desc(spec, opts):
    if not ((spec.get("info") or {}).get("description") or "").strip():
        yield "/info", "info has no description"


@rule("info-license")
def _license(spec, opts):
    if not (spec.get("info") or {}).get("license"):
        yield "/info", "info has no license"


@rule("oas3-api-servers")
def _servers(spec, opts):
    servers = spec.get("servers")
    if not servers:
        yield "", "no servers are declared"
        return
    for i, s in enumerate(servers):
        if not isinstance(s, dict) or not s.get("url"):
            yield _p("servers", i), "server without url"


@rule("oas3-server-trailing-slash")
def _server_slash(spec, opts):
    for i, s in enumerate(spec.get("servers") or []):
        url = s.get("url", "") if isinstance(s, dict) else ""
        if len(url) > 1 and url.endswith("/"):
            yield _p("servers", i, "url"), f"server url {url!r} ends with a slash"


@rule("openapi-tags")
def _global_tags(spec, opts):
    if not spec.get("tags"):
        yield "", "no global tags are defined"


@rule("tag-description")
def _tag_desc(spec, opts):
    for i, t in enumerate(spec.get("tags") or []):
        if isinstance(t, dict) and not t.get("description"):
            yield _p("tags", i), f"tag {t.get('name')!r} has no description"


@rule("typed-enum")
def _typed_enum(spec, opts):
    pytypes = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "object": dict, "array": list}
    for ptr, s in _schemas(spec):
        t, enum = s.get("type"), s.get("enum")
        if isinstance(t, str) and t in pytypes and isinstance(enum, list):
            for i, v in enumerate(enum):
                if v is None and (s.get("nullable") or False):
                    continue
                ok = isinstance(v, pytypes[t]) and not (t in ("integer", "number") and isinstance(v, bool))
                if not ok:
                    yield ptr + _p("enum", i), f"enum value {v!r} is not of type {t}"


@rule("duplicated-entry-in-enum")
def _dup_enum(spec, opts):
    for ptr, s in _schemas(spec):
        enum = s.get("enum")
        if isinstance(enum, list):
            seen = []
            for i, v in enumerate(enum):
                if v in seen:
                    yield ptr + _p("enum", i), f"enum value {v!r} is duplicated"
                seen.append(v)


@rule("no-$ref-siblings")
def _ref_siblings(spec, opts):
    if str(spec.get("openapi", "")).startswith("3.1"):
        return
    for ptr, s in _schemas(spec):
        if "$ref" in s and len(set(s) - {"$ref"}) > 0:
            yield ptr, "$ref has sibling keywords, which OpenAPI 3.0 ignores"


@rule("oas3-unused-component")
def _unused(spec, opts):
    comps = spec.get("components") or {}
    refs: set[str] = set()
    stack = [spec]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            r = node.get("$ref")
            if isinstance(r, str):
                refs.add(r)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    for kind in ("schemas", "responses", "parameters", "examples", "requestBodies", "headers"):
        for name in comps.get(kind) or {}:
            if f"#/components/{kind}/{name}" not in refs and \
                    "#" + _p("components", kind, name) not in refs:
                yield _p("components", kind, name), f"component {kind}/{name} is never referenced"


@rule("oas3-operation-security-defined")
def _sec_defined(spec, opts):
    schemes = set(((spec.get("components") or {}).get("securitySchemes") or {}))
    reqs = [("/security", spec.get("security") or [])]
    reqs += [(ptr + "/security", op.get("security") or []) for _, _, op, ptr in _ops(spec)]
    for ptr, lst in reqs:
        for i, req in enumerate(lst):
            for name in (req or {}):
                if name not in schemes:
                    yield ptr + _p(i), f"security scheme {name!r} is not defined in components"


@rule("citygov-error-responses")
def _errors(spec, opts):
    for path, m, op, ptr in _ops(spec):
        codes = [str(c) for c in (op.get("responses") or {})]
        if not any(c.startswith(("4", "5")) or c in ("default", "4XX", "5XX") for c in codes):
            yield ptr + "/responses", f"{m.upper()} {path} declares no error response (4xx/5xx/default)"


@rule("citygov-path-kebab-case")
def _kebab(spec, opts):
    for path in spec.get("paths") or {}:
        for seg in path.strip("/").split("/"):
            if seg and not seg.startswith("{") and not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+)?", seg):
                yield _p("paths", path), f"path segment {seg!r} is not kebab-case"
                break


@rule("citygov-operationId-camel-case")
def _camel(spec, opts):
    for path, m, op, ptr in _ops(spec):
        oid = op.get("operationId")
        if isinstance(oid, str) and not re.fullmatch(r"[a-z][a-zA-Z0-9]*", oid):
            yield ptr + "/operationId", f"operationId {oid!r} is not camelCase"


@rule("citygov-versioned-server")
def _versioned(spec, opts):
    servers = spec.get("servers") or []
    if servers and not any(re.search(r"/v\d+", str(s.get("url", ""))) for s in servers if isinstance(s, dict)):
        yield "/servers", "no server URL carries a major version (/v1)"
