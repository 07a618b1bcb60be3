"""The weighted score: weights, normalisation and bands are data (``data/weights.yaml``, JSON Schema checked).

Every score carries its computation: per indicator the value, the normalised value (0..100), the weight and
the contribution; indicators without data are listed as not assessed and left out (never counted as zero).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from kernel import ValidationFailed
from secmon.evaluation.indicators import Indicator

DATA = Path(__file__).resolve().parent / "data"
DEFAULT_WEIGHTS = DATA / "weights.yaml"

#: every indicator the evaluation computes (a weights file naming anything else is refused: a typo must not
#: silently drop an indicator from the score)
KNOWN_INDICATORS = frozenset({
    "alerts_by_severity", "high_alerts_per_day", "ruleset_age_days", "rule_coverage", "categories_enabled",
    "unknown_sids", "sensor_drop_ratio", "decoder_errors", "flow_memcap_hits", "ingestion_gaps",
    "quarantine_ratio", "incidents_by_severity", "mtta_hours", "mttr_hours", "sla_breach_ratio",
    "open_incidents_over_30d", "false_positive_rate", "repeat_incident_assets", "remediation_overdue_ratio",
    "remediation_verified", "responses_approved", "approval_hours_median", "assets_incomplete_ratio",
    "unmanaged_addresses", "mlps3_without_project",
})


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads((DATA / "weights.schema.json").read_text(encoding="utf-8")))


def _fail(source: str, errors: list[dict]) -> ValidationFailed:
    first = errors[0]
    return ValidationFailed(f"weights file {source} is invalid: {first['field']}: {first['message']}", errors=errors)


def validate_weights(doc: Any, source: str = "<weights>") -> dict:
    errors = [{"field": "/".join(str(p) for p in e.absolute_path) or "(root)", "message": e.message}
              for e in sorted(_validator().iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))]
    if errors:
        raise _fail(source, errors)
    for key, spec in doc["indicators"].items():
        if key not in KNOWN_INDICATORS:
            errors.append({"field": f"indicators/{key}", "message": f"unknown indicator {key!r}"})
        n = spec["normalise"]
        if n["best"] == n["worst"]:
            errors.append({"field": f"indicators/{key}/normalise", "message": "best and worst must differ"})
    mins = [b["min"] for b in doc["bands"]]
    if mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins):
        errors.append({"field": "bands", "message": "band thresholds must be strictly decreasing"})
    if mins and mins[-1] != 0:
        errors.append({"field": "bands", "message": "the last band must start at 0 so every score has a band"})
    if sum(s["weight"] for s in doc["indicators"].values()) <= 0:
        errors.append({"field": "indicators", "message": "the weights must not all be zero"})
    if errors:
        raise _fail(source, errors)
    return doc


def load_weights(path: str | Path | None = None) -> dict:
    p = Path(path) if path else DEFAULT_WEIGHTS
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationFailed(f"cannot read weights file {p}: {exc}",
                               errors=[{"field": "weights", "message": str(exc)}]) from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationFailed(f"weights file {p} is not YAML: {exc}",
                               errors=[{"field": "weights", "message": "not YAML"}]) from None
    return validate_weights(doc, str(p))


def normalise(value: float, spec: dict) -> float:
    best, worst = float(spec["best"]), float(spec["worst"])
    x = (float(value) - worst) / (best - worst) * 100
    return round(min(100.0, max(0.0, x)), 2)


def band_for(score: float | None, bands: list[dict]) -> dict | None:
    if score is None:
        return None
    for b in bands:
        if score >= b["min"]:
            return {"name": b["name"], "label_zh": b.get("label_zh"), "min": b["min"]}
    return None


def score(indicators: list[Indicator], weights: dict) -> dict:
    rows = []
    total_w = sum(s["weight"] for s in weights["indicators"].values())
    got_w = 0.0
    acc = 0.0
    by_key = {i.key: i for i in indicators}
    for key, spec in weights["indicators"].items():
        ind = by_key.get(key)
        w = float(spec["weight"])
        if ind is None or ind.value is None:
            rows.append({"indicator": key, "value": None, "normalised": None, "weight": w, "contribution": None,
                         "assessed": False, "reason": ind.reason if ind else "not computed for this scope",
                         "normalise": spec["normalise"]})
            continue
        n = normalise(ind.value, spec["normalise"])
        got_w += w
        acc += n * w
        rows.append({"indicator": key, "value": ind.value, "normalised": n, "weight": w,
                     "contribution": None, "assessed": True, "reason": None, "normalise": spec["normalise"]})
    value = round(acc / got_w, 2) if got_w else None
    coverage = round(got_w / total_w, 4) if total_w else 0.0
    min_cov = float(weights.get("min_coverage", 0.5))
    band = band_for(value, weights["bands"])
    withheld = None
    if band is not None and coverage < min_cov:
        withheld = (f"no band: only {coverage:.0%} of the weight has data (a band needs at least {min_cov:.0%}); "
                    "the score covers the assessed indicators only")
        band = None
    for r in rows:
        if r["assessed"]:
            r["contribution"] = round(r["normalised"] * r["weight"] / got_w, 3)
    return {"score": value, "band": band, "band_withheld": withheld, "coverage": coverage, "min_coverage": min_cov,
            "assessed_weight": got_w, "total_weight": total_w,
            "method": "weighted mean of normalised indicators with data: sum(normalised*weight)/sum(weight); "
                      "linear normalisation 100 at best, 0 at worst, clamped",
            "rows": rows}
