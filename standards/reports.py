"""Validation reports: counts per rule, the first N examples of each, and renderers
(text, json, JUnit XML, SARIF 2.1.0)."""

from __future__ import annotations

import json
from collections import Counter
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

DEFAULT_EXAMPLES = 20
FORMATS = ("text", "json", "junit", "sarif")
MAX_CASES = 200_000  # records kept for the JUnit rendering (one testcase each); beyond that they are counted
CASE_FINDINGS = 20  # findings kept per record
# records are kept only when a per-record rendering was asked for (``--format junit``): streaming validation
# stays constant-memory otherwise
keep_cases: ContextVar[bool] = ContextVar("citygov_report_keep_cases", default=False)


@dataclass
class Report:
    """Outcome of one check. ``findings`` are dicts with at least ``rule``, ``message`` and a location
    (``pointer``/``line``/``file`` or ``focus_node``/``path``/``component``) and ``level``
    (``error``/``warning``/``info``)."""

    kind: str  # "validate", "diff", "lint", "compat", "publish"
    subject: str = ""
    max_examples: int = DEFAULT_EXAMPLES
    checked: int = 0  # records / documents / focus nodes examined
    counts: Counter = field(default_factory=Counter)
    level_counts: Counter = field(default_factory=Counter)
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    # one entry per validated record / document: {"name", "file", "line", "findings": [...], "errors": n}
    cases: list[dict[str, Any]] = field(default_factory=list)
    cases_dropped: int = 0

    def case(self, name: str, findings: list[dict[str, Any]], *, file: str | None = None,
             line: int | None = None) -> None:
        """Record one validated record or document and its findings (passed ones too: CI tools count them)."""
        if not keep_cases.get():
            return
        if len(self.cases) >= MAX_CASES:
            self.cases_dropped += 1
            return
        errors = sum(1 for f in findings if f.get("level", "error") == "error")
        self.cases.append({"name": name, "file": file, "line": line, "errors": errors, "total": len(findings),
                           "findings": findings[:CASE_FINDINGS]})

    def add(self, finding: dict[str, Any]) -> None:
        rule = str(finding.get("rule") or "error")
        level = finding.setdefault("level", "error")
        self.counts[rule] += 1
        self.level_counts[level] += 1
        bucket = self.examples.setdefault(rule, [])
        if len(bucket) < self.max_examples:
            bucket.append(finding)

    def merge(self, sub: Report) -> None:
        """Add another report's counts, examples and records to this one."""
        for rule, n in sub.counts.items():
            self.counts[rule] += n
        for lvl, n in sub.level_counts.items():
            self.level_counts[lvl] += n
        for rule, items in sub.examples.items():
            bucket = self.examples.setdefault(rule, [])
            bucket.extend(items[: max(0, self.max_examples - len(bucket))])
        room = max(0, MAX_CASES - len(self.cases))
        self.cases.extend(sub.cases[:room])
        self.cases_dropped += sub.cases_dropped + max(0, len(sub.cases) - room)
        self.checked += sub.checked

    def extend(self, findings: list[dict[str, Any]]) -> None:
        for f in findings:
            self.add(f)

    @property
    def errors(self) -> int:
        return self.level_counts.get("error", 0)

    @property
    def ok(self) -> bool:
        return self.errors == 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def findings(self) -> list[dict[str, Any]]:
        out = []
        for items in self.examples.values():
            out.extend(items)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "subject": self.subject,
            "valid": self.ok,
            "checked": self.checked,
            "total": self.total,
            "levels": dict(self.level_counts),
            "counts": dict(self.counts.most_common()),
            "examples": self.examples,
            "truncated": {r: n - len(self.examples.get(r, [])) for r, n in self.counts.items()
                          if n > len(self.examples.get(r, []))},
            **({"meta": self.meta} if self.meta else {}),
        }


def location(f: dict[str, Any]) -> str:
    parts = []
    if f.get("file"):
        parts.append(str(f["file"]))
    if f.get("line"):
        parts.append(f"line {f['line']}")
    if f.get("pointer") is not None and f.get("pointer") != "":
        parts.append(str(f["pointer"]))
    elif "pointer" in f and "focus_node" not in f and not f.get("old_pointer") and not f.get("new_pointer"):
        parts.append("(root)")
    if f.get("old_pointer") or f.get("new_pointer"):
        parts.append(f"old {f.get('old_pointer') or '-'} → new {f.get('new_pointer') or '-'}")
    if f.get("focus_node"):
        parts.append(f"focus {f['focus_node']}")
        if f.get("path"):
            parts.append(f"path {f['path']}")
    return ": ".join([", ".join(parts)]) if parts else ""


def render_text(report: Report) -> str:
    lines = []
    status = "valid" if report.ok else "INVALID"
    if report.kind == "diff":
        status = "no breaking changes" if report.ok else "BREAKING"
    head = f"{report.kind}: {report.subject} — {status}" if report.subject else f"{report.kind}: {status}"
    lines.append(head)
    if report.checked:
        lines.append(f"checked: {report.checked}")
    if report.total:
        lines.append("findings: " + ", ".join(f"{lvl} {n}" for lvl, n in sorted(report.level_counts.items())))
        for rule, n in report.counts.most_common():
            lines.append(f"  {rule}: {n}")
        lines.append("")
        for f in report.findings():
            loc = location(f)
            lines.append(f"[{f.get('level', 'error')}] {f.get('rule')}: {f.get('message')}" + (f"  @ {loc}" if loc else ""))
        trunc = report.to_dict()["truncated"]
        if trunc:
            lines.append("(" + ", ".join(f"{n} more {r}" for r, n in trunc.items()) + " not shown)")
    return "\n".join(lines) + "\n"


def render_json(report: Report) -> str:
    return json.dumps(report.to_dict(), ensure_ascii=False, indent=2, default=str) + "\n"


def render_junit(report: Report) -> str:
    """One testcase per validated record / document (passed ones included) with that record's findings in its
    ``failure``; reports without records (lint, diff) have one testcase per rule."""
    if report.cases:
        return _junit_cases(report)
    tests = max(len(report.counts), 1)
    failures = sum(1 for r in report.counts if any(f.get("level") == "error" for f in report.examples.get(r, [])))
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<testsuites name={quoteattr("citygov " + report.kind)} tests="{tests}" failures="{failures}">',
           f'  <testsuite name={quoteattr(report.subject or report.kind)} tests="{tests}" failures="{failures}">']
    if not report.counts:
        out.append(f'    <testcase classname={quoteattr(report.kind)} name={quoteattr(report.subject or "all")}/>')
    for rule, n in report.counts.most_common():
        ex = report.examples.get(rule, [])
        is_err = any(f.get("level") == "error" for f in ex)
        out.append(f'    <testcase classname={quoteattr(report.kind)} name={quoteattr(rule)}>')
        body = "\n".join(f"{location(f)}: {f.get('message')}" for f in ex)
        tag = "failure" if is_err else "system-out"
        if tag == "failure":
            out.append(f'      <failure message={quoteattr(f"{n} finding(s) of {rule}")} type={quoteattr(rule)}>'
                       f'{escape(body)}</failure>')
        else:
            out.append(f"      <system-out>{escape(body)}</system-out>")
        out.append("    </testcase>")
    out += ["  </testsuite>", "</testsuites>"]
    return "\n".join(out) + "\n"


def _junit_cases(report: Report) -> str:
    by_file: dict[str, list[dict[str, Any]]] = {}
    for c in report.cases:
        by_file.setdefault(c.get("file") or report.subject or report.kind, []).append(c)
    tests = len(report.cases)
    failures = sum(1 for c in report.cases if c["errors"])
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<testsuites name={quoteattr("citygov " + report.kind)} tests="{tests}" failures="{failures}">']
    for fname, cases in by_file.items():
        nf = sum(1 for c in cases if c["errors"])
        out.append(f'  <testsuite name={quoteattr(fname)} tests="{len(cases)}" failures="{nf}">')
        for c in cases:
            out.append(f'    <testcase classname={quoteattr(fname)} name={quoteattr(c["name"])}'
                       + ("/>" if not c["total"] else ">"))
            if not c["total"]:
                continue
            body = "\n".join(f"[{f.get('level', 'error')}] {f.get('rule')}: {f.get('message')}"
                             + (f" @ {location(f)}" if location(f) else "") for f in c["findings"])
            if c["total"] > len(c["findings"]):
                body += f"\n({c['total'] - len(c['findings'])} more)"
            if c["errors"]:
                rules = sorted({str(f.get("rule")) for f in c["findings"]})
                msg = quoteattr(f"{c['errors']} error(s)")
                out.append(f'      <failure message={msg} type={quoteattr(", ".join(rules))}>{escape(body)}</failure>')
            else:
                out.append(f"      <system-out>{escape(body)}</system-out>")
            out.append("    </testcase>")
        out.append("  </testsuite>")
    if report.cases_dropped:
        out.append(f"  <!-- {report.cases_dropped} more records not listed (limit {MAX_CASES}) -->")
    out.append("</testsuites>")
    return "\n".join(out) + "\n"


_SARIF_LEVEL = {"error": "error", "warning": "warning", "warn": "warning", "info": "note", "hint": "note"}


def render_sarif(report: Report) -> str:
    rules = [{"id": r, "shortDescription": {"text": r}} for r in report.counts]
    results = []
    for f in report.findings():
        res: dict[str, Any] = {
            "ruleId": str(f.get("rule")),
            "level": _SARIF_LEVEL.get(str(f.get("level")), "error"),
            "message": {"text": str(f.get("message"))},
        }
        phys: dict[str, Any] = {}
        uri = f.get("file") or report.subject
        if uri:
            phys["artifactLocation"] = {"uri": str(uri)}
        if f.get("line"):
            phys["region"] = {"startLine": int(f["line"]), "startColumn": int(f.get("column") or 1)}
        loc: dict[str, Any] = {}
        if phys:
            loc["physicalLocation"] = phys
        logical = f.get("pointer") or f.get("new_pointer") or f.get("old_pointer") or f.get("focus_node")
        if logical:
            loc["logicalLocations"] = [{"fullyQualifiedName": str(logical)}]
        if loc:
            res["locations"] = [loc]
        results.append(res)
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "citygov-standards", "informationUri": "https://citygov.example/standards",
                                "rules": rules}},
            "results": results,
        }],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def render(report: Report, fmt: str = "text") -> str:
    if fmt == "text":
        return render_text(report)
    if fmt == "json":
        return render_json(report)
    if fmt == "junit":
        return render_junit(report)
    if fmt == "sarif":
        return render_sarif(report)
    raise ValueError(f"unknown format {fmt!r}")
