"""Evaluation periods: ``2024-Q1`` (quarter), ``2024-03`` (month), ``2024`` (year); half-open UTC intervals."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from kernel import ValidationFailed

_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_YEAR = re.compile(r"^(\d{4})$")


@dataclass(frozen=True)
class Period:
    label: str
    kind: str  # quarter | month | year
    start: datetime
    end: datetime  # exclusive

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400

    def previous(self) -> Period:
        y = self.start.year
        if self.kind == "year":
            return parse_period(f"{y - 1}")
        if self.kind == "quarter":
            q = (self.start.month - 1) // 3 + 1
            return parse_period(f"{y - 1}-Q4" if q == 1 else f"{y}-Q{q - 1}")
        m = self.start.month
        return parse_period(f"{y - 1}-12" if m == 1 else f"{y}-{m - 1:02d}")

    def to_dict(self) -> dict:
        return {"label": self.label, "kind": self.kind, "start": self.start.isoformat(), "end": self.end.isoformat()}


def _bad(value: str) -> ValidationFailed:
    return ValidationFailed(f"unknown period {value!r}: use YYYY-Qn (e.g. 2024-Q1), YYYY-MM or YYYY",
                            errors=[{"field": "period", "message": "YYYY-Qn, YYYY-MM or YYYY"}])


def parse_period(value: str | None) -> Period:
    v = (value or "").strip().upper()
    if not 1990 <= int(v[:4] if v[:4].isdigit() else 0) <= 2200:  # before building dates: year 0 / 9999-12 crashed
        raise _bad(str(value))
    if m := _QUARTER.match(v):
        y, q = int(m[1]), int(m[2])
        start = datetime(y, 3 * q - 2, 1, tzinfo=UTC)
        end = datetime(y + 1, 1, 1, tzinfo=UTC) if q == 4 else datetime(y, 3 * q + 1, 1, tzinfo=UTC)
        kind = "quarter"
    elif m := _MONTH.match(v):
        y, mo = int(m[1]), int(m[2])
        start = datetime(y, mo, 1, tzinfo=UTC)
        end = datetime(y + 1, 1, 1, tzinfo=UTC) if mo == 12 else datetime(y, mo + 1, 1, tzinfo=UTC)
        kind = "month"
    elif m := _YEAR.match(v):
        y = int(m[1])
        start, end, kind = datetime(y, 1, 1, tzinfo=UTC), datetime(y + 1, 1, 1, tzinfo=UTC), "year"
    else:
        raise _bad(str(value))
    if not 1990 <= start.year <= 2200:
        raise _bad(str(value))
    return Period(label=v, kind=kind, start=start, end=end)


def period_containing(kind: str, when: datetime) -> Period:
    if kind == "quarter":
        return parse_period(f"{when.year}-Q{(when.month - 1) // 3 + 1}")
    if kind == "month":
        return parse_period(f"{when.year}-{when.month:02d}")
    return parse_period(f"{when.year}")
