"""Control mapping (data: ``data/controls.yaml``) to NIST CSF 2.0 subcategories and MLPS 2.0 level-3 points.

Each control is decided by checks on indicators or evidence; the result names the checks, the measured values
and which of them decided the status. Current vs target profile per CSF function.
"""

from __future__ import annotations

import json
import operator
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from kernel import ValidationFailed
from secmon.evaluation.indicators import Indicator

DATA = Path(__file__).resolve().parent / "data"
OPS = {"<=": operator.le, ">=": operator.ge, "==": operator.eq, "<": operator.lt, ">": operator.gt}
STATUSES = ("met", "partly_met", "not_met", "not_assessed")


@cache
def load_controls(path: str | None = None) -> dict:
    p = Path(path) if path else DATA / "controls.yaml"
    doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    schema = json.loads((DATA / "controls.schema.json").read_text(encoding="utf-8"))
    errors = [{"field": "/".join(map(str, e.absolute_path)) or "(root)", "message": e.message}
              for e in Draft202012Validator(schema).iter_errors(doc)]
    ids = [c["id"] for c in (doc or {}).get("controls", []) if isinstance(c, dict) and "id" in c]
    if len(ids) != len(set(ids)):
        errors.append({"field": "controls", "message": "duplicate control id"})
    if errors:
        raise ValidationFailed(f"control mapping {p} is invalid: {errors[0]['field']}: {errors[0]['message']}",
                               errors=errors)
    return doc


def _check(check: dict, indicators: dict[str, Indicator], evidence: dict[str, Any]) -> dict:
    if "indicator" in check:
        ind = indicators.get(check["indicator"])
        actual = ind.value if ind else None
        reason = (ind.reason if ind else "not computed") if actual is None else None
        source = {"indicator": check["indicator"]}
    else:
        ev = evidence.get(check["evidence"])
        actual = ev.get("value") if isinstance(ev, dict) else None
        reason = (ev.get("reason") if isinstance(ev, dict) else "no evidence") if actual is None else None
        source = {"evidence": check["evidence"], "evidence_detail": ev.get("detail") if isinstance(ev, dict) else None}
    passed = None if actual is None else bool(OPS[check["op"]](actual, check["value"]))
    return source | {"op": check["op"], "expected": check["value"], "actual": actual, "passed": passed,
                     "no_data_reason": reason, "note": check.get("note")}


def assess(indicators: list[Indicator], evidence: dict[str, Any], mapping: dict | None = None) -> dict:
    mapping = mapping or load_controls()
    by_key = {i.key: i for i in indicators}
    results = []
    for c in mapping["controls"]:
        checks = [_check(ch, by_key, evidence) for ch in c["checks"]]
        with_data = [ch for ch in checks if ch["passed"] is not None]
        passed = [ch for ch in with_data if ch["passed"]]
        if not with_data:
            status, deciding = "not_assessed", checks
        elif len(passed) == len(checks):
            status, deciding = "met", checks
        elif not passed:
            status, deciding = "not_met", [ch for ch in with_data if not ch["passed"]]
        else:
            status = "partly_met"
            deciding = [ch for ch in checks if not ch["passed"]]
        results.append({"id": c["id"], "framework": c["framework"], "function": c["function"], "title": c["title"],
                        "title_zh": c.get("title_zh"), "status": status, "checks": checks,
                        "deciding": [_describe(ch) for ch in deciding]})
    return {"controls": results, "profile": profile(results, mapping.get("target_profile", {})),
            "summary": {s: sum(1 for r in results if r["status"] == s) for s in STATUSES}}


def _describe(ch: dict) -> str:
    what = ch.get("indicator") or ch.get("evidence")
    if ch["passed"] is None:
        return f"{what}: no data ({ch['no_data_reason']})"
    verdict = "passes" if ch["passed"] else "fails"
    return f"{what} = {ch['actual']} {verdict} {ch['op']} {ch['expected']}"


def profile(results: list[dict], target: dict) -> list[dict]:
    out = []
    for fn in ("GV", "ID", "PR", "DE", "RS", "RC"):
        rs = [r for r in results if r["function"] == fn]
        if not rs and fn not in target:
            continue
        counts = {s: sum(1 for r in rs if r["status"] == s) for s in STATUSES}
        assessed = len(rs) - counts["not_assessed"]
        current = round(100 * (counts["met"] + 0.5 * counts["partly_met"]) / assessed, 1) if assessed else None
        tgt = target.get(fn)
        out.append({"function": fn, "controls": len(rs), **counts, "current": current, "target": tgt,
                    "gap": round(tgt - current, 1) if (tgt is not None and current is not None) else None})
    return out
