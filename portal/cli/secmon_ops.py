"""``citygov secmon assets|incidents|responses|remediation|search`` — strike and governance from the shell.

Every command takes ``--as USER`` (default: the system principal) and ``--format text|json``; bad input
exits 2 with the service's message, nothing changed."""

from __future__ import annotations

import json
from pathlib import Path

import click

from portal.cli._common import cli_session, emit, fail, format_option

as_option = click.option("--as", "as_user", help="Act as this user (default: the system principal).")


def _acting(session, system, username):
    if not username:
        return system
    from kernel.errors import NotFound
    from portal.accounts import services as accounts

    try:
        return accounts.principal_for_user(session, accounts.user_get(session, username))
    except NotFound:
        fail(f"no user {username!r}")


def _run(as_user, fn, job="cli:secmon"):
    """Run ``fn(session, principal)`` and turn every citygov error into exit code 2 with its message."""
    from kernel.errors import CityGovError

    with cli_session(job) as (session, system):
        principal = _acting(session, system, as_user)
        try:
            return fn(session, principal)
        except CityGovError as exc:
            session.rollback()
            details = "; ".join(f"{e.get('row', '')}{':' if 'row' in e else ''}{e.get('field', '')}: {e.get('message')}"
                                for e in (exc.errors or [])[:50])
            fail(exc.detail + (f" — {details}" if details else ""))


def _cfg():
    from flask import current_app

    from secmon.correlation import load_config

    path = current_app.config.get("SECMON_CORRELATION_RULES")
    return load_config(path) if path else load_config()


def _notify_cfg():
    from flask import current_app

    from secmon.notify import NotifyConfig

    return NotifyConfig.from_mapping(current_app.config.get("SECMON_NOTIFY"))


def _inc_line(i: dict) -> str:
    flags = ("T!" if i.get("triage_breached") else "") + ("C!" if i.get("contain_breached") else "")
    return f"{i['id']}  {i['state']:<14} {i['severity']:<8} {i['alert_count']:>6}  {flags:<4} {i['title']}"


def register(cli: click.Group) -> None:
    secmon = cli.commands.get("secmon")
    if secmon is None:  # pragma: no cover - portal/cli/secmon.py registers the group first
        @cli.group("secmon")
        def secmon():
            """Security monitoring."""

    # ------------------------------------------------------------------ assets
    @secmon.group("assets")
    def assets_group():
        """Asset inventory: information systems, networks, import, resolution, shadow IT."""

    @assets_group.command("list")
    @as_option
    @format_option
    def assets_list(as_user, fmt):
        from secmon import assets

        data = _run(as_user, lambda s, p: assets.asset_list(s, p))
        emit(data, fmt, lambda d: "\n".join(
            f"{x['name']:<30} org {x['org_id']}  MLPS {x['mlps_level']}  {x['criticality']:<8} "
            + ", ".join(n["cidr"] for n in x["networks"]) for x in d) or "no assets")

    @assets_group.command("add-system")
    @click.argument("name")
    @click.option("--org", required=True, help="Owning organisation (id or code).")
    @click.option("--mlps", "mlps_level", required=True, type=int, help="MLPS level 1..4.")
    @click.option("--criticality", required=True)
    @click.option("--project", "project_id", help="Registry project id that built it.")
    @click.option("--description")
    @as_option
    @format_option
    def add_system(name, org, mlps_level, criticality, project_id, description, as_user, fmt):
        from secmon import assets

        d = _run(as_user, lambda s, p: assets.system_create(s, p, name=name, org=org, mlps_level=mlps_level,
                                                             criticality=criticality, project_id=project_id,
                                                             description=description))
        emit(d, fmt, f"system {d['name']} ({d['id']})")

    @assets_group.command("add-network")
    @click.argument("system")
    @click.argument("cidr")
    @click.option("--hostname")
    @as_option
    @format_option
    def add_network(system, cidr, hostname, as_user, fmt):
        from secmon import assets

        d = _run(as_user, lambda s, p: assets.network_add(s, p, system=system, cidr=cidr, hostname=hostname))
        emit(d, fmt, f"{d['kind']} {d['cidr']} added")

    @assets_group.command("import")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--input-format", "in_fmt", type=click.Choice(["csv", "xlsx", "json"]),
                  help="Default: from the file extension.")
    @as_option
    @format_option
    def assets_import(file, in_fmt, as_user, fmt):
        """Import systems and networks (columns: system, org, mlps_level, criticality, project_id, cidr,
        hostname, description). Any bad row: nothing imported, every error listed, exit 2."""
        from kernel.errors import CityGovError
        from secmon import assets

        p = Path(file)
        if not p.is_file():
            fail(f"no such file: {file}")
        kind = in_fmt or p.suffix.lower().lstrip(".")
        if kind not in ("csv", "xlsx", "json"):
            fail("cannot tell the format from the extension: pass --input-format csv|xlsx|json")
        with cli_session("cli:secmon") as (session, system):
            principal = _acting(session, system, as_user)
            try:
                d = assets.assets_import(session, principal, p.read_bytes(), fmt=kind)
            except CityGovError as exc:
                session.rollback()
                for e in exc.errors or []:
                    click.echo(f"row {e.get('row', '-')}: {e.get('field')}: {e.get('message')}", err=True)
                fail(exc.detail)
        emit(d, fmt, f"imported {d['rows']} rows: {d['systems_created']} systems created, "
                     f"{d['networks_added']} networks added")

    @assets_group.command("resolve")
    @click.argument("ip")
    @as_option
    @format_option
    def resolve(ip, as_user, fmt):
        from secmon import assets

        d = _run(as_user, lambda s, p: assets.asset_resolve(s, p, ip))
        a = d["asset"]
        emit(d, fmt, f"{ip}: " + (f"{a['system']} ({a['cidr']}, org {a['org_id']}, MLPS {a['mlps_level']}, "
                                  f"{a['criticality']})" if a else "no asset"))

    @assets_group.command("shadow-it")
    @click.option("--limit", default=50, type=click.IntRange(1, 10000))
    @click.option("--all", "all_", is_flag=True, help="Also public addresses (default: internal ones only).")
    @as_option
    @format_option
    def shadow(limit, all_, as_user, fmt):
        from secmon import assets

        d = _run(as_user, lambda s, p: assets.shadow_it(s, p, limit=limit, internal_only=not all_))
        emit(d, fmt, lambda x: "\n".join(f"{r['events']:>9}  {r['address']}" for r in x) or "every address is covered")

    # ------------------------------------------------------------------ incidents
    @secmon.group("incidents")
    def incidents_group():
        """Incidents: correlate, list, show, move along the lifecycle, assign, comment."""

    @incidents_group.command("correlate")
    @as_option
    @format_option
    def correlate(as_user, fmt):
        """Correlate new alerts into incidents, then queue and deliver alarms."""
        from secmon import incidents, notify

        def go(s, p):
            r = incidents.incidents_correlate(s, p, config=_cfg())
            cfg = _notify_cfg()
            r["notifications_queued"] = len(notify.notifications_enqueue(s, p, cfg))
            r["delivery"] = notify.notifications_deliver(s, p, cfg)
            return r

        d = _run(as_user, go)
        emit(d, fmt, lambda x: f"{x['alerts_scanned']} alerts scanned, {x['incidents_created']} incidents created, "
                               f"{x['incidents_extended']} extended, {x['evidence_linked']} evidence events linked, "
                               f"{x['notifications_queued']} alarms queued")

    @incidents_group.command("rules-check")
    @click.argument("file", type=click.Path(dir_okay=False))
    @format_option
    def rules_check(file, fmt):
        """Validate a correlation rules YAML file against the JSON Schema (exit 2 listing every error)."""
        from kernel.errors import ValidationFailed
        from secmon.correlation import load_config

        try:
            cfg = load_config(file)
        except ValidationFailed as exc:
            for e in exc.errors or []:
                click.echo(f"{e['field']}: {e['message']}", err=True)
            fail(exc.detail)
        emit({"valid": True, "rules": [r.id for r in cfg.rules]}, fmt, lambda d: "valid: " + ", ".join(d["rules"]))

    @incidents_group.command("list")
    @click.option("--state")
    @click.option("--severity")
    @click.option("--limit", default=50, type=click.IntRange(1, 500))
    @click.option("--offset", default=0, type=click.IntRange(0, None))
    @as_option
    @format_option
    def inc_list(state, severity, limit, offset, as_user, fmt):
        from secmon import incidents

        d = _run(as_user, lambda s, p: incidents.incident_list(s, p, state=state, severity=severity, limit=limit,
                                                                offset=offset))
        emit(d, fmt, lambda x: "\n".join([f"{x['total']} incidents"] + [_inc_line(i) for i in x["items"]]))

    @incidents_group.command("show")
    @click.argument("incident_id")
    @as_option
    @format_option
    def inc_show(incident_id, as_user, fmt):
        from secmon import incidents

        d = _run(as_user, lambda s, p: incidents.incident_get(s, p, incident_id))
        emit(d, fmt, lambda x: "\n".join(
            [_inc_line(x), f"  {x['src_ip']} → {x['dest_ip']}  system {x['system_id']}  org {x['org_id']}  "
                           f"first {x['first_seen']}  last {x['last_seen']}  triage due {x['triage_due']}"]
            + [f"  [{e['link']}] {e['event_type']} {e['ts']} {e['event']}" for e in x["evidence"][:20]]
            + [f"  comment {c['author']}: {c['body']}" for c in x["comments"]]
            + [f"  {t['at']} {t['from']} → {t['to']} by {t['actor']}" for t in x["transitions"]]))

    @incidents_group.command("transition")
    @click.argument("incident_id")
    @click.argument("state")
    @click.option("--note")
    @as_option
    @format_option
    def inc_transition(incident_id, state, note, as_user, fmt):
        from secmon import incidents

        d = _run(as_user, lambda s, p: incidents.incident_transition(s, p, incident_id, state, note=note))
        emit(d, fmt, lambda x: _inc_line(x))

    @incidents_group.command("assign")
    @click.argument("incident_id")
    @click.argument("assignee")
    @as_option
    @format_option
    def inc_assign(incident_id, assignee, as_user, fmt):
        from secmon import incidents

        d = _run(as_user, lambda s, p: incidents.incident_assign(s, p, incident_id, assignee))
        emit(d, fmt, lambda x: f"{x['id']} assigned to {x['assignee']}")

    @incidents_group.command("comment")
    @click.argument("incident_id")
    @click.argument("body")
    @as_option
    @format_option
    def inc_comment(incident_id, body, as_user, fmt):
        from secmon import incidents

        d = _run(as_user, lambda s, p: incidents.incident_comment(s, p, incident_id, body))
        emit(d, fmt, lambda x: f"comment {x['id']} added")

    # ------------------------------------------------------------------ search
    @secmon.command("search")
    @click.option("--ip", help="Address or CIDR (source or destination).")
    @click.option("--port", type=int, help="Destination (service) port.")
    @click.option("--src-port", "src_port", type=int, help="Source (client) port.")
    @click.option("--proto")
    @click.option("--sid", type=int)
    @click.option("--signature", help="Text in the alert signature.")
    @click.option("--flow-id", "flow_id", type=int)
    @click.option("--community-id", "community_id")
    @click.option("--rrname", help="DNS query name.")
    @click.option("--http-host", "http_host")
    @click.option("--tls-sni", "tls_sni")
    @click.option("--sensor")
    @click.option("--event-type", "event_type")
    @click.option("--since")
    @click.option("--until")
    @click.option("--limit", default=50, type=click.IntRange(1, 500))
    @click.option("--offset", default=0, type=click.IntRange(0, None))
    @as_option
    @format_option
    def search_cmd(as_user, fmt, limit, offset, **filters):
        """Search events, newest first."""
        from secmon import search

        d = _run(as_user, lambda s, p: search.event_search(s, p, limit=limit, offset=offset, **filters))
        emit(d, fmt, lambda x: "\n".join(
            f"{h['ts']}  {h['event_type']:<8} {h['src_ip']}:{h['src_port']} → {h['dest_ip']}:{h['dest_port']} "
            f"{h['proto'] or ''} {h['sensor'] or ''}  {h['summary'] or ''}" for h in x["items"])
            + ("\n… more (use --offset)" if x["has_more"] else "") or "no events")

    # ------------------------------------------------------------------ responses
    @secmon.group("responses")
    def responses_group():
        """Responses: propose (block / rule change / suppress), approve or reject (two people), export."""

    @responses_group.command("propose")
    @click.argument("title")
    @click.option("--incident", "incident_id")
    @click.option("--reason")
    @click.option("--block", "blocks", multiple=True, help="CIDR[,ttl_hours] to block (default ttl 24 h).")
    @click.option("--category", default="BadHosts", show_default=True, help="iprep category of the blocks.")
    @click.option("--rule", "rules", multiple=True, help="ACTION:SELECTOR, e.g. disable:2200000 or drop:1:2024897.")
    @click.option("--suppress", "suppress", multiple=True, help="GID:SID[,by_src|by_dst,IP/CIDR].")
    @click.option("--file", "json_file", type=click.Path(dir_okay=False), help="A JSON proposal (API body).")
    @as_option
    @format_option
    def propose(title, incident_id, reason, blocks, category, rules, suppress, json_file, as_user, fmt):
        from secmon import responses

        body = {}
        if json_file:
            try:
                body = json.loads(Path(json_file).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                fail(f"cannot read {json_file}: {exc}")
            if not isinstance(body, dict):
                fail("the JSON proposal must be an object")
        bl = list(body.get("blocks", []))
        for b in blocks:
            cidr, _, ttl = b.partition(",")
            try:
                bl.append({"cidr": cidr, "ttl_hours": int(ttl or 24), "category": category})
            except ValueError:
                fail(f"bad --block {b!r}: CIDR[,ttl_hours]")
        rc = list(body.get("rule_changes", []))
        for r in rules:
            action, _, sel = r.partition(":")
            rc.append({"action": action, "selector": sel})
        sp = list(body.get("suppressions", []))
        for s_ in suppress:
            ids, *rest = s_.split(",")
            try:
                gid, sid = (ids.split(":") if ":" in ids else ("1", ids))
                item = {"kind": "suppress", "gid": int(gid), "sid": int(sid)}
            except ValueError:
                fail(f"bad --suppress {s_!r}: GID:SID[,track,ip]")
            if len(rest) == 2:
                item |= {"track": rest[0], "ip": rest[1]}
            sp.append(item)
        d = _run(as_user, lambda s, p: responses.response_propose(
            s, p, title=body.get("title", title), reason=reason or body.get("reason"),
            incident_id=incident_id or body.get("incident_id"), blocks=bl, rule_changes=rc, suppressions=sp))
        emit(d, fmt, lambda x: f"proposed {x['id']}: {len(x['blocks'])} blocks, {len(x['rule_changes'])} rule "
                               f"changes, {len(x['suppressions'])} suppressions — awaiting a second person's approval")

    @responses_group.command("list")
    @click.option("--state")
    @as_option
    @format_option
    def resp_list(state, as_user, fmt):
        from secmon import responses

        d = _run(as_user, lambda s, p: responses.response_list(s, p, state=state))
        emit(d, fmt, lambda x: "\n".join(f"{r['id']}  {r['state']:<9} by {r['proposed_by']:<24} {r['title']}"
                                         for r in x) or "no responses")

    for verb, approve in (("approve", True), ("reject", False)):
        def _make(verb=verb, approve=approve):
            @responses_group.command(verb)
            @click.argument("response_id")
            @click.option("--note")
            @as_option
            @format_option
            def decide(response_id, note, as_user, fmt):
                from secmon import responses

                d = _run(as_user, lambda s, p: responses.response_decide(s, p, response_id, approve=approve, note=note))
                emit(d, fmt, lambda x: f"{x['id']} {x['state']} by {x['decided_by']}")
            decide.__doc__ = f"{verb.title()} a proposed response (approving role; never its proposer)."
        _make()

    @responses_group.command("expire")
    @format_option
    def resp_expire(fmt):
        """Expire entries past their time (the scheduler does this every 5 minutes)."""
        from secmon import responses

        d = _run(None, lambda s, p: responses.responses_expire(s, p))
        emit(d, fmt, lambda x: f"expired {x['expired_entries']} entries")

    @responses_group.command("export")
    @click.option("--kind", type=click.Choice(["text", "iprep", "build"]), default="text", show_default=True,
                  help="text: firewall block list; iprep: Suricata IP reputation files; build: approved policy "
                       "lines and threshold.config.")
    @click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Write the files into this directory.")
    @as_option
    @format_option
    def export(kind, out_dir, as_user, fmt):
        from secmon import responses

        if kind == "build":
            files = _run(as_user, lambda s, p: responses.build_exports(s, p))
        else:
            files = _run(as_user, lambda s, p: responses.blocklist_export(s, p, fmt=kind))
        if out_dir:
            d = Path(out_dir)
            try:
                d.mkdir(parents=True, exist_ok=True)
                for name, text in files.items():
                    (d / name).write_text(text, encoding="utf-8")
            except OSError as exc:
                fail(f"cannot write into {out_dir}: {exc.strerror}")
            emit({"written": sorted(files)}, fmt, lambda x: "wrote " + ", ".join(x["written"]))
        else:
            emit(files, fmt, lambda x: "".join(f"==> {n} <==\n{t}" for n, t in x.items()) if len(x) > 1
                 else next(iter(x.values()), ""))

    # ------------------------------------------------------------------ remediation
    @secmon.group("remediation")
    def remediation_group():
        """Remediation tasks: create from an incident, report the fix, verify, escalate."""

    @remediation_group.command("create")
    @click.argument("incident_id")
    @click.option("--due", "due_at", help="ISO 8601 (default: by severity).")
    @click.option("--quiet-days", type=click.IntRange(1, 365))
    @as_option
    @format_option
    def rem_create(incident_id, due_at, quiet_days, as_user, fmt):
        from secmon import remediation

        d = _run(as_user, lambda s, p: remediation.remediation_create(s, p, incident_id=incident_id, due_at=due_at,
                                                                       quiet_days=quiet_days, config=_cfg()))
        emit(d, fmt, lambda x: f"task {x['id']} for org {x['org_id']} due {x['due_at']}")

    @remediation_group.command("list")
    @click.option("--state")
    @click.option("--overdue", is_flag=True)
    @as_option
    @format_option
    def rem_list(state, overdue, as_user, fmt):
        from secmon import remediation

        d = _run(as_user, lambda s, p: remediation.remediation_list(s, p, state=state, overdue=True if overdue else None))
        emit(d, fmt, lambda x: "\n".join(
            f"{t['id']}  {t['state']:<9} {t['severity']:<8} due {t['due_at'][:10]} "
            f"{'OVERDUE L' + str(t['escalation_level']) if t['overdue'] else '':<12} org {t['org_id']}  {t['title']}"
            for t in x) or "no tasks")

    @remediation_group.command("fix")
    @click.argument("task_id")
    @click.option("--evidence", required=True, help="What was fixed and how (patch, config change, ticket).")
    @as_option
    @format_option
    def rem_fix(task_id, evidence, as_user, fmt):
        from secmon import remediation

        d = _run(as_user, lambda s, p: remediation.remediation_fix(s, p, task_id, evidence=evidence))
        emit(d, fmt, lambda x: f"{x['id']} fixed; verified after {x['verify_after']} if quiet")

    @remediation_group.command("verify")
    @format_option
    def rem_verify(fmt):
        from secmon import remediation

        d = _run(None, lambda s, p: remediation.remediation_verify(s, p))
        emit(d, fmt, lambda x: f"verified {len(x['verified'])}, reopened {len(x['reopened'])}")

    @remediation_group.command("escalate")
    @format_option
    def rem_escalate(fmt):
        from secmon import remediation

        d = _run(None, lambda s, p: remediation.remediation_escalate(s, p))
        emit(d, fmt, lambda x: f"escalated {len(x['escalated'])}")
