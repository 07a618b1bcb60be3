"""JSON Schema compatibility between versions, with Confluent Schema Registry's semantics.

``BACKWARD``: the new schema (reader) accepts all data written with the previous one (writer); upgrade
consumers first. ``FORWARD``: the previous schema reads data written with the new one. ``FULL``: both.
``*_TRANSITIVE``: against every earlier version instead of the latest. ``NONE``: no check.

The check is a structural comparison (as Confluent's ``json/diff``): a reader that is *narrower* than the
writer anywhere is incompatible. Content models matter: with a closed writer (``additionalProperties:
false``) the reader may add properties; with an open writer, adding a property is compatible only in
``lenient`` mode (the default here, Apicurio-like) — ``strict`` mode reports
``PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL`` as Confluent does, because old data may hold that key with another
type. Each finding names a Confluent-style change type, pointers into both schemas and a message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import orjson

from standards import oaswalk

LEVELS = ("NONE", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE")

_UPPER = ("maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties", "maxContains")
_LOWER = ("minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties", "minContains")
_NAMES = {"maxLength": "MAX_LENGTH", "maximum": "MAXIMUM", "exclusiveMaximum": "EXCLUSIVE_MAXIMUM",
          "maxItems": "MAX_ITEMS", "maxProperties": "MAX_PROPERTIES", "maxContains": "MAX_CONTAINS",
          "minLength": "MIN_LENGTH", "minimum": "MINIMUM", "exclusiveMinimum": "EXCLUSIVE_MINIMUM",
          "minItems": "MIN_ITEMS", "minProperties": "MIN_PROPERTIES", "minContains": "MIN_CONTAINS"}


_esc = oaswalk.esc


class _Checker:
    def __init__(self, reader: Any, writer: Any, *, strict: bool, resolve: Callable[[str], Any] | None):
        self.reader_root = reader
        self.writer_root = writer
        self.strict = strict
        self.resolve_ext = resolve
        self.out: list[dict[str, Any]] = []
        self.seen: set[tuple[str, str]] = set()

    def add(self, rule: str, msg: str, rp: str, wp: str) -> None:
        self.out.append({"rule": rule, "level": "error", "message": msg, "new_pointer": rp, "old_pointer": wp})

    def deref(self, s: Any, root: Any, p: str) -> tuple[Any, str]:
        hops = 0
        while isinstance(s, Mapping) and isinstance(s.get("$ref"), str) and hops < 32:
            ref = s["$ref"]
            hops += 1
            if ref.startswith("#"):
                node = root
                try:
                    for seg in oaswalk.split(ref[1:]):
                        node = node[int(seg)] if isinstance(node, list) else node[seg]
                except (KeyError, IndexError, ValueError, TypeError):
                    return {}, p
                s, p = node, ref[1:]
            elif self.resolve_ext is not None:
                s, p = self.resolve_ext(ref), ref
            else:
                return {}, p
        return s, p

    def check(self, r: Any, w: Any, rp: str, wp: str) -> None:
        r, rp = self.deref(r, self.reader_root, rp)
        w, wp = self.deref(w, self.writer_root, wp)
        key = (rp, wp)
        if key in self.seen:
            return
        self.seen.add(key)
        if w is False or r is True or r == {}:
            return
        if r is False:
            self.add("SCHEMA_NARROWED", "the reader accepts nothing", rp, wp)
            return
        if w is True:
            w = {}
        if not isinstance(r, Mapping) or not isinstance(w, Mapping):
            return

        # types
        rt, wt = _types(r), _types(w)
        if rt is not None:
            if wt is None:
                self.add("TYPE_NARROWED", f"type {sorted(rt)} added where any type was allowed", rp, wp)
            else:
                missing = {t for t in wt if t not in rt and not (t == "integer" and "number" in rt)}
                if missing:
                    rule = "TYPE_CHANGED" if len(wt) == 1 and len(rt) == 1 else "TYPE_NARROWED"
                    self.add(rule, f"type {sorted(wt)} → {sorted(rt)}: {sorted(missing)} no longer accepted", rp, wp)
        # enum / const
        if "enum" in r:
            if "enum" not in w and "const" not in w:
                self.add("ENUM_ADDED", "enum added", rp, wp)
            else:
                wv = w.get("enum", [w.get("const")])
                gone = [v for v in wv if v not in r["enum"]]
                if gone:
                    self.add("ENUM_ARRAY_NARROWED", f"enum values removed: {gone[:10]!r}", rp, wp)
        if "const" in r:
            if "const" not in w:
                if not ("enum" in w and all(v == r["const"] for v in w["enum"])):
                    self.add("CONST_ADDED", f"const {r['const']!r} added", rp, wp)
            elif r["const"] != w["const"]:
                self.add("CONST_CHANGED", f"const changed from {w['const']!r} to {r['const']!r}", rp, wp)
        # limits
        for kw in _UPPER:
            rv, wv = _num(r.get(kw)), _num(w.get(kw))
            if rv is not None and (wv is None or rv < wv):
                self.add(f"{_NAMES[kw]}_{'ADDED' if wv is None else 'DECREASED'}",
                         f"{kw} {'set to' if wv is None else f'decreased from {wv} to'} {rv}", rp, wp)
        for kw in _LOWER:
            rv, wv = _num(r.get(kw)), _num(w.get(kw))
            if rv is not None and (wv is None or rv > wv):
                self.add(f"{_NAMES[kw]}_{'ADDED' if wv is None else 'INCREASED'}",
                         f"{kw} {'set to' if wv is None else f'increased from {wv} to'} {rv}", rp, wp)
        if r.get("exclusiveMaximum") is True and w.get("exclusiveMaximum") is not True and "maximum" in r:
            self.add("EXCLUSIVE_MAXIMUM_ADDED", "maximum became exclusive", rp, wp)
        if r.get("exclusiveMinimum") is True and w.get("exclusiveMinimum") is not True and "minimum" in r:
            self.add("EXCLUSIVE_MINIMUM_ADDED", "minimum became exclusive", rp, wp)
        if "multipleOf" in r:
            rm, wm = _num(r["multipleOf"]), _num(w.get("multipleOf"))
            if wm is None:
                self.add("MULTIPLE_OF_ADDED", f"multipleOf {rm} added", rp, wp)
            elif rm and wm and (wm / rm) != int(wm / rm):
                self.add("MULTIPLE_OF_CHANGED", f"multipleOf changed from {wm} to {rm}", rp, wp)
        for kw, rule in (("pattern", "PATTERN"), ("format", "FORMAT")):
            if kw in r:
                if kw not in w:
                    self.add(f"{rule}_ADDED", f"{kw} {r[kw]!r} added", rp, wp)
                elif r[kw] != w[kw]:
                    self.add(f"{rule}_CHANGED", f"{kw} changed from {w[kw]!r} to {r[kw]!r}", rp, wp)
        if r.get("uniqueItems") is True and w.get("uniqueItems") is not True:
            self.add("UNIQUE_ITEMS_ADDED", "uniqueItems added", rp, wp)

        self.objects(r, w, rp, wp)
        self.arrays(r, w, rp, wp)
        self.combined(r, w, rp, wp)
        if "not" in r and r.get("not") != w.get("not"):
            self.add("NOT_TYPE_EXTENDED", "'not' added or changed", rp, wp)
        for kw in ("if", "then", "else", "dependentSchemas", "propertyNames", "unevaluatedProperties",
                   "unevaluatedItems", "contains"):
            if kw in r and r.get(kw) != w.get(kw):
                if kw in w and isinstance(r[kw], Mapping) and isinstance(w[kw], Mapping) and \
                        kw not in ("if", "dependentSchemas"):
                    self.check(r[kw], w[kw], f"{rp}/{kw}", f"{wp}/{kw}")
                else:
                    self.add(f"{_snake(kw)}_CHANGED", f"{kw} added or changed", rp, wp)
        rdr, wdr = r.get("dependentRequired") or r.get("dependencies") or {}, \
            w.get("dependentRequired") or w.get("dependencies") or {}
        for k, v in rdr.items():
            if isinstance(v, list) and not set(v) <= set(wdr.get(k, []) if isinstance(wdr.get(k), list) else []):
                self.add("DEPENDENCY_ADDED", f"dependency of {k!r} added or extended", rp, wp)

    def objects(self, r: Mapping, w: Mapping, rp: str, wp: str) -> None:
        rprops, wprops = r.get("properties") or {}, w.get("properties") or {}
        rreq, wreq = set(r.get("required") or []), set(w.get("required") or [])
        r_add, w_add = r.get("additionalProperties", True), w.get("additionalProperties", True)
        w_closed = w_add is False or (isinstance(w.get("unevaluatedProperties"), bool) and
                                      w["unevaluatedProperties"] is False)
        r_closed = r_add is False
        for name in sorted(rreq - wreq):
            if name in wprops:
                self.add("REQUIRED_ATTRIBUTE_ADDED", f"property {name!r} became required", rp, wp)
            else:
                self.add("REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL" if not w_closed else
                         "REQUIRED_PROPERTY_ADDED", f"new required property {name!r}", rp, wp)
        for name, rs in rprops.items():
            rsp = f"{rp}/properties/{_esc(name)}"
            if name in wprops:
                self.check(rs, wprops[name], rsp, f"{wp}/properties/{_esc(name)}")
            elif not w_closed:
                if isinstance(w_add, Mapping) and w_add:
                    self.check(rs, w_add, rsp, f"{wp}/additionalProperties")
                elif self.strict and rs not in (True, {}):
                    self.add("PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
                             f"property {name!r} added to an open content model (old data may hold it)", rsp, wp)
        for name, ws in wprops.items():
            if name in rprops:
                continue
            wsp = f"{wp}/properties/{_esc(name)}"
            if r_closed:
                self.add("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL",
                         f"property {name!r} removed from a closed content model", rp, wsp)
            elif isinstance(r_add, Mapping) and r_add:
                self.check(r_add, ws, f"{rp}/additionalProperties", wsp)
        if r_closed and not w_closed:
            self.add("ADDITIONAL_PROPERTIES_REMOVED", "additionalProperties: false added (content model closed)",
                     rp, wp)
        elif isinstance(r_add, Mapping) and r_add and not w_closed:
            if isinstance(w_add, Mapping):
                self.check(r_add, w_add, f"{rp}/additionalProperties", f"{wp}/additionalProperties")
            else:
                self.add("ADDITIONAL_PROPERTIES_NARROWED", "additionalProperties restricted to a schema", rp, wp)
        rpp, wpp = r.get("patternProperties") or {}, w.get("patternProperties") or {}
        for pat, rs in rpp.items():
            if pat in wpp:
                self.check(rs, wpp[pat], f"{rp}/patternProperties/{_esc(pat)}", f"{wp}/patternProperties/{_esc(pat)}")
            elif not w_closed:
                self.add("PATTERN_PROPERTY_ADDED", f"patternProperties {pat!r} added", rp, wp)

    def arrays(self, r: Mapping, w: Mapping, rp: str, wp: str) -> None:
        ri, wi = r.get("items"), w.get("items")
        rpre, wpre = r.get("prefixItems"), w.get("prefixItems")
        if isinstance(ri, list) or isinstance(wi, list):  # draft 7 tuple form
            rpre, wpre = (ri if isinstance(ri, list) else rpre), (wi if isinstance(wi, list) else wpre)
            ri = r.get("additionalItems") if isinstance(r.get("items"), list) else ri
            wi = w.get("additionalItems") if isinstance(w.get("items"), list) else wi
        if isinstance(rpre, list):
            for i, rs in enumerate(rpre):
                if isinstance(wpre, list) and i < len(wpre):
                    self.check(rs, wpre[i], f"{rp}/prefixItems/{i}", f"{wp}/prefixItems/{i}")
                elif wi is not None:
                    self.check(rs, wi, f"{rp}/prefixItems/{i}", f"{wp}/items")
                else:
                    self.add("ITEM_ADDED_TO_OPEN_CONTENT_MODEL", f"tuple item {i} added", rp, wp)
        if ri is not None and ri is not True and ri != {}:
            if wi is None:
                if ri is False:
                    self.add("ADDITIONAL_ITEMS_REMOVED", "items: false added", rp, wp)
                else:
                    self.add("ITEMS_NARROWED", "items schema added where any item was allowed", rp, wp)
            else:
                self.check(ri, wi, f"{rp}/items", f"{wp}/items")

    def combined(self, r: Mapping, w: Mapping, rp: str, wp: str) -> None:
        for kw in ("oneOf", "anyOf"):
            rl = r.get(kw)
            if not isinstance(rl, list):
                continue
            wl = w.get("oneOf") or w.get("anyOf")
            writers = wl if isinstance(wl, list) else [w]
            wkw = kw if isinstance(w.get(kw), list) else ("oneOf" if isinstance(w.get("oneOf"), list) else "anyOf")
            for j, ws in enumerate(writers):
                wsp = f"{wp}/{wkw}/{j}" if isinstance(wl, list) else wp
                if not any(self._quiet(rs, ws, f"{rp}/{kw}/{i}", wsp) for i, rs in enumerate(rl)):
                    self.add("SUM_TYPE_NARROWED" if isinstance(wl, list) else "COMBINED_TYPE_SUBSCHEMAS_CHANGED",
                             f"no {kw} member of the reader accepts writer member {j}", rp, wsp)
        rl = r.get("allOf")
        if isinstance(rl, list):
            wl = w.get("allOf") if isinstance(w.get("allOf"), list) else []
            for i, rs in enumerate(rl):
                wsp = f"{wp}/allOf/{i}" if i < len(wl) else wp
                ws = wl[i] if i < len(wl) else {k: v for k, v in w.items() if k != "allOf"}
                self.check(rs, ws, f"{rp}/allOf/{i}", wsp)

    def _quiet(self, r: Any, w: Any, rp: str, wp: str) -> bool:
        sub = _Checker(self.reader_root, self.writer_root, strict=self.strict, resolve=self.resolve_ext)
        sub.seen = set(self.seen)
        sub.check(r, w, rp, wp)
        return not sub.out


def _snake(kw: str) -> str:
    out = ""
    for ch in kw:
        out += ("_" + ch) if ch.isupper() else ch.upper()
    return out


def _num(v: Any) -> float | None:
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _types(s: Mapping) -> set[str] | None:
    t = s.get("type")
    if isinstance(t, str):
        out = {t}
    elif isinstance(t, list):
        out = {str(x) for x in t}
    else:
        return None
    if s.get("nullable") is True:
        out.add("null")
    return out


def incompatibilities(reader: Any, writer: Any, *, strict: bool = False,
                      resolve: Callable[[str], Any] | None = None) -> list[dict[str, Any]]:
    """Why ``reader`` cannot read every instance ``writer`` allows (empty list: compatible)."""
    if resolve is None:
        return list(_cached(orjson.dumps(reader, option=orjson.OPT_SORT_KEYS),
                            orjson.dumps(writer, option=orjson.OPT_SORT_KEYS), strict))
    c = _Checker(reader, writer, strict=strict, resolve=resolve)
    c.check(reader, writer, "", "")
    return c.out


@lru_cache(maxsize=512)
def _cached(reader_json: bytes, writer_json: bytes, strict: bool) -> tuple[dict[str, Any], ...]:
    reader, writer = orjson.loads(reader_json), orjson.loads(writer_json)
    c = _Checker(reader, writer, strict=strict, resolve=None)
    c.check(reader, writer, "", "")
    return tuple(c.out)


def check(level: str, new: Any, previous: Sequence[Any], *, strict: bool = False,
          resolve: Callable[[str], Any] | None = None) -> list[dict[str, Any]]:
    """Compatibility findings of ``new`` against ``previous`` (oldest first) under a Confluent level."""
    level = (level or "NONE").upper()
    if level not in LEVELS:
        raise ValueError(f"unknown compatibility level {level!r}: one of {', '.join(LEVELS)}")
    if level == "NONE" or not previous:
        return []
    against = list(previous) if level.endswith("_TRANSITIVE") else [previous[-1]]
    base = level.removesuffix("_TRANSITIVE")
    out: list[dict[str, Any]] = []
    for idx, old in enumerate(against):
        label = {"version_index": len(previous) - len(against) + idx}
        if base in ("BACKWARD", "FULL"):
            for f in incompatibilities(new, old, strict=strict, resolve=resolve):
                out.append({**f, "direction": "BACKWARD", **label,
                            "message": f"new schema cannot read old data: {f['message']}"})
        if base in ("FORWARD", "FULL"):
            for f in incompatibilities(old, new, strict=strict, resolve=resolve):
                out.append({**f, "direction": "FORWARD", **label,
                            "old_pointer": f["new_pointer"], "new_pointer": f["old_pointer"],
                            "message": f"old schema cannot read new data: {f['message']}"})
    return out


def is_compatible(level: str, new: Any, previous: Sequence[Any], **kw: Any) -> bool:
    return not check(level, new, previous, **kw)
