"""Responses: status codes, media types, headers, body schemas."""

from __future__ import annotations

from standards.oasdiff.core import ptr


class ResponsesMixin:
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
                self.schema(osc, nsc, op_, np_, "response", "body", f"response {code} ({mt})", media_type=mt)
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

