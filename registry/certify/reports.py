"""Renderers of a certification report: text, JSON, JUnit XML (one test case per operation and check),
SARIF 2.1.0 and a self-contained HTML page."""

from __future__ import annotations

import html
import json
from typing import Any
from xml.sax.saxutils import escape, quoteattr

FORMATS = ("text", "json", "junit", "sarif", "html")
EXTENSIONS = {"text": "txt", "json": "json", "junit": "xml", "sarif": "sarif", "html": "html"}
PER_OPERATION = ("traffic", "probe", "conformance")


def _where(f: dict[str, Any]) -> str:
    bits = []
    if f.get("file"):
        bits.append(str(f["file"]))
    if "entry" in f:
        bits.append(f"entry {f['entry']}")
    if "probe" in f:
        bits.append(f"probe request {f['probe']}")
    if f.get("operation"):
        bits.append(str(f["operation"]))
    if f.get("part"):
        bits.append(f"part {f['part']}")
    if f.get("document"):
        bits.append(f"against {f['document']}")
    if f.get("pointer"):
        bits.append(str(f["pointer"]))
    return ", ".join(bits)


def render_text(r: dict[str, Any]) -> str:
    s = r["summary"]
    lines = [f"certification: {r['vendor']['file']} against {r['standard']['ref']} — "
             + ("CONFORMANT" if r["conformant"] else "NOT CONFORMANT")]
    for c in r["checks"]:
        lines.append(f"  [{c['status']:>7}] {c['id']}: {c['errors']} error(s), {c['warnings']} warning(s)"
                     + (f" — {c['note']}" if c.get("note") else ""))
    lines.append(f"  operations: {s['implemented']}/{s['standard_operations']} implemented, "
                 f"{s['exercised']} exercised; {s['entries']} HAR entries; {s['extra_operations']} extra")
    if r.get("extra_operations"):
        lines.append("  extra operations: " + ", ".join(r["extra_operations"]))
    for c in r["coverage"]:
        lines.append(f"    {c['operation']}: {'implemented' if c['implemented'] else 'MISSING'}, "
                     f"traffic {c['traffic']}, probe {c['probe']}, errors {c['errors']}")
    if r["findings"]:
        lines.append("")
    for f in r["findings"]:
        lines.append(f"[{f['level']}] {f['check']}/{f.get('rule', '')}: {f.get('message', '')}"
                     + (f"  @ {_where(f)}" if _where(f) else ""))
    if r.get("findings_truncated"):
        lines.append(f"({r['findings_truncated']} more findings not shown)")
    return "\n".join(lines) + "\n"


def render_json(r: dict[str, Any]) -> str:
    return json.dumps(r, ensure_ascii=False, indent=2, default=str) + "\n"


def render_junit(r: dict[str, Any]) -> str:
    """A test suite per check; in it a test case per standard operation (per-operation checks) or one for
    the document, plus one per extra operation exercised; errors are failures, skipped checks skipped."""
    suites = []
    total_tests = total_fail = 0
    ops = [c["operation"] for c in r["coverage"]]
    for c in r["checks"]:
        cid = c["id"]
        mine = [f for f in r["findings"] if f["check"] == cid]
        cases = []
        if cid in PER_OPERATION and ops:
            names = list(ops)
            extra_names = sorted({f["operation"] for f in mine if f.get("operation") and f["operation"] not in names})
            names += extra_names
            unattributed = [f for f in mine if not f.get("operation")]
            for name in names:
                cases.append((name, [f for f in mine if f.get("operation") == name]))
            if unattributed or not names:
                cases.append(("(unmatched)" if cid != "conformance" else "(document)", unattributed))
        else:
            cases.append(("document", mine))
        out = []
        fails = 0
        for name, fs in cases:
            errs = [f for f in fs if f["level"] == "error"]
            out.append(f'    <testcase classname={quoteattr(cid)} name={quoteattr(name)}>')
            if c["status"] == "skipped":
                out.append(f'      <skipped message={quoteattr(c.get("note", "skipped"))}/>')
            elif errs:
                fails += 1
                body = "\n".join(f"{_where(f)}: {f.get('message', '')}" for f in errs)
                out.append(f'      <failure message={quoteattr(f"{len(errs)} error(s)")} type={quoteattr(cid)}>'
                           f"{escape(body)}</failure>")
            others = [f for f in fs if f["level"] != "error"]
            if others:
                out.append("      <system-out>" + escape("\n".join(f"[{f['level']}] {_where(f)}: {f.get('message', '')}"
                                                                for f in others)) + "</system-out>")
            out.append("    </testcase>")
        skipped = len(cases) if c["status"] == "skipped" else 0
        suites.append(f'  <testsuite name={quoteattr(cid)} tests="{len(cases)}" failures="{fails}" errors="0" '
                      f'skipped="{skipped}">')
        suites += out
        suites.append("  </testsuite>")
        total_tests += len(cases)
        total_fail += fails
    head = ['<?xml version="1.0" encoding="UTF-8"?>',
            f'<testsuites name={quoteattr("citygov certify " + r["standard"]["ref"])} tests="{total_tests}" '
            f'failures="{total_fail}" errors="0">']
    return "\n".join(head + suites + ["</testsuites>"]) + "\n"


_SARIF = {"error": "error", "warning": "warning", "info": "note", "hint": "note"}


def render_sarif(r: dict[str, Any]) -> str:
    rules: dict[str, dict] = {}
    results = []
    for f in r["findings"]:
        rid = f"{f['check']}/{f.get('rule') or 'finding'}"
        rules.setdefault(rid, {"id": rid, "shortDescription": {"text": rid},
                               "properties": {"check": f["check"]}})
        res: dict[str, Any] = {"ruleId": rid, "level": _SARIF.get(f["level"], "error"),
                               "message": {"text": str(f.get("message") or f.get("reason") or rid)}}
        uri = f.get("file") or (r["vendor"]["file"] if f["check"] in ("spec-validity", "lint", "conformance") else None)
        loc: dict[str, Any] = {}
        if uri:
            loc["physicalLocation"] = {"artifactLocation": {"uri": str(uri)}}
        logical = []
        if f.get("operation"):
            logical.append({"fullyQualifiedName": str(f["operation"]), "kind": "function"})
        if f.get("pointer"):
            logical.append({"fullyQualifiedName": str(f["pointer"]), "kind": "member"})
        if logical:
            loc["logicalLocations"] = logical
        if loc:
            res["locations"] = [loc]
        props = {k: f[k] for k in ("entry", "probe", "part", "document", "operation") if k in f}
        if props:
            res["properties"] = props
        results.append(res)
    doc = {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
           "runs": [{"tool": {"driver": {"name": "citygov-certify", "informationUri": "https://citygov.example/certify",
                                         "rules": list(rules.values())}},
                     "results": results,
                     "properties": {"conformant": r["conformant"], "standard": r["standard"]["ref"]}}]}
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def render_html(r: dict[str, Any]) -> str:
    e = html.escape
    verdict = "Conformant" if r["conformant"] else "Not conformant"
    rows = "".join(f"<tr class='{e(c['status'])}'><td>{e(c['id'])}</td><td>{e(c['title'])}</td><td>{e(c['status'])}</td>"
                   f"<td>{c['errors']}</td><td>{c['warnings']}</td><td>{e(c.get('note', ''))}</td></tr>"
                   for c in r["checks"])
    cov = "".join(f"<tr><td><code>{e(c['operation'])}</code></td><td>{'yes' if c['implemented'] else '<b>missing</b>'}</td>"
                  f"<td>{c['traffic']}</td><td>{c['probe']}</td><td>{c['errors']}</td></tr>" for c in r["coverage"])
    finds = "".join(f"<tr class='{e(f['level'])}'><td>{e(f['level'])}</td><td>{e(f['check'])}</td>"
                    f"<td>{e(str(f.get('rule', '')))}</td><td>{e(_where(f))}</td><td>{e(str(f.get('message', '')))}</td></tr>"
                    for f in r["findings"])
    extra = ", ".join(f"<code>{e(x)}</code>" for x in r.get("extra_operations") or []) or "none"
    s = r["summary"]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Certification report — {e(r['standard']['ref'])}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:80em}}table{{border-collapse:collapse;width:100%;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}}.failed td,.error td{{background:#fdecea}}
.passed td{{background:#edf7ed}}.skipped td{{color:#777}}.verdict{{font-size:1.4em;font-weight:bold}}</style></head>
<body><h1>Interface certification report</h1>
<p class="verdict">{e(verdict)}</p>
<p>Vendor document <code>{e(r['vendor']['file'])}</code> ({e(r['vendor']['title'])} {e(r['vendor']['version'])},
sha256 <code>{e(r['vendor']['sha256'])}</code>) against standard <code>{e(r['standard']['ref'])}</code>.
Generated {e(r['generated_at'])} by {e(r['tool'])}.</p>
<p>{s['implemented']} of {s['standard_operations']} standard operations implemented, {s['exercised']} exercised,
{s['entries']} HAR entries. Extra operations: {extra}.</p>
<h2>Checks</h2><table><tr><th>check</th><th>what</th><th>status</th><th>errors</th><th>warnings</th><th>note</th></tr>{rows}</table>
<h2>Coverage of the standard</h2><table><tr><th>operation</th><th>implemented</th><th>traffic</th><th>probe</th><th>errors</th></tr>{cov}</table>
<h2>Findings</h2><table><tr><th>level</th><th>check</th><th>rule</th><th>where</th><th>message</th></tr>{finds}</table>
{f"<p>{r['findings_truncated']} more findings not shown.</p>" if r.get('findings_truncated') else ''}
</body></html>
"""


def render(report: dict[str, Any], fmt: str) -> str:
    try:
        fn = {"text": render_text, "json": render_json, "junit": render_junit, "sarif": render_sarif,
              "html": render_html}[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}") from None
    return fn(report)
