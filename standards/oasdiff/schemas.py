"""Schema comparison under one (direction, top-level location): types, nullability, enums, values, limits,
sub-schemas, compositions, properties. Keyword tables come from ``rules/oasdiff-schema.yaml``."""

from __future__ import annotations

from typing import Any

from standards.oasdiff.core import STABILITY, Doc, UnmappedChange, declared_for_review, level_of, location_alias, not_reported, parse_date, ptr, schema_map


class SchemaDiff:
    """Recursive schema comparison under one (direction, top-level location)."""

    def __init__(self, differ: Any, direction: str, where: str, out: list[dict[str, Any]], prefix: str = "",
                 xml: bool = False):
        self.d = differ
        self.direction = direction
        self.where = where
        self.out = out
        self.xml = xml  # an XML media type: object <-> string is compatible (both are serialised as text)
        self.prefix = prefix  # "inside not: " for the inverted comparison of a `not` sub-schema

    def loc(self, prop: str) -> list[str]:
        if self.where == "body":
            return ["body"] if not prop else ["property"]
        if self.where == "parameter":
            if prop == "items":
                return ["parameter-items", "parameter-property"]
            return ["parameter"] if not prop else ["parameter-property"]
        if self.where == "header":
            return ["header"] if not prop else ["header-property"]
        return ["property"]

    def candidates(self, changes: list[str], prop: str, ro: bool, wo: bool) -> tuple[list[str], bool]:
        """Rule ids to try, in order, and whether an empty match is intended (a read-only property in a request
        or a write-only one in a response is not exchanged, so only rules with that variant apply)."""
        cands = []
        for loc in self.loc(prop):
            for ch in changes:
                alias = location_alias(self.direction, loc, ch)
                for lo in ([alias] if alias else []) + [loc]:
                    if ro and self.direction == "request":
                        cands.append(f"request-read-only-{lo}-{ch}")
                    if wo and self.direction == "response":
                        cands.append(f"response-write-only-{lo}-{ch}")
                    cands.append(f"{self.direction}-{lo}-{ch}")
        exempt = False
        if self.direction == "request" and ro:
            cands, exempt = [c for c in cands if "read-only" in c], True
        if self.direction == "response" and wo:
            cands, exempt = [c for c in cands if "write-only" in c], True
        return cands, exempt

    def emit(self, changes: str | list[str], message: str, op_: str | None, np_: str | None, prop: str,
             *, ro: bool = False, wo: bool = False) -> None:
        changes = [changes] if isinstance(changes, str) else changes
        cands, exempt = self.candidates(changes, prop, ro, wo)
        what = f"property {prop!r}: " if prop else ""
        for rid in cands:
            lvl = level_of(rid)
            if lvl:
                self.out.append({"rule": rid, "level": lvl, "message": self.prefix + what + message,
                                 "old_pointer": op_, "new_pointer": np_, **({"property": prop} if prop else {})})
                return
        if not exempt and not not_reported(cands):
            self.unmapped(cands or [f"{self.direction}-{changes[0]}"], what + message, op_, np_, prop)

    def unmapped(self, cands: list[str], message: str, op_: str | None, np_: str | None, prop: str) -> None:
        """A change with no rule in the table: raised in strict mode, else a warning that says so."""
        if self.d.strict and not declared_for_review(cands):
            raise UnmappedChange(f"no rule in oasdiff's table for {cands} ({message}; {op_} -> {np_})")
        self.out.append({"rule": cands[0], "level": "warning", "unmapped": True,
                         "message": self.prefix + message + " (no oasdiff rule for this change: review it by hand)",
                         "old_pointer": op_, "new_pointer": np_, **({"property": prop} if prop else {})})

    def raw(self, rid: str, message: str, op_: str | None, np_: str | None, prop: str) -> None:
        lvl = level_of(rid)
        if not lvl:
            if not not_reported([rid]):
                self.unmapped([rid], message, op_, np_, prop)
            return
        self.out.append({"rule": rid, "level": lvl, "message": self.prefix + message, "old_pointer": op_,
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
                elif self.xml and {ot, nt} == {"object", "string"}:
                    self.emit("type-compatible", f"type changed from {ot!r} to {nt!r} (compatible in XML)", op_,
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

        # --- limits (table: rules/oasdiff-schema.yaml)
        for lim in schema_map()["limits"]:
            kw, name, upper = lim["keyword"], lim["change"], lim.get("upper", False)
            ov, nv = o.get(kw), n.get(kw)
            if isinstance(ov, bool) or isinstance(nv, bool):
                continue  # OAS 3.0 boolean exclusiveMaximum: handled with maximum
            if ov == nv:
                continue
            if ov is None and nv is not None:
                # setting a bound tightens it from "none" (or from the keyword's implicit value)
                implied = ([f"{name}-decreased"] if upper else
                           [f"{name}-increased" if nv > lim["implicit"] else f"{name}-decreased"]
                           if "implicit" in lim and isinstance(nv, (int, float)) else [])
                self.emit([f"{name}-set", *implied], f"{kw} set to {nv}", op_, np_, prop, ro=ro, wo=wo)
            elif ov is not None and nv is None:
                self.emit([f"{name}-unset", f"{name}-increased" if upper else f"{name}-decreased"],
                          f"{kw} {ov} removed", op_, np_, prop, ro=ro, wo=wo)
            elif isinstance(ov, (int, float)) and isinstance(nv, (int, float)):
                ch = "increased" if nv > ov else "decreased"
                self.emit(f"{name}-{ch}", f"{kw} {ch} from {ov} to {nv}", op_, np_, prop, ro=ro, wo=wo)

        # --- composition
        for c in schema_map()["compositions"]:
            self._composition(o, n, c["keyword"], c["change"], op_, np_, prop, stack, ro, wo)
        for c in schema_map()["presence"]:
            kw, name = c["keyword"], c["change"]
            if kw in o and kw not in n:
                self.emit(f"{name}-removed", f"{kw} removed", op_ + ptr(kw), None, prop, ro=ro, wo=wo)
            elif kw in n and kw not in o:
                self.emit(f"{name}-added", f"{kw} added", None, np_ + ptr(kw), prop, ro=ro, wo=wo)
        # `not`: what the inner schema accepts is refused, so a change inside it counts in the other direction
        # (adding `not: X` is adding the allOf member {not: X}; oasdiff's table names it that way)
        if "not" in o and "not" not in n:
            self.emit(["not-removed", "all-of-removed"], "not removed (an allOf member {not: ...} less)",
                      op_ + "/not", None, prop, ro=ro, wo=wo)
        elif "not" in n and "not" not in o:
            self.emit(["not-added", "all-of-added"], "not added (a new allOf member {not: ...})", None,
                      np_ + "/not", prop, ro=ro, wo=wo)
        elif isinstance(o.get("not"), dict) and isinstance(n.get("not"), dict):
            flipped = "response" if req else "request"
            SchemaDiff(self.d, flipped, self.where, self.out, prefix=self.prefix + "inside not: ", xml=self.xml).diff(
                o["not"], n["not"], op_ + "/not", np_ + "/not", prop, stack, ro, wo)
        for c in schema_map()["changed_values"]:
            kw, name = c["keyword"], c["change"]
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
        for kw in (c["keyword"] for c in schema_map()["presence"]):
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
            elif parse_date(raw) is None:
                self.raw(f"{d}-property-deprecated-sunset-invalid", f"invalid sunset date {raw!r} for {prop!r}",
                         osp, nsp, prop)
            else:
                self.raw(f"{d}-property-deprecated-with-sunset", f"{d} property {prop!r} deprecated with sunset "
                         f"{raw}", osp, nsp, prop)
            if raw is None or parse_date(raw) is not None:
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
