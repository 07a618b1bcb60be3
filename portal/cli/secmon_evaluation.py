"""``citygov secmon evaluate …``: security evaluation reports (HTML with SVG charts, PDF, JSON), their list,
verification against the audit log, and retention pruning with the legal minimum.

Exit codes: 0 done; 2 bad input (unknown or empty period, department without assets, invalid weights file,
missing fonts, unknown report).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from portal.cli._common import cli_session, emit, fail


def _group(cli: click.Group) -> click.Group:
    group = cli.commands.get("secmon")
    if group is None:
        @cli.group("secmon")
        def group():
            """Defense and monitoring: Suricata rule sets and EVE JSON."""
    return group


def _write(data: bytes, output: str | None, default_name: str) -> str:
    if output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return "-"
    path = Path(output) if output else Path.cwd() / default_name
    if path.is_dir() or (output and output.endswith(("/", "\\"))):
        path = path / default_name
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as exc:
        fail(f"cannot write {path}: {exc}")
    return str(path)


def register(cli: click.Group) -> None:
    secmon_group = _group(cli)

    @secmon_group.command("evaluate")
    @click.option("--period", required=True, help="2024-Q1 (quarter), 2024-03 (month) or 2024 (year).")
    @click.option("--department", help="Organisation code or id (default: city-wide).")
    @click.option("--system", help="Information system id or name (default: city-wide).")
    @click.option("--format", "fmt", type=click.Choice(["html", "pdf", "json"]), default="html", show_default=True)
    @click.option("--compare", help="Another period to compare with (what got better, what got worse).")
    @click.option("--weights", "weights_path", type=click.Path(dir_okay=False),
                  help="A weights YAML file (default: the shipped secmon/evaluation/data/weights.yaml).")
    @click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
    @click.option("--output", "-o", help="File or directory to write (default: ./<report>.<format>; - for stdout).")
    def evaluate(period, department, system, fmt, compare, weights_path, lang, output):
        """Evaluate a period (indicators, score, NIST CSF 2.0 / MLPS 2.0 controls); store and write the report."""
        from kernel.errors import CityGovError
        from portal.evaluation_support import evaluation_kwargs
        from secmon.evaluation import render
        from secmon.evaluation import services as ev

        if weights_path and not Path(weights_path).is_file():
            fail(f"no such weights file: {weights_path}")
        with cli_session("cli:secmon-evaluate") as (session, system_p):
            try:
                report, info = ev.evaluation_run(session, system_p, period, department=department, system=system,
                                                 compare=compare, pdf=fmt == "pdf", weights_path=weights_path,
                                                 lang=lang, **evaluation_kwargs())
            except CityGovError as exc:
                fail(exc.detail)
            doc = info["document"]
            if fmt == "html":
                # the stored HTML is the one rendered when the report was first stored (its digest is audited)
                data = report.html.encode("utf-8")
            elif fmt == "pdf":
                data = report.pdf
            else:
                data = render.render_json(doc | {"report": ev.report_dict(report)})
            scope = report.scope.replace(":", "-")
            path = _write(data, output, f"secmon-evaluation-{report.period}-{scope}.{fmt}")
        if path != "-":
            band = report.band or "no band"
            click.echo(f"{'stored' if info['created'] else 'unchanged (same data, same digest)'}: report {report.id} "
                       f"{report.period} {report.scope}: score {report.score if report.score is not None else 'n/a'} "
                       f"({band}); digest {report.digest}")
            click.echo(f"wrote {path}")
            if doc.get("compare"):
                c = doc["compare"]
                click.echo(f"compared with {c['previous_period']}: {len(c['better'])} better, {len(c['worse'])} worse, "
                           f"score change {c['score']['change']}")

    @secmon_group.group("evaluations")
    def evaluations_group():
        """Stored evaluation reports: list, show, verify against the audit log."""

    @evaluations_group.command("list")
    @click.option("--scope", help="city, department:<code> or system:<id>.")
    @click.option("--period")
    @click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
    def evaluations_list(scope, period, fmt):
        """Stored reports, newest period first."""
        from kernel.errors import CityGovError
        from secmon.evaluation import services as ev

        with cli_session("cli:secmon-evaluations") as (session, system_p):
            try:
                rows = ev.evaluation_list(session, system_p, scope=scope, period=period)
            except CityGovError as exc:
                fail(exc.detail)
        emit(rows, fmt, lambda rs: "\n".join(
            f"{r['id']}  {r['period']:8} {r['scope']:28} score {r['score']}  {r['band'] or '-':10} {r['digest'][:16]}"
            for r in rs) or "no stored report")

    @evaluations_group.command("verify")
    @click.argument("report_id")
    @click.option("--file", "file_", type=click.Path(dir_okay=False, exists=True),
                  help="A report file (HTML, PDF or JSON document) to check against the recorded digests.")
    @click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
    def evaluations_verify(report_id, file_, fmt):
        """Check a stored report (and optionally a file) against the digests in the audit log. Exit 1 on mismatch."""
        from kernel.errors import CityGovError
        from secmon.evaluation import services as ev

        with cli_session("cli:secmon-evaluations") as (session, system_p):
            try:
                res = ev.evaluation_verify(session, system_p, report_id,
                                           Path(file_).read_bytes() if file_ else None)
            except CityGovError as exc:
                fail(exc.detail)
        emit(res, fmt, lambda d: json.dumps(d, indent=2, ensure_ascii=False))
        if not res["ok"]:
            raise SystemExit(1)

    @secmon_group.command("prune")
    @click.option("--days", type=int, required=True, help="Keep this many days of EVE data (legal minimum 180).")
    @click.option("--override-reason", help="Required below 180 days; recorded in the audit log.")
    @click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
    def prune(days, override_reason, fmt):
        """Retention: delete EVE data older than --days, never below the legal minimum without an audited override."""
        from kernel.errors import CityGovError
        from secmon.evaluation import jobs

        with cli_session("cli:secmon-prune") as (session, system_p):
            try:
                res = jobs.retention_prune(session, system_p, days=days, override_reason=override_reason)
            except CityGovError as exc:
                fail(exc.detail)
        emit(res, fmt, lambda d: f"deleted {d['events_deleted']} events and {d['quarantine_deleted']} quarantined "
                                 f"lines before {d['cutoff']}" + (" (override recorded)" if d["override"] else ""))
