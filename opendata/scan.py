"""Column classification and per-cell scanning of tables.

``scan_table`` reads rows in batches, scans each column's batch with :meth:`Detector.scan_cells`, and
combines value evidence with header hints (``data/header_hints.yaml``) into a per-column verdict: the
detected entity types, the share of matching cells, a confidence and a suggested operator.
"""

from __future__ import annotations

import functools
import re
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

import yaml

from opendata.fastscan import ColumnScanner
from opendata.recognizers import DATA_DIR, SAFE_LOADER, CellStats, Detector, Finding, default_detector
from opendata.tabular import Table, open_table

__all__ = ["ColumnResult", "ScanReport", "scan_table", "scan_file", "scan_cells", "header_entities", "DIRECT"]

#: categories that identify a person on their own: never released untreated
DIRECT = "direct"


@functools.lru_cache(maxsize=1)
def _hints() -> dict[str, Any]:
    return yaml.load((DATA_DIR / "header_hints.yaml").read_text(encoding="utf-8"), Loader=SAFE_LOADER)


def _norm(s: str) -> str:
    s = re.sub(r"([a-z])([A-Z])", r"\1 \2", s)
    return s.lower()


def header_entities(header: str) -> dict[str, float]:
    """Entities suggested by a column header, with a strength (1.0 exact, 0.7 contained)."""
    low = _norm(header)
    compact = re.sub(r"[\s_\-.:/()（）]+", "", low)
    tokens = set(t for t in re.split(r"[^a-z0-9\u4e00-\u9fff]+", low) if t)
    out: dict[str, float] = {}
    for entity, words in _hints()["hints"].items():
        best = 0.0
        for w in words:
            w = str(w).lower()
            if compact == w:
                best = 1.0
                break
            if w.isascii() and len(w) <= 4:
                if w in tokens:
                    best = max(best, 0.7)
            elif w in compact:
                best = max(best, 0.7)
        if best:
            out[entity] = best
    # the more specific hint wins: '手机号码' suggests CN_MOBILE, not the generic PHONE
    if "PHONE" in out and ({"CN_MOBILE", "CN_LANDLINE"} & out.keys()):
        del out["PHONE"]
    return out


@dataclass
class ColumnResult:
    name: str
    index: int
    cells: int = 0
    nonempty: int = 0
    header_hints: dict[str, float] = field(default_factory=dict)
    detections: list[dict[str, Any]] = field(default_factory=list)
    entity: str | None = None
    category: str | None = None
    confidence: float = 0.0
    suggested_operator: dict[str, Any] | None = None
    #: entity -> cells that are wholly that entity / cells containing it (any share; the release gate
    #: counts these)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "index": self.index,
            "cells": self.cells,
            "nonempty": self.nonempty,
            "entity": self.entity,
            "category": self.category,
            "confidence": round(self.confidence, 3),
            "suggested_operator": self.suggested_operator,
            "header_hints": self.header_hints,
            "detections": self.detections,
            "counts": self.counts,
        }


@dataclass
class ScanReport:
    table: dict[str, Any]
    rows_scanned: int
    complete: bool
    columns: list[ColumnResult]
    seconds: float = 0.0

    def direct_identifiers(self) -> list[ColumnResult]:
        """Columns whose *values* show direct identifiers (header-only evidence does not count)."""
        return [
            c for c in self.columns
            if any(d["category"] == DIRECT and d["mode"] != "header" and d["confidence"] >= 0.3 for d in c.detections)
        ]

    def column(self, name: str) -> ColumnResult:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "rows_scanned": self.rows_scanned,
            "complete": self.complete,
            "seconds": round(self.seconds, 3),
            "columns": [c.as_dict() for c in self.columns],
        }


def entity_info(detector: Detector) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    cats: dict[str, str] = {}
    ops: dict[str, dict[str, Any]] = {}
    for r in detector.recognizers:
        cats.setdefault(r.entity, r.category)
        if r.operator:
            ops.setdefault(r.entity, dict(r.operator))
    for ent in ("CN_HK_RESIDENCE_PERMIT", "CN_MO_RESIDENCE_PERMIT", "CN_TW_RESIDENCE_PERMIT"):
        cats.setdefault(ent, "direct")
        ops.setdefault(ent, {"type": "pseudonymize"})
    h = _hints()
    for ent, cat in (h.get("categories") or {}).items():
        cats.setdefault(ent, cat)
    for ent, op in (h.get("operators") or {}).items():
        ops.setdefault(ent, dict(op))
    return cats, ops


def _classify(col: ColumnResult, stats: CellStats, detector: Detector, min_share: float) -> None:
    cats, ops = entity_info(detector)
    col.cells, col.nonempty = stats.cells, stats.nonempty
    col.counts = {ent: {"cells": int(full), "contains": int(contains)}
                  for ent, (full, _score, contains) in sorted(stats.by_entity.items()) if contains or full}
    with_recogniser = {r.entity for r in detector.recognizers} | {
        "CN_HK_RESIDENCE_PERMIT", "CN_MO_RESIDENCE_PERMIT", "CN_TW_RESIDENCE_PERMIT"}
    ne = max(stats.nonempty, 1)
    cands: dict[str, dict[str, Any]] = {}
    for ent, (full, score_sum, contains) in stats.by_entity.items():
        share = full / ne
        cshare = contains / ne
        mean = score_sum / full if full else 0.0
        if share < min_share and cshare < min_share and ent not in col.header_hints:
            continue
        conf = share * mean
        mode = "cell"
        if cshare > share * 1.5 and cshare >= min_share and share < min_share:
            # validated identifiers inside free text: clear evidence even in a minority of cells
            mode = "text"
            conf = 0.5 + 0.5 * cshare
        cands[ent] = {"entity": ent, "category": cats.get(ent, "direct"), "mode": mode, "share": round(share, 4),
                      "contains_share": round(cshare, 4), "mean_score": round(mean, 3), "confidence": conf}
    for ent, strength in col.header_hints.items():
        c = cands.get(ent)
        if c is not None:
            c["confidence"] = min(1.0, c["confidence"] + 0.3 * strength)
        elif ent not in with_recogniser or stats.nonempty < 20:
            # header-only evidence: quasi-identifiers (age, gender, ...) or too few values to judge
            cands[ent] = {"entity": ent, "category": cats.get(ent, "quasi"), "mode": "header", "share": 0.0,
                          "contains_share": 0.0, "mean_score": 0.0, "confidence": 0.45 * strength}
        else:
            # the header promises an identifier the values do not show: report it weakly
            cands[ent] = {"entity": ent, "category": cats.get(ent, "direct"), "mode": "header", "share": 0.0,
                          "contains_share": 0.0, "mean_score": 0.0, "confidence": 0.15 * strength}
    dets = sorted(cands.values(), key=lambda d: -d["confidence"])
    for d in dets:
        d["confidence"] = round(d["confidence"], 3)
    col.detections = dets
    if dets and dets[0]["confidence"] >= 0.3:
        top = dets[0]
        col.entity, col.category, col.confidence = top["entity"], top["category"], top["confidence"]
        if top["mode"] == "text":
            ents = sorted({d["entity"] for d in dets if d["mode"] == "text" and d["confidence"] >= 0.3})
            col.suggested_operator = {"type": "redact", "entities": ents}
        else:
            col.suggested_operator = ops.get(col.entity, {"type": "suppress"} if col.category == DIRECT else None)


def scan_table(
    table: Table,
    *,
    detector: Detector | None = None,
    sample_rows: int | None = 2000,
    batch_rows: int = 16384,
    min_share: float = 0.05,
    fast: bool = True,
) -> ScanReport:
    """Classify every column. ``sample_rows=None`` scans the whole table (streaming, in batches).
    ``fast`` (default) uses :mod:`opendata.fastscan` (same statistics, vectorised checksum columns and
    a per-column cache of verdicts); ``fast=False`` runs :meth:`Detector.scan_cells` on every batch."""
    det = detector or default_detector()
    t0 = time.perf_counter()
    cols = list(table.columns)
    hints = [header_entities(c) for c in cols]
    stats: list[CellStats] = [CellStats() for _ in cols]
    scanners: list[ColumnScanner] = []
    buf: list[list[str | None]] = []
    n = 0
    complete = True

    def flush(columns: list | None = None) -> None:
        width = len(table.columns)
        while len(stats) < width:  # NDJSON may grow new keys
            stats.append(CellStats())
            hints.append(header_entities(table.columns[len(hints)]))
        if fast:
            while len(scanners) < width:
                scanners.append(ColumnScanner(det, hints[len(scanners)]))
        if columns is None:
            if all(len(r) == width for r in buf):
                columns = list(zip(*buf))
            else:
                columns = [[(r[j] if j < len(r) else None) or "" for r in buf] for j in range(width)]
        elif len(columns) < width:  # NDJSON: keys that appeared later
            columns = list(columns) + [[""] * len(columns[0] if columns else 0)] * (width - len(columns))
        for j, cells in enumerate(columns):
            if fast:
                stats[j].merge(scanners[j].scan(cells))
            else:
                stats[j].merge(det.scan_cells(cells, header_entities=hints[j]))
        buf.clear()

    if sample_rows is None:
        for cols in table.column_batches(batch_rows):
            if cols and len(cols[0]):
                n += len(cols[0])
                flush(cols)
    else:
        for row in table.rows():
            buf.append(row)
            n += 1
            if len(buf) >= batch_rows:
                flush()
            if n >= sample_rows:
                complete = False
                break
    if buf:
        flush()
    results = []
    for j, name in enumerate(table.columns):
        col = ColumnResult(name, j, header_hints=hints[j] if j < len(hints) else {})
        _classify(col, stats[j] if j < len(stats) else CellStats(), det, min_share)
        results.append(col)
    if complete is False:
        # we stopped exactly at the sample size: the table may or may not have more rows
        complete = next(iter(table.rows()), None) is None if n == 0 else False
    return ScanReport(table.as_dict(), n, complete, results, time.perf_counter() - t0)


def scan_file(path: str, *, detector: Detector | None = None, sample_rows: int | None = 2000, **open_opts: Any) -> ScanReport:
    return scan_table(open_table(path, **open_opts), detector=detector, sample_rows=sample_rows)


def scan_cells(
    table: Table, *, detector: Detector | None = None, limit: int | None = None
) -> Iterator[tuple[int, str, Finding]]:
    """Per-cell mode: every finding inside every cell, as ``(row number (1-based, data rows), column,
    finding)``; cell-only recognisers (bare names) apply to whole cells; the column header gives the
    same boost as in column scans."""
    det = detector or default_detector()
    count = 0
    hints = {name: frozenset(header_entities(name)) for name in table.columns}
    for i, row in enumerate(table.rows(), 1):
        for name, cell in zip(table.columns, row):
            if not cell:
                continue
            for f in det.analyze(cell, cell=True, hinted=hints.get(name, ())):
                yield i, name, f
                count += 1
                if limit is not None and count >= limit:
                    return
