"""Security requirements (operation and global), security scheme components, component schemas."""

from __future__ import annotations

from standards.oasdiff.core import ptr, sec_set


class SecurityMixin:
    def op_security(self, oop, nop, op_o, op_n) -> None:
        if "security" not in oop and "security" not in nop:
            return
        o = sec_set(oop.get("security"))
        n = sec_set(nop.get("security"))
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
        o = sec_set(self.o.spec.get("security"))
        n = sec_set(self.n.spec.get("security"))
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


    def components(self) -> None:
        o = (self.o.spec.get("components") or {}).get("schemas") or {}
        n = (self.n.spec.get("components") or {}).get("schemas") or {}
        for name in o:
            if name not in n:
                self.emit("api-schema-removed", f"component schema {name!r} removed",
                          ptr("components", "schemas", name), None)

