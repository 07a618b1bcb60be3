"""Registry settings and rules that change over time (after Confluent Schema Registry / Apicurio):

* a standard's compatibility level, strictness, format assertion and lint rule set can be changed after
  creation (commission; audited with the old and new values);
* the global default compatibility level that a new standard gets when none is given;
* a dry-run compatibility check — "would this content be accepted as the next version?" — that runs the
  validity and compatibility rules and stores nothing;
* the ``disabled`` version state (Apicurio): a published or deprecated version is taken out of service
  (not served for validation, not a base for compatibility) and can be enabled again.
"""

from __future__ import annotations

from typing import Any

import audit
from kernel.clock import utcnow
from kernel.errors import Conflict, ValidationFailed
from kernel.permissions import authorize
from kernel.principal import Principal
from standards import compat
from standards.models import Standard, StandardSetting, StandardVersion  # noqa: F401

DEFAULT_COMPATIBILITY = "BACKWARD"


def default_compatibility(session) -> str:
    row = session.get(StandardSetting, "default_compatibility")
    return row.value if row is not None else DEFAULT_COMPATIBILITY


def set_default_compatibility(session, principal: Principal, level: str, *, commit: bool = True) -> str:
    authorize(principal, "standards:settings:update", None)
    level = (level or "").upper()
    if level not in compat.LEVELS:
        raise ValidationFailed("invalid compatibility level",
                               errors=[{"field": "compatibility", "message": f"one of {', '.join(compat.LEVELS)}"}])
    old = default_compatibility(session)
    row = session.get(StandardSetting, "default_compatibility")
    if row is None:
        row = StandardSetting(key="default_compatibility", value=level, updated_by=principal.actor)
    row.value, row.updated_at, row.updated_by = level, utcnow(), principal.actor
    session.add(row)
    session.flush()
    audit.record(session, principal, "standards:settings:update", object_type="standards_setting",
                 object_id="default_compatibility", state={"key": "default_compatibility", "value": level},
                 details={"old": old, "new": level})
    if commit:
        session.commit()
    return level


def settings(session) -> dict[str, Any]:
    return {"default_compatibility": default_compatibility(session), "levels": list(compat.LEVELS)}


_UNSET: Any = object()


def standard_update(session, principal: Principal, name: str, *, compatibility: str | None = None,
                    strict: bool | None = None, format_assert: bool | None = None,
                    lint_ruleset: str | None = _UNSET, commit: bool = True) -> Standard:
    """Change a standard's rules (only the given fields); the audit event holds old and new values. The new
    compatibility level applies to the next version published (existing versions are not re-judged)."""
    from standards.services import _standard, _state

    std = _standard(session, name)
    authorize(principal, "standards:standard:update", std)
    changes: dict[str, tuple[Any, Any]] = {}
    errors = []
    if compatibility is not None:
        level = compatibility.upper()
        if level not in compat.LEVELS:
            errors.append({"field": "compatibility", "message": f"one of {', '.join(compat.LEVELS)}"})
        elif level != std.compatibility:
            changes["compatibility"] = (std.compatibility, level)
    if lint_ruleset is not _UNSET:
        if std.kind != "openapi" and lint_ruleset is not None:
            errors.append({"field": "lint_ruleset", "message": "lint rule sets apply to OpenAPI standards"})
        elif lint_ruleset is not None:
            from standards.lint import load_ruleset

            load_ruleset(lint_ruleset)  # InputError (400 / exit 2) on a bad rule set
        if lint_ruleset != std.lint_ruleset:
            changes["lint_ruleset"] = (std.lint_ruleset is not None, lint_ruleset is not None)
    if errors:
        raise ValidationFailed("invalid standard settings", errors=errors)
    if strict is not None and bool(strict) != std.strict:
        changes["strict"] = (std.strict, bool(strict))
    if format_assert is not None and bool(format_assert) != std.format_assert:
        changes["format_assert"] = (std.format_assert, bool(format_assert))
    if not changes:
        return std
    for field, (_old, new) in changes.items():
        if field == "lint_ruleset":
            std.lint_ruleset = lint_ruleset
        else:
            setattr(std, field, new)
    session.add(std)
    session.flush()
    audit.record(session, principal, "standards:standard:update", object_type="standard", object_id=std.id,
                 state=_state(std), details={"name": name, **{f: {"old": o, "new": n} for f, (o, n) in changes.items()}})
    if commit:
        session.commit()
    return std


def compatibility_check(session, principal: Principal, name: str, content: bytes | str, *,
                        filename: str | None = None, level: str | None = None) -> dict[str, Any]:
    """Dry run: would ``content`` be accepted as the next version of ``name``? Nothing is stored.

    Returns ``{"is_compatible", "level", "valid", "messages", "compared_with"}`` (Confluent's shape plus the
    validity verdict); ``level`` overrides the standard's own for this check only."""
    from standards.services import LIVE_STATES, _doc_of, _standard, _versions, analyse, compatibility_findings
    from standards.services import schema_registry

    std = _standard(session, name)
    authorize(principal, "standards:document:check", std)
    level = (level or std.compatibility).upper()
    if level not in compat.LEVELS:
        raise ValidationFailed("invalid compatibility level",
                               errors=[{"field": "level", "message": f"one of {', '.join(compat.LEVELS)}"}])
    registry = schema_registry(session) if std.kind == "jsonschema" else None
    parsed = analyse(std.kind, content, filename=filename, registry=registry)
    previous = _versions(session, std, LIVE_STATES)
    out: dict[str, Any] = {"standard": name, "level": level, "valid": not parsed["problems"],
                           "compared_with": [p.version for p in previous], "messages": []}
    if parsed["problems"]:
        out["is_compatible"] = False
        out["messages"] = [{**p, "rule": p.get("rule", "validity"), "level": "error"} for p in parsed["problems"]]
        return out
    findings = compatibility_findings(std.kind, level, parsed["doc"], [_doc_of(std.kind, p) for p in previous],
                                      strict=std.strict)
    out["is_compatible"] = not findings
    out["messages"] = findings[:500]
    return out


def _transition(session, principal: Principal, name: str, version: str, *, action: str, allowed_from: tuple,
                to: str) -> StandardVersion:
    from standards.services import _standard, _state, _version

    std = _standard(session, name)
    v = _version(session, std, version)
    authorize(principal, f"standards:version:{action}", v)
    if v.state not in allowed_from:
        raise Conflict(f"{name}@{version} is {v.state}: cannot {action}")
    old = v.state
    if action == "enable":
        to = "deprecated" if v.deprecated_at is not None else "published"
    v.state = to
    session.add(v)
    session.flush()
    audit.record(session, principal, f"standards:version:{action}", object_type="standard_version", object_id=v.id,
                 state=_state(v), details={"standard": name, "version": version, "old_state": old})
    session.commit()
    return v


def version_disable(session, principal: Principal, name: str, version: str) -> StandardVersion:
    """published / deprecated → disabled: out of service (no validation, not a compatibility base)."""
    return _transition(session, principal, name, version, action="disable", allowed_from=("published", "deprecated"),
                       to="disabled")


def version_enable(session, principal: Principal, name: str, version: str) -> StandardVersion:
    """disabled → the state it had before (published, or deprecated when it had been deprecated)."""
    return _transition(session, principal, name, version, action="enable", allowed_from=("disabled",),
                       to="published")

