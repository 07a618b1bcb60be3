"""``citygov projects …``: the project library from the command line.

Commands act as the system principal (a maintenance command) unless ``--as USERNAME`` names the user to act
as. Bad input (unreadable files, invalid proposals, unknown organisations) exits with status 2 and every
problem listed, per row for imports.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from portal.cli._common import cli_session, emit, fail, format_option


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")
    return b""


def _doc(path: str) -> dict:
    try:
        doc = json.loads(_read(path).decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        fail(f"{path} is not a JSON proposal: {exc}")
    if not isinstance(doc, dict):
        fail(f"{path}: a proposal is a JSON object")
    return doc


def _acting(session, system, username: str | None):
    if not username:
        return system
    from kernel.errors import NotFound
    from portal.accounts import services as accounts

    try:
        return accounts.principal_for_user(session, accounts.user_get(session, username))
    except NotFound:
        fail(f"no user {username!r}")


def _line(p: dict) -> str:
    budget = f"{p['budget']:,.0f}" if p.get("budget") is not None else "-"
    return f"{p['id']}  {p['state']:<22} {budget:>14}  {p.get('organisation', ''):<12} {p['title']}"


def _show_text(p: dict) -> str:
    lines = [_line(p)]
    pc = p.get("precheck") or {}
    for f in pc.get("findings", []):
        lines.append(f"  [{f['severity']}] {f['rule']} ({f['field']}): {f['message']}")
    for m in p.get("matches") or []:
        lines.append(_match_text(m))
    return "\n".join(lines)


def _match_text(m: dict) -> str:
    why = m["why"]
    reasons = []
    if why.get("shared_phrases"):
        reasons.append("phrases: " + " | ".join(why["shared_phrases"][:3]))
    if why.get("across_languages"):
        reasons.append("across languages: " + ", ".join(why["across_languages"][:4]))
    if why.get("shared_tags"):
        reasons.append("tags: " + ", ".join(why["shared_tags"]))
    if why.get("shared_data_resources"):
        reasons.append("data: " + ", ".join(why["shared_data_resources"]))
    flag = " LIKELY DUPLICATE" if m.get("likely_duplicate") else ""
    return f"  ~ {m['score']:.3f} {m['id']} {m['title']} ({m.get('organisation', '')}){flag}\n      " + "; ".join(reasons)


def register(cli: click.Group) -> None:
    @cli.group("projects")
    def projects():
        """The project library: proposals, pre-checks, duplicates, review and decisions."""

    @projects.command("submit")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--as", "username", help="Act as this user (default: the system principal).")
    @click.option("--draft", is_flag=True, help="Only store the draft; do not submit.")
    @format_option
    def submit_cmd(file, username, draft, fmt):
        """Create a proposal from a JSON FILE and submit it (validation, pre-check, duplicate detection)."""
        from portal.api.registry import org_resolver
        from registry import services as reg

        data = _doc(file)
        with cli_session("cli:projects") as (session, system):
            principal = _acting(session, system, username)
            ref = str(data.get("organisation") or "")
            org_id = org_resolver(session)(ref) if ref else principal.org_id
            if org_id is None:
                fail(f"unknown organisation {ref!r}")
            project = reg.project_create(session, principal, data, org_id=org_id)
            if not draft:
                reg.project_submit(session, principal, project.id)
            out = reg.project_json(session, system, project)
        emit(out, fmt, _show_text)

    @projects.command("import")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--create-organisations", is_flag=True, help="Create organisations the file names but the portal lacks.")
    @click.option("--submit", is_flag=True, help="Submit every imported proposal (pre-check, duplicate detection).")
    @click.option("--type", "ftype", type=click.Choice(["csv", "xlsx", "json", "ndjson"]), help="Default: from the file name.")
    @format_option
    def import_cmd(file, create_organisations, submit, ftype, fmt):
        """Import a project library (CSV in UTF-8/GBK/GB18030, XLSX, JSON list, NDJSON): all rows or none."""
        from portal.accounts import services as accounts
        from portal.api.registry import org_resolver
        from registry import importing
        from registry import services as reg

        import re

        from kernel.errors import ValidationFailed
        from kernel.ids import sha256_hex
        from registry import indexstore

        content = _read(file)
        source = {"sha256": sha256_hex(content), "filename": Path(file).name, "bytes": len(content)}
        parsed = importing.parse(content, filename=file, fmt=ftype, max_bytes=importing.MAX_LOCAL_BYTES)
        del content
        if parsed.errors:
            emit({"imported": 0, "errors": parsed.errors}, fmt,
                 lambda d: "nothing imported:\n" + "\n".join(f"  row {e['row']} {e['field']}: {e['message']}" for e in d["errors"]))
            raise SystemExit(2)
        with cli_session("cli:projects") as (session, system):
            from registry import proposal

            proposal.ensure_published(session)  # may commit the schema's publication: before anything else
            resolve = org_resolver(session)
            unknown = sorted({str(d.get("organisation")).strip() for _r, d in parsed.rows
                              if isinstance(d, dict) and d.get("organisation") and resolve(str(d["organisation"])) is None})
            if unknown and not create_organisations:
                fail(f"unknown organisation(s): {', '.join(unknown)} (create them first, or pass --create-organisations)")
            # organisations are created in the import's transaction: a failed import leaves none behind
            taken = set()
            for ref in unknown:
                code = ref if re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", ref) else f"IMPORTED-{sha256_hex(ref)[:12].upper()}"
                if code in taken:
                    code = f"IMPORTED-{sha256_hex(ref)[:20].upper()}"
                taken.add(code)
                accounts.org_create(session, system, code=code, name=ref, commit=False,
                                    kind="district" if ref.endswith("区") or ref.endswith("区人民政府") else "department")
            resolve = org_resolver(session)
            try:
                created = reg.project_import(session, system, parsed.rows, resolve_org=resolve, submit=submit,
                                             source={**source, "format": parsed.format}, keep_objects=False)
            except ValidationFailed as exc:
                session.rollback()
                emit({"imported": 0, "message": str(exc), "errors": exc.errors}, fmt,
                     lambda d: f"{d['message']}:\n" + "\n".join(f"  row {e['row']} {e['field']}: {e['message']}"
                                                              for e in d["errors"]))
                raise SystemExit(2) from None
            by_state: dict[str, int] = {}
            for p in created:
                by_state[p.state] = by_state.get(p.state, 0) + 1
            ids = [p.id for p in created]
            fmt_name, encoding = parsed.format, parsed.encoding
            del created, parsed  # the rows and ORM objects are not needed to build the index: free them first
            session.expunge_all()
            index = indexstore.refresh(session)  # ranked at once, and the shared snapshot written for every process
            out = {"imported": len(ids), "format": fmt_name, "encoding": encoding,
                   "by_state": dict(sorted(by_state.items())), "organisations_created": unknown,
                   "indexed": len(index.index), "ids": ids}
        emit(out, fmt, lambda d: f"imported {d['imported']} project(s) ({d['format']}"
                                 f"{', ' + d['encoding'] if d['encoding'] else ''}): "
                                 + ", ".join(f"{k} {v}" for k, v in d["by_state"].items())
                                 + f"; {d['indexed']} in the similarity index"
                                 + (f"; created organisations: {', '.join(d['organisations_created'])}" if d["organisations_created"] else ""))

    @projects.command("show")
    @click.argument("project_id")
    @format_option
    def show_cmd(project_id, fmt):
        """One project with its pre-check findings, matches and history."""
        from registry import services as reg

        with cli_session("cli:projects") as (session, system):
            project = reg.project_get(session, system, project_id)
            out = {**reg.project_json(session, system, project),
                   "history": reg.project_history(session, system, project_id),
                   "reviews": reg.reviews_get(session, system, project_id)}
        emit(out, fmt, _show_text)

    @projects.command("list")
    @click.option("--state")
    @click.option("--area")
    @click.option("--organisation")
    @click.option("--district")
    @click.option("--year", type=int)
    @click.option("--page", type=click.IntRange(1), default=1, show_default=True)
    @click.option("--per-page", type=click.IntRange(1, 1000), default=50, show_default=True)
    @format_option
    def list_cmd(state, area, organisation, district, year, page, per_page, fmt):
        """Projects, newest first, filtered."""
        from registry import services as reg

        filters = {k: v for k, v in {"state": state, "area": area, "organisation": organisation, "district": district,
                                     "year": year}.items() if v}
        with cli_session("cli:projects") as (session, system):
            items, total = reg.project_list(session, system, filters=filters, page=page, per_page=per_page)
            out = {"total": total, "page": page, "items": [reg.project_json(session, system, p, full=False) for p in items]}
        emit(out, fmt, lambda d: "\n".join([_line(p) for p in d["items"]] + [f"({len(d['items'])} of {d['total']})"]))

    @projects.command("similar")
    @click.argument("file", required=False, type=click.Path(dir_okay=False))
    @click.option("--id", "project_id", help="Rank against a stored project instead of a FILE.")
    @click.option("--top", type=click.IntRange(1, 100), default=5, show_default=True)
    @format_option
    def similar_cmd(file, project_id, top, fmt):
        """Rank the library by similarity to a project (--id ID) or a proposal FILE, with reasons."""
        from registry import services as reg

        if bool(file) == bool(project_id):
            raise click.UsageError("give either --id ID or a proposal FILE")
        data = _doc(file) if file else None
        with cli_session("cli:projects") as (session, system):
            items = reg.project_similar(session, system, project_id=project_id, data=data, top=top)
        emit({"items": items}, fmt, lambda d: "\n".join(_match_text(m) for m in d["items"]) or "no similar projects")

    @projects.command("review")
    @click.argument("project_id")
    @click.option("--panel", "panel", multiple=True, help="Form the panel with these experts (repeat, >= 3).")
    @click.option("--as", "username", help="The expert submitting a review (with --score).")
    @click.option("--score", "scores", multiple=True, help="criterion=score, e.g. necessity=8 (repeat).")
    @click.option("--comment", default="")
    @click.option("--close", is_flag=True, help="Close the panel (every member has reviewed).")
    @format_option
    def review_cmd(project_id, panel, username, scores, comment, close, fmt):
        """Form the expert panel, submit an expert's review, close the panel, or show the reviews."""
        from portal.api.registry import expert_refs
        from registry import services as reg

        if sum(bool(x) for x in (panel, scores, close)) > 1:
            raise click.UsageError("use one of --panel, --score or --close")
        parsed = {}
        for item in scores:
            key, sep, value = item.partition("=")
            try:
                parsed[key.strip()] = float(value)
            except ValueError:
                sep = ""
            if not sep:
                raise click.UsageError(f"--score {item!r}: expected criterion=number")
        with cli_session("cli:projects") as (session, system):
            if panel:
                out = reg.panel_form(session, system, project_id, expert_refs(session, list(panel)))
            elif scores:
                if not username:
                    raise click.UsageError("--score needs --as EXPERT")
                review = reg.review_submit(session, _acting(session, system, username), project_id, parsed, comment=comment)
                out = {"id": review.id, "total": review.total, "scores": review.scores}
            elif close:
                out = reg.panel_close(session, system, project_id)
            else:
                out = reg.reviews_get(session, system, project_id)
        emit(out, fmt)

    @projects.command("decide")
    @click.argument("project_id")
    @click.option("--decision", type=click.Choice(["approved", "returned_for_revision", "rejected"]), required=True)
    @click.option("--reason", required=True, help="The written reason (required).")
    @click.option("--as", "username", help="Act as this commission user.")
    @format_option
    def decide_cmd(project_id, decision, reason, username, fmt):
        """Decide a reviewed proposal with a written reason."""
        from registry import services as reg

        with cli_session("cli:projects") as (session, system):
            project = reg.project_decide(session, _acting(session, system, username), project_id, decision, reason=reason)
            out = reg.project_json(session, system, project)
        emit(out, fmt, _show_text)

    @projects.command("export")
    @click.option("--output", "-o", type=click.Path(dir_okay=False), required=True, help="File to write (.csv, .xlsx, .json).")
    @click.option("--type", "ftype", type=click.Choice(["csv", "xlsx", "json"]), help="Default: from the file name.")
    @click.option("--state")
    @click.option("--area")
    @format_option
    def export_cmd(output, ftype, state, area, fmt):
        """Export the library (formula injection neutralised)."""
        from registry import export as reg_export
        from registry import services as reg

        ftype = ftype or Path(output).suffix.lstrip(".").lower()
        if ftype not in ("csv", "xlsx", "json"):
            raise click.UsageError("give --type csv|xlsx|json or an output file ending in one of them")
        filters = {k: v for k, v in {"state": state, "area": area}.items() if v}
        count = 0
        with cli_session("cli:projects") as (session, system):
            def counted():
                nonlocal count
                for p in reg.projects_for_export(session, system, filters=filters):
                    count += 1
                    yield p

            tmp = Path(output).with_name(f".{Path(output).name}.part")
            try:
                with tmp.open("wb") as fh:  # streamed: the library is never held in memory
                    for block in reg_export.stream(counted(), ftype, matches_of=lambda p: reg.visible_matches(system, p)):
                        fh.write(block)
                tmp.replace(output)
            except OSError as exc:
                tmp.unlink(missing_ok=True)
                fail(f"cannot write {output}: {exc.strerror}")
        emit({"exported": count, "file": output, "type": ftype}, fmt,
             lambda d: f"exported {d['exported']} project(s) to {d['file']}")
