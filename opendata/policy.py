"""Desensitization policies: load (YAML or JSON), validate against ``data/policy.schema.json`` and
against a table's columns, and suggest a starting policy from a scan."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from kernel.errors import ValidationFailed
from opendata.recognizers import DATA_DIR, Detector, default_detector
from opendata.scan import DIRECT, ScanReport

__all__ = ["policy_schema", "load_policy", "parse_policy", "validate_policy", "check_policy_columns", "suggest_policy", "dump_policy"]


@functools.lru_cache(maxsize=1)
def policy_schema() -> dict[str, Any]:
    return json.loads((DATA_DIR / "policy.schema.json").read_text(encoding="utf-8"))


def validate_policy(doc: Any) -> dict[str, Any]:
    """Schema-validate a policy document; raises ValidationFailed listing every problem."""
    v = jsonschema.Draft202012Validator(policy_schema())
    errors = sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        raise ValidationFailed(
            "invalid desensitization policy",
            errors=[{"pointer": "/" + "/".join(str(p) for p in e.absolute_path), "message": e.message} for e in errors],
        )
    return doc


def parse_policy(text: str) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(text)  # YAML is a superset of JSON
    except yaml.YAMLError as exc:
        raise ValidationFailed(f"policy is not valid YAML/JSON: {exc}", errors=[{"message": str(exc)}]) from None
    return validate_policy(doc)


def load_policy(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationFailed(f"cannot read policy {p}: {exc}", errors=[{"message": str(exc)}]) from None
    return parse_policy(text)


def check_policy_columns(policy: dict[str, Any], columns: list[str]) -> None:
    """Every column the policy names must exist; with ``on_unlisted: error`` every column must be named."""
    have = set(columns)
    errors = [{"pointer": f"/columns/{c}", "message": f"unknown column {c!r}"} for c in policy["columns"] if c not in have]
    from opendata.gate import keep_map

    errors += [{"pointer": "/keep_identifiers", "message": f"unknown column {c!r}"}
               for c in keep_map(policy) if c not in have]
    if policy.get("on_unlisted") == "error":
        errors += [{"pointer": "/columns", "message": f"column {c!r} is not covered by the policy"}
                   for c in columns if c not in policy["columns"]]
    if errors:
        raise ValidationFailed("policy does not fit the table", errors=errors)


def suggest_policy(report: ScanReport, detector: Detector | None = None) -> dict[str, Any]:
    """A starting policy that passes the release gate on the table it was made from (given a complete
    scan): each column with a detected type gets its suggested operator, and every direct identifier
    the gate counts (any share, any column) is removed or pseudonymised -- organisation credit codes
    included; a steward who means to keep those lists the column in ``keep_identifiers`` with a
    reason. Columns with nothing found are kept."""
    from opendata.gate import gate_findings

    det = detector or default_detector()
    cols: dict[str, Any] = {}
    for c in report.columns:
        if c.entity and c.suggested_operator:
            cols[c.name] = dict(c.suggested_operator)
        elif c.category == DIRECT and c.entity:
            cols[c.name] = {"type": "suppress"}
    for f in gate_findings(report, det):
        spec = cols.get(f.column)
        col = report.column(f.column)
        handles = spec is not None and (
            spec["type"] in ("drop", "suppress", "pseudonymize", "encrypt", "mask")
            or (spec["type"] == "generalize" and col.entity == f.entity)
            or (spec["type"] == "redact" and f.entity in spec.get("entities", [f.entity])))
        if handles:
            continue
        if spec is not None and spec["type"] == "redact":
            spec["entities"] = sorted(set(spec["entities"]) | {f.entity})
        elif col.entity == f.entity and f.share >= 0.5:
            cols[f.column] = {"type": "pseudonymize"}
        else:  # identifiers written into some cells of another column (remarks, addresses): redact them
            cols[f.column] = {"type": "redact", "entities": [f.entity]}
    scope = f"{report.rows_scanned} rows" + ("" if report.complete else ", a sample: the gate judges every row")
    doc = {
        "version": 1,
        "description": f"suggested from a scan of {Path(report.table.get('path', '')).name} ({scope}); review before use",
        "on_unlisted": "keep",
        "columns": cols,
    }
    return validate_policy(doc)


def dump_policy(policy: dict[str, Any], fmt: str = "yaml") -> str:
    if fmt == "json":
        return json.dumps(policy, ensure_ascii=False, indent=2) + "\n"
    return yaml.safe_dump(policy, allow_unicode=True, sort_keys=False)
