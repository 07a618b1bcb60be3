"""``citygov secmon …``: Suricata rule sets (import, lint, build, diff), EVE ingestion, monitoring views.

Exit codes: 0 done; 1 lint found errors (or ``--fail-on`` level); 2 bad input (missing paths, unreadable
files, bad options).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from portal.cli._common import cli_session, emit, fail, format_option


def _load(paths, ignore_deleted: bool = True):
    from secmon.rules import DEFAULT_IGNORE, RuleLoadError, load_ruleset

    try:
        return load_ruleset(paths, ignore=DEFAULT_IGNORE if ignore_deleted else ())
    except RuleLoadError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot read rules: {exc}")


def _errors_text(errors) -> list[str]:
    return [f"  {e.file}:{e.line}: {e.reason}" for e in errors]


def register(cli: click.Group) -> None:
    @cli.group("secmon")
    def secmon_group():
        """Defense and monitoring: Suricata rule sets and EVE JSON."""

    @secmon_group.group("rules")
    def rules_group():
        """Rule sets: import, lint, build (suricata-update compatible), diff."""

    @rules_group.command("import")
    @click.argument("paths", nargs=-1, required=True, type=click.Path())
    @click.option("--name", help="Rule-set name (default: the first path's name).")
    @click.option("--policy", "policy_dir", type=click.Path(file_okay=False), help="Directory with enable/disable/drop/modify.conf.")
    @click.option("--sensor", help="The sensor this version is built for (default view of its coverage/unknown sids).")
    @format_option
    def rules_import(paths, name, policy_dir, sensor, fmt):
        """Import rule files and trees (.rules, classification.config, threshold.config) as a new version."""
        from kernel.errors import CityGovError
        from secmon import services

        for p in paths:
            if not Path(p).exists():
                fail(f"no such file or directory: {p}")
        with cli_session("cli:secmon") as (session, system):
            try:
                res = services.ruleset_import(session, system, list(paths), name=name, policy_dir=policy_dir,
                                              sensor=sensor)
            except CityGovError as exc:
                fail(exc.detail)
        s = res["stats"]
        emit(res, fmt, lambda d: "\n".join(
            [f"{'unchanged' if d['unchanged'] else 'imported'} {d['name']} version {d['version_id']} "
             f"sha256 {d['content_hash'][:16]}: {s['rules']} rules ({s['enabled']} enabled, {s['disabled']} disabled) "
             f"in {s['files']} files, {s['errors']} errors"]
            + [f"  {e['file']}:{e['line']}: {e['reason']}" for e in d["errors"]]))

    @rules_group.command("lint")
    @click.argument("paths", nargs=-1, required=True, type=click.Path())
    @click.option("--vars", "vars_file", type=click.Path(dir_okay=False),
                  help="suricata.yaml-style vars file (address-groups/port-groups); default: Suricata's stock groups.")
    @click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif"]), default="text", show_default=True)
    @click.option("--fail-on", type=click.Choice(["error", "warning", "never"]), default="error", show_default=True)
    @click.option("--include-deleted", is_flag=True, help="Also lint files suricata-update ignores (*deleted.rules).")
    def rules_lint(paths, vars_file, fmt, fail_on, include_deleted):
        """Lint rules: parse errors, duplicates, headers, variables, keywords, classtypes, flowbits, PCRE."""
        from secmon.lint import format_json, format_sarif, format_text, lint_ruleset

        rs = _load(paths, ignore_deleted=not include_deleted)
        try:
            findings = lint_ruleset(rs, vars_file=vars_file)
        except (OSError, ValueError) as exc:
            fail(f"cannot read vars file: {exc}")
        out = {"text": format_text, "json": lambda f: format_json(f, {"stats": rs.stats()}),
               "sarif": format_sarif}[fmt](findings)
        click.echo(out, nl=False)
        levels = {"error": ("error",), "warning": ("error", "warning"), "never": ()}[fail_on]
        if any(f.severity in levels for f in findings):
            sys.exit(1)

    @rules_group.command("build")
    @click.argument("paths", nargs=-1, required=True, type=click.Path())
    @click.option("--policy", "policy_dir", type=click.Path(file_okay=False), help="Directory with enable/disable/drop/modify.conf.")
    @click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Where to write suricata.rules.")
    @click.option("--no-approved", is_flag=True,
                  help="Leave out the approved responses' rule changes and threshold entries (default: include them).")
    @format_option
    def rules_build(paths, policy_dir, out, no_approved, fmt):
        """Build the effective rule set as suricata-update does and write suricata.rules; approved responses'
        rule changes join the policy and their suppress/threshold entries go to threshold.config next to it,
        each line naming the approval that put it there."""
        from secmon.policy_files import Policy, build, load_policy

        if policy_dir and not Path(policy_dir).is_dir():
            fail(f"no such policy directory: {policy_dir}")
        rs = _load(paths)
        policy = load_policy(policy_dir) if policy_dir else Policy()
        approved_lines: list[str] = []
        threshold_text = ""
        if not no_approved:
            from secmon.response_build import apply_approved, approved_build_lines

            with cli_session("cli:secmon") as (session, _system):
                approved = approved_build_lines(session)
                approved_lines, extra = apply_approved(policy, approved)
                rs.thresholds.extend(extra)
                threshold_text = approved.threshold_config()
        res = build(rs, policy)
        header = "".join(f"# approved {line}\n" for line in approved_lines)
        base_th = "".join(Path(p).read_text(encoding="utf-8", errors="replace") for p in
                          sorted({t["file"] for t in rs.thresholds if not str(t["file"]).startswith("response:")}))
        try:
            Path(out).write_text(header + res.render(), encoding="utf-8")
            if threshold_text:
                (Path(out).parent / "threshold.config").write_text(
                    base_th + ("" if not base_th or base_th.endswith("\n") else "\n") + threshold_text, encoding="utf-8")
        except OSError as exc:
            fail(f"cannot write {out}: {exc.strerror}")
        data = {"out": out, "summary": res.summary(), "load": rs.stats(),
                "flowbit_enabled": [r.rule_id for r in res.flowbit_enabled],
                "approved_policy_lines": approved_lines,
                "threshold_config": str(Path(out).parent / "threshold.config") if threshold_text else None,
                "errors": [{"file": e.file, "line": e.line, "reason": e.reason} for e in rs.errors + res.errors]}
        emit(data, fmt, lambda d: "\n".join(
            [f"wrote {out}: " + ", ".join(f"{k} {v}" for k, v in d["summary"].items())]
            + [f"  approved: {line}" for line in d["approved_policy_lines"]]
            + ([f"  wrote {d['threshold_config']} (approved entries with their approvals)"] if d["threshold_config"] else [])
            + [f"  re-enabled for flowbits (noalert): {rid}" for rid in d["flowbit_enabled"]]
            + [f"  {e['file']}:{e['line']}: {e['reason']}" for e in d["errors"]]))

    @rules_group.command("diff")
    @click.argument("old", type=click.Path())
    @click.argument("new", type=click.Path())
    @format_option
    def rules_diff(old, new, fmt):
        """Added, removed, enabled, disabled and modified rules by gid:sid (flags changes without a rev bump)."""
        from secmon.ruleset_diff import diff_rulesets, format_diff_text

        d = diff_rulesets(_load([old]), _load([new]))
        emit(d, fmt, format_diff_text)

    def _print_commit(ack: dict) -> None:
        click.echo(f"committed source={ack['source_id']} offset={ack['offset']} events={ack['events']} "
                   f"quarantined={ack['quarantined']} name={ack['source']}", err=True)
        sys.stderr.flush()

    @secmon_group.command("ingest")
    @click.argument("paths", nargs=-1, required=True, type=click.Path(allow_dash=True))
    @click.option("--sensor", required=True, help="Sensor name the events come from.")
    @click.option("--no-validate", is_flag=True, help="Skip EVE schema validation.")
    @click.option("--schema-dir", type=click.Path(file_okay=False), help="Directory of Suricata EVE schemas.")
    @click.option("--no-correlate", is_flag=True, help="Do not correlate the new alerts into incidents afterwards.")
    @click.option("--batch-size", type=click.IntRange(1, 1_000_000), default=20000, show_default=True,
                  help="Lines per committed batch.")
    @click.option("--progress", is_flag=True,
                  help="After each committed batch print 'committed source=ID offset=BYTES events=N' to stderr: "
                       "everything up to that offset is durable; re-running the same file continues from there.")
    @format_option
    def ingest(paths, sensor, no_validate, schema_dir, no_correlate, batch_size, progress, fmt):
        """Ingest EVE JSON files (.gz too), rotated series, directories or - (stdin, streaming); then correlate
        the new alerts into incidents (alarms are queued; the scheduler delivers them)."""
        from kernel.errors import CityGovError
        from secmon import services

        for p in paths:
            if p != "-" and not Path(p).exists():
                fail(f"no such file or directory: {p}")
        with cli_session("cli:secmon") as (session, system):
            try:
                rep = services.eve_ingest(session, system, list(paths), sensor=sensor, validate=not no_validate,
                                          schema_dir=schema_dir, batch_size=batch_size,
                                          on_commit=_print_commit if progress else None)
                corr = None
                if not no_correlate:
                    from portal.cli.secmon_ops import _cfg, _notify_cfg
                    from secmon import incidents, notify

                    corr = incidents.incidents_correlate(session, system, config=_cfg())
                    corr["notifications_queued"] = len(notify.notifications_enqueue(session, system, _notify_cfg()))
            except CityGovError as exc:
                fail(exc.detail)
        d = rep.to_dict()
        if corr is not None:
            d["correlation"] = {k: v for k, v in corr.items() if k != "to_notify"}
        emit(d, fmt, lambda d: "\n".join(
            [f"{d['events']} events, {d['quarantined']} quarantined, {d['duplicates_skipped']} duplicates skipped, "
             f"{d['schema_invalid']} schema-invalid in {d['seconds']} s"]
            + [f"  {k}: {v}" for k, v in d["by_event_type"].items()]
            + ([f"  incidents: {d['correlation']['incidents_created']} created, "
                f"{d['correlation']['incidents_extended']} extended"] if "correlation" in d else [])))

    @secmon_group.command("report")
    @click.argument("view", type=click.Choice(["alerts", "top", "unknown-sids", "coverage", "health", "quarantine"]))
    @click.option("--by", default="signature", type=click.Choice(["signature", "src_ip", "dest_ip", "sensor", "sid"]))
    @click.option("--bucket", default="hour", type=click.Choice(["minute", "hour", "day"]))
    @click.option("--limit", default=10, type=click.IntRange(1, 10000))
    @click.option("--sensor")
    @click.option("--since", help="ISO 8601 time (inclusive) for alerts/top.")
    @click.option("--until", help="ISO 8601 time (exclusive) for alerts/top.")
    @click.option("--version", "version_id", help="Rule-set version for coverage/unknown-sids (default: the sensor's).")
    @format_option
    def report(view, by, bucket, limit, sensor, since, until, version_id, fmt):
        """Monitoring views: alerts over time, top N, alerts with unknown sids, coverage, sensor health."""
        from kernel.errors import CityGovError
        from secmon import services

        with cli_session("cli:secmon") as (session, system):
            try:
                if view == "alerts":
                    data = services.alerts_over_time(session, system, bucket=bucket, sensor=sensor, since=since,
                                                     until=until)
                elif view == "top":
                    data = services.top_alerts(session, system, by=by, limit=limit, sensor=sensor, since=since,
                                               until=until)
                elif view == "unknown-sids":
                    data = services.alerts_unknown_sid(session, system, limit=limit, version_id=version_id,
                                                       sensor=sensor)
                elif view == "coverage":
                    data = services.rule_coverage(session, system, version_id=version_id, sensor=sensor)
                elif view == "health":
                    data = services.sensor_health(session, system)
                else:
                    data = services.quarantine_list(session, system, limit=limit)
            except CityGovError as exc:
                fail(exc.detail)

        def text(d):
            if isinstance(d, dict):
                return "\n".join(f"{k}: {v}" for k, v in d.items())
            return "\n".join("  ".join(f"{k}={v}" for k, v in row.items()) for row in d) or "(none)"

        emit(data, fmt, text)

    @secmon_group.command("sensor-register")
    @click.argument("name")
    @format_option
    def sensor_register(name, fmt):
        """Create a sensor (or rotate its token) for POST /api/v1/secmon/eve; prints the token once."""
        from kernel.errors import CityGovError
        from secmon import services

        with cli_session("cli:secmon") as (session, system):
            try:
                data = services.sensor_register(session, system, name)
            except CityGovError as exc:
                fail(exc.detail)
        emit(data, fmt, lambda d: f"sensor {d['sensor']} token: {d['token']}")

    @secmon_group.command("pushes")
    @click.option("--state", type=click.Choice(["queued", "running", "done", "failed"]), default=None)
    @click.option("--sensor", default=None)
    @click.option("--limit", default=20, show_default=True, type=click.IntRange(0, 500))
    @format_option
    def pushes(state, sensor, limit, fmt):
        """The queue of EVE pushes sent with Prefer: respond-async: counts by state, the oldest wait, the
        latest pushes (`citygov jobs work --once` ingests what waits when no server runs)."""
        from secmon import push_queue

        with cli_session("cli:secmon") as (session, system):
            data = push_queue.push_queue(session, system, state=state, sensor=sensor, limit=limit)

        def text(d):
            c = d["counts"]
            head = (f"queued {c['queued']}, running {c['running']}, done {c['done']}, failed {c['failed']}"
                    + (f"; oldest waiting {d['oldest_waiting_seconds']} s" if d["oldest_waiting_seconds"] else ""))
            rows = [f"  {p['id']}  {p['sensor']}  {p['state']}  {p['received_at']}  {p['bytes']} B"
                    + (f"  events {p['report']['events']}" if p["report"] else "")
                    + (f"  {p['error']}" if p["error"] else "") for p in d["items"]]
            return "\n".join([head, *rows])

        emit(data, fmt, text)

    @secmon_group.command("retention")
    @click.option("--days", required=True, type=click.IntRange(1, None))
    @format_option
    def retention(days, fmt):
        """Delete events older than DAYS (the law asks for at least 180)."""
        from secmon import services

        with cli_session("cli:secmon") as (session, system):
            data = services.events_purge(session, system, older_than_days=days)
        emit(data, fmt, lambda d: f"deleted {d['events_deleted']} events before {d['cutoff']}")
