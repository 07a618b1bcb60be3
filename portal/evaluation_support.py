"""What the portal supplies to secmon evaluations from its configuration: the EVE retention setting
(``CITYGOV_SECMON_EVE_RETENTION_DAYS``, default 180, the legal minimum) and the audit verification keys."""

from __future__ import annotations

from typing import Any

from flask import current_app

DEFAULT_RETENTION_DAYS = 180


def retention_days() -> int | None:
    value = current_app.config.get("SECMON_EVE_RETENTION_DAYS", DEFAULT_RETENTION_DAYS)
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def verifiers() -> list | None:
    """The audit checkpoint verification keys (None when there are none: the control is then not assessed)."""
    from audit import notes
    from portal.keys import key_dir

    try:
        keys = notes.load_verifiers(key_dir())
    except (OSError, ValueError):
        return None
    return keys


def evaluation_kwargs() -> dict[str, Any]:
    return {"retention_days": retention_days(), "verifiers": verifiers()}
