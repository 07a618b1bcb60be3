"""The differ: one object per comparison, assembled from the parts (one module per concern)."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from typing import Any

from standards.oasdiff.bodies import RequestBodyMixin
from standards.oasdiff.core import Doc, UnmappedChange, declared_for_review, level_of, not_reported
from standards.oasdiff.parameters import ParametersMixin
from standards.oasdiff.paths import PathsMixin
from standards.oasdiff.responses import ResponsesMixin
from standards.oasdiff.schemas import SchemaDiff
from standards.oasdiff.security import SecurityMixin


class Differ(PathsMixin, ParametersMixin, RequestBodyMixin, ResponsesMixin, SecurityMixin):
    def __init__(self, old: dict[str, Any], new: dict[str, Any], *, today: _dt.date | None = None,
                 include_unstable: bool = False, deprecation_days: int | None = None, strict: bool = False):
        self.o = Doc(old)
        self.n = Doc(new)
        self.deprecation_days = deprecation_days
        self.strict = strict
        self._stab: str | None = None
        self.findings: list[dict[str, Any]] = []
        self.today = today or _dt.date.today()
        self.include_unstable = include_unstable
        self._schema_memo: dict[tuple, list[dict[str, Any]]] = {}
        self._op: dict[str, Any] = {}

    def emit(self, candidates: str | Iterable[str], message: str, old_pointer: str | None,
             new_pointer: str | None, **extra: Any) -> None:
        cands = [candidates] if isinstance(candidates, str) else list(candidates)
        for rid in cands:
            lvl = level_of(rid)
            if lvl:
                self.findings.append({"rule": rid, "level": lvl, "message": message, "old_pointer": old_pointer,
                                      "new_pointer": new_pointer, **self._op, **extra})
                return
        if not_reported(cands):
            return
        if self.strict and not declared_for_review(cands):
            raise UnmappedChange(f"no rule in oasdiff's table for {cands} ({message})")
        self.findings.append({"rule": cands[0], "level": "warning", "unmapped": True,
                              "message": message + " (no oasdiff rule for this change: review it by hand)",
                              "old_pointer": old_pointer, "new_pointer": new_pointer, **self._op, **extra})

    def run(self) -> list[dict[str, Any]]:
        self.info_checks()
        self.security_components()
        self.global_security()
        self.paths()
        self.webhooks()
        self.components()
        return self.findings

    def schema(self, o: Any, n: Any, op_: str, np_: str, direction: str, where: str, label: str, *,
               media_type: str = "") -> None:
        """Compare two schemas; ``where`` is body | parameter | header (top level)."""
        key = (op_, np_, direction, where)
        if key not in self._schema_memo:
            self._schema_memo[key] = []
            out: list[dict[str, Any]] = []
            xml = "xml" in media_type.lower()
            SchemaDiff(self, direction, where, out, xml=xml).diff(o, n, op_, np_, "", frozenset())
            self._schema_memo[key] = out
        for f in self._schema_memo[key]:
            g = dict(f)
            g.update(self._op)
            g["message"] = f"{label}: {g['message']}"
            self.findings.append(g)
