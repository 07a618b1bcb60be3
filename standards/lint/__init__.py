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

from importlib import resources
from typing import Any

from standards.lint import custom, oas, spectral  # noqa: F401 - registers the built-in rules
from standards.lint.base import BUILTIN, Check, rule  # noqa: F401 - re-exported
from standards.lint.custom import _custom_check
from standards.loading import InputError, parse_yaml
from standards.reports import Report

SEVERITIES = {"error": "error", "warn": "warning", "warning": "warning", "info": "info", "hint": "hint",
              "off": "off", 0: "error", 1: "warning", 2: "info", 3: "hint"}


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
