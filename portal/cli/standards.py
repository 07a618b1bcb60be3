"""``citygov standards …`` and ``citygov validate``: the standards registry and its checks.

Checks print ``--format text|json|junit|sarif`` and exit 0 valid / 1 invalid (or breaking, or refused) /
2 usage or input error (unreadable file, bad encoding, bomb, unknown standard …).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kernel.errors import CityGovError, Conflict, ValidationFailed
from portal.cli._common import cli_session, emit, fail, format_option

report_format = click.option("--format", "fmt", type=click.Choice(["text", "json", "junit", "sarif"]),
                             default="text", show_default=True, help="Report format.")


def _print(report, fmt: str) -> None:
    from standards.reports import render

    click.echo(render(report, fmt), nl=False)


def _cases_for(fmt: str) -> None:
    """Keep one entry per validated record only when the JUnit rendering needs them."""
    from standards.reports import keep_cases

    keep_cases.set(fmt == "junit")


def _refused(exc: CityGovError, fmt: str, subject: str) -> None:
    """A publish / check refused by a rule: print the problems as a report and exit 1."""
    from standards.reports import Report

    rep = Report("publish", subject=subject)
    for e in exc.errors or [{"rule": exc.code, "message": exc.detail}]:
        rep.add({**e, "level": e.get("level", "error"), "rule": e.get("rule", exc.code)})
    rep.meta["refused"] = exc.detail
    if fmt == "text":
        click.echo(f"refused: {exc.detail}")
    _print(rep, fmt)
    raise SystemExit(1)


def _read(path: str) -> bytes:
    from standards.loading import read_path

    return read_path(path)


def _positions(report, content: bytes, *, key: str = "pointer", file: str | None = None) -> None:
    """Line / column of each kept finding in the source file (SARIF regions)."""
    from standards.documents import add_positions

    try:
        add_positions(report, content.decode("utf-8"), key=key, file=file)
    except UnicodeDecodeError:
        pass


def register(cli: click.Group) -> None:
    @cli.group("standards")
    def standards_group():
        """The standards registry: JSON Schema, OpenAPI and SHACL standards and their checks."""

    @standards_group.command("list")
    @format_option
    def list_cmd(fmt):
        """List standards with their versions and states."""
        from standards import services

        with cli_session("standards-list") as (session, principal):
            rows = services.standard_list(session, principal)

        def text(rows):
            if not rows:
                return "no standards"
            return "\n".join(f"{r['name']}  [{r['kind']}, {r['compatibility']}]  latest={r['latest'] or '-'}  "
                             + ", ".join(f"{v['version']}({v['state']})" for v in r["versions"]) for r in rows)

        emit(rows, fmt, text)

    @standards_group.command("show")
    @click.argument("ref")
    @click.option("--content", is_flag=True, help="Print the document itself: the exact bytes that were published.")
    @click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
                  help="Write the published bytes to this file (their sha256 is the version's).")
    @format_option
    def show_cmd(ref, content, output, fmt):
        """Show NAME (the standard) or NAME@VERSION (one version)."""
        from standards import services

        with cli_session("standards-show") as (session, principal):
            if "@" in ref:
                v = services.version_get(session, principal, ref)
                if content or output:
                    body, digest, _media = services.served(v)
                    if output:
                        Path(output).write_bytes(body)
                        click.echo(f"wrote {output} (sha256 {digest})", err=True)
                    else:
                        sys.stdout.buffer.write(body)
                        sys.stdout.buffer.flush()
                    return
                data = v.to_dict()
            else:
                data = services.standard_get(session, principal, ref)
        emit(data, fmt, lambda d: "\n".join(f"{k}: {v}" for k, v in d.items() if k != "versions")
             + ("\n" + "\n".join(f"  {x['version']} {x['state']} {x['sha256'][:12]}" for x in d.get("versions", []))
                if d.get("versions") else ""))

    @standards_group.command("publish")
    @click.argument("ref")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--kind", type=click.Choice(["jsonschema", "openapi", "shacl"]), help="Kind of a new standard.")
    @click.option("--compatibility", type=click.Choice(["NONE", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD",
                                                        "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"]),
                  help="Compatibility rule of a new standard (default BACKWARD).")
    @click.option("--ontology", type=click.Path(dir_okay=False), help="SHACL: ontology mixed into the data.")
    @click.option("--bundle", multiple=True, metavar="URI=FILE", help="Extra $ref target of the bundle.")
    @click.option("--title", default="")
    @click.option("--dry-run", is_flag=True, help="Run the rules without storing anything.")
    @click.option("--format-assert/--no-format-assert", default=None,
                  help="Assert `format` (date, email …) when data is validated (default: on for a new standard).")
    @report_format
    def publish_cmd(ref, file, kind, compatibility, ontology, bundle, title, dry_run, format_assert, fmt):
        """Publish FILE as NAME@VERSION (validity and compatibility rules apply; audited)."""
        from standards import services

        name, version = services.parse_ref(ref)
        if not version:
            raise click.UsageError("REF must be NAME@VERSION")
        extra = {}
        for item in bundle:
            uri, sep, path = item.partition("=")
            if not sep:
                raise click.UsageError("--bundle takes URI=FILE")
            extra[uri] = _read(path)
        content = _read(file)
        ont = _read(ontology) if ontology else None
        with cli_session("standards-publish") as (session, principal):
            try:
                v = services.publish(session, principal, name, version, content, kind=kind, filename=Path(file).name,
                                     compatibility=compatibility, ontology=ont,
                                     ontology_filename=Path(ontology).name if ontology else None,
                                     bundle=extra or None, title=title, dry_run=dry_run,
                                     format_assert=format_assert)
            except (ValidationFailed, Conflict) as exc:
                if exc.extra.get("rule") in ("validity", "compatibility"):
                    _refused(exc, fmt, ref)
                raise
            data = v.to_dict()
        data["dry_run"] = dry_run
        emit(data, "json" if fmt != "text" else "text",
             lambda d: f"{'would publish' if dry_run else 'published'} {ref} (sha256 {d['sha256'][:16]}…)")

    for action in ("deprecate", "retire"):
        def make(action=action):
            @standards_group.command(action)
            @click.argument("ref")
            @format_option
            def cmd(ref, fmt):
                from standards import services

                name, version = services.parse_ref(ref)
                if not version:
                    raise click.UsageError("REF must be NAME@VERSION")
                with cli_session(f"standards-{action}") as (session, principal):
                    fn = services.version_deprecate if action == "deprecate" else services.version_retire
                    v = fn(session, principal, name, version)
                    data = v.to_dict()
                emit(data, fmt, lambda d: f"{ref} is now {d['state']}")

            cmd.__doc__ = f"{action.title()} NAME@VERSION (audited)."
            cmd.help = cmd.__doc__
        make()

    @standards_group.command("check")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--kind", type=click.Choice(["jsonschema", "openapi", "shacl"]))
    @report_format
    def check_cmd(file, kind, fmt):
        """Apply the validity rule to FILE without publishing (meta-schema / openapi-spec-validator / SHACL)."""
        from standards import services
        from standards.reports import Report

        _cases_for(fmt)
        content = _read(file)
        kind = kind or services._guess_kind(content, Path(file).name)
        result = services.analyse(kind, content, filename=Path(file).name)
        rep = Report("validate", subject=f"{file} ({kind})")
        rep.checked = 1
        rep.extend([{**p, "level": p.get("level", "error"), "file": file} for p in result["problems"]])
        if kind != "shacl":
            _positions(rep, content)
        rep.case(file, rep.findings(), file=file)
        _print(rep, fmt)
        raise SystemExit(0 if rep.ok else 1)

    @standards_group.command("diff")
    @click.argument("old")
    @click.argument("new")
    @click.option("--level", "min_level", type=click.Choice(["info", "warning", "error"]), default="info",
                  show_default=True, help="Report findings of at least this level.")
    @click.option("--kind", type=click.Choice(["openapi", "jsonschema"]), default=None,
                  help="jsonschema: Confluent compatibility (BACKWARD and FORWARD) instead of oasdiff rules.")
    @report_format
    def diff_cmd(old, new, min_level, kind, fmt):
        """Breaking changes from OLD to NEW (files or NAME@VERSION); exit 1 if any is breaking."""
        from standards import oasdiff, services
        from standards.loading import load_document
        from standards.reports import Report

        def load(x):
            if Path(x).exists():
                return Path(x).name, load_document(x)
            with cli_session("standards-diff") as (session, principal):
                v = services.version_get(session, principal, x)
                return x, services.parse_document(v.content)

        if "@" not in old and not Path(old).exists():
            raise click.UsageError(f"{old}: no such file (or give NAME@VERSION)")
        if "@" not in new and not Path(new).exists():
            raise click.UsageError(f"{new}: no such file (or give NAME@VERSION)")
        (ol, od), (nl, nd) = load(old), load(new)
        from standards.openapi_engine import refuse_remote_refs

        refuse_remote_refs(od, ol)
        refuse_remote_refs(nd, nl)
        is_openapi = isinstance(od, dict) and "openapi" in od
        if kind == "jsonschema" or (kind is None and not is_openapi):
            from standards.compat import check

            rep = Report("diff", subject=f"{ol} → {nl}")
            rep.extend(check("FULL", nd, [od]))
        else:
            rep = oasdiff.diff_report(od, nd, subject=f"{ol} → {nl}", min_level=min_level)
        if Path(new).exists():  # line / column in the revision (SARIF regions)
            _positions(rep, _read(new), key="new_pointer", file=new)
        _print(rep, fmt)
        raise SystemExit(0 if rep.ok else 1)

    @standards_group.command("lint")
    @click.argument("file")
    @click.option("--ruleset", type=click.Path(dir_okay=False), help="YAML ruleset (extends the citygov defaults).")
    @click.option("--fail-on", type=click.Choice(["error", "warning", "info", "hint", "never"]), default="error",
                  show_default=True)
    @click.option("--standard", help="Lint with the rule set the commission set for this standard (NAME).")
    @report_format
    def lint_cmd(file, ruleset, fail_on, standard, fmt):
        """Governance lint of an OpenAPI document (FILE or NAME@VERSION)."""
        from standards import lint as lint_mod
        from standards import services
        from standards.loading import load_document

        rules = _read(ruleset) if ruleset else None
        source = None
        if Path(file).exists():
            doc, label = load_document(file), Path(file).name
            source = _read(file)
            if rules is None and standard:
                with cli_session("standards-lint") as (session, principal):
                    rules = services.lint_ruleset_of(session, principal, standard)
        elif "@" in file:
            with cli_session("standards-lint") as (session, principal):
                label, doc = services.openapi_doc(session, principal, file, allow_path=True)
                if rules is None:  # the commission's rule set of that standard
                    rules = services.lint_ruleset_of(session, principal, standard or file)
        else:
            raise click.UsageError(f"{file}: no such file (or give NAME@VERSION)")
        rep = lint_mod.lint(doc, rules, subject=label)
        if source is not None:
            _positions(rep, source, file=file)
        _print(rep, fmt)
        order = ["error", "warning", "info", "hint"]
        if fail_on == "never":
            raise SystemExit(0)
        bad = any(rep.level_counts.get(lvl, 0) for lvl in order[: order.index(fail_on) + 1])
        raise SystemExit(1 if bad else 0)

    @standards_group.command("validate")
    @click.option("--standard", "ref", help="NAME@VERSION in the registry.")
    @click.option("--schema", "schema_file", type=click.Path(dir_okay=False),
                  help="A JSON Schema file instead of a registry standard (no registry $refs).")
    @click.option("--shapes", "shapes_file", type=click.Path(dir_okay=False), help="A SHACL shapes file.")
    @click.option("--ontology", "ontology_file", type=click.Path(dir_okay=False))
    @click.option("--data-format", type=click.Choice(["json", "yaml", "ndjson", "csv", "turtle", "nt", "json-ld",
                                                       "xml"]), help="Override the format guessed from extensions.")
    @click.option("--max-examples", type=int, default=20, show_default=True)
    @format_assert_option
    @click.argument("files", nargs=-1, required=True)
    @report_format
    def validate_cmd(ref, schema_file, shapes_file, ontology_file, data_format, max_examples, format_assert, files,
                     fmt):
        """Validate data FILES (JSON, YAML, NDJSON streamed, CSV, or RDF against SHACL)."""
        _validate(ref, schema_file, shapes_file, ontology_file, data_format, max_examples, files, fmt, format_assert)

    @cli.command("validate")
    @click.option("--standard", "ref", help="NAME@VERSION in the registry.")
    @click.option("--schema", "schema_file", type=click.Path(dir_okay=False))
    @click.option("--shapes", "shapes_file", type=click.Path(dir_okay=False))
    @click.option("--ontology", "ontology_file", type=click.Path(dir_okay=False))
    @click.option("--data-format", type=click.Choice(["json", "yaml", "ndjson", "csv", "turtle", "nt", "json-ld",
                                                       "xml"]))
    @click.option("--max-examples", type=int, default=20, show_default=True)
    @format_assert_option
    @click.argument("files", nargs=-1, required=True)
    @report_format
    def top_validate_cmd(ref, schema_file, shapes_file, ontology_file, data_format, max_examples, format_assert, files,
                         fmt):
        """Validate data FILES against a standard (same as ``citygov standards validate``)."""
        _validate(ref, schema_file, shapes_file, ontology_file, data_format, max_examples, files, fmt, format_assert)

    _register_settings(standards_group)


format_assert_option = click.option(
    "--format-assert/--no-format-assert", default=None,
    help="Assert `format` (date, email …): default as the standard declares (on), on for --schema.")


def _validate(ref, schema_file, shapes_file, ontology_file, data_format, max_examples, files, fmt,
              format_assert=None) -> None:
    from standards import documents, services
    from standards.loading import DEFAULT_MAX_BYTES, load_document
    from standards.reports import Report

    _cases_for(fmt)
    chosen = [x for x in (ref, schema_file, shapes_file) if x]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --standard, --schema, --shapes")
    for f in files:
        if f != "-" and not Path(f).is_file():
            raise click.UsageError(f"{f}: no such file")
    opened = []
    try:
        for f in files:
            if f == "-":
                opened.append(("stdin", sys.stdin.buffer))
            else:
                size = Path(f).stat().st_size
                kind = data_format or services._data_kind(f)
                if kind not in ("ndjson", "csv") and size > DEFAULT_MAX_BYTES:
                    fail(f"{f} is {size} bytes, above the limit of {DEFAULT_MAX_BYTES} bytes "
                         "(stream it as NDJSON or raise CITYGOV_STANDARDS_MAX_BYTES)")
                opened.append((Path(f).name, open(f, "rb")))  # noqa: SIM115 - closed below
        if ref:
            with cli_session("standards-validate") as (session, principal):
                rep = services.validate_data(session, principal, ref, opened, max_examples=max_examples,
                                             data_format=data_format, format_assert=format_assert)
        elif schema_file:
            from standards.jsonschema_engine import compile_schema

            compiled = compile_schema(load_document(schema_file), format_assert=format_assert is not False)
            rep = Report("validate", subject=Path(schema_file).name, max_examples=max_examples)
            for name, stream in opened:
                kind = data_format or services._data_kind(name)
                if kind == "ndjson":
                    documents.validate_ndjson(compiled, stream, filename=name, report=rep)
                elif kind == "csv":
                    import io

                    sub = documents.validate_csv(compiled, io.TextIOWrapper(stream, encoding="utf-8", newline=""),
                                                 filename=name, max_examples=max_examples)
                    services._merge(rep, sub)
                else:
                    sub = documents.validate_document(compiled, stream.read(), filename=name,
                                                      max_examples=max_examples,
                                                      fmt=None if kind == "auto" else kind)
                    services._merge(rep, sub)
        else:
            from standards.shacl_engine import load_graph, validate_graph

            shapes = load_graph(_read(shapes_file), filename=Path(shapes_file).name)
            ont = load_graph(_read(ontology_file), filename=Path(ontology_file).name) if ontology_file else None
            rep = Report("validate", subject=Path(shapes_file).name, max_examples=max_examples)
            for name, stream in opened:
                g = load_graph(stream.read(), filename=name, fmt=data_format)
                sub = validate_graph(g, shapes, ontology=ont, subject=name, max_examples=max_examples)
                for f in sub.findings():
                    f["file"] = name
                sub.case(name, sub.findings(), file=name)
                services._merge(rep, sub)
    except UnicodeDecodeError as exc:
        fail(f"input is not valid UTF-8: {exc.reason}")
    finally:
        for name, stream in opened:
            if name != "stdin":
                stream.close()
    _print(rep, fmt)
    raise SystemExit(0 if rep.ok else 1)


def _register_settings(group: click.Group) -> None:
    """Rules that change over time: a standard's settings, the global default, dry runs, disabled versions."""
    levels = click.Choice(["NONE", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL",
                           "FULL_TRANSITIVE"])

    @group.command("update")
    @click.argument("name")
    @click.option("--compatibility", type=levels, help="New compatibility level (applies to the next version).")
    @click.option("--strict/--lenient", default=None, help="Confluent's strict open-content-model check.")
    @click.option("--format-assert/--no-format-assert", default=None, help="Assert `format` when validating data.")
    @click.option("--lint-ruleset", type=click.Path(dir_okay=False), help="OpenAPI: the commission's lint rule set.")
    @click.option("--default-lint-ruleset", is_flag=True, help="OpenAPI: go back to the citygov default rule set.")
    @format_option
    def update_cmd(name, compatibility, strict, format_assert, lint_ruleset, default_lint_ruleset, fmt):
        """Change a standard's rules (commission; audited with the old and new values)."""
        from standards import settings

        kw = {}
        if lint_ruleset and default_lint_ruleset:
            raise click.UsageError("--lint-ruleset and --default-lint-ruleset exclude each other")
        if lint_ruleset:
            kw["lint_ruleset"] = _read(lint_ruleset).decode("utf-8")
        elif default_lint_ruleset:
            kw["lint_ruleset"] = None
        if compatibility is None and strict is None and format_assert is None and not kw:
            raise click.UsageError("nothing to change")
        with cli_session("standards-update") as (session, principal):
            std = settings.standard_update(session, principal, name, compatibility=compatibility, strict=strict,
                                           format_assert=format_assert, **kw)
            data = std.to_dict()
        emit(data, fmt, lambda d: f"{name}: compatibility {d['compatibility']}, strict {d['strict']}, "
                                  f"format assertion {d['format_assert']}, "
                                  f"lint rule set {'custom' if d['has_lint_ruleset'] else 'default'}")

    @group.command("settings")
    @click.option("--default-compatibility", type=levels, help="Set the level new standards get by default.")
    @format_option
    def settings_cmd(default_compatibility, fmt):
        """Show (or change, commission admin; audited) the registry's global default compatibility."""
        from standards import settings

        with cli_session("standards-settings") as (session, principal):
            if default_compatibility:
                settings.set_default_compatibility(session, principal, default_compatibility)
            data = settings.settings(session)
        emit(data, fmt, lambda d: f"default compatibility: {d['default_compatibility']}")

    @group.command("compatibility")
    @click.argument("name")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--level", type=levels, help="Check against this level instead of the standard's.")
    @format_option
    def compatibility_cmd(name, file, level, fmt):
        """Dry run: would FILE be accepted as the next version of NAME? Stores nothing; exit 1 if not."""
        from standards import settings

        content = _read(file)
        with cli_session("standards-compatibility") as (session, principal):
            res = settings.compatibility_check(session, principal, name, content, filename=Path(file).name,
                                               level=level)

        def text(d):
            head = (f"{file} {'would be accepted' if d['is_compatible'] else 'would be REFUSED'} as the next "
                    f"version of {name} ({d['level']}, compared with {', '.join(d['compared_with']) or 'nothing'})")
            return "\n".join([head] + [f"  [{m.get('rule')}] {m.get('message')}" for m in d["messages"]])

        emit(res, fmt, text)
        raise SystemExit(0 if res["is_compatible"] else 1)

    for action in ("disable", "enable"):
        def make(action=action):
            @group.command(action)
            @click.argument("ref")
            @format_option
            def cmd(ref, fmt):
                from standards import services, settings

                name, version = services.parse_ref(ref)
                if not version:
                    raise click.UsageError("REF must be NAME@VERSION")
                with cli_session(f"standards-{action}") as (session, principal):
                    fn = settings.version_disable if action == "disable" else settings.version_enable
                    data = fn(session, principal, name, version).to_dict()
                emit(data, fmt, lambda d: f"{ref} is now {d['state']}")

            cmd.__doc__ = ("Take NAME@VERSION out of service (commission admin; audited)." if action == "disable"
                           else "Put a disabled NAME@VERSION back in service (commission admin; audited).")
            cmd.help = cmd.__doc__
        make()
