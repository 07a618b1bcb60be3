"""Compliance pre-check: rules as data, evaluated on submit.

The packaged rule set (``registry/data/precheck_rules.yaml``) plus the enabled rules the commission added in
``registry_rule``. A rule is a condition over the proposal (see the YAML header for the operators); each
failed rule yields a finding ``{rule, severity, message, field}``. Rule definitions are validated against
:data:`RULE_SCHEMA` before they are stored or evaluated, so a bad rule is refused, never half-applied.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any


from kernel.errors import ValidationFailed

SEVERITIES = ("error", "warning", "info")
OPS = ("eq", "ne", "in", "not_in", "nonempty", "empty", "true", "false", "gt", "gte", "lt", "lte", "subset_of",
       "contains", "standards_published")

_COND = {
    "type": "object",
    "oneOf": [
        {"required": ["field", "op"], "properties": {
            "field": {"type": "string", "minLength": 1}, "op": {"enum": list(OPS)}, "value": {},
            "other": {"type": "string"}}, "additionalProperties": False},
        {"required": ["all"], "properties": {"all": {"type": "array", "items": {"$ref": "#/$defs/cond"}}},
         "additionalProperties": False},
        {"required": ["any"], "properties": {"any": {"type": "array", "items": {"$ref": "#/$defs/cond"}}},
         "additionalProperties": False},
        {"required": ["not"], "properties": {"not": {"$ref": "#/$defs/cond"}}, "additionalProperties": False},
    ],
}
RULE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["code", "severity", "field", "message", "check"],
    "additionalProperties": False,
    "properties": {
        "code": {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{1,99}$"},
        "severity": {"enum": list(SEVERITIES)},
        "field": {"type": "string", "minLength": 1, "maxLength": 100},
        "message": {"type": "string", "minLength": 1, "maxLength": 1000},
        "when": {"$ref": "#/$defs/cond"},
        "check": {"$ref": "#/$defs/cond"},
        "enabled": {"type": "boolean"},
    },
    "$defs": {"cond": _COND},
}


@cache
def _rule_validator() -> Any:
    from jsonschema import Draft202012Validator  # imported when a rule is first checked, not at start-up

    return Draft202012Validator(RULE_SCHEMA)


def rule_errors(rule: Any) -> list[dict[str, Any]]:
    return [{"field": ".".join(str(p) for p in e.absolute_path) or "(rule)", "message": e.message}
            for e in _rule_validator().iter_errors(rule)]


@cache
def packaged_rules() -> tuple[dict[str, Any], ...]:
    import yaml

    raw = resources.files("registry").joinpath("data/precheck_rules.yaml").read_text(encoding="utf-8")
    rules = yaml.safe_load(raw)["rules"]
    for rule in rules:
        problems = rule_errors(rule)
        if problems:  # pragma: no cover - guarded by the tests
            raise RuntimeError(f"packaged rule {rule.get('code')}: {problems}")
    return tuple(rules)


def derived(data: dict[str, Any]) -> dict[str, Any]:
    """The proposal plus the derived fields rules may use."""
    out = dict(data)
    s, e, b = data.get("start_year"), data.get("end_year"), data.get("budget")
    if isinstance(s, int) and isinstance(e, int):
        out["duration_years"] = max(1, e - s + 1)
        if isinstance(b, (int, float)):
            out["budget_per_year"] = b / out["duration_years"]
    from registry.proposal import interface_standards

    out["interface_standards"] = interface_standards(data)
    out["data_resources_count"] = len(data.get("data_resources") or [])
    return out


def _nonempty(v: Any) -> bool:
    if v is None:
        return False
    if isinstance(v, str):
        return bool(v.strip())
    if isinstance(v, (list, dict, tuple, set)):
        return len(v) > 0
    return True


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def holds(cond: dict[str, Any], doc: dict[str, Any], standards_ok: Callable[[str], bool]) -> bool | None:
    """True / False, or None when the field needed is absent (the rule does not apply)."""
    if "all" in cond:
        results = [holds(c, doc, standards_ok) for c in cond["all"]]
        return None if any(r is None for r in results) else all(results)
    if "any" in cond:
        results = [holds(c, doc, standards_ok) for c in cond["any"]]
        return True if any(results) else (None if all(r is None for r in results) else False)
    if "not" in cond:
        r = holds(cond["not"], doc, standards_ok)
        return None if r is None else not r
    op, value = cond["op"], cond.get("value")
    v = doc.get(cond["field"])
    if op == "nonempty":
        return _nonempty(v)
    if op == "empty":
        return not _nonempty(v)
    if op == "true":
        return v is True
    if op == "false":
        return v is not True
    if op == "contains":
        return isinstance(v, list) and value in v
    if op == "subset_of":
        other = doc.get(cond.get("other", "")) or []
        return set(v or []) <= set(other)
    if op == "standards_published":
        return all(standards_ok(ref) for ref in (v or []))
    if v is None:
        return None
    if op == "eq":
        return v == value
    if op == "ne":
        return v != value
    if op == "in":
        return v in (value or [])
    if op == "not_in":
        return v not in (value or [])
    a, b = _num(v), _num(value)
    if a is None or b is None:
        return None
    return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op]


def standards_checker(session) -> Callable[[str], bool]:
    """``ref -> bool``: the referenced standard (``NAME`` or ``NAME@VERSION``) exists and is published."""
    from kernel.errors import NotFound
    from kernel.principal import system_principal
    from standards import services as standards

    seen: dict[str, bool] = {}

    def ok(ref: str) -> bool:
        if ref not in seen:
            try:
                v = standards.version_get(session, system_principal("registry:precheck"), ref)
                seen[ref] = v.state == "published"
            except (NotFound, ValueError, Exception):  # noqa: BLE001 - a malformed ref is simply not published
                seen[ref] = False
        return seen[ref]

    return ok


def evaluate(data: dict[str, Any], rules: list[dict[str, Any]], standards_ok: Callable[[str], bool]) -> list[dict[str, Any]]:
    doc = derived(data)
    findings = []
    for rule in rules:
        if rule.get("enabled") is False:
            continue
        when = rule.get("when")
        if when is not None and holds(when, doc, standards_ok) is not True:
            continue
        result = holds(rule["check"], doc, standards_ok)
        if result is False:
            finding = {"rule": rule["code"], "severity": rule["severity"], "message": rule["message"],
                       "field": rule["field"]}
            if rule["check"].get("op") == "subset_of":
                missing = sorted(set(doc.get(rule["check"]["field"]) or []) - set(doc.get(rule["check"].get("other", "")) or []))
                finding["details"] = {"missing": missing}
            if rule["check"].get("op") == "standards_published":
                finding["details"] = {"unpublished": [r for r in doc.get(rule["check"]["field"]) or [] if not standards_ok(r)]}
            findings.append(finding)
    order = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(findings, key=lambda f: (order[f["severity"]], f["rule"]))


def active_rules(session) -> list[dict[str, Any]]:
    """Packaged rules, then the commission's enabled database rules (a database rule with the code of a
    packaged rule replaces it)."""
    from sqlmodel import select

    from registry.models import Rule

    rules = {r["code"]: dict(r) for r in packaged_rules()}
    for row in session.exec(select(Rule).order_by(Rule.created_at)):
        definition = {**row.definition, "code": row.code, "severity": row.severity, "enabled": row.enabled}
        rules[row.code] = definition
    return list(rules.values())


def run(session, data: dict[str, Any]) -> dict[str, Any]:
    from kernel.clock import utcnow

    findings = evaluate(data, active_rules(session), standards_checker(session))
    return {"checked_at": utcnow().isoformat(), "passed": not any(f["severity"] == "error" for f in findings),
            "counts": {s: sum(1 for f in findings if f["severity"] == s) for s in SEVERITIES},
            "findings": findings}


def check_rule(rule: Any) -> dict[str, Any]:
    problems = rule_errors(rule)
    if problems:
        raise ValidationFailed("the rule is invalid", errors=problems)
    return rule
