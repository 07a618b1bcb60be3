"""``citygov opendata datasets|release|harvest|dcat …``: the catalog and the audited release workflow.

Workflow commands act as a named user (``--as USERNAME``): approval must come from a different person
than the steward who prepared the release. Exit codes: 0 success, 1 the release check refused the
dataset, 2 usage or input errors.
"""

from __future__ import annotations

from pathlib import Path

import click

from kernel.errors import CityGovError
from portal.cli._common import cli_session, emit, fail, format_option

as_option = click.option("--as", "as_user", required=True, help="Act as this user (username).")


def _principal(session, username: str):
    from portal.accounts import services as accounts

    return accounts.principal_for_user(session, accounts.user_get(session, username))


def _store():
    from flask import current_app
    from pathlib import Path as P

    return P(current_app.config.get("INSTANCE_PATH") or current_app.instance_path) / "opendata-store"


def _fail(exc: CityGovError, fmt: str, code: int = 2):
    emit({"ok": False, "error": exc.detail, "errors": exc.errors}, fmt,
         lambda d: "error: " + d["error"] + "".join(f"\n  {e.get('pointer', '')}: {e.get('message')}" for e in d["errors"]))
    raise SystemExit(code)


def add_commands(group: click.Group) -> None:
    @group.group("datasets")
    def datasets():
        """Catalog datasets (DCAT-AP metadata, grade, distributions)."""

    @datasets.command("list")
    @click.option("--state", help="Only datasets in this state.")
    @format_option
    def ds_list(state, fmt):
        """List datasets (all states: a maintenance view)."""
        from sqlmodel import select

        from opendata.models import Dataset

        with cli_session("opendata") as (session, _system):
            q = select(Dataset).order_by(Dataset.name)
            if state:
                q = q.where(Dataset.state == state)
            rows = [{"name": d.name, "title": d.title_zh, "org": d.organisation, "grade": d.grade, "state": d.state,
                     "version": d.version} for d in session.exec(q)]
        emit(rows, fmt, lambda rs: "\n".join(f"{r['name']:<32} {r['state']:<10} {r['grade']:<14} {r['title']}" for r in rs)
             or "no datasets")

    @datasets.command("create")
    @click.argument("metadata", type=click.Path(dir_okay=False, exists=True))
    @as_option
    @format_option
    def ds_create(metadata, as_user, fmt):
        """Create a draft dataset from a JSON/YAML METADATA file."""
        import yaml

        from opendata.catalog import dataset_create, dataset_dict

        try:
            meta = yaml.safe_load(Path(metadata).read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            fail(f"cannot read {metadata}: {exc}")
        if not isinstance(meta, dict):
            fail("metadata must be a mapping")
        with cli_session("opendata") as (session, _system):
            try:
                ds = dataset_create(session, _principal(session, as_user), meta)
            except CityGovError as exc:
                _fail(exc, fmt)
            emit(dataset_dict(session, ds), fmt, f"created draft {ds.name} ({ds.id})")

    @datasets.command("grade")
    @click.argument("dataset")
    @click.argument("grade", type=click.Choice(["not_open", "conditional", "unconditional"]))
    @click.option("--reason", required=True)
    @as_option
    @format_option
    def ds_grade(dataset, grade, reason, as_user, fmt):
        """Grade DATASET (with a written reason)."""
        from opendata.catalog import dataset_grade

        with cli_session("opendata") as (session, _system):
            try:
                ds = dataset_grade(session, _principal(session, as_user), dataset, grade, reason)
            except CityGovError as exc:
                _fail(exc, fmt)
            emit({"name": ds.name, "grade": ds.grade}, fmt, f"{ds.name}: {ds.grade}")

    @datasets.command("add-file")
    @click.argument("dataset")
    @click.argument("file", type=click.Path(dir_okay=False, exists=True))
    @click.option("--file-format", "file_format", required=True, type=click.Choice(["CSV", "XLSX", "JSON", "GEOJSON"], case_sensitive=False))
    @click.option("--title")
    @as_option
    @format_option
    def ds_add(dataset, file, file_format, title, as_user, fmt):
        """Attach FILE to DATASET as a distribution (the declared format is checked)."""
        from opendata.catalog import distribution_add

        with cli_session("opendata") as (session, _system):
            try:
                d = distribution_add(session, _principal(session, as_user), dataset, source=file, filename=Path(file).name,
                                     fmt=file_format, storage=_store(), title=title)
            except CityGovError as exc:
                _fail(exc, fmt)
            emit({"id": d.id, "sha256": d.sha256, "bytes": d.byte_size, "rows": d.rows}, fmt,
                 f"added {d.filename}: {d.byte_size} bytes, sha256 {d.sha256}")

    @group.group("release")
    def release():
        """The audited release workflow: check → approve → publish → withdraw."""

    @release.command("check")
    @click.argument("dataset")
    @as_option
    @format_option
    def rel_check(dataset, as_user, fmt):
        """Run the release gate and the anonymity check on DATASET."""
        from opendata.release import ReleaseRefused, dataset_check

        with cli_session("opendata") as (session, _system):
            try:
                summary = dataset_check(session, _principal(session, as_user), dataset, storage=_store())
            except ReleaseRefused as exc:
                _fail(exc, fmt, 1)
            except CityGovError as exc:
                _fail(exc, fmt)
            emit(summary, fmt, f"{dataset}: passed (k = {summary['k']})")

    for verb in ("approve", "publish"):
        def make(verb=verb):
            @release.command(verb)
            @click.argument("dataset")
            @as_option
            @format_option
            def cmd(dataset, as_user, fmt):
                from opendata import release as rel

                with cli_session("opendata") as (session, _system):
                    try:
                        p = _principal(session, as_user)
                        ds = (rel.dataset_approve(session, p, dataset) if verb == "approve"
                              else rel.dataset_publish(session, p, dataset, storage=_store()))
                    except CityGovError as exc:
                        _fail(exc, fmt)
                    emit({"name": ds.name, "state": ds.state, "version": ds.version}, fmt, f"{ds.name}: {ds.state}")
            cmd.__doc__ = f"{verb.capitalize()} DATASET."
        make()

    @release.command("withdraw")
    @click.argument("dataset")
    @click.option("--reason", required=True)
    @as_option
    @format_option
    def rel_withdraw(dataset, reason, as_user, fmt):
        """Withdraw a published DATASET (with a reason)."""
        from opendata.release import dataset_withdraw

        with cli_session("opendata") as (session, _system):
            try:
                ds = dataset_withdraw(session, _principal(session, as_user), dataset, reason=reason)
            except CityGovError as exc:
                _fail(exc, fmt)
            emit({"name": ds.name, "state": ds.state}, fmt, f"{ds.name}: {ds.state}")

    @group.group("access")
    def access():
        """Conditional access: applications, scoped API keys, revocation."""

    @access.command("list")
    @click.option("--dataset")
    @format_option
    def acc_list(dataset, fmt):
        """Applications (all, or of one dataset) with their state and expiry."""
        from sqlmodel import select

        from opendata.models import AccessApplication, Dataset

        with cli_session("opendata") as (session, _system):
            q = select(AccessApplication).order_by(AccessApplication.created_at)
            if dataset:
                ds = session.exec(select(Dataset).where(Dataset.name == dataset)).first()
                q = q.where(AccessApplication.dataset_id == (ds.id if ds else ""))
            rows = [{"id": a.id, "dataset_id": a.dataset_id, "applicant": a.applicant_name, "state": a.state,
                     "expires_at": a.expires_at.isoformat() if a.expires_at else None, "key_prefix": a.key_prefix,
                     "purpose": a.purpose} for a in session.exec(q)]
        emit(rows, fmt, lambda rs: "\n".join(f"{r['id']} {r['state']:<9} {r['applicant']:<16} {r['expires_at'] or '-'}  {r['purpose']}"
                                             for r in rs) or "no applications")

    @access.command("apply")
    @click.argument("dataset")
    @click.option("--purpose", required=True)
    @as_option
    @format_option
    def acc_apply(dataset, purpose, as_user, fmt):
        """Apply for access to a conditionally open DATASET."""
        from opendata.access import access_apply

        with cli_session("opendata") as (session, _system):
            try:
                a = access_apply(session, _principal(session, as_user), dataset, purpose=purpose)
            except CityGovError as exc:
                _fail(exc, fmt)
            emit({"id": a.id, "state": a.state}, fmt, f"application {a.id}: {a.state}")

    @access.command("decide")
    @click.argument("application")
    @click.option("--approve/--reject", required=True)
    @click.option("--days", type=click.IntRange(min=1, max=3660), default=90, show_default=True, help="Validity of the key.")
    @click.option("--reason", "--note", "note", default="", help="Required for a rejection; a note on an approval.")
    @as_option
    @format_option
    def acc_decide(application, approve, days, note, as_user, fmt):
        """Approve (the applicant then collects a scoped key) or reject (with --reason) an APPLICATION."""
        from datetime import timedelta

        from kernel.clock import utcnow
        from opendata.access import access_decide, access_dict

        with cli_session("opendata") as (session, _system):
            try:
                a = access_decide(session, _principal(session, as_user), application, approve=approve,
                                  expires_at=utcnow() + timedelta(days=days) if approve else None, note=note)
            except CityGovError as exc:
                _fail(exc, fmt)
            emit(access_dict(session, a), fmt,
                 lambda d: f"{d['id']}: {d['state']}" + (f" until {d['expires_at']}; the applicant collects the key with "
                                                         f"`citygov opendata access key {d['id']} --as <applicant>`"
                                                         if d["state"] == "approved" else f" ({d['decision_note']})"))

    @access.command("key")
    @click.argument("application")
    @as_option
    @format_option
    def acc_key(application, as_user, fmt):
        """Collect the scoped API key of an approved APPLICATION (applicant only; shown once, a new
        collection replaces the previous key)."""
        from opendata.access import access_key_issue

        with cli_session("opendata") as (session, _system):
            try:
                a, key = access_key_issue(session, _principal(session, as_user), application)
            except CityGovError as exc:
                _fail(exc, fmt)
            emit({"id": a.id, "key": key, "expires_at": a.expires_at.isoformat()}, fmt,
                 lambda d: f"key (shown once): {d['key']}\n  valid until {d['expires_at']}")

    @access.command("revoke")
    @click.argument("application")
    @click.option("--reason", required=True)
    @as_option
    @format_option
    def acc_revoke(application, reason, as_user, fmt):
        """Revoke an approved APPLICATION's key (effective immediately)."""
        from opendata.access import access_revoke

        with cli_session("opendata") as (session, _system):
            try:
                a = access_revoke(session, _principal(session, as_user), application, reason=reason)
            except CityGovError as exc:
                _fail(exc, fmt)
            emit({"id": a.id, "state": a.state}, fmt, f"{a.id}: {a.state}")

    @group.command("downloads")
    @click.option("--dataset", help="One dataset (name or id).")
    @click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
    @click.option("--offset", type=click.IntRange(0), default=0)
    @click.option("--as", "as_user", help="Read as this user (default: the system principal: every dataset).")
    @format_option
    def downloads_cmd(dataset, limit, offset, as_user, fmt):
        """The download log: who downloaded which file of which dataset, when, with which access key."""
        from opendata.access import download_log

        with cli_session("opendata") as (session, system):
            try:
                who = _principal(session, as_user) if as_user else system
                items, total = download_log(session, who, dataset=dataset, limit=limit,
                                            offset=offset)
            except CityGovError as exc:
                _fail(exc, fmt)
        emit({"items": items, "total": total}, fmt, lambda d: "\n".join(
            [f"{r['at'][:19]}  {r['dataset']:<24} {r['filename']:<28} {r['applicant_name'] or r['actor']}"
             + (f"  key {r['key_prefix']}…" if r["key_prefix"] else "") for r in d["items"]]
            + [f"({len(d['items'])} of {d['total']})"]))

    @group.command("harvest")
    @click.argument("file", type=click.Path(dir_okay=False, exists=True))
    @click.option("--rdf-format", type=click.Choice(["ttl", "jsonld", "rdf"]), default="ttl", show_default=True)
    @click.option("--contact-email", help="Contact for datasets whose file names none.")
    @as_option
    @format_option
    def harvest_cmd(file, rdf_format, contact_email, as_user, fmt):
        """Import the datasets of a DCAT-AP FILE as drafts (all or nothing)."""
        from opendata.dcat import harvest

        with cli_session("opendata") as (session, _system):
            try:
                got = harvest(session, _principal(session, as_user), Path(file).read_bytes(), fmt=rdf_format,
                              contact_email=contact_email)
            except CityGovError as exc:
                _fail(exc, fmt)
            emit([d.name for d in got], fmt, lambda names: f"harvested {len(names)} draft(s): {', '.join(names)}")

    @group.command("dcat")
    @click.option("--rdf-format", type=click.Choice(["ttl", "jsonld", "rdf"]), default="ttl", show_default=True)
    @click.option("--base-url", default="http://127.0.0.1:8000", show_default=True)
    @click.option("--out", type=click.Path(dir_okay=False), help="Write here (default: standard output).")
    def dcat_cmd(rdf_format, base_url, out):
        """Export the published catalog as DCAT-AP 3.0.1."""
        import sys

        from sqlmodel import select

        from opendata.dcat import catalog_graph, serialize, write_catalog_turtle
        from opendata.models import Dataset
        from opendata.tabular import atomic_output

        with cli_session("opendata") as (session, _system):
            rows = session.exec(select(Dataset).where(Dataset.state == "published").order_by(Dataset.name)).all()
            if rdf_format == "ttl":  # streamed: no graph in memory, no rdflib serialiser
                if out:
                    with atomic_output(out) as fh:
                        write_catalog_turtle(session, rows, base_url.rstrip("/"), fh)
                else:
                    write_catalog_turtle(session, rows, base_url.rstrip("/"), sys.stdout)
                return
            data = serialize(catalog_graph(session, rows, base_url.rstrip("/")), rdf_format)
        if out:
            with atomic_output(out) as fh:
                fh.write(data.decode("utf-8"))
        else:
            click.echo(data.decode("utf-8"), nl=False)
