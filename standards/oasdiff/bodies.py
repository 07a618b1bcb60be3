"""Request bodies: added / removed, required, media types, schemas."""

from __future__ import annotations

from standards.oasdiff.core import ptr


class RequestBodyMixin:
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
                self.schema(osc, nsc, op_, np_, "request", "body", f"request body ({mt})", media_type=mt)

