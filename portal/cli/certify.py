"""``citygov certify`` (a certification run), ``citygov cert issue|verify|revoke|list|policy`` and
``citygov keys public``.

Exit codes: 0 conformant / valid / done, 1 not conformant / not valid, 2 input or usage error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from kernel.errors import CityGovError
from portal.cli._common import app_context, cli_session, emit, fail, format_option

REPORT_FORMATS = ("text", "json", "junit", "sarif", "html")


def _allowlist():
    from flask import current_app

    from registry.certify.probe import allowlist_from_config

    return allowlist_from_config(current_app.config.get("CERTIFY_PROBE_ALLOWLIST"))


def _standard(session, principal, ref: str):
    """A registered standard ``NAME@VERSION`` or, for vendors' own CI, an OpenAPI file."""
    from kernel.ids import sha256_hex
    from registry.certify import engine
    from standards.loading import parse_document, read_path

    p = Path(ref)
    if p.is_file():
        data = read_path(p)
        doc = parse_document(data, filename=p.name)
        if not isinstance(doc, dict):
            raise click.UsageError(f"{ref} is not an OpenAPI document")
        return engine.Standard(p.name, doc, sha256_hex(data)), None
    if "@" not in ref:
        raise click.UsageError("--standard must be NAME@VERSION (or a file)")
    from registry.certify.services import _standard as lookup

    std, _version, doc = lookup(session, principal, ref)
    return doc, std.lint_ruleset  # certification lints with the commission's rule set of the standard


def _as_principal(session, username: str | None, system):
    if not username:
        return system
    from portal.accounts import services as accounts

    return accounts.principal_for_user(session, accounts.user_get(session, username))


def _policy_text(d: dict) -> str:
    return (f"{d['standard']}: {'enabled' if d['enabled'] else 'disabled'}, coverage >= {d['min_coverage']:.0%}, "
            f"traffic {'required' if d['require_traffic'] else 'optional'}, warnings <= "
            f"{'any' if d['max_warnings'] is None else d['max_warnings']}, vendors "
            f"{', '.join(d['vendors']) or 'any'}, validity {d['validity_days']} days (v{d['version']})")


def register(cli: click.Group) -> None:
    @cli.command("certify")
    @click.option("--standard", "standard_ref", required=True, help="NAME@VERSION of a published standard (or a file).")
    @click.option("--spec", "spec_file", required=True, type=click.Path(dir_okay=False),
                  help="The vendor's OpenAPI document.")
    @click.option("--har", "har_files", multiple=True, type=click.Path(dir_okay=False), help="HAR 1.2 file (repeatable).")
    @click.option("--base-url", help="Probe this base URL live (allowlisted hosts only; default loopback).")
    @click.option("--max-requests", type=click.IntRange(0, 10000), default=None, help="Probe: at most N requests.")
    @click.option("--max-seconds", type=click.FloatRange(0.1, 3600), default=None, help="Probe: total time budget.")
    @click.option("--timeout", "req_timeout", type=click.FloatRange(0.1, 600), default=None,
                  help="Probe: per-request time limit.")
    @click.option("--probe-header", "probe_headers", multiple=True, metavar="'NAME: VALUE'",
                  help="Probe: send this header (e.g. authentication) with every request; never reported.")
    @click.option("--read-only/--all-methods", "read_only", default=None,
                  help="Probe: safe methods only (default: read-only for hosts other than this machine).")
    @click.option("--no-negative", is_flag=True, help="Probe: send no negative requests.")
    @click.option("--max-response-ms", type=click.FloatRange(1, 600000), default=None,
                  help="Probe: max_response_time limit per request.")
    @click.option("--format", "fmt", type=click.Choice(REPORT_FORMATS), default="text", show_default=True)
    @click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Write the report into this folder.")
    @click.option("--vendor", "vendor_org", help="With --submit: the vendor organisation (code) the run is for.")
    @click.option("--submit", is_flag=True,
                  help="Store the run for --vendor (needs a registry standard NAME@VERSION) and apply the "
                       "auto-approval policy; prints the run id for `citygov cert issue`.")
    @click.option("--system", "system_name", default="", help="With --submit: the vendor's system name.")
    @click.option("--cert-out", type=click.Path(dir_okay=False),
                  help="With --submit: write the certificate file here when the auto-approval issues one.")
    def certify_cmd(standard_ref, spec_file, har_files, base_url, max_requests, max_seconds, req_timeout,
                    probe_headers, read_only, no_negative, max_response_ms, fmt, out_dir, vendor_org, submit,
                    system_name, cert_out):
        """Certify a vendor's interface against a standard: exit 0 conformant, 1 not, 2 input error."""
        from registry.certify import engine, reports
        from registry.certify.har import read_har_file
        from standards.loading import read_path

        if submit and not vendor_org:
            raise click.UsageError("--submit needs --vendor ORG (the organisation the run is stored for)")
        if vendor_org and not submit:
            raise click.UsageError("--vendor is used with --submit")
        headers = {}
        for h in probe_headers:
            name, sep, value = h.partition(":")
            if not sep or not name.strip():
                raise click.UsageError("--probe-header takes 'NAME: VALUE'")
            headers[name.strip()] = value.strip()
        limits = {k: v for k, v in (("max_requests", max_requests), ("max_seconds", max_seconds),
                                    ("timeout", req_timeout), ("read_only", read_only),
                                    ("max_response_ms", max_response_ms), ("headers", headers or None))
                  if v is not None}
        if no_negative:
            limits["negative"] = False
        if submit:
            if Path(standard_ref).is_file() or "@" not in standard_ref:
                raise click.UsageError("--submit needs a registry standard NAME@VERSION")
            _submit(standard_ref, spec_file, har_files, base_url, vendor_org, system_name, cert_out, fmt, limits)
            return

        try:
            spec = read_path(spec_file)
            hars = []
            for f in har_files:
                name, entries = read_har_file(f)
                hars.append(engine.Har(name, entries))
            with cli_session("cli:certify") as (session, system):
                std, ruleset = _standard(session, system, standard_ref)
            report = engine.run_certification(std, spec, vendor_filename=Path(spec_file).name, hars=hars,
                                              base_url=base_url, allowlist=_allowlist(), probe_limits=limits,
                                              lint_ruleset=ruleset)
        except CityGovError as exc:
            fail(exc.detail)
        text = reports.render(report, fmt)
        if out_dir:
            out = Path(out_dir)
            try:
                out.mkdir(parents=True, exist_ok=True)
                target = out / f"certification.{reports.EXTENSIONS[fmt]}"
                target.write_text(text, encoding="utf-8")
            except OSError as exc:
                fail(f"cannot write to {out_dir}: {exc.strerror or exc}")
            click.echo(reports.render_text(report) if fmt != "text" else text, nl=False)
            click.echo(f"report written to {target}")
        else:
            click.echo(text, nl=False)
        sys.exit(0 if report["conformant"] else 1)

    def _submit(standard_ref, spec_file, har_files, base_url, vendor_org, system_name, cert_out, fmt, limits):
        """The API's path from the CLI: a stored run for the vendor, then the auto-approval policy."""
        from portal.accounts import services as accounts
        from portal.keys import key_dir, origin
        from registry.certify import approval, services
        from standards.loading import read_path

        try:
            spec = read_path(spec_file)
            hars = [(Path(f).name, read_path(f)) for f in har_files]
            with cli_session("cli:certify") as (session, system):
                org = accounts.org_get(session, vendor_org)
                run = services.certification_run(session, system, standard=standard_ref, spec=spec,
                                                 spec_filename=Path(spec_file).name, hars=hars, system=system_name,
                                                 base_url=base_url, allowlist=_allowlist(), probe_limits=limits,
                                                 vendor=org.code, vendor_org_id=org.id)
                decision = approval.auto_approve(session, run, key_dir=key_dir(), origin=origin())
                data = {**run.to_dict(), "auto_approval": decision}
                if decision.get("certificate") and cert_out:
                    cert = services.certificate_get(session, decision["certificate"])
                    _write_cert(cert_out, cert.document)
        except CityGovError as exc:
            fail(exc.detail)

        def text(d):
            lines = [f"run {d['id']}: {'conformant' if d['conformant'] else 'NOT conformant'} "
                     f"({d['standard']}, vendor {d['vendor']})"]
            a = d["auto_approval"]
            if a.get("certificate"):
                lines.append(f"auto-approved: certificate {a['certificate']}"
                             + (f" written to {cert_out}" if cert_out else ""))
            elif d["conformant"]:
                lines.append("awaiting the commission: citygov cert issue " + d["id"]
                             + "".join(f"\n  ({r})" for r in a.get("reasons", [])))
            return "\n".join(lines)

        emit(data, "json" if fmt == "json" else "text", text)
        sys.exit(0 if data["conformant"] else 1)

    def _write_cert(path: str, document: str | None) -> None:
        if not document:
            fail("the certificate has no file yet")
        from kernel.atomicfile import atomic_write

        try:
            with atomic_write(path, "w", encoding="utf-8") as fh:
                fh.write(document)
        except OSError as exc:
            fail(f"cannot write {path}: {exc.strerror or exc}")

    @cli.group("cert")
    def cert_group():
        """Interface certificates: issue, verify, revoke, list."""

    @cert_group.command("get")
    @click.argument("serial")
    @click.option("--out", "out_file", type=click.Path(dir_okay=False), help="Write the certificate file here.")
    @format_option
    def get_cmd(serial, out_file, fmt):
        """Show a certificate (public record); --out writes its file (JWS, log inclusion proof, checkpoint)."""
        from registry.certify import services

        try:
            with cli_session("cli:cert") as (session, _system):
                cert = services.certificate_get(session, serial)
                data = cert.to_dict()
                if out_file:
                    _write_cert(out_file, cert.document)
        except CityGovError as exc:
            fail(exc.detail)
        emit(data, fmt, lambda d: f"{d['serial']} {d['status']} ({d['standard']}, {d['vendor']}) until "
                                  f"{d['expires_at']}" + (f"; file written to {out_file}" if out_file else ""))

    @cert_group.command("issue")
    @click.argument("run_id")
    @click.option("--validity-days", type=int, default=365, show_default=True)
    @click.option("--as", "as_user", help="Act as this commission reviewer (default: the system).")
    @click.option("--out", "out_file", type=click.Path(dir_okay=False), help="Write the certificate file here.")
    @format_option
    def issue_cmd(run_id, validity_days, as_user, out_file, fmt):
        """Issue the certificate of a conformant run."""
        from portal.keys import key_dir, origin
        from registry.certify import services

        try:
            with cli_session("cli:cert") as (session, system):
                principal = _as_principal(session, as_user, system)
                cert = services.certificate_issue(session, principal, run_id, key_dir=key_dir(), origin=origin(),
                                                  validity_days=validity_days)
                data = cert.to_dict()
                if out_file:
                    _write_cert(out_file, cert.document)
        except CityGovError as exc:
            fail(exc.detail)
        emit(data, fmt, lambda d: f"issued {d['serial']} ({d['standard']}, {d['vendor']}) until {d['expires_at']}"
             + (f"; file written to {out_file}" if out_file else ""))

    @cert_group.command("verify", with_appcontext=False)
    @click.argument("cert_file", type=click.Path(dir_okay=False))
    @click.option("--public-key", "public_key", type=click.Path(),
                  help="Key file (verifier keys or JWKS from GET /api/v1/keys) or a directory of *.pub files.")
    @click.option("--offline", is_flag=True,
                  help="Only the file and --public-key: no instance, no secret key, no revocation look-up.")
    @format_option
    def verify_cmd(cert_file, public_key, offline, fmt):
        """Verify signature, expiry, revocation (online) and log inclusion; exit 1 when not valid."""
        from audit import notes
        from registry.certify import certificates as certs

        if offline and not public_key:
            raise click.UsageError("--offline needs --public-key (the platform's public key: `citygov keys "
                                   "public`, or GET /api/v1/keys)")
        try:
            data = Path(cert_file).read_bytes()[: certs.MAX_FILE_BYTES + 1]
        except OSError as exc:
            fail(f"cannot read {cert_file}: {exc.strerror or exc}")
        keys = None
        if public_key:
            try:
                keys = certs.read_keys(public_key)
            except (certs.CertificateError, notes.NoteError, OSError) as exc:
                fail(f"cannot read public key: {exc}")
            if not keys:
                fail("no public key in --public-key")
        if offline:
            result = certs.verify_file(data, keys)  # nothing but the file and the key: no app, no instance
        else:
            from portal.keys import key_dir
            from registry.certify import services

            with app_context():
                if keys is None:
                    try:
                        keys = notes.load_verifiers(key_dir())
                    except (notes.NoteError, OSError) as exc:
                        fail(f"cannot read the platform's public keys: {exc}")
                    if not keys:
                        fail("no public key: give --public-key")
                try:
                    with cli_session("cli:cert") as (session, _system):
                        result = services.verify(session, data, keys)
                except Exception:  # noqa: BLE001 - no database: verify offline
                    result = certs.verify_file(data, keys)

        def text(r):
            lines = [f"certificate {r.get('serial') or '?'}: " + ("VALID" if r["valid"] else "NOT VALID")]
            lines += [f"  {k}: {v}" for k, v in r["checks"].items()]
            lines += [f"  problem ({p['check']}): {p['message']}" for p in r["problems"]]
            return "\n".join(lines)

        emit(result, fmt, text)
        sys.exit(0 if result["valid"] else 1)

    @cert_group.command("revoke")
    @click.argument("serial")
    @click.option("--reason", required=True)
    @click.option("--as", "as_user", help="Act as this commission reviewer (default: the system).")
    @format_option
    def revoke_cmd(serial, reason, as_user, fmt):
        """Revoke a certificate (audited, with a reason)."""
        from registry.certify import services

        try:
            with cli_session("cli:cert") as (session, system):
                cert = services.certificate_revoke(session, _as_principal(session, as_user, system), serial,
                                                   reason=reason)
                data = cert.to_dict()
        except CityGovError as exc:
            fail(exc.detail)
        emit(data, fmt, lambda d: f"revoked {d['serial']}: {d['status_reason']}")

    @cert_group.command("list")
    @click.option("--vendor")
    @click.option("--standard")
    @click.option("--status", type=click.Choice(["valid", "revoked", "expired", "superseded"]))
    @format_option
    def list_cmd(vendor, standard, status, fmt):
        """List certificates (public records)."""
        from registry.certify import services

        with cli_session("cli:cert") as (session, _system):
            rows = [c.to_dict() for c in services.certificate_list(session, vendor=vendor, standard=standard,
                                                                   status=status, limit=1000)]
        emit(rows, fmt, lambda rs: "\n".join(f"{r['serial']}  {r['status']:<10} {r['standard']:<30} {r['vendor']} "
                                             f"{r['system']}  until {r['expires_at']}" for r in rs) or "no certificates")

    @cert_group.group("policy")
    def policy_group():
        """The commission's auto-approval policy (per standard NAME, or * for the default)."""

    @policy_group.command("set")
    @click.argument("standard", default="*")
    @click.option("--enable/--disable", "enabled", default=None, help="Turn auto-approval on or off.")
    @click.option("--min-coverage", type=click.FloatRange(0, 1), default=None,
                  help="Share of the standard's operations exercised by traffic or probe.")
    @click.option("--require-traffic/--no-require-traffic", default=None)
    @click.option("--max-warnings", type=click.IntRange(-1, None), default=None, help="-1: any number.")
    @click.option("--vendor", "vendors", multiple=True, help="Only these vendor organisation codes (repeatable).")
    @click.option("--any-vendor", is_flag=True, help="Clear the vendor list.")
    @click.option("--validity-days", type=click.IntRange(1, 1095), default=None)
    @click.option("--as", "as_user", help="Act as this commission admin (default: the system).")
    @format_option
    def policy_set_cmd(standard, enabled, min_coverage, require_traffic, max_warnings, vendors, any_vendor,
                       validity_days, as_user, fmt):
        """Create or change the auto-approval policy of STANDARD (audited)."""
        from registry.certify import approval

        data = {k: v for k, v in (("enabled", enabled), ("min_coverage", min_coverage),
                                  ("require_traffic", require_traffic), ("validity_days", validity_days)) if v is not None}
        if max_warnings is not None:
            data["max_warnings"] = None if max_warnings < 0 else max_warnings
        if vendors or any_vendor:
            data["vendors"] = [] if any_vendor else list(vendors)
        try:
            with cli_session("cli:cert") as (session, system):
                row = approval.auto_policy_set(session, _as_principal(session, as_user, system), standard, **data)
                out = row.to_dict()
        except CityGovError as exc:
            fail(exc.detail)
        emit(out, fmt, _policy_text)

    @policy_group.command("list")
    @format_option
    def policy_list_cmd(fmt):
        """List the auto-approval policies."""
        from registry.certify import approval

        with cli_session("cli:cert") as (session, system):
            rows = [r.to_dict() for r in approval.auto_policy_list(session, system)]
        emit(rows, fmt, lambda rs: "\n".join(_policy_text(r) for r in rs) or "no auto-approval policy")

    @cli.group("keys")
    def keys_group():
        """The platform's public keys."""

    @keys_group.command("public")
    @format_option
    def keys_public_cmd(fmt):
        """Print the platform's Ed25519 public keys (verifier keys; JSON: a JWKS)."""
        from portal.keys import key_dir
        from registry.certify import certificates as certs

        keys = certs.public_keys(key_dir())
        if not keys:
            fail("no keys yet: sign a checkpoint or issue a certificate first", 2)
        if fmt == "json":
            click.echo(json.dumps({"keys": [certs.jwk(v) for v in keys]}, indent=2))
        else:
            for v in keys:
                click.echo(v.to_string())
