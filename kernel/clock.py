"""Time helpers: everything citygov stores is UTC and timezone-aware."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time, UTC, aware, truncated to microseconds (what every database keeps)."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Treat naive datetimes (as SQLite returns them) as UTC; convert aware ones to UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def isoformat(value: datetime) -> str:
    """RFC 3339 UTC with a ``Z`` suffix."""
    return as_utc(value).isoformat().replace("+00:00", "Z")
