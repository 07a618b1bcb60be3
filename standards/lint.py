"""Governance lint of OpenAPI documents, after Spectral's ``oas`` ruleset.

A ruleset is YAML::

    extends: citygov            # the built-in defaults (rules/lint-default.yaml); or "none"
    rules:
      operation-description: off          # disable
      info-contact: error                 # change severity
      citygov-path-kebab-case: {severity: warn}
      my-rule:                            # the city's own rule (Spectral-style given/then)
        description: every operation has a summary
        given: "$.paths.*[get,put,post,delete,patch,options,head,trace]"
        severity: error
        then: {field: summary, function: truthy}

Built-in rules are Python checks named as in Spectral (``operation-operationId``,
``operation-operationId-unique``, ``path-params`` …) plus citygov's own (``citygov-*``). Custom rules use a
small JSONPath subset (``$``, ``.key``, ``.*``, ``[a,b]``, ``..key``) and Spectral's core functions
``truthy, falsy, defined, undefined, pattern, casing, enumeration, length, alphabetical``.
Each finding: ``rule``, ``level`` (error | warning | info | hint), ``pointer``, ``message``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from importlib import resources
from typing import Any

from standards import oaswalk
from standards.loading import InputError, parse_yaml
from standards.oaswalk import METHODS
from standards.reports import Report

SEVERITIES = {"error": "error", "warn": "warning", "warning": "warning", "info": "info", "hint": "hint",
              "off": "off", 0: "error", 1: "warning", 2: "info", 3: "hint"}


_p = oaswalk.ptr


def _ops(spec: dict) -> Iterator[tuple[str, str, dict, str]]:
    yield from oaswalk.operations(spec)


Check = Callable[[dict, dict], Iterator[tuple[str, str]]]  # (spec, options) -> (pointer, message)
BUILTIN: dict[str, Check] = {}


def rule(name: str):
    def reg(fn: Check) -> Check:
        BUILTIN[name] = fn
        return fn

    return reg


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


def _resolve(spec: dict, node: Any) -> dict:
    node = oaswalk.resolve(spec, node)
    return node if isinstance(node, dict) else {}


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


def _schemas(spec: dict) -> Iterator[tuple[str, dict]]:
    """Every schema-like node (walks the document; bounded)."""
    stack: list[tuple[Any, str, bool]] = [(spec, "", False)]
    n = 0
    while stack and n < 500_000:
        node, ptr, is_schema = stack.pop()
        n += 1
        if isinstance(node, dict):
            if is_schema:
                yield ptr, node
            for k, v in node.items():
                child_schema = k == "schema" or (is_schema and k in (
                    "items", "additionalProperties", "not", "contains", "if", "then", "else"))
                if k in ("schemas",) and ptr == "/components":
                    for name, s in (v or {}).items():
                        stack.append((s, ptr + _p(k, name), True))
                    continue
                if is_schema and k in ("properties", "patternProperties") and isinstance(v, dict):
                    for name, s in v.items():
                        stack.append((s, ptr + _p(k, name), True))
                    continue
                if is_schema and k in ("allOf", "anyOf", "oneOf", "prefixItems") and isinstance(v, list):
                    for i, s in enumerate(v):
                        stack.append((s, ptr + _p(k, i), True))
                    continue
                if k in ("enum", "example", "examples", "default", "const"):
                    continue
                stack.append((v, ptr + _p(k), child_schema))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                stack.append((v, ptr + _p(i), False))


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


# ------------------------------------------------------------------------------------- custom rules


_CASES = {
    "camel": r"[a-z][a-zA-Z0-9]*", "pascal": r"[A-Z][a-zA-Z0-9]*", "kebab": r"[a-z0-9]+(-[a-z0-9]+)*",
    "snake": r"[a-z0-9]+(_[a-z0-9]+)*", "macro": r"[A-Z0-9]+(_[A-Z0-9]+)*", "flat": r"[a-z0-9]+",
    "cobol": r"[A-Z0-9]+(-[A-Z0-9]+)*",
}


def _jsonpath(spec: Any, expr: str) -> list[tuple[str, Any]]:
    if not expr.startswith("$"):
        raise InputError(f"lint rule 'given' must start with '$': {expr!r}")
    tokens = re.findall(r"\.\.[^.\[]+|\.[^.\[]+|\[[^\]]*\]", expr[1:])
    if "".join(tokens) != expr[1:]:
        raise InputError(f"unsupported JSONPath {expr!r} (supported: $, .key, .*, [a,b], ..key)")
    current = [("", spec)]
    for tok in tokens:
        nxt: list[tuple[str, Any]] = []
        if tok.startswith(".."):
            key = tok[2:]
            for ptr, node in current:
                stack = [(ptr, node)]
                while stack:
                    p, n = stack.pop()
                    if isinstance(n, dict):
                        for k, v in n.items():
                            if k == key:
                                nxt.append((p + _p(k), v))
                            stack.append((p + _p(k), v))
                    elif isinstance(n, list):
                        stack.extend((p + _p(i), v) for i, v in enumerate(n))
        else:
            keys = [k.strip().strip("'\"") for k in tok[1:-1].split(",")] if tok.startswith("[") else [tok[1:]]
            for ptr, node in current:
                if keys == ["*"]:
                    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
                    nxt.extend((ptr + _p(k), v) for k, v in items)
                else:
                    for k in keys:
                        if isinstance(node, dict) and k in node:
                            nxt.append((ptr + _p(k), node[k]))
                        elif isinstance(node, list) and k.isdigit() and int(k) < len(node):
                            nxt.append((ptr + _p(k), node[int(k)]))
        current = nxt
    return current


def _function(name: str, value: Any, present: bool, opts: dict) -> str | None:
    """None if the value passes, else a message."""
    if name == "truthy":
        return None if present and value not in (None, "", False, [], {}) else "is missing or falsy"
    if name == "falsy":
        return None if not present or value in (None, "", False, [], {}) else "must be falsy"
    if name == "defined":
        return None if present else "must be defined"
    if name == "undefined":
        return None if not present else "must not be defined"
    if not present:
        return None
    if name == "pattern":
        s = str(value)
        if "match" in opts and not re.search(opts["match"], s):
            return f"{s!r} does not match {opts['match']!r}"
        if "notMatch" in opts and re.search(opts["notMatch"], s):
            return f"{s!r} matches {opts['notMatch']!r}"
        return None
    if name == "casing":
        rx = _CASES.get(opts.get("type", "camel"))
        if rx is None:
            raise InputError(f"unknown casing type {opts.get('type')!r}")
        return None if isinstance(value, str) and re.fullmatch(rx, value) else f"{value!r} is not {opts.get('type')} case"
    if name == "enumeration":
        return None if value in (opts.get("values") or []) else f"{value!r} is not one of {opts.get('values')}"
    if name == "length":
        n = len(value) if isinstance(value, (str, list, dict)) else value
        if "min" in opts and n < opts["min"]:
            return f"length {n} is below {opts['min']}"
        if "max" in opts and n > opts["max"]:
            return f"length {n} is above {opts['max']}"
        return None
    if name == "alphabetical":
        if isinstance(value, list):
            keyed = [v.get(opts["keyedBy"]) if isinstance(v, dict) and opts.get("keyedBy") else v for v in value]
        elif isinstance(value, dict):
            keyed = list(value)
        else:
            return None
        try:
            return None if keyed == sorted(keyed) else "is not in alphabetical order"
        except TypeError:
            return None
    raise InputError(f"unknown lint function {name!r}")


def _custom_check(spec_rule: dict) -> Check:
    given = spec_rule.get("given")
    then = spec_rule.get("then") or {}
    givens = given if isinstance(given, list) else [given]
    thens = then if isinstance(then, list) else [then]
    for g in givens:
        if not isinstance(g, str):
            raise InputError("a custom lint rule needs 'given' (a JSONPath)")
        _jsonpath({}, g)  # syntax check now, not at the first document
    for t in thens:
        if not isinstance(t, dict) or "function" not in t:
            raise InputError("a custom lint rule needs 'then: {function: ...}'")

    def check(spec, opts):
        for g in givens:
            for ptr, node in _jsonpath(spec, g):
                for t in thens:
                    field = t.get("field")
                    if field is None:
                        present, value, fptr = True, node, ptr
                    elif field == "@key":
                        present, value, fptr = True, oaswalk.unesc(ptr.rsplit("/", 1)[-1]), ptr
                    else:
                        present = isinstance(node, dict) and field in node
                        value = node.get(field) if isinstance(node, dict) else None
                        fptr = ptr + _p(field)
                    msg = _function(t["function"], value, present, t.get("functionOptions") or {})
                    if msg:
                        label = spec_rule.get("message") or spec_rule.get("description") or ""
                        yield fptr, (f"{label}: " if label else "") + (f"{field} " if field else "") + msg

    return check


# ------------------------------------------------------------------------------------------ rulesets


def default_ruleset() -> dict[str, Any]:
    text = resources.files("standards").joinpath("rules/lint-default.yaml").read_text("utf-8")
    return parse_yaml(text)


def load_ruleset(data: bytes | str | dict | None) -> dict[str, dict[str, Any]]:
    """Resolve a ruleset (YAML text or dict) into ``{rule_id: {severity, check}}``."""
    base = default_ruleset()
    user = data if isinstance(data, dict) else (parse_yaml(data) if data else {})
    if user is None:
        user = {}
    if not isinstance(user, dict):
        raise InputError("a lint ruleset must be a mapping with 'rules:'")
    rules: dict[str, dict[str, Any]] = {}
    if user.get("extends", "citygov") not in ("none", None, "off"):
        for rid, conf in (base.get("rules") or {}).items():
            rules[rid] = _rule_conf(rid, conf)
    for rid, conf in (user.get("rules") or {}).items():
        prev = rules.get(rid)
        if isinstance(conf, (str, int)) or conf is False or conf is True:
            if prev is None and rid not in BUILTIN:
                raise InputError(f"lint rule {rid!r} is not a built-in rule: give it 'given' and 'then'")
            sev = "off" if conf is False else ("warning" if conf is True else SEVERITIES.get(conf))
            if sev is None:
                raise InputError(f"lint rule {rid!r}: unknown severity {conf!r}")
            rules[rid] = {**(prev or _rule_conf(rid, {})), "severity": sev}
        elif isinstance(conf, dict):
            merged = {**(prev or {}), **_rule_conf(rid, conf, prev)}
            rules[rid] = merged
        else:
            raise InputError(f"lint rule {rid!r}: expected a severity or a mapping")
    return rules


def _rule_conf(rid: str, conf: Any, prev: dict | None = None) -> dict[str, Any]:
    if isinstance(conf, str):
        conf = {"severity": conf}
    conf = dict(conf or {})
    sev = SEVERITIES.get(conf.get("severity", (prev or {}).get("severity", "warn")))
    if sev is None:
        raise InputError(f"lint rule {rid!r}: unknown severity {conf.get('severity')!r}")
    if conf.get("enabled") is False:
        sev = "off"
    if "given" in conf or "then" in conf:
        check = _custom_check(conf)
    elif rid in BUILTIN:
        check = BUILTIN[rid]
    elif prev is not None:
        check = prev["check"]
    else:
        raise InputError(f"lint rule {rid!r} is not a built-in rule: give it 'given' and 'then'")
    return {"severity": sev, "check": check, "options": conf.get("options") or {},
            "description": conf.get("description", (prev or {}).get("description", ""))}


def lint(spec: Any, ruleset: bytes | str | dict | None = None, *, subject: str = "",
         max_examples: int = 1000) -> Report:
    rules = load_ruleset(ruleset)
    report = Report("lint", subject=subject, max_examples=max_examples)
    if not isinstance(spec, dict):
        report.add({"rule": "oas-document", "level": "error", "pointer": "", "message": "not an OpenAPI object"})
        return report
    from standards.openapi_engine import refuse_remote_refs

    refuse_remote_refs(spec, subject or "the document")
    for rid, conf in rules.items():
        if conf["severity"] == "off":
            continue
        try:
            for pointer, message in conf["check"](spec, conf["options"]):
                report.add({"rule": rid, "level": conf["severity"], "pointer": pointer, "message": message})
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001 - a rule must never crash the lint
            report.add({"rule": rid, "level": "warning", "pointer": "",
                        "message": f"rule could not run on this document: {type(exc).__name__}: {exc}"})
    return report
