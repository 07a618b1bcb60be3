"""Custom lint rules (Spectral-style ``given`` / ``then``): ``given`` is a JSONPath (RFC 9535, filter expressions
included, evaluated by the ``python-jsonpath`` library) and ``then`` applies one of Spectral's core functions —
``truthy, falsy, defined, undefined, pattern, casing, enumeration, length, alphabetical, schema, xor, typedEnum``
— to the matched node or one of its fields (``field: "@key"`` is the key the node is stored under)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from standards import oaswalk
from standards.lint.base import Check, _p
from standards.loading import InputError

_CASES = {
    "camel": r"[a-z][a-zA-Z0-9]*", "pascal": r"[A-Z][a-zA-Z0-9]*", "kebab": r"[a-z0-9]+(-[a-z0-9]+)*",
    "snake": r"[a-z0-9]+(_[a-z0-9]+)*", "macro": r"[A-Z0-9]+(_[A-Z0-9]+)*", "flat": r"[a-z0-9]+",
    "cobol": r"[A-Z0-9]+(-[A-Z0-9]+)*",
}
FUNCTIONS = {"truthy", "falsy", "defined", "undefined", "pattern", "casing", "enumeration", "length",
             "alphabetical", "schema", "xor", "typedEnum"}
_BARE_LIST = re.compile(r"\[\s*([A-Za-z_$][\w$-]*(?:\s*,\s*[A-Za-z_$][\w$-]*)*)\s*\]")


def _normalise(expr: str) -> str:
    """Spectral writes member lists unquoted (``$.paths.*[get,put]``); RFC 9535 quotes names. Quote a bracket
    that holds only bare names; everything else (``*``, indexes, filters, slices) is left to the library."""
    return _BARE_LIST.sub(lambda m: "[" + ",".join(repr(x.strip()) for x in m.group(1).split(",")) + "]", expr)


@lru_cache(maxsize=256)
def compile_path(expr: str):
    import jsonpath

    if not isinstance(expr, str) or not expr.startswith("$"):
        raise InputError(f"lint rule 'given' must be a JSONPath starting with '$': {expr!r}")
    try:
        return jsonpath.compile(_normalise(expr))
    except jsonpath.JSONPathError as exc:
        raise InputError(f"invalid JSONPath {expr!r}: {exc}") from None


def _jsonpath(spec: Any, expr: str) -> list[tuple[str, Any]]:
    """``(JSON pointer, node)`` of every match."""
    path = compile_path(expr)
    return [(str(m.pointer()), m.obj) for m in path.finditer(spec)]


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
    if name == "schema":
        return _schema_fn(value, opts)
    if name == "xor":
        props = opts.get("properties") or []
        if not isinstance(value, dict):
            return None
        present_props = [p for p in props if p in value]
        return None if len(present_props) == 1 else (
            f"must have exactly one of {props}" + (f" (has {present_props})" if present_props else " (has none)"))
    if name == "typedEnum":
        return _typed_enum_fn(value)
    raise InputError(f"unknown lint function {name!r}")


def _schema_fn(value: Any, opts: dict) -> str | None:
    """Spectral's ``schema`` function: the value must be valid under ``functionOptions.schema``."""
    import jsonschema

    schema = opts.get("schema")
    if not isinstance(schema, (dict, bool)):
        raise InputError("the schema function needs functionOptions.schema (a JSON Schema)")
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    errs = sorted(cls(schema).iter_errors(value), key=lambda e: list(e.absolute_path))
    if not errs:
        return None
    e = errs[0]
    where = "/".join(str(p) for p in e.absolute_path)
    return (f"at {where}: " if where else "") + e.message + (f" (and {len(errs) - 1} more)" if len(errs) > 1 else "")


def _typed_enum_fn(value: Any) -> str | None:
    if not isinstance(value, dict) or not isinstance(value.get("enum"), list) or not isinstance(value.get("type"), str):
        return None
    py = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "object": dict, "array": list}
    t = value["type"]
    if t not in py:
        return None
    bad = [v for v in value["enum"] if not isinstance(v, py[t]) or (t in ("integer", "number") and isinstance(v, bool))]
    return None if not bad else f"enum values {bad!r} are not of type {t}"




def _custom_check(spec_rule: dict) -> Check:
    given = spec_rule.get("given")
    then = spec_rule.get("then") or {}
    givens = given if isinstance(given, list) else [given]
    thens = then if isinstance(then, list) else [then]
    for g in givens:
        if not isinstance(g, str):
            raise InputError("a custom lint rule needs 'given' (a JSONPath)")
        compile_path(g)  # syntax check now, not at the first document
    for t in thens:
        if not isinstance(t, dict) or "function" not in t:
            raise InputError("a custom lint rule needs 'then: {function: ...}'")
        if t["function"] not in FUNCTIONS:
            raise InputError(f"unknown lint function {t['function']!r} (one of {', '.join(sorted(FUNCTIONS))})")
        if t["function"] == "schema":
            _schema_fn(None, t.get("functionOptions") or {})

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
