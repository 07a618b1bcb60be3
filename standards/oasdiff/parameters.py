"""Request parameters: added / removed / renamed (path), required, deprecation and sunset, schemas."""

from __future__ import annotations

from standards.oasdiff.core import Doc, parse_date, pname, ptr
from standards.oasdiff.paths import OpPair


class ParametersMixin:
    def _params(self, doc: Doc, op: dict, op_ptr: str, common: list, item_ptr: str,
                renames: dict[str, str] | None = None) -> dict:
        """``{(in, name): (parameter, pointer)}``: path-item parameters overridden by the operation's; with
        ``renames`` the base's path parameters are keyed by their name in the revision."""
        out: dict[tuple[str, str], tuple[dict, str]] = {}
        for base, plist in ((item_ptr, common), (op_ptr, op.get("parameters") or [])):
            for i, p in enumerate(plist):
                node, pp = doc.deref(p, base + ptr("parameters", i))
                if isinstance(node, dict) and "name" in node:
                    name = pname(node)
                    if renames and node.get("in") == "path":
                        name = renames.get(name, name)
                    out[(node.get("in", ""), name)] = (node, pp)
        return out

    def parameters(self, pair: OpPair) -> None:
        olist = self._params(self.o, pair.old, pair.old_ptr, pair.old_common, pair.old_item_ptr, pair.renames)
        nlist = self._params(self.n, pair.new, pair.new_ptr, pair.new_common, pair.new_item_ptr)
        for key, (p, pp) in olist.items():
            if key in nlist:
                continue
            loc, name = key
            if p.get("deprecated"):
                sunset = parse_date(p.get("x-sunset")) if p.get("x-sunset") is not None else None
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
                sun = parse_date(n.get("x-sunset"))
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
                osun, nsun = parse_date(o["x-sunset"]), parse_date(n["x-sunset"])
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

