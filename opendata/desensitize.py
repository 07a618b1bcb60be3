"""Apply a policy to a table, streaming, into a temporary file that is renamed into place only when
everything succeeded and the release gate (:mod:`opendata.gate`: every cell of the output, every
operator's output included) finds no direct identifier; only organisation codes the policy keeps
with a reason may remain."""

from __future__ import annotations

import csv
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kernel import atomicfile
from kernel.errors import ValidationFailed
from kernel.faults import pause_point
from opendata.operators import Keys, OperatorError, OpStats, build_operator
from opendata.policy import check_policy_columns
from opendata.recognizers import Detector, default_detector
from opendata.gate import GateReport, gate_table, keep_map
from opendata.tabular import Table, open_table

__all__ = ["DesensitizeResult", "desensitize", "desensitize_file", "ResidualIdentifiers"]


class ResidualIdentifiers(ValidationFailed):
    """The output still contains direct identifiers the policy does not explicitly keep."""


@dataclass
class DesensitizeResult:
    output: str
    rows: int
    columns_in: list[str]
    columns_out: list[str]
    operators: dict[str, dict[str, Any]] = field(default_factory=dict)
    residual: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    gate: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"output": self.output, "rows": self.rows, "columns_in": self.columns_in,
                "columns_out": self.columns_out, "operators": self.operators, "residual": self.residual,
                "gate": self.gate, "seconds": round(self.seconds, 3)}


class _Writer:
    def __init__(self, fh, fmt: str, columns: list[str], delimiter: str = ","):
        self.fh, self.fmt, self.columns = fh, fmt, columns
        self.first = True
        if fmt == "csv":
            self.w = csv.writer(fh, delimiter=delimiter, lineterminator="\n")
            self.w.writerow(columns)
        elif fmt == "json":
            fh.write("[")

    def row(self, values: list[str | None]) -> None:
        if self.fmt == "csv":
            self.w.writerow(["" if v is None else v for v in values])
            return
        line = json.dumps(dict(zip(self.columns, values)), ensure_ascii=False)
        if self.fmt == "ndjson":
            self.fh.write(line + "\n")
        else:
            self.fh.write(("\n" if self.first else ",\n") + line)
            self.first = False

    def close(self) -> None:
        if self.fmt == "json":
            self.fh.write("\n]\n")


def _out_format(path: Path, default: str) -> str:
    ext = path.suffix.lower()
    return {".csv": "csv", ".tsv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson", ".json": "json"}.get(
        ext, "csv" if default == "xlsx" else default)


def desensitize(
    table: Table,
    policy: dict[str, Any],
    out: str | os.PathLike,
    *,
    keys: Keys | None = None,
    detector: Detector | None = None,
    out_encoding: str = "utf-8",
    verify: bool = True,
) -> DesensitizeResult:
    """Stream ``table`` through ``policy`` into ``out`` (CSV / NDJSON / JSON by extension).

    Raises ValidationFailed (policy/table mismatch, missing keys, residual identifiers) or DataError
    (unreadable input); ``out`` is then left untouched.
    """
    t0 = time.perf_counter()
    det = detector or default_detector()
    cols = list(table.columns)
    check_policy_columns(policy, cols)
    on_unlisted = policy.get("on_unlisted", "keep")
    ops, stats, specs = [], {}, {}
    keep_idx = []
    for i, c in enumerate(cols):
        spec = policy["columns"].get(c) or ({"type": "drop"} if on_unlisted == "drop" else {"type": "keep"})
        specs[c] = spec
        stats[c] = OpStats()
        try:
            op = build_operator(spec, column=c, keys=keys, detector=det, stats=stats[c])
        except OperatorError as exc:
            raise ValidationFailed(str(exc), errors=[{"pointer": f"/columns/{c}", "message": str(exc)}]) from None
        if op is not None:
            ops.append(op)
            keep_idx.append(i)
    out_cols = [cols[i] for i in keep_idx]
    target = Path(out)
    fmt = _out_format(target, table.format)
    fd, tmp = atomicfile.temp_path(target)  # also removes temporary files of killed runs
    n = 0
    try:
        with os.fdopen(fd, "w", encoding=out_encoding, newline="") as fh:
            w = _Writer(fh, fmt, out_cols, table.delimiter or ",")
            pairs = list(zip(keep_idx, ops))
            for row in table.rows():
                w.row([op(row[i] if i < len(row) else None) for i, op in pairs])
                n += 1
            w.close()
            fh.flush()
            os.fsync(fh.fileno())
        result = DesensitizeResult(str(target), n, cols, out_cols, seconds=0.0)
        for c in cols:
            result.operators[c] = {"spec": specs[c], "applied": stats[c].applied, "invalid": stats[c].invalid}
        if verify:
            rep = gate_output(tmp, fmt, out_encoding, policy, det)
            result.gate = rep.summary()
            result.residual = [f.as_dict() for f in rep.blocking]
            if not rep.passed:
                raise ResidualIdentifiers(
                    "direct identifiers remain after desensitization; treat these columns (only organisation "
                    "codes may be kept, in keep_identifiers with a reason)",
                    errors=rep.errors(),
                )
        pause_point("opendata.desensitize.before_rename")
        os.replace(tmp, target)
        atomicfile.fsync_dir(target.parent)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    result.seconds = time.perf_counter() - t0
    return result


def gate_output(path: str, fmt: str, encoding: str, policy: dict[str, Any], det: Detector) -> GateReport:
    """The release gate over a written output (every cell; no operator is exempt)."""
    return gate_table(open_table(path, format=fmt, encoding=encoding), detector=det, keep=keep_map(policy))


def desensitize_file(path: str | os.PathLike, policy: dict[str, Any], out: str | os.PathLike, *,
                     keys: Keys | None = None, detector: Detector | None = None, **open_opts: Any) -> DesensitizeResult:
    return desensitize(open_table(path, **open_opts), policy, out, keys=keys, detector=detector)
