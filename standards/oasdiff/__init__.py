"""Breaking-change detection between two OpenAPI documents, after oasdiff's model.

A check compares *base* (old) and *revision* (new). Every finding has an oasdiff rule id, the level
that oasdiff's rule table gives it (``error`` = breaking, ``warning`` = cannot be decided from the spec,
``info``), a message, the operation (``METHOD /path``) and a JSON pointer into each document
(``old_pointer`` / ``new_pointer``; where a ``$ref`` was followed the pointer names the referenced node).

Principle: a consumer following the old contract must keep working. Request side: narrowing breaks.
Response side: widening breaks. Rule ids are built from (direction, location, change) with the keyword
tables of ``rules/oasdiff-schema.yaml`` and looked up in ``rules/oasdiff-rules.json`` (oasdiff's table),
which also supplies their level. A detected change with no rule in the table is never dropped: ``strict=True``
raises :class:`UnmappedChange` (the tests run strict), otherwise it is a warning marked ``"unmapped": true``.

Parts, one module per concern: :mod:`.paths` (paths matched by templated shape, operations, lifecycle,
webhooks), :mod:`.parameters`, :mod:`.bodies` (request bodies), :mod:`.responses`, :mod:`.security`
(security and components), :mod:`.schemas` (schema comparison); :mod:`.core` holds the tables.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from standards.oasdiff.core import Doc, UnmappedChange, level_of, rule_table, schema_map
from standards.oasdiff.differ import Differ
from standards.reports import Report

__all__ = ["Doc", "Differ", "UnmappedChange", "breaking", "diff", "diff_report", "level_of", "rule_table",
           "schema_map"]


def diff(old: dict[str, Any], new: dict[str, Any], *, today: _dt.date | None = None,
         include_unstable: bool = False, deprecation_days: int | None = None,
         strict: bool = False) -> list[dict[str, Any]]:
    """All findings (error / warning / info) between two OpenAPI documents. ``deprecation_days`` turns on the
    sunset policy (deprecations need a sunset date at least that many days ahead). A ``$ref`` that leaves
    either document is refused (:class:`standards.openapi_engine.RemoteReference`): it is never fetched."""
    from standards.openapi_engine import refuse_remote_refs

    refuse_remote_refs(old, "the base document")
    refuse_remote_refs(new, "the revision")
    return Differ(old, new, today=today, include_unstable=include_unstable, deprecation_days=deprecation_days,
                  strict=strict).run()


def diff_report(old: dict[str, Any], new: dict[str, Any], *, subject: str = "", min_level: str = "info",
                max_examples: int = 1000, **kw: Any) -> Report:
    order = {"info": 0, "warning": 1, "error": 2}
    report = Report("diff", subject=subject, max_examples=max_examples)
    for f in diff(old, new, **kw):
        if order[f["level"]] >= order[min_level]:
            report.add(f)
    return report


def breaking(old: dict[str, Any], new: dict[str, Any], **kw: Any) -> list[dict[str, Any]]:
    return [f for f in diff(old, new, **kw) if f["level"] == "error"]
