"""A certification run as a library: no database, no Flask.

Checks, in order (each ``passed`` / ``failed`` / ``skipped``):

* ``spec-validity`` — the vendor document is a valid OpenAPI 3.0/3.1 document (openapi-spec-validator,
  via :mod:`standards.openapi_engine`, the document layer only — no service layer, no web framework); remote
  ``$ref`` s are refused
  as input errors (nothing is ever fetched);
* ``lint`` — no error-level finding under the city's rule set (:mod:`standards.lint`);
* ``conformance`` — the standard as base, the vendor document as revision: no error-level finding of the
  breaking-change engine (:func:`standards.oasdiff.diff`); extra vendor operations are listed;
* ``traffic`` — every HAR entry validated with openapi-core against the vendor document and, for the
  standard's operations, against the standard (:mod:`registry.certify.har`);
* ``probe`` — optional live requests to an allowlisted base URL (:mod:`registry.certify.probe`).

The run is *conformant* when no check has an error-level finding. ``run_certification`` raises
:class:`standards.loading.InputError` (and friends, all ``kernel.errors.BadRequest`` /
``PayloadTooLarge``) for unusable input: the CLI maps those to exit 2, the API to a 4xx problem.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from kernel.clock import utcnow
from kernel.ids import sha256_hex
from registry.certify import har as har_mod
from registry.certify.matching import compiled
from standards import oaswalk
from standards.loading import InputError
from standards.oaswalk import shape

TOOL = "citygov-certify"
REPORT_VERSION = 1
CHECKS = ("spec-validity", "lint", "conformance", "traffic", "probe")
# the live probe's checks, named as in Schemathesis (docs/reference/checks.md)
PROBE_CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
                "response_headers_conformance", "response_schema_conformance", "negative_data_rejection",
                "max_response_time")
TITLES = {"spec-validity": "Vendor document is a valid OpenAPI document",
          "lint": "Vendor document is lint-clean at error level (city rule set)",
          "conformance": "Vendor document is a backward-compatible implementation of the standard",
          "traffic": "Recorded traffic (HAR) conforms to the vendor document and the standard",
          "probe": "Live probe responses conform to the standard"}


@dataclass
class Standard:
    ref: str  # NAME@VERSION
    spec: dict[str, Any]
    sha256: str


@dataclass
class Har:
    name: str
    entries: list[Any]
    sha256: str = ""


def operations(spec: dict[str, Any]) -> list[tuple[str, str]]:
    return [(m, path) for path, m, _op, _p in oaswalk.operations(spec)]


@dataclass
class _Collector:
    max_findings: int
    findings: list[dict[str, Any]] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)  # (check, level)
    truncated: int = 0

    def add(self, check: str, f: dict[str, Any]) -> None:
        f = {"check": check, "level": f.get("level") or "error", **{k: v for k, v in f.items() if v is not None}}
        f.setdefault("message", f.get("reason", ""))
        self.counts[(check, f["level"])] += 1
        if len(self.findings) < self.max_findings:
            self.findings.append(f)
        else:
            self.truncated += 1

    def errors(self, check: str) -> int:
        return self.counts[(check, "error")]


def load_vendor_spec(content: bytes | str, filename: str = "openapi.yaml") -> tuple[Any, dict[str, Any]]:
    """Parse the vendor document (refusing remote references); returns ``(doc, analysis)``."""
    from standards.loading import parse_document
    from standards.openapi_engine import problems_cached, refuse_remote_refs

    doc = parse_document(content, filename=filename)
    if not isinstance(doc, dict):
        raise InputError(f"{filename} is not an OpenAPI document (not a mapping)")
    refuse_remote_refs(doc, filename)
    return doc, {"doc": doc, "problems": problems_cached(doc, sha256_hex(content))}


def run_certification(standard: Standard, vendor_content: bytes | str, *, vendor_filename: str = "openapi.yaml",
                      hars: list[Har] | None = None, base_url: str | None = None, allowlist=None,
                      lint_ruleset: Any = None, probe_limits: dict[str, Any] | None = None,
                      max_findings: int | None = None) -> dict[str, Any]:
    """Run every check and return the report (a JSON-able dict); see the module docstring."""
    from standards import lint as lint_mod
    from standards import oasdiff

    raw = vendor_content.encode("utf-8") if isinstance(vendor_content, str) else vendor_content
    vendor, analysis = load_vendor_spec(raw, vendor_filename)
    if base_url:  # refuse a disallowed target before doing any work (and before any connection)
        from registry.certify.probe import check_target

        check_target(base_url, allowlist)
    col = _Collector(max_findings or har_mod.MAX_FINDINGS)
    status: dict[str, str] = {}
    notes: dict[str, Any] = {}

    # 1. validity
    for p in analysis["problems"]:
        col.add("spec-validity", {"rule": p.get("rule", "oas-schema"), "level": "error", "pointer": p.get("pointer", ""),
                                  "message": p.get("message", ""), "document": "vendor"})
    status["spec-validity"] = "failed" if col.errors("spec-validity") else "passed"
    valid = status["spec-validity"] == "passed"

    # 2. lint
    lint_report = lint_mod.lint(vendor, lint_ruleset, subject=vendor_filename, max_examples=500)
    for f in lint_report.findings():
        col.add("lint", {"rule": f.get("rule"), "level": f.get("level"), "pointer": f.get("pointer"),
                         "message": f.get("message"), "document": "vendor"})
    status["lint"] = "failed" if col.errors("lint") else "passed"

    # 3. conformance (standard = base, vendor = revision)
    std_ops = operations(standard.spec)
    vendor_ops = operations(vendor) if valid or isinstance(vendor.get("paths"), dict) else []
    std_shapes = {(m, shape(t)): (m, t) for m, t in std_ops}
    vendor_shapes = {(m, shape(t)): (m, t) for m, t in vendor_ops}
    extra = [f"{m.upper()} {t}" for (m, s), (_m, t) in vendor_shapes.items() if (m, s) not in std_shapes]
    try:
        diff = oasdiff.diff(standard.spec, vendor)
    except Exception as exc:  # noqa: BLE001 - a broken vendor document must not crash the run
        diff = [{"id": "diff-failed", "level": "error",
                 "message": f"the documents could not be compared: {type(exc).__name__}: {exc}"}]
    for f in diff:
        if f.get("level") == "info":
            continue
        col.add("conformance", {"rule": f.get("id") or f.get("rule"), "level": f.get("level"),
                                "operation": f.get("operation"), "message": f.get("message"),
                                "pointer": f.get("new_pointer") or f.get("old_pointer"),
                                "old_pointer": f.get("old_pointer"), "new_pointer": f.get("new_pointer")})
    status["conformance"] = "failed" if col.errors("conformance") else "passed"

    # coverage per standard operation
    coverage: dict[str, dict[str, Any]] = {}
    for m, t in std_ops:
        present = (m, shape(t)) in vendor_shapes
        coverage[f"{m.upper()} {t}"] = {"operation": f"{m.upper()} {t}", "implemented": present,
                                        "traffic": 0, "probe": 0, "errors": 0}

    # 4. traffic
    entries_total = 0
    if not hars:
        status["traffic"] = "skipped"
        notes["traffic"] = "no HAR file given"
    elif not valid:
        status["traffic"] = "skipped"
        notes["traffic"] = "the vendor document is not valid"
    else:
        vdoc = compiled(vendor, sha256_hex(raw))
        sdoc = compiled(standard.spec, standard.sha256)
        validator = har_mod.TrafficValidator(vdoc, sdoc, standard_label=standard.ref)
        for h in hars:
            for i, raw_entry in enumerate(h.entries):
                entries_total += 1
                entry = har_mod.parse_entry(i, raw_entry)
                if isinstance(entry, dict):
                    col.add("traffic", {"rule": "har-entry", "file": h.name, **entry})
                    continue
                try:
                    match, std_op, findings = validator.validate(entry)
                except Exception as exc:  # noqa: BLE001 - never crash on one odd entry
                    col.add("traffic", {"rule": "validation-error", "file": h.name, "entry": i, "part": "har",
                                        "reason": f"entry could not be validated: {type(exc).__name__}: {exc}"})
                    continue
                if std_op and std_op in coverage:
                    coverage[std_op]["traffic"] += 1
                for f in findings:
                    f.setdefault("rule", f"traffic-{f.get('part', 'entry').replace(' ', '-')}")
                    col.add("traffic", {"file": h.name, **f})
                    if std_op in coverage and f.get("level", "error") == "error":
                        coverage[std_op]["errors"] += 1
        status["traffic"] = "failed" if col.errors("traffic") else "passed"

    # 5. probe: requests generated from the vendor's document, each check reported by name
    probe_meta = None
    if not base_url:
        status["probe"] = "skipped"
        notes["probe"] = "no base URL given"
    elif not valid:
        status["probe"] = "skipped"
        notes["probe"] = "the vendor document is not valid"
    else:
        from registry.certify.probe import run_probe

        results, probe_meta = run_probe(base_url, vendor, None, allowlist=allowlist, **(probe_limits or {}))
        vdoc = compiled(vendor, sha256_hex(raw))
        sdoc = compiled(standard.spec, standard.sha256)
        validator = har_mod.TrafficValidator(vdoc, sdoc, standard_label=standard.ref)
        std_label = {(m, s_): f"{sm.upper()} {st}" for (m, s_), (sm, st) in std_shapes.items()}
        tally: dict[str, Counter] = {name: Counter() for name in PROBE_CHECKS}
        slow_ms = float(probe_meta["max_response_ms"])
        for i, res in enumerate(results):
            req = res.request
            m, tmpl = req.operation.split(" ", 1)
            op = std_label.get((m.lower(), shape(tmpl)))
            if op in coverage:
                coverage[op]["probe"] += 1
            base = {"probe": i, "operation": op or req.operation, "url": res.url, "case": req.kind,
                    **({"mutation": req.mutation} if req.mutation else {})}
            failed: set[str] = set()

            def add(rule: str, f: dict, _base=base, _failed=failed, _op=op) -> None:
                col.add("probe", {**_base, "rule": rule, **f})
                if f.get("level", "error") == "error":
                    _failed.add(rule)
                    if _op in coverage:
                        coverage[_op]["errors"] += 1

            if res.error:
                add("probe-request-failed", {"part": "connection", "reason": res.error})
                continue
            ran = {"not_a_server_error", "max_response_time", "status_code_conformance",
                   "content_type_conformance", "response_headers_conformance", "response_schema_conformance"}
            if res.status is not None and res.status >= 500:
                add("not_a_server_error", {"part": "status", "reason": f"server error {res.status}"})
            if res.seconds * 1000 > slow_ms:
                add("max_response_time", {"part": "time",
                                          "reason": f"answered in {res.seconds * 1000:.0f} ms, above {slow_ms:g} ms"})
            if req.kind == "negative":
                ran.add("negative_data_rejection")
                if res.status is not None and res.status < 400:
                    add("negative_data_rejection", {"part": "status", "reason": f"{req.mutation}: the server "
                                                    f"accepted it with {res.status} instead of a 4xx"})
            entry = probe_entry(i, res)
            _m, _s, findings = validator.validate(entry, relative_path=req.path)
            for f in findings:
                if f.get("side") == "request":
                    continue  # the probe generated the request; only the server's answers are judged
                if f.get("document") == standard.ref and req.kind == "negative":
                    continue  # the standard says nothing about rejecting what the vendor's document forbids
                f = {**f, "probe": i}
                f.pop("entry", None)
                rule = {"status": "status_code_conformance", "content type": "content_type_conformance",
                        "header": "response_headers_conformance"}.get(f.get("part"), "response_schema_conformance")
                add(rule, f)
            for name in ran:
                tally[name]["failed" if name in failed else "passed"] += 1
        probe_meta["checks"] = {name: {"passed": c["passed"], "failed": c["failed"]} for name, c in tally.items()}
        status["probe"] = "failed" if col.errors("probe") else "passed"

    conformant = all(s != "failed" for s in status.values())
    levels = Counter()
    for (_c, lvl), n in col.counts.items():
        levels[lvl] += n
    checks = [{"id": c, "title": TITLES[c], "status": status[c],
               "errors": col.errors(c), "warnings": col.counts[(c, "warning")],
               "findings": sum(n for (cc, _l), n in col.counts.items() if cc == c),
               **({"note": notes[c]} if c in notes else {})} for c in CHECKS]
    cov = list(coverage.values())
    return {
        "tool": TOOL,
        "report_version": REPORT_VERSION,
        "generated_at": utcnow().isoformat(),
        "standard": {"ref": standard.ref, "sha256": standard.sha256},
        "vendor": {"file": vendor_filename, "sha256": sha256_hex(raw),
                   "title": str((vendor.get("info") or {}).get("title", "")) if isinstance(vendor.get("info"), dict) else "",
                   "version": str((vendor.get("info") or {}).get("version", "")) if isinstance(vendor.get("info"), dict) else ""},
        "hars": [{"file": h.name, "entries": len(h.entries), "sha256": h.sha256} for h in (hars or [])],
        "conformant": conformant,
        "summary": {
            "conformant": conformant,
            "checks": {s: sum(1 for c in checks if c["status"] == s) for s in ("passed", "failed", "skipped")},
            "findings": dict(levels),
            "entries": entries_total,
            "standard_operations": len(std_ops),
            "implemented": sum(1 for c in cov if c["implemented"]),
            "exercised": sum(1 for c in cov if c["traffic"] or c["probe"]),
            "extra_operations": len(extra),
        },
        "checks": checks,
        "coverage": cov,
        "scope": [c["operation"] for c in cov if c["implemented"]],
        "extra_operations": sorted(extra),
        "probe": probe_meta,
        "findings": col.findings,
        "findings_truncated": col.truncated,
    }


def probe_entry(i: int, res) -> har_mod.Entry:
    return har_mod.entry_from_probe(i, res)
