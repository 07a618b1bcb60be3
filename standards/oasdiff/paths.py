"""Paths, operations and their lifecycle (deprecation, sunset, stability), webhooks.

Paths are matched by their templated shape: ``/books/{bookId}`` in the base and ``/books/{id}`` in the revision
are the same endpoint (oasdiff's ``TestBreaking_PathParamRename``), and the path parameters are then compared
under their new names, position by position.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from standards.oasdiff.core import STABILITY, parse_date, ptr, semver
from standards.oaswalk import METHODS, path_variables, shape


@dataclass
class OpPair:
    """One operation present in both documents."""

    path: str  # the base path template (the consumer's contract)
    method: str
    old: dict[str, Any]
    new: dict[str, Any]
    old_ptr: str
    new_ptr: str
    old_common: list[Any] = field(default_factory=list)  # path-item level parameters
    new_common: list[Any] = field(default_factory=list)
    old_item_ptr: str = ""
    new_item_ptr: str = ""
    renames: dict[str, str] = field(default_factory=dict)  # old path-parameter name -> new name


def match_paths(opaths: dict[str, Any], npaths: dict[str, Any]) -> tuple[dict[str, str], list[str], list[str]]:
    """``(old -> new path, removed old paths, added new paths)``; identical templates first, then the same
    shape with renamed parameters (only when the shape identifies one path on each side)."""
    pairs = {p: p for p in opaths if p in npaths}
    o_left = [p for p in opaths if p not in pairs]
    n_left = [p for p in npaths if p not in pairs.values()]
    by_shape: dict[str, list[str]] = {}
    for p in n_left:
        by_shape.setdefault(shape(p), []).append(p)
    o_shapes: dict[str, int] = {}
    for p in o_left:
        o_shapes[shape(p)] = o_shapes.get(shape(p), 0) + 1
    for p in o_left:
        cands = by_shape.get(shape(p), [])
        if len(cands) == 1 and o_shapes[shape(p)] == 1:
            pairs[p] = cands[0]
    removed = [p for p in opaths if p not in pairs]
    added = [p for p in npaths if p not in pairs.values()]
    return pairs, removed, added


class PathsMixin:
    def paths(self) -> None:
        self._items("paths", lambda path, m: f"{m.upper()} {path}")

    def webhooks(self) -> None:
        o, n = self.o.spec.get("webhooks") or {}, self.n.spec.get("webhooks") or {}
        for name in o:
            if name not in n:
                self._op = {"operation": f"webhook {name}"}
                self.emit("webhook-removed", f"webhook {name!r} removed", ptr("webhooks", name), None)
        for name in n:
            if name not in o:
                self._op = {"operation": f"webhook {name}"}
                self.emit("webhook-added", f"webhook {name!r} added", None, ptr("webhooks", name))
        self._op = {}
        # the operations of a webhook present in both documents are compared like those of a path
        both = {k: o[k] for k in o if k in n}
        if both:
            self._items("webhooks", lambda name, m: f"{m.upper()} webhook {name}", only=set(both), shapes=False)

    def _items(self, key: str, label: Callable[[str, str], str], only: set[str] | None = None,
               shapes: bool = True) -> None:
        opaths = self.o.spec.get(key) or {}
        npaths = self.n.spec.get(key) or {}
        if only is not None:
            opaths = {k: v for k, v in opaths.items() if k in only}
            npaths = {k: v for k, v in npaths.items() if k in only}
        if shapes:
            pairs, removed, added = match_paths(opaths, npaths)
        else:
            pairs = {k: k for k in opaths if k in npaths}
            removed = [k for k in opaths if k not in npaths]
            added = [k for k in npaths if k not in opaths]
        for path, oitem_raw in opaths.items():
            oitem, opp = self.o.deref(oitem_raw, ptr(key, path))
            if path in removed:
                self.path_removed(path, oitem, opp)
                continue
            npath = pairs[path]
            nitem, npp = self.n.deref(npaths[npath], ptr(key, npath))
            renames = dict(zip(path_variables(path), path_variables(npath))) if npath != path else {}
            self.path_item(path, oitem, nitem, opp, npp, label, renames)
        for path in added:
            nitem, npp = self.n.deref(npaths[path], ptr(key, path))
            for m in METHODS:
                if isinstance(nitem, dict) and m in nitem:
                    self._op = {"operation": label(path, m)}
                    self.emit("endpoint-added", f"endpoint added: {label(path, m)}", None, npp + ptr(m))
        self._op = {}

    def path_item(self, path: str, oitem: Any, nitem: Any, opp: str, npp: str,
                  label: Callable[[str, str], str], renames: dict[str, str]) -> None:
        if not isinstance(oitem, dict) or not isinstance(nitem, dict):
            return
        for m in METHODS:
            oop, nop = oitem.get(m), nitem.get(m)
            self._op = {"operation": label(path, m)}
            if isinstance(oop, dict) and not isinstance(nop, dict):
                self.operation_removed(path, m, oop, opp + ptr(m))
            elif isinstance(nop, dict) and not isinstance(oop, dict):
                self.emit("endpoint-added", f"endpoint added: {label(path, m)}", None, npp + ptr(m))
            elif isinstance(oop, dict) and isinstance(nop, dict):
                self.operation(OpPair(path, m, oop, nop, opp + ptr(m), npp + ptr(m),
                                      oitem.get("parameters") or [], nitem.get("parameters") or [], opp, npp,
                                      renames))
        self._op = {}

    def info_checks(self) -> None:
        oi = self.o.spec.get("info") or {}
        ni = self.n.spec.get("info") or {}
        ov, nv = str(oi.get("version", "")), str(ni.get("version", ""))
        if semver(ov) and semver(nv) and semver(nv) < semver(ov):
            self.emit("api-version-decreased", f"API version decreased from {ov!r} to {nv!r}",
                      "/info/version", "/info/version")

    # -- lifecycle -----------------------------------------------------------------------------
    def _stability(self, op: dict[str, Any], opointer: str, which: str) -> int | None:
        level = op.get("x-stability-level")
        if level is None:
            return STABILITY["stable"]
        if level not in STABILITY:
            self.emit("api-invalid-stability-level",
                      f"invalid x-stability-level {level!r} in the {which} spec", None if which == "revision"
                      else opointer, opointer if which == "revision" else None)
            return None
        return STABILITY[level]

    def _sunset(self, op: dict[str, Any], rule: str, pointer: str, side: str) -> _dt.date | None | str:
        raw = op.get("x-sunset")
        if raw is None:
            return None
        d = parse_date(raw)
        if d is None:
            self.emit(rule, f"failed to parse the sunset date {raw!r}", pointer if side == "old" else None,
                      pointer if side == "new" else None)
            return "invalid"
        return d

    def sunset_policy(self, obj: dict[str, Any], missing_rule: str, small_rule: str, op_: str | None,
                      np_: str | None, label: str, out: Callable[..., None] | None = None) -> None:
        """With a deprecation policy (``deprecation_days``), a deprecation needs a sunset date at least that
        many days ahead (oasdiff's ``--deprecation-days-*``); draft and alpha APIs are exempt."""
        if not self.deprecation_days or self._stab in ("draft", "alpha"):
            return
        emit = out or (lambda rid, msg, o, n: self.emit(rid, msg, o, n))
        raw = obj.get("x-sunset")
        if raw is None:
            emit(missing_rule, f"{label} deprecated without a sunset date (policy: {self.deprecation_days} days)",
                 op_, np_)
            return
        d = parse_date(raw)
        if d is not None and d < self.today + _dt.timedelta(days=self.deprecation_days):
            emit(small_rule, f"{label}: sunset date {d} is less than {self.deprecation_days} days away", op_, np_)

    def path_removed(self, path: str, oitem: dict[str, Any], opp: str) -> None:
        for m in METHODS:
            op = oitem.get(m) if isinstance(oitem, dict) else None
            if not isinstance(op, dict):
                continue
            self._op = {"operation": f"{m.upper()} {path}"}
            op_ptr = opp + ptr(m)
            stab = op.get("x-stability-level")
            if stab in ("draft", "alpha") and not self.include_unstable:
                if not op.get("deprecated"):
                    self.emit("api-path-removed-without-deprecation",
                              f"api path removed without deprecation ({stab} stability)", op_ptr, None)
                continue
            if not op.get("deprecated"):
                self.emit("api-path-removed-without-deprecation", f"api path {path} removed without deprecation",
                          op_ptr, None)
                continue
            sunset = self._sunset(op, "api-path-sunset-parse", op_ptr, "old")
            if sunset == "invalid":
                continue
            if sunset is not None and sunset > self.today:
                self.emit("api-path-removed-before-sunset",
                          f"api path {path} removed before its sunset date {sunset}", op_ptr, None)
            else:
                self.emit("api-path-removed-with-deprecation", f"api path {path} removed with deprecation",
                          op_ptr, None)
        self._op = {}

    def operation_removed(self, path: str, m: str, op: dict, op_ptr: str) -> None:
        stab = op.get("x-stability-level")
        if stab in ("draft", "alpha") and not self.include_unstable:
            return
        if not op.get("deprecated"):
            self.emit("api-removed-without-deprecation", f"api removed without deprecation: {m.upper()} {path}",
                      op_ptr, None)
            return
        sunset = self._sunset(op, "api-path-sunset-parse", op_ptr, "old")
        if sunset == "invalid":
            return
        if sunset is not None and sunset > self.today:
            self.emit("api-removed-before-sunset", f"api removed before its sunset date {sunset}", op_ptr, None)
        else:
            self.emit("api-removed-with-deprecation", f"api removed with deprecation: {m.upper()} {path}",
                      op_ptr, None)

    def operation(self, pair: OpPair) -> None:
        oop, nop, op_o, op_n = pair.old, pair.new, pair.old_ptr, pair.new_ptr
        # stability
        os_ = self._stability(oop, op_o, "base")
        ns_ = self._stability(nop, op_n, "revision")
        if os_ is not None and ns_ is not None and ns_ < os_:
            self.emit("api-stability-decreased", "stability level decreased from "
                      f"{oop.get('x-stability-level', 'stable')!r} to {nop.get('x-stability-level')!r}",
                      op_o, op_n)
        unstable = (nop.get("x-stability-level") in ("draft", "alpha")) and not self.include_unstable
        self._stab = nop.get("x-stability-level")
        # deprecation
        od, nd = bool(oop.get("deprecated")), bool(nop.get("deprecated"))
        if not od and nd:
            sunset = self._sunset(nop, "api-deprecated-sunset-parse", op_n + "/x-sunset", "new")
            if sunset not in (None, "invalid"):
                self.emit("endpoint-deprecated-with-sunset", f"endpoint deprecated with sunset date {sunset}",
                          op_o, op_n)
            elif sunset is None:
                self.emit("endpoint-deprecated", "endpoint deprecated", op_o, op_n)
            if sunset != "invalid":
                self.sunset_policy(nop, "api-deprecated-sunset-missing", "api-sunset-date-too-small", op_o, op_n,
                                   "endpoint")
        elif od and not nd:
            self.emit("endpoint-reactivated", "endpoint reactivated", op_o, op_n)
        elif od and nd:
            osun = parse_date(oop.get("x-sunset")) if oop.get("x-sunset") is not None else None
            if oop.get("x-sunset") is not None and nop.get("x-sunset") is None:
                self.emit("sunset-deleted", "the sunset date of a deprecated endpoint was deleted", op_o, op_n)
            elif nop.get("x-sunset") is not None:
                nsun = self._sunset(nop, "api-path-sunset-parse", op_n + "/x-sunset", "new")
                if oop.get("x-sunset") is not None and osun is None:
                    self.emit("api-path-sunset-parse", f"failed to parse the sunset date {oop.get('x-sunset')!r}",
                              op_o + "/x-sunset", None)
                elif osun and isinstance(nsun, _dt.date) and nsun < osun:
                    self.emit("api-sunset-date-changed-too-small",
                              f"sunset date changed from {osun} to the earlier {nsun}", op_o, op_n)
        if unstable:
            return
        # operation id, tags
        if oop.get("operationId") and oop.get("operationId") != nop.get("operationId"):
            if nop.get("operationId"):
                self.emit("api-operation-id-removed", f"operationId changed from {oop['operationId']!r} to "
                          f"{nop['operationId']!r}", op_o + "/operationId", op_n + "/operationId")
            else:
                self.emit("api-operation-id-removed", f"operationId {oop['operationId']!r} removed",
                          op_o + "/operationId", None)
        elif nop.get("operationId") and not oop.get("operationId"):
            self.emit("api-operation-id-added", f"operationId {nop['operationId']!r} added", None,
                      op_n + "/operationId")
        otags, ntags = set(oop.get("tags") or []), set(nop.get("tags") or [])
        for t in sorted(otags - ntags):
            self.emit("api-tag-removed", f"tag {t!r} removed", op_o + "/tags", op_n)
        for t in sorted(ntags - otags):
            self.emit("api-tag-added", f"tag {t!r} added", op_o, op_n + "/tags")
        self.parameters(pair)
        self.request_body(oop, nop, op_o, op_n)
        self.responses(oop, nop, op_o, op_n)
        self.op_security(oop, nop, op_o, op_n)

