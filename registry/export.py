"""Exporting the library as CSV (UTF-8 with BOM, opens cleanly in Excel/WPS) or XLSX.

Spreadsheet formula injection is neutralised: a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return (OWASP's list; also the full-width ``＝``/``＋``/``－``/``＠``) is prefixed with a single quote,
so ``=cmd|' /C calc'!A0`` arrives as text, never as a formula.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

from kernel.clock import isoformat

COLUMNS = ["id", "title", "organisation", "district", "area", "construction_mode", "deployment", "budget",
           "start_year", "end_year", "mlps_level", "state", "decision", "capability_tags", "data_resources",
           "shared_platforms", "precheck_errors", "precheck_warnings", "likely_duplicates", "summary", "updated_at"]
MatchesOf = Callable[[Any], "list[dict[str, Any]] | None"]
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_DANGEROUS):
        return "'" + value
    return value


def worksheet_value(value: Any) -> Any:
    """A value a worksheet can hold: formula-neutralised, without the control characters XLSX forbids
    (openpyxl raised IllegalCharacterError mid-export for a title with U+0001)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    value = neutralise(value)
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def _hidden(_project) -> None:
    return None


def row_of(project, matches_of: MatchesOf = _hidden) -> dict[str, Any]:
    """One export row. ``matches_of(project)`` gives the matches the reader may see (None: hidden) — pass
    ``lambda p: registry.services.visible_matches(principal, p)``; the default shows none."""
    data = project.data or {}
    pc = project.precheck or {}
    counts = pc.get("counts") or {}
    return {
        "id": project.id, "title": project.title, "organisation": project.organisation, "district": project.district,
        "area": project.area, "construction_mode": project.construction_mode, "deployment": project.deployment,
        "budget": project.budget, "start_year": project.start_year, "end_year": project.end_year,
        "mlps_level": project.mlps_level, "state": project.state, "decision": project.decision or "",
        "capability_tags": "; ".join(data.get("capability_tags") or []),
        "data_resources": "; ".join(data.get("data_resources") or []),
        "shared_platforms": "; ".join(data.get("shared_platforms") or []),
        "precheck_errors": counts.get("error", ""), "precheck_warnings": counts.get("warning", ""),
        "likely_duplicates": "; ".join(m["id"] for m in (matches_of(project) or []) if m.get("likely_duplicate")),
        "summary": data.get("summary", ""), "updated_at": isoformat(project.updated_at),
    }


def to_csv(projects, matches_of: MatchesOf = _hidden) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for p in projects:
        row = row_of(p, matches_of)
        writer.writerow([neutralise("" if row[c] is None else row[c]) for c in COLUMNS])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(projects, matches_of: MatchesOf = _hidden) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("projects")
    ws.append(COLUMNS)
    for p in projects:
        row = row_of(p, matches_of)
        ws.append([worksheet_value(row[c]) for c in COLUMNS])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def to_json(projects, matches_of: MatchesOf = _hidden) -> bytes:
    return json.dumps([{**row_of(p, matches_of), "data": p.data} for p in projects], ensure_ascii=False, indent=1).encode("utf-8")


def export(projects, fmt: str, matches_of: MatchesOf = _hidden) -> bytes:
    return {"csv": to_csv, "xlsx": to_xlsx, "json": to_json}[fmt](projects, matches_of)


# ------------------------------------------------------------------------------------------ streaming


def stream(projects, fmt: str, *, chunk: int = 500, matches_of: MatchesOf = _hidden):
    """The export as a sequence of byte chunks, consuming ``projects`` lazily (constant memory for CSV and
    JSON; XLSX goes through openpyxl's write-only mode into a temporary file)."""
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        buf.write("\ufeff")
        writer.writerow(COLUMNS)
        for i, p in enumerate(projects, start=1):
            row = row_of(p, matches_of)
            writer.writerow([neutralise("" if row[c] is None else row[c]) for c in COLUMNS])
            if i % chunk == 0:
                yield buf.getvalue().encode("utf-8")
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue().encode("utf-8")
    elif fmt == "json":
        yield b"["
        for i, p in enumerate(projects):
            yield (("\n" if i == 0 else ",\n") + json.dumps({**row_of(p, matches_of), "data": p.data}, ensure_ascii=False)).encode("utf-8")
        yield b"\n]\n"
    elif fmt == "xlsx":
        import tempfile

        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("projects")
        ws.append(COLUMNS)
        for p in projects:
            row = row_of(p, matches_of)
            ws.append([worksheet_value(row[c]) for c in COLUMNS])
        with tempfile.TemporaryFile() as fh:
            wb.save(fh)
            fh.seek(0)
            while True:
                block = fh.read(1 << 16)
                if not block:
                    break
                yield block
    else:
        raise ValueError(fmt)
