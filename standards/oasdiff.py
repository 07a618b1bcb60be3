"""Breaking-change detection between two OpenAPI documents, after oasdiff's model.

A check compares *base* (old) and *revision* (new). Every finding has an oasdiff rule id, the level
that oasdiff's rule table gives it (``error`` = breaking, ``warning`` = cannot be decided from the spec,
``info``), a message, the operation (``METHOD /path``) and a JSON pointer into each document
(``old_pointer`` / ``new_pointer``; where a ``$ref`` was followed the pointer names the referenced node).

Principle: a consumer following the old contract must keep working. Request side: narrowing breaks.
Response side: widening breaks. Rule ids are generated from (direction, location, change) and kept only
when they exist in the rule table (``rules/oasdiff-rules.json``), which also supplies their level.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Callable, Iterable
from functools import lru_cache
from importlib import resources
from typing import Any

from standards.reports import Report

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
STABILITY = {"draft": 0, "alpha": 1, "beta": 2, "stable": 3}
LEVELS = {"ERR": "error", "WARN": "warning", "INFO": "info"}


@lru_cache(maxsize=1)
def rule_table() -> dict[str, dict[str, Any]]:
    text = resources.files("standards").joinpath("rules/oasdiff-rules.json").read_text("utf-8")
    return {r["id"]: r for r in json.loads(text)}


def level_of(rule_id: str) -> str | None:
    r = rule_table().get(rule_id)
    return LEVELS[r["level"]] if r else None


def esc(seg: Any) -> str:
    return str(seg).replace("~", "~0").replace("/", "~1")


def ptr(*segs: Any) -> str:
    return "".join("/" + esc(s) for s in segs)


class Doc:
    """An OpenAPI document with local ``$ref`` resolution that remembers where each node lives."""

    def __init__(self, spec: dict[str, Any]):
        self.spec = spec

    def get(self, pointer: str) -> Any:
        node: Any = self.spec
        if pointer in ("", "#"):
            return node
        for raw in pointer.lstrip("#").split("/")[1:]:
            seg = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, list):
                node = node[int(seg)]
            elif isinstance(node, dict):
                node = node[seg]
            else:
                raise KeyError(pointer)
        return node

    def deref(self, node: Any, pointer: str, depth: int = 0) -> tuple[Any, str]:
        """Follow ``$ref`` chains (local only); returns (node, pointer of the node)."""
        seen = 0
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#"):
            seen += 1
            if seen > 50:
                break
            target = node["$ref"][1:]
            try:
                node = self.get(target)
            except (KeyError, IndexError, ValueError):
                return {}, pointer
            pointer = target
        return node, pointer


# ---------------------------------------------------------------------------------------------------


class Differ:
    def __init__(self, old: dict[str, Any], new: dict[str, Any], *, today: _dt.date | None = None,
                 include_unstable: bool = False, deprecation_days: int | None = None):
        self.o = Doc(old)
        self.deprecation_days = deprecation_days
        self._stab: str | None = None
        self.n = Doc(new)
        self.findings: list[dict[str, Any]] = []
        self.today = today or _dt.date.today()
        self.include_unstable = include_unstable
        self._schema_memo: dict[tuple, list[dict[str, Any]]] = {}
        self._op: dict[str, Any] = {}

    # -- emitting -------------------------------------------------------------------------------
    def emit(self, candidates: str | Iterable[str], message: str, old_pointer: str | None,
             new_pointer: str | None, **extra: Any) -> None:
        for rid in [candidates] if isinstance(candidates, str) else candidates:
            lvl = level_of(rid)
            if lvl:
                f = {"rule": rid, "level": lvl, "message": message, "old_pointer": old_pointer,
                     "new_pointer": new_pointer, **self._op, **extra}
                self.findings.append(f)
                return

    # -- top level -----------------------------------------------------------------------------
    def run(self) -> list[dict[str, Any]]:
        o, n = self.o.spec, self.n.spec
        self.info_checks()
        self.security_components()
        self.global_security()
        opaths = o.get("paths") or {}
        npaths = n.get("paths") or {}
        for path, oitem_raw in opaths.items():
            oitem, opp = self.o.deref(oitem_raw, ptr("paths", path))
            if path not in npaths:
                self.path_removed(path, oitem, opp)
                continue
            nitem, npp = self.n.deref(npaths[path], ptr("paths", path))
            self.path_item(path, oitem, nitem, opp, npp)
        for path in npaths:
            if path not in opaths:
                nitem, npp = self.n.deref(npaths[path], ptr("paths", path))
                for m in METHODS:
                    if isinstance(nitem, dict) and m in nitem:
                        self._op = {"operation": f"{m.upper()} {path}"}
                        self.emit("endpoint-added", f"endpoint added: {m.upper()} {path}", None, npp + ptr(m))
        self._op = {}
        self.webhooks()
        self.components()
        return self.findings

    def info_checks(self) -> None:
        oi = self.o.spec.get("info") or {}
        ni = self.n.spec.get("info") or {}
        ov, nv = str(oi.get("version", "")), str(ni.get("version", ""))
        if _semver(ov) and _semver(nv) and _semver(nv) < _semver(ov):
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
        d = _parse_date(raw)
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
        d = _parse_date(raw)
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

    def path_item(self, path: str, oitem: dict, nitem: dict, opp: str, npp: str) -> None:
        ocommon = oitem.get("parameters") or []
        ncommon = nitem.get("parameters") or []
        for m in METHODS:
            oop, nop = oitem.get(m), nitem.get(m)
            self._op = {"operation": f"{m.upper()} {path}"}
            if isinstance(oop, dict) and not isinstance(nop, dict):
                self.operation_removed(path, m, oop, opp + ptr(m))
            elif isinstance(nop, dict) and not isinstance(oop, dict):
                self.emit("endpoint-added", f"endpoint added: {m.upper()} {path}", None, npp + ptr(m))
            elif isinstance(oop, dict) and isinstance(nop, dict):
                self.operation(path, m, oop, nop, opp + ptr(m), npp + ptr(m), ocommon, ncommon, opp, npp)
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

    def operation(self, path, m, oop, nop, op_o, op_n, ocommon, ncommon, opp, npp) -> None:
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
            osun = _parse_date(oop.get("x-sunset")) if oop.get("x-sunset") is not None else None
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
        self.parameters(oop, nop, op_o, op_n, ocommon, ncommon, opp, npp)
        self.request_body(oop, nop, op_o, op_n)
        self.responses(oop, nop, op_o, op_n)
        self.op_security(oop, nop, op_o, op_n)

    # -- parameters ----------------------------------------------------------------------------
    def _params(self, doc: Doc, op: dict, op_ptr: str, common: list, item_ptr: str) -> dict:
        out: dict[tuple[str, str], tuple[dict, str]] = {}
        for i, p in enumerate(common):
            node, pp = doc.deref(p, item_ptr + ptr("parameters", i))
            if isinstance(node, dict) and "name" in node:
                out[(node.get("in", ""), _pname(node))] = (node, pp)
        for i, p in enumerate(op.get("parameters") or []):
            node, pp = doc.deref(p, op_ptr + ptr("parameters", i))
            if isinstance(node, dict) and "name" in node:
                out[(node.get("in", ""), _pname(node))] = (node, pp)
        return out

    def parameters(self, oop, nop, op_o, op_n, ocommon, ncommon, opp, npp) -> None:
        olist = self._params(self.o, oop, op_o, ocommon, opp)
        nlist = self._params(self.n, nop, op_n, ncommon, npp)
        opath = {k[1] for k in olist if k[0] == "path"}
        for key, (p, pp) in olist.items():
            if key in nlist:
                continue
            loc, name = key
            if loc == "path" and _pname_norm(name, opath) is not None:
                continue
            if p.get("deprecated"):
                sunset = _parse_date(p.get("x-sunset")) if p.get("x-sunset") is not None else None
                if p.get("x-sunset") is not None and sunset is None:
                    self.emit("request-parameter-sunset-parse", f"failed to parse the sunset date of {loc} "
                              f"parameter {name!r}", pp, None)
                elif sunset and sunset > self.today:
                    self.emit("request-parameter-removed-before-sunset",
                              f"{loc} request parameter {name!r} removed before its sunset date", pp, None)
                else:
                    self.emit("request-parameter-removed-with-deprecation",
                              f"deprecated {loc} request parameter {name!r} removed", pp, None)
            else:
                self.emit("request-parameter-removed", f"{loc} request parameter {name!r} removed", pp, None)
        for key, (p, pp) in nlist.items():
            loc, name = key
            if key not in olist:
                if loc == "path":
                    if any(k[0] == "path" and k not in nlist for k in olist):
                        continue  # renamed path parameter
                    self.emit("new-request-path-parameter", f"added the new path request parameter {name!r}",
                              None, pp)
                elif p.get("required"):
                    self.emit("new-required-request-parameter",
                              f"added the new required {loc} request parameter {name!r}", None, pp)
                else:
                    self.emit("new-optional-request-parameter",
                              f"added the new optional {loc} request parameter {name!r}", None, pp)
                continue
            op_, opp_ = olist[key]
            self.parameter(loc, name, op_, p, opp_, pp)

    def parameter(self, loc: str, name: str, o: dict, n: dict, op: str, np_: str) -> None:
        if not o.get("required") and n.get("required") and loc != "path":
            self.emit("request-parameter-became-required", f"{loc} request parameter {name!r} became required",
                      op, np_)
        elif o.get("required") and not n.get("required") and loc != "path":
            self.emit("request-parameter-became-optional", f"{loc} request parameter {name!r} became optional",
                      op, np_)
        od, nd = bool(o.get("deprecated")), bool(n.get("deprecated"))
        if not od and nd:
            if n.get("x-sunset") is not None:
                sun = _parse_date(n.get("x-sunset"))
                if sun is None:
                    self.emit("request-parameter-sunset-parse", f"failed to parse the sunset date of {loc} "
                              f"parameter {name!r}", None, np_ + "/x-sunset")
                    return
            self.emit("request-parameter-deprecated", f"{loc} request parameter {name!r} deprecated", op, np_)
            self.sunset_policy(n, "request-parameter-deprecated-sunset-missing",
                               "request-parameter-sunset-date-too-small", op, np_, f"{loc} parameter {name!r}")
        elif od and not nd:
            self.emit("request-parameter-reactivated", f"{loc} request parameter {name!r} reactivated", op, np_)
        elif od and nd:
            if o.get("x-sunset") is not None and n.get("x-sunset") is None:
                self.emit("request-parameter-sunset-deleted", f"sunset date of {loc} parameter {name!r} deleted",
                          op, np_)
            elif o.get("x-sunset") is not None and n.get("x-sunset") is not None:
                osun, nsun = _parse_date(o["x-sunset"]), _parse_date(n["x-sunset"])
                if osun is None or nsun is None:
                    self.emit("request-parameter-sunset-parse", f"failed to parse the sunset date of {loc} "
                              f"parameter {name!r}", op if osun is None else None, np_ if nsun is None else None)
                elif nsun < osun:
                    self.emit("request-parameter-sunset-date-changed-too-small",
                              f"sunset date of {loc} parameter {name!r} moved earlier", op, np_)
        os_, nsch = o.get("schema"), n.get("schema")
        if isinstance(os_, (dict, bool)) and isinstance(nsch, (dict, bool)):
            self.schema(os_, nsch, op + "/schema", np_ + "/schema", "request", "parameter", f"{loc} parameter {name!r}")
        # content-based parameters
        oc, nc = o.get("content") or {}, n.get("content") or {}
        for mt in set(oc) & set(nc):
            osc, nsc = (oc[mt] or {}).get("schema"), (nc[mt] or {}).get("schema")
            if isinstance(osc, dict) and isinstance(nsc, dict):
                self.schema(osc, nsc, op + ptr("content", mt, "schema"), np_ + ptr("content", mt, "schema"),
                            "request", "parameter", f"{loc} parameter {name!r}")

    # -- request body --------------------------------------------------------------------------
    def request_body(self, oop, nop, op_o, op_n) -> None:
        orb_raw, nrb_raw = oop.get("requestBody"), nop.get("requestBody")
        if orb_raw is None and nrb_raw is None:
            return
        if orb_raw is None:
            nrb, nrp = self.n.deref(nrb_raw, op_n + "/requestBody")
            if nrb.get("required"):
                self.emit("request-body-added-required", "added a required request body", None, nrp)
            else:
                self.emit("request-body-added-optional", "added an optional request body", None, nrp)
            return
        orb, orp = self.o.deref(orb_raw, op_o + "/requestBody")
        if nrb_raw is None:
            self.emit("request-body-removed", "request body removed", orp, None)
            return
        nrb, nrp = self.n.deref(nrb_raw, op_n + "/requestBody")
        if not orb.get("required") and nrb.get("required"):
            self.emit("request-body-became-required", "request body became required", orp, nrp)
        elif orb.get("required") and not nrb.get("required"):
            self.emit("request-body-became-optional", "request body became optional", orp, nrp)
        oc, nc = orb.get("content") or {}, nrb.get("content") or {}
        for mt in oc:
            if mt not in nc:
                self.emit("request-body-media-type-removed", f"request body media type {mt!r} removed",
                          orp + ptr("content", mt), None)
        for mt in nc:
            if mt not in oc:
                self.emit("request-body-media-type-added", f"request body media type {mt!r} added", None,
                          nrp + ptr("content", mt))
                continue
            osc, nsc = (oc[mt] or {}).get("schema"), (nc[mt] or {}).get("schema")
            op_, np_ = orp + ptr("content", mt, "schema"), nrp + ptr("content", mt, "schema")
            if osc is None and nsc is not None:
                self.emit("request-body-media-type-schema-added", f"schema added to request media type {mt!r}",
                          None, np_)
            elif osc is not None and nsc is None:
                self.emit("request-body-media-type-schema-removed",
                          f"schema removed from request media type {mt!r}", op_, None)
            elif osc is not None:
                self.schema(osc, nsc, op_, np_, "request", "body", f"request body ({mt})")

    # -- responses -----------------------------------------------------------------------------
    def responses(self, oop, nop, op_o, op_n) -> None:
        ors, nrs = oop.get("responses") or {}, nop.get("responses") or {}
        for code in ors:
            scode = str(code)
            if scode not in {str(c) for c in nrs}:
                success = scode.startswith("2") or scode.upper() == "2XX"
                self.emit("response-success-status-removed" if success else "response-non-success-status-removed",
                          f"removed the {'success' if success else 'non-success'} response with status {scode}",
                          op_o + ptr("responses", code), None)
        nmap = {str(c): c for c in nrs}
        omap = {str(c): c for c in ors}
        for scode, ncode in nmap.items():
            if scode not in omap:
                success = scode.startswith("2")
                self.emit("response-success-status-added" if success else "response-non-success-status-added",
                          f"added the {'success' if success else 'non-success'} response with status {scode}",
                          None, op_n + ptr("responses", ncode))
                continue
            ocode = omap[scode]
            oresp, orp = self.o.deref(ors[ocode], op_o + ptr("responses", ocode))
            nresp, nrp = self.n.deref(nrs[ncode], op_n + ptr("responses", ncode))
            if isinstance(oresp, dict) and isinstance(nresp, dict):
                self.response(scode, oresp, nresp, orp, nrp)

    def response(self, code: str, o: dict, n: dict, orp: str, nrp: str) -> None:
        oc, nc = o.get("content") or {}, n.get("content") or {}
        for mt in oc:
            if mt not in nc:
                self.emit("response-media-type-removed", f"response media type {mt!r} removed for status {code}",
                          orp + ptr("content", mt), None)
        for mt in nc:
            if mt not in oc:
                self.emit("response-media-type-added", f"response media type {mt!r} added for status {code}",
                          None, nrp + ptr("content", mt))
                continue
            osc, nsc = (oc[mt] or {}).get("schema"), (nc[mt] or {}).get("schema")
            op_, np_ = orp + ptr("content", mt, "schema"), nrp + ptr("content", mt, "schema")
            if osc is None and nsc is not None:
                self.emit("response-body-media-type-schema-added", f"schema added to response media type {mt!r}",
                          None, np_)
            elif osc is not None and nsc is None:
                self.emit("response-body-media-type-schema-removed",
                          f"schema removed from response media type {mt!r}", op_, None)
            elif osc is not None:
                self.schema(osc, nsc, op_, np_, "response", "body", f"response {code} ({mt})")
        oh, nh = o.get("headers") or {}, n.get("headers") or {}
        for name, h_raw in oh.items():
            h, hp = self.o.deref(h_raw, orp + ptr("headers", name))
            match = next((k for k in nh if k.lower() == name.lower()), None)
            if match is None:
                if h.get("required"):
                    self.emit("required-response-header-removed", f"required response header {name!r} removed "
                              f"(status {code})", hp, None)
                else:
                    self.emit("optional-response-header-removed", f"optional response header {name!r} removed "
                              f"(status {code})", hp, None)
                continue
            nhd, nhp = self.n.deref(nh[match], nrp + ptr("headers", match))
            if h.get("required") and not nhd.get("required"):
                self.emit("response-header-became-optional", f"response header {name!r} became optional", hp, nhp)
            if isinstance(h.get("schema"), dict) and isinstance(nhd.get("schema"), dict):
                self.schema(h["schema"], nhd["schema"], hp + "/schema", nhp + "/schema", "response", "header",
                            f"response header {name!r}")
        for name in nh:
            if not any(k.lower() == name.lower() for k in oh):
                self.emit("response-header-added", f"response header {name!r} added (status {code})", None,
                          nrp + ptr("headers", name))

    # -- security ------------------------------------------------------------------------------
    def op_security(self, oop, nop, op_o, op_n) -> None:
        if "security" not in oop and "security" not in nop:
            return
        o = _sec_set(oop.get("security"))
        n = _sec_set(nop.get("security"))
        for name in sorted(set(o) - set(n)):
            self.emit("api-security-removed", f"security scheme {name!r} removed from the operation",
                      op_o + "/security", op_n)
        for name in sorted(set(n) - set(o)):
            self.emit("api-security-added", f"security scheme {name!r} added to the operation", op_o,
                      op_n + "/security")
        for name in sorted(set(o) & set(n)):
            for s in sorted(o[name] - n[name]):
                self.emit("api-security-scope-removed", f"scope {s!r} of security scheme {name!r} removed",
                          op_o + "/security", op_n + "/security")
            for s in sorted(n[name] - o[name]):
                self.emit("api-security-scope-added", f"scope {s!r} of security scheme {name!r} added",
                          op_o + "/security", op_n + "/security")

    def global_security(self) -> None:
        o = _sec_set(self.o.spec.get("security"))
        n = _sec_set(self.n.spec.get("security"))
        for name in sorted(set(o) - set(n)):
            self.emit("api-global-security-removed", f"global security scheme {name!r} removed", "/security",
                      "/security" if "security" in self.n.spec else None)
        for name in sorted(set(n) - set(o)):
            self.emit("api-global-security-added", f"global security scheme {name!r} added",
                      "/security" if "security" in self.o.spec else None, "/security")
        for name in sorted(set(o) & set(n)):
            for s in sorted(o[name] - n[name]):
                self.emit("api-global-security-scope-removed", f"scope {s!r} of global scheme {name!r} removed",
                          "/security", "/security")
            for s in sorted(n[name] - o[name]):
                self.emit("api-global-security-scope-added", f"scope {s!r} of global scheme {name!r} added",
                          "/security", "/security")

    def security_components(self) -> None:
        o = (self.o.spec.get("components") or {}).get("securitySchemes") or {}
        n = (self.n.spec.get("components") or {}).get("securitySchemes") or {}
        base = "/components/securitySchemes"
        for name in o:
            if name not in n:
                self.emit("api-security-component-removed", f"security scheme component {name!r} removed",
                          base + ptr(name), None)
        for name in n:
            if name not in o:
                self.emit("api-security-component-added", f"security scheme component {name!r} added", None,
                          base + ptr(name))
                continue
            os_, _ = self.o.deref(o[name], base + ptr(name))
            ns_, _ = self.n.deref(n[name], base + ptr(name))
            if not isinstance(os_, dict) or not isinstance(ns_, dict):
                continue
            p = base + ptr(name)
            if os_.get("type") != ns_.get("type"):
                self.emit("api-security-component-type-changed", f"type of security scheme {name!r} changed "
                          f"from {os_.get('type')!r} to {ns_.get('type')!r}", p, p)
            oflows, nflows = os_.get("flows") or {}, ns_.get("flows") or {}
            for flow in set(oflows) & set(nflows):
                of, nf = oflows[flow] or {}, nflows[flow] or {}
                fp = p + ptr("flows", flow)
                if of.get("authorizationUrl") != nf.get("authorizationUrl"):
                    self.emit("api-security-component-oauth-url-changed", f"OAuth authorization URL of {name!r} "
                              "changed", fp, fp)
                if of.get("tokenUrl") != nf.get("tokenUrl"):
                    self.emit("api-security-component-oauth-token-url-changed", f"OAuth token URL of {name!r} "
                              "changed", fp, fp)
                osc, nsc = of.get("scopes") or {}, nf.get("scopes") or {}
                for s in osc:
                    if s not in nsc:
                        self.emit("api-security-component-oauth-scope-removed", f"OAuth scope {s!r} removed from "
                                  f"{name!r}", fp + ptr("scopes", s), None)
                    elif osc[s] != nsc[s]:
                        self.emit("api-security-component-oauth-scope-changed", f"OAuth scope {s!r} of {name!r} "
                                  "changed", fp + ptr("scopes", s), fp + ptr("scopes", s))
                for s in nsc:
                    if s not in osc:
                        self.emit("api-security-component-oauth-scope-added", f"OAuth scope {s!r} added to "
                                  f"{name!r}", None, fp + ptr("scopes", s))

    def webhooks(self) -> None:
        o, n = self.o.spec.get("webhooks") or {}, self.n.spec.get("webhooks") or {}
        for name in o:
            if name not in n:
                self.emit("webhook-removed", f"webhook {name!r} removed", ptr("webhooks", name), None)
        for name in n:
            if name not in o:
                self.emit("webhook-added", f"webhook {name!r} added", None, ptr("webhooks", name))

    def components(self) -> None:
        o = (self.o.spec.get("components") or {}).get("schemas") or {}
        n = (self.n.spec.get("components") or {}).get("schemas") or {}
        for name in o:
            if name not in n:
                self.emit("api-schema-removed", f"component schema {name!r} removed",
                          ptr("components", "schemas", name), None)

    # -- schemas -------------------------------------------------------------------------------
    def schema(self, o: Any, n: Any, op_: str, np_: str, direction: str, where: str, label: str) -> None:
        """Compare two schemas; ``where`` is body | parameter | header (top level)."""
        key = (op_, np_, direction, where)
        if key not in self._schema_memo:
            self._schema_memo[key] = []
            out: list[dict[str, Any]] = []
            SchemaDiff(self, direction, where, out).diff(o, n, op_, np_, "", frozenset())
            self._schema_memo[key] = out
        for f in self._schema_memo[key]:
            g = dict(f)
            g.update(self._op)
            g["message"] = f"{label}: {g['message']}"
            self.findings.append(g)


class SchemaDiff:
    """Recursive schema comparison under one (direction, top-level location)."""

    def __init__(self, differ: Differ, direction: str, where: str, out: list[dict[str, Any]]):
        self.d = differ
        self.direction = direction
        self.where = where
        self.out = out

    def loc(self, prop: str) -> list[str]:
        if self.where == "body":
            return ["body"] if not prop else ["property"]
        if self.where == "parameter":
            return ["parameter"] if not prop else ["parameter-property"]
        if self.where == "header":
            return ["header"] if not prop else ["header-property"]
        return ["property"]

    def emit(self, changes: str | list[str], message: str, op_: str | None, np_: str | None, prop: str,
             *, ro: bool = False, wo: bool = False) -> None:
        changes = [changes] if isinstance(changes, str) else changes
        cands = []
        for loc in self.loc(prop):
            for ch in changes:
                if ro and self.direction == "request":
                    cands.append(f"request-read-only-{loc}-{ch}")
                if wo and self.direction == "response":
                    cands.append(f"response-write-only-{loc}-{ch}")
                cands.append(f"{self.direction}-{loc}-{ch}")
        if self.direction == "request" and ro:
            # read-only properties are not sent by clients: only rules with a read-only variant apply
            cands = [c for c in cands if "read-only" in c]
        if self.direction == "response" and wo:
            cands = [c for c in cands if "write-only" in c]
        for rid in cands:
            lvl = level_of(rid)
            if lvl:
                what = f"property {prop!r}: " if prop else ""
                self.out.append({"rule": rid, "level": lvl, "message": what + message, "old_pointer": op_,
                                 "new_pointer": np_, **({"property": prop} if prop else {})})
                return

    def raw(self, rid: str, message: str, op_: str | None, np_: str | None, prop: str) -> None:
        lvl = level_of(rid)
        if lvl:
            self.out.append({"rule": rid, "level": lvl, "message": message, "old_pointer": op_,
                             "new_pointer": np_, **({"property": prop} if prop else {})})

    def diff(self, o: Any, n: Any, op_: str, np_: str, prop: str, stack: frozenset, ro: bool = False,
             wo: bool = False) -> None:
        o, op_ = _normalise(self.d.o, *self.d.o.deref(o, op_))
        n, np_ = _normalise(self.d.n, *self.d.n.deref(n, np_))
        if not isinstance(o, dict) or not isinstance(n, dict):
            return
        key = (op_, np_)
        if key in stack or len(stack) > 64:
            return
        stack = stack | {key}
        req = self.direction == "request"
        ro = ro or bool(n.get("readOnly"))
        wo = wo or bool(n.get("writeOnly"))

        # --- types and nullability
        otypes, onull = _types(o)
        ntypes, nnull = _types(n)
        if otypes and ntypes and otypes != ntypes:
            if len(otypes) > 1 or len(ntypes) > 1:
                if otypes < ntypes:
                    self.emit("list-of-types-widened", f"list of types widened from {sorted(otypes)} to "
                              f"{sorted(ntypes)}", op_, np_, prop, ro=ro, wo=wo)
                elif ntypes < otypes:
                    self.emit("list-of-types-narrowed", f"list of types narrowed from {sorted(otypes)} to "
                              f"{sorted(ntypes)}", op_, np_, prop, ro=ro, wo=wo)
                else:
                    self.emit("type-changed", f"type changed from {sorted(otypes)} to {sorted(ntypes)}", op_, np_,
                              prop, ro=ro, wo=wo)
            else:
                (ot,), (nt,) = otypes, ntypes
                if (ot, nt) == ("integer", "number"):
                    self.emit(["type-generalized", "type-changed"], f"type generalized from {ot} to {nt}", op_,
                              np_, prop, ro=ro, wo=wo)
                elif (ot, nt) == ("number", "integer"):
                    self.emit(["type-specialized", "type-changed"], f"type specialized from {ot} to {nt}", op_,
                              np_, prop, ro=ro, wo=wo)
                else:
                    self.emit("type-changed", f"type changed from {ot!r} to {nt!r}", op_, np_, prop, ro=ro, wo=wo)
        elif otypes == ntypes and o.get("format") != n.get("format") and otypes:
            if o.get("format") is not None and n.get("format") is None:
                self.emit(["type-generalized", "type-compatible"] if req else ["type-changed"],
                          f"format {o.get('format')!r} removed", op_, np_, prop, ro=ro, wo=wo)
            else:
                self.emit("type-changed", f"format changed from {o.get('format')!r} to {n.get('format')!r}", op_,
                          np_, prop, ro=ro, wo=wo)
        if onull and not nnull:
            self.emit("became-not-nullable", "became not nullable", op_, np_, prop, ro=ro, wo=wo)
        elif nnull and not onull:
            self.emit("became-nullable", "became nullable", op_, np_, prop, ro=ro, wo=wo)

        # --- enum / const / default / pattern
        oe, ne = o.get("enum"), n.get("enum")
        if isinstance(oe, list) and isinstance(ne, list):
            ov = [v for v in oe if v is not None]
            nv = [v for v in ne if v is not None]
            for v in ov:
                if v not in nv:
                    self.emit("enum-value-removed", f"enum value {v!r} removed", op_, np_, prop, ro=ro, wo=wo)
            for v in nv:
                if v not in ov:
                    if not req and n.get("x-extensible-enum"):
                        continue
                    self.emit("enum-value-added", f"enum value {v!r} added", op_, np_, prop, ro=ro, wo=wo)
        elif ne is not None and oe is None:
            self.emit("became-enum", "became an enum", op_, np_, prop, ro=ro, wo=wo)
        oxe, nxe = o.get("x-extensible-enum"), n.get("x-extensible-enum")
        if isinstance(oxe, list) and isinstance(nxe, list):
            for v in oxe:
                if v not in nxe:
                    self.emit("x-extensible-enum-value-removed", f"x-extensible-enum value {v!r} removed", op_,
                              np_, prop, ro=ro, wo=wo)
        self._value_kw(o, n, "const", op_, np_, prop, ro, wo)
        self._value_kw(o, n, "default", op_, np_, prop, ro, wo, change="default-value")
        opat, npat = o.get("pattern"), n.get("pattern")
        if opat != npat:
            if opat is None:
                self.emit("pattern-added", f"pattern {npat!r} added", op_, np_, prop, ro=ro, wo=wo)
            elif npat is None:
                self.emit("pattern-removed", f"pattern {opat!r} removed", op_, np_, prop, ro=ro, wo=wo)
            elif npat in (".*", "^.*$"):
                self.emit(["pattern-generalized", "pattern-changed"], f"pattern changed from {opat!r} to {npat!r}",
                          op_, np_, prop, ro=ro, wo=wo)
            else:
                self.emit("pattern-changed", f"pattern changed from {opat!r} to {npat!r}", op_, np_, prop, ro=ro,
                          wo=wo)

        # --- limits
        for kw, name, upper in (("maximum", "max", True), ("exclusiveMaximum", "exclusive-max", True),
                                ("maxLength", "max-length", True), ("maxItems", "max-items", True),
                                ("maxContains", "max-contains", True),
                                ("minimum", "min", False), ("exclusiveMinimum", "exclusive-min", False),
                                ("minLength", "min-length", False), ("minItems", "min-items", False),
                                ("minContains", "min-contains", False)):
            ov, nv = o.get(kw), n.get(kw)
            if isinstance(ov, bool) or isinstance(nv, bool):
                continue  # OAS 3.0 boolean exclusiveMaximum: handled with maximum
            if ov == nv:
                continue
            if ov is None and nv is not None:
                self.emit(f"{name}-set", f"{kw} set to {nv}", op_, np_, prop, ro=ro, wo=wo)
            elif ov is not None and nv is None:
                self.emit([f"{name}-unset", f"{name}-increased" if upper else f"{name}-decreased"],
                          f"{kw} {ov} removed", op_, np_, prop, ro=ro, wo=wo)
            elif isinstance(ov, (int, float)) and isinstance(nv, (int, float)):
                ch = "increased" if nv > ov else "decreased"
                self.emit(f"{name}-{ch}", f"{kw} {ch} from {ov} to {nv}", op_, np_, prop, ro=ro, wo=wo)

        # --- composition
        for kw, name in (("oneOf", "one-of"), ("anyOf", "any-of"), ("allOf", "all-of")):
            self._composition(o, n, kw, name, op_, np_, prop, stack, ro, wo)
        for kw, name in (("if", "if"), ("then", "then"), ("else", "else"), ("contains", "contains"),
                         ("propertyNames", "property-names"), ("unevaluatedItems", "unevaluated-items"),
                         ("unevaluatedProperties", "unevaluated-properties"), ("contentSchema", "content-schema")):
            if kw in o and kw not in n:
                self.emit(f"{name}-removed", f"{kw} removed", op_ + ptr(kw), None, prop, ro=ro, wo=wo)
            elif kw in n and kw not in o:
                self.emit(f"{name}-added", f"{kw} added", None, np_ + ptr(kw), prop, ro=ro, wo=wo)
        for kw, name in (("contentMediaType", "content-media-type"), ("contentEncoding", "content-encoding")):
            if kw in o and kw in n and o[kw] != n[kw]:
                self.emit(f"{name}-changed", f"{kw} changed from {o[kw]!r} to {n[kw]!r}", op_, np_, prop, ro=ro,
                          wo=wo)
        opi, npi = o.get("prefixItems"), n.get("prefixItems")
        if isinstance(opi, list) or isinstance(npi, list):
            lo, ln = len(opi or []), len(npi or [])
            if ln > lo:
                self.emit("prefix-items-added", f"prefixItems grew from {lo} to {ln}", op_, np_, prop, ro=ro, wo=wo)
            elif ln < lo:
                self.emit("prefix-items-removed", f"prefixItems shrank from {lo} to {ln}", op_, np_, prop, ro=ro,
                          wo=wo)
        opp_, npp_ = o.get("patternProperties") or {}, n.get("patternProperties") or {}
        for pat in opp_:
            if pat not in npp_:
                self.emit("pattern-property-removed", f"pattern property {pat!r} removed", op_, np_, prop, ro=ro,
                          wo=wo)
        for pat in npp_:
            if pat not in opp_:
                self.emit("pattern-property-added", f"pattern property {pat!r} added", op_, np_, prop, ro=ro, wo=wo)
        odr, ndr = o.get("dependentRequired") or {}, n.get("dependentRequired") or {}
        for k in set(odr) | set(ndr):
            if k not in ndr:
                self.emit("dependent-required-removed", f"dependentRequired {k!r} removed", op_, np_, prop)
            elif k not in odr:
                self.emit("dependent-required-added", f"dependentRequired {k!r} added", op_, np_, prop)
            elif sorted(odr[k]) != sorted(ndr[k]):
                self.emit("dependent-required-changed", f"dependentRequired {k!r} changed", op_, np_, prop)
        ods, nds = o.get("dependentSchemas") or {}, n.get("dependentSchemas") or {}
        for k in set(ods) | set(nds):
            if k not in nds:
                self.emit("dependent-schema-removed", f"dependentSchemas {k!r} removed", op_, np_, prop)
            elif k not in ods:
                self.emit("dependent-schema-added", f"dependentSchemas {k!r} added", op_, np_, prop)

        # --- discriminator
        odisc, ndisc = o.get("discriminator"), n.get("discriminator")
        if odisc is None and ndisc is not None:
            self.emit("discriminator-added", "discriminator added", op_, np_, prop)
        elif odisc is not None and ndisc is None:
            self.emit("discriminator-removed", "discriminator removed", op_, np_, prop)
        elif isinstance(odisc, dict) and isinstance(ndisc, dict):
            if odisc.get("propertyName") != ndisc.get("propertyName"):
                self.emit("discriminator-property-name-changed", "discriminator property name changed", op_, np_,
                          prop)
            om, nm = odisc.get("mapping") or {}, ndisc.get("mapping") or {}
            for k in om:
                if k not in nm:
                    self.emit("discriminator-mapping-deleted", f"discriminator mapping {k!r} deleted", op_, np_, prop)
                elif om[k] != nm[k]:
                    self.emit("discriminator-mapping-changed", f"discriminator mapping {k!r} changed", op_, np_, prop)
            for k in nm:
                if k not in om:
                    self.emit("discriminator-mapping-added", f"discriminator mapping {k!r} added", op_, np_, prop)

        # --- sub-schemas
        for kw in ("if", "then", "else", "contains", "propertyNames", "contentSchema", "unevaluatedItems",
                   "unevaluatedProperties"):
            if isinstance(o.get(kw), dict) and isinstance(n.get(kw), dict):
                self.diff(o[kw], n[kw], op_ + ptr(kw), np_ + ptr(kw), prop, stack, ro, wo)
        for i, (a, b) in enumerate(zip(o.get("prefixItems") or [], n.get("prefixItems") or [])):
            self.diff(a, b, op_ + ptr("prefixItems", i), np_ + ptr("prefixItems", i), _join(prop, str(i)), stack,
                      ro, wo)

        # --- items
        oi, ni = o.get("items"), n.get("items")
        if isinstance(oi, dict) and isinstance(ni, dict):
            self.diff(oi, ni, op_ + "/items", np_ + "/items", _join(prop, "items"), stack, ro, wo)
        oa, na = o.get("additionalProperties"), n.get("additionalProperties")
        if isinstance(oa, dict) and isinstance(na, dict):
            self.diff(oa, na, op_ + "/additionalProperties", np_ + "/additionalProperties",
                      _join(prop, "additionalProperties"), stack, ro, wo)

        # --- properties (allOf members flattened)
        oprops, oreq = self._flatten(self.d.o, o, op_)
        nprops, nreq = self._flatten(self.d.n, n, np_)
        for name, (osub, osp) in oprops.items():
            sub_prop = _join(prop, name)
            osub_r, _ = self.d.o.deref(osub, osp)
            osub_r = osub_r if isinstance(osub_r, dict) else {}
            if name not in nprops:
                sub_ro = bool(osub_r.get("readOnly"))
                sub_wo = bool(osub_r.get("writeOnly"))
                if req:
                    if sub_ro:
                        continue
                    self.raw("request-property-removed", f"request property {sub_prop!r} removed", osp, None,
                             sub_prop)
                else:
                    required = name in oreq
                    if sub_wo:
                        rid = ("response-required-write-only-property-removed" if required
                               else "response-optional-write-only-property-removed")
                    else:
                        rid = "response-required-property-removed" if required else "response-optional-property-removed"
                    self.raw(rid, f"{'required' if required else 'optional'} response property {sub_prop!r} "
                             "removed", osp, None, sub_prop)
                continue
            nsub, nsp = nprops[name]
            nsub_r, _ = self.d.n.deref(nsub, nsp)
            nsub_r = nsub_r if isinstance(nsub_r, dict) else {}
            self._required_change(name in oreq, name in nreq, sub_prop, osp, nsp, osub_r, nsub_r)
            self._property_lifecycle(osub_r, nsub_r, sub_prop, osp, nsp)
            self.diff(osub, nsub, osp, nsp, sub_prop, stack, ro, wo)
        for name, (nsub, nsp) in nprops.items():
            if name in oprops:
                continue
            sub_prop = _join(prop, name)
            nsub_r, _ = self.d.n.deref(nsub, nsp)
            nsub_r = nsub_r if isinstance(nsub_r, dict) else {}
            required = name in nreq
            if req:
                if nsub_r.get("readOnly"):
                    continue
                if required:
                    rid = ("new-required-request-property-with-default" if "default" in nsub_r
                           else "new-required-request-property")
                    self.raw(rid, f"added the new required request property {sub_prop!r}", None, nsp, sub_prop)
                else:
                    self.raw("new-optional-request-property", f"added the new optional request property "
                             f"{sub_prop!r}", None, nsp, sub_prop)
            else:
                if nsub_r.get("writeOnly"):
                    rid = ("response-required-write-only-property-added" if required
                           else "response-optional-write-only-property-added")
                else:
                    rid = "response-required-property-added" if required else "response-optional-property-added"
                self.raw(rid, f"added the {'required' if required else 'optional'} response property "
                         f"{sub_prop!r}", None, nsp, sub_prop)

    def _value_kw(self, o, n, kw, op_, np_, prop, ro, wo, change: str | None = None) -> None:
        name = change or kw
        if kw in o and kw not in n:
            self.emit(f"{name}-removed", f"{kw} {o[kw]!r} removed", op_, np_, prop, ro=ro, wo=wo)
        elif kw in n and kw not in o:
            self.emit(f"{name}-added", f"{kw} {n[kw]!r} added", op_, np_, prop, ro=ro, wo=wo)
        elif kw in n and o[kw] != n[kw]:
            self.emit(f"{name}-changed", f"{kw} changed from {o[kw]!r} to {n[kw]!r}", op_, np_, prop, ro=ro, wo=wo)

    def _required_change(self, was: bool, now: bool, prop: str, osp: str, nsp: str, osub: dict, nsub: dict) -> None:
        if was == now:
            if self.direction == "request" and bool(osub.get("writeOnly")) != bool(nsub.get("writeOnly")):
                pass
            if self.direction == "response" and was:
                if osub.get("writeOnly") and not nsub.get("writeOnly"):
                    self.raw("response-required-property-became-not-write-only",
                             f"required response property {prop!r} became not write-only", osp, nsp, prop)
            return
        if self.direction == "request":
            if now:
                if nsub.get("readOnly"):
                    return
                rid = ("request-property-became-required-with-default" if "default" in nsub
                       else "request-property-became-required")
                self.raw(rid, f"request property {prop!r} became required", osp, nsp, prop)
            else:
                self.raw("request-property-became-optional", f"request property {prop!r} became optional", osp, nsp,
                         prop)
        else:
            wo = bool(nsub.get("writeOnly"))
            if now:
                self.raw("response-write-only-property-became-required" if wo else "response-property-became-required",
                         f"response property {prop!r} became required", osp, nsp, prop)
            else:
                self.raw("response-write-only-property-became-optional" if wo else "response-property-became-optional",
                         f"response property {prop!r} became optional", osp, nsp, prop)

    def _property_lifecycle(self, o: dict, n: dict, prop: str, osp: str, nsp: str) -> None:
        d = self.direction
        od, nd = bool(o.get("deprecated")), bool(n.get("deprecated"))
        if not od and nd:
            raw = n.get("x-sunset")
            if raw is None:
                self.raw(f"{d}-property-deprecated", f"{d} property {prop!r} deprecated", osp, nsp, prop)
            elif _parse_date(raw) is None:
                self.raw(f"{d}-property-deprecated-sunset-invalid", f"invalid sunset date {raw!r} for {prop!r}",
                         osp, nsp, prop)
            else:
                self.raw(f"{d}-property-deprecated-with-sunset", f"{d} property {prop!r} deprecated with sunset "
                         f"{raw}", osp, nsp, prop)
            if raw is None or _parse_date(raw) is not None:
                self.d.sunset_policy(n, f"{d}-property-deprecated-sunset-missing", f"{d}-property-sunset-date-too-small",
                                     osp, nsp, f"{d} property {prop!r}",
                                     out=lambda rid, msg, o, nn: self.raw(rid, msg, o, nn, prop))
        elif od and not nd:
            self.raw(f"{d}-property-reactivated", f"{d} property {prop!r} reactivated", osp, nsp, prop)
        ost, nst = o.get("x-stability-level"), n.get("x-stability-level")
        if ost in STABILITY and nst in STABILITY and ost != nst:
            ch = "decreased" if STABILITY[nst] < STABILITY[ost] else "increased"
            self.raw(f"{d}-property-stability-{ch}", f"{d} property {prop!r} stability {ch} from {ost} to {nst}",
                     osp, nsp, prop)

    def _flatten(self, doc: Doc, s: dict, sp: str) -> tuple[dict[str, tuple[Any, str]], set[str]]:
        props: dict[str, tuple[Any, str]] = {}
        required: set[str] = set()
        todo = [(s, sp)]
        seen = set()
        while todo:
            node, p = todo.pop(0)
            node, p = doc.deref(node, p)
            if not isinstance(node, dict) or p in seen:
                continue
            seen.add(p)
            for name, sub in (node.get("properties") or {}).items():
                props.setdefault(name, (sub, p + ptr("properties", name)))
            required.update(r for r in node.get("required") or [] if isinstance(r, str))
            for i, sub in enumerate(node.get("allOf") or []):
                todo.append((sub, p + ptr("allOf", i)))
        return props, required

    def _composition(self, o, n, kw, name, op_, np_, prop, stack, ro, wo) -> None:
        ol, nl = o.get(kw), n.get(kw)
        if not isinstance(ol, list) and not isinstance(nl, list):
            return
        ol, nl = ol or [], nl or []
        okeys = [_sub_key(s, i) for i, s in enumerate(ol)]
        nkeys = [_sub_key(s, i) for i, s in enumerate(nl)]
        added = [k for k in nkeys if k not in okeys]
        removed = [k for k in okeys if k not in nkeys]
        annotation_only = added and all(
            isinstance(nl[nkeys.index(k)], dict) and set(nl[nkeys.index(k)]) <= _ANNOTATIONS for k in added)
        if added and kw == "allOf" and annotation_only:
            self.emit(f"{name}-added-annotation-only", f"{kw} grew by annotation-only members", None,
                      np_ + ptr(kw), prop, ro=ro, wo=wo)
        elif added:
            self.emit(f"{name}-added", f"{kw} grew: added {', '.join(added)}", op_ + ptr(kw) if ol else None,
                      np_ + ptr(kw), prop, ro=ro, wo=wo)
        if removed:
            self.emit(f"{name}-removed", f"{kw} shrank: removed {', '.join(removed)}", op_ + ptr(kw),
                      np_ + ptr(kw) if nl else None, prop, ro=ro, wo=wo)
        if kw == "allOf":
            return  # allOf members' properties are compared flattened
        for i, k in enumerate(okeys):
            if k in nkeys:
                j = nkeys.index(k)
                self.diff(ol[i], nl[j], op_ + ptr(kw, i), np_ + ptr(kw, j), prop, stack, ro, wo)


# ---------------------------------------------------------------------------------------------------


_ANNOTATIONS = {"description", "title", "example", "examples", "deprecated", "x-go-type"}


def _is_null_schema(m: Any) -> bool:
    return isinstance(m, dict) and (m.get("type") == "null" or m.get("type") == ["null"]) and \
        set(m) <= {"type"} | _ANNOTATIONS


def _normalise(doc: Doc, s: Any, p: str) -> tuple[Any, str]:
    """oasdiff's view of two common 3.1 idioms: ``oneOf/anyOf: [{type: null}, X]`` is a nullable X, and a
    ``oneOf/anyOf`` of bare ``{type: T}`` members is a list of types."""
    if not isinstance(s, dict) or "type" in s:
        return s, p
    for kw in ("oneOf", "anyOf"):
        members = s.get(kw)
        if not isinstance(members, list) or not members:
            continue
        if set(s) - {kw} - _ANNOTATIONS:
            continue
        nulls = [i for i, m in enumerate(members) if _is_null_schema(m)]
        others = [i for i in range(len(members)) if i not in nulls]
        if nulls and len(others) == 1:
            inner, ip = doc.deref(members[others[0]], p + ptr(kw, others[0]))
            if isinstance(inner, dict):
                inner = dict(inner)
                inner["nullable"] = True
                return inner, ip
        if all(isinstance(m, dict) and isinstance(m.get("type"), str) and set(m) <= {"type", "format"} | _ANNOTATIONS
               for m in members):
            new = {k: v for k, v in s.items() if k != kw}
            new["type"] = [m["type"] for m in members]
            return new, p
    return s, p


def _join(prop: str, name: str) -> str:
    return f"{prop}/{name}" if prop else name


def _sub_key(s: Any, i: int) -> str:
    if isinstance(s, dict) and isinstance(s.get("$ref"), str):
        return s["$ref"].rsplit("/", 1)[-1]
    if isinstance(s, dict) and isinstance(s.get("title"), str):
        return s["title"]
    return f"#{i}"


def _types(s: dict) -> tuple[frozenset[str], bool]:
    t = s.get("type")
    if isinstance(t, str):
        types = {t}
    elif isinstance(t, list):
        types = {str(x) for x in t}
    else:
        types = set()
    null = "null" in types or bool(s.get("nullable"))
    types.discard("null")
    return frozenset(types), null


def _pname(p: dict) -> str:
    name = str(p.get("name", ""))
    return name.lower() if p.get("in") == "header" else name


def _pname_norm(name: str, opath: set[str]) -> str | None:
    return None


def _sec_set(sec: Any) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for req in sec or []:
        if not isinstance(req, dict):
            continue
        for name, scopes in req.items():
            out.setdefault(name, set()).update(scopes or [])
    return out


def _semver(v: str) -> tuple[int, ...] | None:
    import re

    m = re.match(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", v or "")
    if not m:
        return None
    return tuple(int(x or 0) for x in m.groups())


def _parse_date(raw: Any) -> _dt.date | None:
    if isinstance(raw, _dt.datetime):
        return raw.date()
    if isinstance(raw, _dt.date):
        return raw
    if not isinstance(raw, str):
        return None
    s = raw.strip()
    try:
        if len(s) == 10:
            return _dt.date.fromisoformat(s)
        return _dt.datetime.fromisoformat(s.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def diff(old: dict[str, Any], new: dict[str, Any], *, today: _dt.date | None = None,
         include_unstable: bool = False, deprecation_days: int | None = None) -> list[dict[str, Any]]:
    """All findings (error / warning / info) between two OpenAPI documents. ``deprecation_days`` turns on the
    sunset policy (deprecations need a sunset date at least that many days ahead)."""
    return Differ(old, new, today=today, include_unstable=include_unstable, deprecation_days=deprecation_days).run()


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
