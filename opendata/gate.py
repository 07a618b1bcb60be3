"""The release gate: may this table be opened?

Every cell of the table is scanned (no sampling). A finding refuses the release when

* its recogniser's ``gate`` is ``every`` (checksum or structurally validated direct identifiers:
  resident IDs, residence permits, credit codes, bank cards, mobile numbers, e-mail addresses): each
  occurrence in any cell counts, whatever share of the column it is and whatever operator produced
  the column (a ``token`` or ``mask`` output is judged like any other text);
* or, for the other direct identifiers (``gate: share``, heuristic recognisers such as bare names),
  the column-level classification reports it (the scan's share / confidence rules).

Nothing is exempt except entities whose recogniser is ``keepable`` (organisation codes) in a column
the caller lists in ``keep`` with a written reason; personal identifiers cannot be kept. The report
names the column, the entity, how many cells hold it and the first rows (1-based data rows).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Mapping

from opendata.recognizers import Detector, default_detector
from opendata.scan import DIRECT, ScanReport, entity_info, scan_table
from opendata.tabular import Table

__all__ = ["GateFinding", "GateReport", "gate_table", "gate_rules", "gate_findings", "keep_map"]

#: entities a validator reports instead of its recogniser's (residence permits from the resident-ID
#: recogniser) follow that recogniser's rule
_DERIVED = {"CN_HK_RESIDENCE_PERMIT": "CN_RESIDENT_ID", "CN_MO_RESIDENCE_PERMIT": "CN_RESIDENT_ID",
            "CN_TW_RESIDENCE_PERMIT": "CN_RESIDENT_ID"}


@dataclass
class GateFinding:
    column: str
    entity: str
    rule: str  # every | share
    cells: int
    share: float
    rows: list[int] = field(default_factory=list)
    kept: str | None = None  # the steward's reason when an organisation code is kept on purpose

    def as_dict(self) -> dict[str, Any]:
        return {"column": self.column, "entity": self.entity, "rule": self.rule, "cells": self.cells,
                "share": round(self.share, 4), "rows": self.rows, "kept": self.kept}

    def message(self) -> str:
        rows = ", ".join(map(str, self.rows)) + (", …" if self.cells > len(self.rows) else "")
        return f"{self.entity} in {self.cells} cell(s) of column {self.column!r} (rows {rows})"


@dataclass
class GateReport:
    rows: int
    columns: list[str]
    findings: list[GateFinding]
    seconds: float = 0.0
    refused_keeps: list[dict[str, str]] = field(default_factory=list)

    @property
    def blocking(self) -> list[GateFinding]:
        return [f for f in self.findings if f.kept is None]

    @property
    def passed(self) -> bool:
        return not self.blocking

    def errors(self) -> list[dict[str, Any]]:
        """The refusal, one entry per column and entity (``pointer`` to the column)."""
        return [{"pointer": f"/columns/{f.column}", "column": f.column, "entity": f.entity, "cells": f.cells,
                 "rows": f.rows, "message": f.message()} for f in self.blocking]

    def summary(self) -> dict[str, Any]:
        """What an audit entry records: rows, the refusals and the explicit keeps."""
        return {"rows": self.rows, "passed": self.passed,
                "blocking": [f.as_dict() for f in self.blocking],
                "kept": [f.as_dict() for f in self.findings if f.kept is not None],
                "refused_keeps": self.refused_keeps}


def gate_rules(det: Detector) -> tuple[dict[str, str], set[str]]:
    """(entity -> 'every' | 'share', keepable entities) from the recogniser data."""
    rules: dict[str, str] = {}
    keepable: set[str] = set()
    for r in det.recognizers:
        if r.gate == "every" or r.entity not in rules:
            rules[r.entity] = r.gate
        if r.keepable:
            keepable.add(r.entity)
    for derived, base in _DERIVED.items():
        if base in rules:
            rules.setdefault(derived, rules[base])
    return rules, keepable


def keep_map(policy: Mapping[str, Any] | None) -> dict[str, str]:
    """``keep_identifiers`` of a policy as column -> reason (plain names carry no reason)."""
    out: dict[str, str] = {}
    for item in (policy or {}).get("keep_identifiers", []) or []:
        if isinstance(item, str):
            out[item] = ""
        else:
            out[item["column"]] = item.get("reason", "")
    return out


def gate_findings(report: ScanReport, det: Detector) -> list[GateFinding]:
    """The findings of a complete scan that the gate counts (no rows located, nothing kept)."""
    cats, _ops = entity_info(det)
    rules, _keepable = gate_rules(det)
    out: list[GateFinding] = []
    for col in report.columns:
        ne = max(col.nonempty, 1)
        seen: set[str] = set()
        for ent, cnt in col.counts.items():
            if cats.get(ent, DIRECT) != DIRECT or rules.get(ent, "every") != "every":
                continue
            if cnt["contains"] > 0:
                out.append(GateFinding(col.name, ent, "every", cnt["contains"], cnt["contains"] / ne))
                seen.add(ent)
        for d in col.detections:
            if (d["entity"] not in seen and d["category"] == DIRECT and d["mode"] in ("cell", "text")
                    and d["confidence"] >= 0.3):
                cells = col.counts.get(d["entity"], {}).get("contains", 0)
                out.append(GateFinding(col.name, d["entity"], "share", cells, cells / ne))
                seen.add(d["entity"])
    return out


def _locate_rows(table: Table, findings: list[GateFinding], det: Detector, limit: int) -> None:
    """Fill in the first ``limit`` rows of each finding (one pass, only the affected columns)."""
    want: dict[int, dict[str, GateFinding]] = {}
    for f in findings:
        if f.column in table.columns:
            want.setdefault(table.columns.index(f.column), {})[f.entity] = f
    if not want:
        return
    open_ = sum(len(v) for v in want.values())
    thr = max(0.0, det.threshold - det.context_boost)  # column scans boost header-hinted entities
    for rowno, row in enumerate(table.rows(), 1):
        for j, by_ent in want.items():
            cell = row[j] if j < len(row) else None
            if not cell:
                continue
            for fnd in det.analyze(cell.replace("\n", " "), entities=by_ent.keys(), threshold=thr, cell=True):
                g = by_ent.get(fnd.entity)
                if g is not None and len(g.rows) < limit and (not g.rows or g.rows[-1] != rowno):
                    g.rows.append(rowno)
                    if len(g.rows) == limit:
                        open_ -= 1
        if open_ <= 0:
            return


def gate_table(table: Table, *, detector: Detector | None = None, keep: Mapping[str, str] | None = None,
               locate: int = 5, report: ScanReport | None = None) -> GateReport:
    """Scan every cell of ``table`` and judge it. ``keep``: column -> reason for organisation codes
    the steward keeps on purpose. ``report``: a complete scan of the same table, if already made."""
    t0 = time.perf_counter()
    det = detector or default_detector()
    if report is None or not report.complete:
        report = scan_table(table, detector=det, sample_rows=None)
    _rules, keepable = gate_rules(det)
    keep = dict(keep or {})
    findings = gate_findings(report, det)
    refused_keeps = []
    for f in findings:
        if f.column in keep:
            if f.entity in keepable:
                f.kept = keep[f.column] or "kept by the policy"
            else:
                refused_keeps.append({"column": f.column, "entity": f.entity,
                                      "message": f"{f.entity} is a personal identifier and cannot be kept"})
    blocking = [f for f in findings if f.kept is None]
    if blocking and locate:
        _locate_rows(table, blocking, det, locate)
    return GateReport(report.rows_scanned, list(table.columns), findings, time.perf_counter() - t0, refused_keeps)
