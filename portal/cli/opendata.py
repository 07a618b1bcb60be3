"""``citygov opendata …``: find personal data in tables, desensitize them, measure and enforce anonymity.

Exit codes: 0 success, 1 the check failed (residual identifiers after desensitizing, no anonymous
transformation), 2 usage or input errors (unreadable file, bad policy, uncovered hierarchy value …).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import click

from portal.cli._common import emit, fail, format_option


def _instance_keys():
    """Keys for pseudonyms/tokens and AES-GCM, from the instance: ``OPENDATA_PSEUDONYM_KEY`` /
    ``OPENDATA_ENCRYPTION_KEY`` (base64) when configured, else derived from ``SECRET_KEY``."""
    from flask import current_app

    from opendata.operators import Keys

    cfg = current_app.config

    def derive(name: str, label: bytes) -> bytes | None:
        raw = cfg.get(name)
        if raw:
            return base64.b64decode(raw) if isinstance(raw, str) else bytes(raw)
        secret = cfg.get("SECRET_KEY")
        if not secret:
            return None
        return hmac.new(str(secret).encode("utf-8"), b"citygov/opendata/" + label, hashlib.sha256).digest()

    enc = derive("OPENDATA_ENCRYPTION_KEY", b"aes-gcm/v1")
    return Keys(pseudonym=derive("OPENDATA_PSEUDONYM_KEY", b"pseudonym/v1"), encryption={"default": enc} if enc else {})


def _table_options(f):
    f = click.option("--encoding", help="Input encoding (default: detected; UTF-8, UTF-8 BOM, GBK, GB18030).")(f)
    f = click.option("--delimiter", help="CSV delimiter (default: detected). Use '\\t' for tab.")(f)
    f = click.option("--input-format", "input_format", type=click.Choice(["csv", "xlsx", "json", "ndjson"]),
                     help="Input format (default: from the file extension).")(f)
    f = click.option("--sheet", help="XLSX sheet (default: the first).")(f)
    return f


def _open(path, encoding, delimiter, input_format, sheet, ragged="error"):
    from opendata.tabular import open_table

    if delimiter == "\\t":
        delimiter = "\t"
    return open_table(path, format=input_format, encoding=encoding, delimiter=delimiter, sheet=sheet, ragged=ragged)


def _detector(area_codes, strict_area):
    from opendata.recognizers import Detector, default_detector
    from opendata.validators import AreaCodes

    if not area_codes:
        if strict_area:
            raise click.UsageError("--strict-area needs --area-codes")
        return default_detector()
    try:
        table = AreaCodes.load(area_codes)
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read area-code table {area_codes}: {exc}")
    return Detector(area_codes=table, strict_area=strict_area)


def _scan_text(d: dict) -> str:
    t = d["table"]
    lines = [f"{t['path']}: {t['format']}"
             + (f", encoding {t['encoding']}, delimiter {t['delimiter']!r}" if t.get("encoding") else "")
             + f", {d['rows_scanned']} rows scanned{'' if d['complete'] else ' (sample)'}"]
    for c in d["columns"]:
        if c["entity"]:
            det = c["detections"][0]
            op = c["suggested_operator"] or {}
            lines.append(f"  {c['name']}: {c['entity']} ({c['category']}) confidence {c['confidence']:.2f}, "
                         f"{det['share']:.0%} of cells{' (in text)' if det['mode'] == 'text' else ''}"
                         f" -> {op.get('type', '-')}")
        else:
            lines.append(f"  {c['name']}: -")
    return "\n".join(lines)


def _qi(value: str) -> list[str]:
    cols = [c.strip() for c in value.split(",") if c.strip()]
    if not cols:
        raise click.BadParameter("give at least one column", param_hint="--qi")
    return cols


def _load_rows(table):
    return [list(r) for r in table.rows()]


def register(cli: click.Group) -> None:
    @cli.group("opendata")
    def opendata_group():
        """Personal-data detection, desensitization and anonymity for data opening."""

    from portal.cli._opendata_catalog import add_commands

    add_commands(opendata_group)

    @opendata_group.command("scan")
    @click.argument("file", type=click.Path(dir_okay=False))
    @_table_options
    @click.option("--sample", "sample", type=click.IntRange(min=1), default=2000, show_default=True,
                  help="Rows to sample for column classification.")
    @click.option("--full", is_flag=True, help="Scan every row (streaming) instead of a sample.")
    @click.option("--cells", is_flag=True, help="Per-cell mode: list every finding with row and column.")
    @click.option("--limit", type=click.IntRange(min=1), default=1000, show_default=True, help="Findings listed in --cells mode.")
    @click.option("--area-codes", type=click.Path(dir_okay=False), help="Area-code table (python-stdnum loc.dat format).")
    @click.option("--strict-area", is_flag=True, help="Area code must be valid in the birth year.")
    @format_option
    def scan_cmd(file, encoding, delimiter, input_format, sheet, sample, full, cells, limit, area_codes, strict_area, fmt):
        """Classify the columns of FILE (CSV, XLSX, JSON, NDJSON): detected types, share, confidence, operator."""
        from opendata.scan import scan_cells, scan_table

        det = _detector(area_codes, strict_area)
        table = _open(file, encoding, delimiter, input_format, sheet, ragged="pad")
        if cells:
            found = [{"row": r, "column": c, **f.as_dict()} for r, c, f in scan_cells(table, detector=det, limit=limit)]
            emit({"table": table.as_dict(), "findings": found}, fmt, lambda d: "\n".join(
                f"row {x['row']} {x['column']}: {x['entity']} {x['text']!r} ({x['score']:.2f})" for x in d["findings"])
                or "no findings")
            return
        rep = scan_table(table, detector=det, sample_rows=None if full else sample)
        emit(rep.as_dict(), fmt, _scan_text)

    @opendata_group.command("desensitize")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--policy", "policy_path", required=True, type=click.Path(dir_okay=False), help="Policy (YAML or JSON).")
    @click.option("--out", required=True, type=click.Path(dir_okay=False), help="Output file (.csv, .ndjson, .json).")
    @_table_options
    @click.option("--out-encoding", default="utf-8", show_default=True)
    @click.option("--no-verify", is_flag=True, help="Skip the re-scan of the output for residual identifiers.")
    @format_option
    def desensitize_cmd(file, policy_path, out, encoding, delimiter, input_format, sheet, out_encoding, no_verify, fmt):
        """Apply a desensitization policy to FILE, writing OUT atomically; fails if identifiers remain."""
        from opendata.desensitize import ResidualIdentifiers, desensitize
        from opendata.policy import load_policy

        policy = load_policy(policy_path)
        table = _open(file, encoding, delimiter, input_format, sheet)
        if Path(out).resolve() == Path(file).resolve():
            raise click.UsageError("--out must differ from the input file")
        try:
            res = desensitize(table, policy, out, keys=_instance_keys(), out_encoding=out_encoding, verify=not no_verify)
        except ResidualIdentifiers as exc:
            emit({"ok": False, "error": exc.detail, "residual": exc.errors}, fmt, lambda d: "refused: " + d["error"]
                 + "".join(f"\n  {e['pointer']}: {e['message']}" for e in d["residual"]))
            raise SystemExit(1) from None
        emit({"ok": True, **res.as_dict()}, fmt, lambda d: f"wrote {d['output']}: {d['rows']} rows, "
             f"{len(d['columns_out'])}/{len(d['columns_in'])} columns, no residual direct identifiers"
             + "".join(f"\n  {c}: {o['spec']['type']} ({o['applied']} values, {o['invalid']} suppressed as invalid)"
                       for c, o in d["operators"].items() if o["spec"]["type"] != "keep"))

    @opendata_group.group("policy")
    def policy_group():
        """Desensitization policies."""

    @policy_group.command("suggest")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--out", type=click.Path(dir_okay=False), help="Write the policy here (default: standard output).")
    @click.option("--policy-format", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
    @_table_options
    @click.option("--sample", type=click.IntRange(min=1), default=None,
                  help="Scan only the first N rows (default: every row, so that the policy passes the gate).")
    @format_option
    def policy_suggest(file, out, policy_format, encoding, delimiter, input_format, sheet, sample, fmt):
        """Suggest a starting policy for FILE from a scan."""
        from opendata.policy import dump_policy, suggest_policy
        from opendata.scan import scan_table
        from opendata.tabular import atomic_output

        rep = scan_table(_open(file, encoding, delimiter, input_format, sheet, ragged="pad"), sample_rows=sample)
        pol = suggest_policy(rep)
        text = dump_policy(pol, "json" if fmt == "json" else policy_format)
        if out:
            with atomic_output(out) as fh:
                fh.write(text)
            emit({"out": out, "policy": pol}, fmt, f"wrote {out} ({len(pol['columns'])} columns with operators)")
        else:
            click.echo(text, nl=False)

    @opendata_group.command("anonymity")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--qi", required=True, help="Quasi-identifier columns, comma-separated.")
    @click.option("--sensitive", help="Sensitive attribute (for l-diversity and t-closeness).")
    @click.option("--k-threshold", type=click.IntRange(min=1), default=5, show_default=True,
                  help="Records in classes smaller than this count as at risk.")
    @_table_options
    @format_option
    def anonymity_cmd(file, qi, sensitive, k_threshold, encoding, delimiter, input_format, sheet, fmt):
        """Measure k-anonymity, l-diversity, t-closeness and re-identification risks of FILE."""
        from opendata.anonymity import measure

        table = _open(file, encoding, delimiter, input_format, sheet)
        rep = measure(_load_rows(table), table.columns, _qi(qi), sensitive, k_threshold=k_threshold)
        d = rep.as_dict()

        def text(d):
            lines = [f"{d['records']} records, {d['classes']} equivalence classes over {', '.join(d['quasi_identifiers'])}",
                     f"k = {d['k']}"]
            if d["sensitive"]:
                lines.append(f"l (distinct) = {d['l_distinct']}, l (entropy) = {d['l_entropy']:.3f}, "
                             f"t ({d['t_method']}) = {d['t_closeness']:.4f}  [sensitive: {d['sensitive']}]")
            r = d["risk"]
            lines.append(f"risk: prosecutor max {r['prosecutor_max']:.4f}, avg {r['prosecutor_avg']:.4f}; "
                         f"journalist max {r['journalist_max']:.4f}; marketer {r['marketer']:.4f}; "
                         f"records at risk {r['records_at_risk']:.2%}; uniques {r['uniques']:.2%}")
            lines.append("class sizes: " + ", ".join(f"{b}: {n}" for b, n in d["class_sizes"].items() if n))
            return "\n".join(lines)

        emit(d, fmt, text)

    @opendata_group.command("anonymize")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--qi", required=True, help="Quasi-identifier columns, comma-separated.")
    @click.option("--hierarchies", required=True, type=click.Path(file_okay=False),
                  help="Directory with one hierarchy CSV per QI (<attr>.csv or *hierarchy_<attr>.csv).")
    @click.option("--k", "k", required=True, type=click.IntRange(min=1))
    @click.option("--l", "l", type=click.FloatRange(min=1), help="l-diversity on --sensitive.")
    @click.option("--l-kind", type=click.Choice(["entropy", "distinct"]), default="entropy", show_default=True)
    @click.option("--sensitive", help="Sensitive attribute.")
    @click.option("--suppression", type=click.FloatRange(0, 1), default=0.0, show_default=True,
                  help="Maximum fraction of records that may be suppressed.")
    @click.option("--metric", type=click.Choice(["entropy", "discernibility"]), default="entropy", show_default=True,
                  help="Utility metric: non-uniform entropy (ARX precomputed entropy) or discernibility.")
    @click.option("--suppress-mode", type=click.Choice(["mask", "drop"]), default="mask", show_default=True,
                  help="Suppressed records: QI values replaced by '*' (mask) or removed (drop).")
    @click.option("--out", required=True, type=click.Path(dir_okay=False))
    @_table_options
    @format_option
    def anonymize_cmd(file, qi, hierarchies, k, l, l_kind, sensitive, suppression, metric, suppress_mode, out,
                      encoding, delimiter, input_format, sheet, fmt):
        """Enforce k-anonymity (and l-diversity) by optimal full-domain generalisation; write OUT."""
        import csv

        from opendata.anonymity import Encoded, apply_transformation, load_hierarchies, search
        from opendata.tabular import atomic_output

        if l is not None and not sensitive:
            raise click.UsageError("--l needs --sensitive")
        cols = _qi(qi)
        table = _open(file, encoding, delimiter, input_format, sheet)
        rows = _load_rows(table)
        H = load_hierarchies(hierarchies, cols)
        enc = Encoded.build(rows, table.columns, cols, H, sensitive=sensitive)
        res = search(enc, k=k, l=l, l_kind=l_kind, suppression=suppression, metric=metric)
        d = res.as_dict()
        if not res.anonymous:
            emit({"ok": False, **d}, fmt, f"no transformation satisfies the model within {suppression:.1%} suppression "
                 f"({res.checked} of {res.lattice_size} lattice nodes checked)")
            raise SystemExit(1)
        out_rows, n_sup = apply_transformation(rows, table.columns, cols, H, res.transformation, k=k, l=l,
                                               l_kind=l_kind, sensitive=sensitive, suppress_mode=suppress_mode)
        with atomic_output(out) as fh:
            w = csv.writer(fh, delimiter=table.delimiter or ",", lineterminator="\n")
            w.writerow(table.columns)
            w.writerows(["" if v is None else v for v in r] for r in out_rows)
        d.update({"ok": True, "out": out, "records": len(rows), "suppressed": n_sup})
        emit(d, fmt, lambda d: (
            f"transformation {d['transformation']} ("
            + ", ".join(f"{a}={lv}" for a, lv in d["levels"].items())
            + f"), {d['suppressed']} of {d['records']} records suppressed, {d['classes']} classes kept, "
            f"{d['metric']} {d['score']:.2f}; {d['checked']} of {d['lattice_size']} nodes checked in {d['seconds']:.2f}s"
            f"\nwrote {d['out']}"))
