"""``citygov backup DEST`` and ``citygov restore SRC`` (see :mod:`portal.backup`).

Exit codes: 0 done; 2 refused (destination not empty, target instance not empty, backup corrupt or
incomplete, pg_dump / pg_restore missing or failing).
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from portal.cli._common import emit, fail, format_option


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def register(cli: click.Group) -> None:
    @cli.command("backup")
    @click.argument("dest", type=click.Path(file_okay=False))
    @format_option
    def backup_cmd(dest, fmt):
        """Back up the database (online, one consistent snapshot: SQLite's backup API or pg_dump) and the
        instance folder's keys, configuration and stored files into the new folder DEST, with a manifest
        giving each part's SHA-256. DEST holds the instance's secrets: keep it as safe as the instance."""
        from importlib.metadata import PackageNotFoundError, version

        from flask import current_app

        from portal.backup import BackupError, create_backup
        from portal.keys import key_dir

        try:
            ver = version("citygov")
        except PackageNotFoundError:
            ver = None
        try:
            manifest = create_backup(dest, database_url=current_app.config["DATABASE_URL"],
                                     instance_path=current_app.instance_path, key_dir=key_dir(), version=ver)
        except BackupError as exc:
            fail(str(exc))
        from portal.backup import backup_record
        from portal.cli._common import cli_session

        with cli_session("cli:backup") as (session, system):  # the audit log lists it (and the admin page)
            backup_record(session, system, Path(dest).absolute(), manifest)
        manifest = {"path": str(Path(dest).absolute()), **manifest}
        emit(manifest, fmt, lambda m: f"backup of the {m['backend']} database written to {m['path']}: "
             f"{len(m['parts'])} parts, {_size(sum(p['bytes'] for p in m['parts']))}, audit log of "
             f"{m['audit_tree_size']} entries and {m['audit_checkpoints']} signed checkpoints")

    @cli.command("restore", with_appcontext=False)
    @click.argument("src", type=click.Path(file_okay=False, exists=True))
    @click.option("--instance", type=click.Path(file_okay=False),
                  help="Instance folder to restore into (default CITYGOV_INSTANCE_PATH or ./instance); must be empty.")
    @click.option("--database-url", help="Database to restore into (default CITYGOV_DATABASE_URL, else the "
                                         "instance folder's SQLite file); must be empty.")
    @format_option
    def restore_cmd(src, instance, database_url, fmt):
        """Restore the backup folder SRC into an EMPTY instance: every part is checked against the manifest's
        SHA-256 first; an instance folder with files or a database with tables is refused (exit 2)."""
        from portal import db as db_mod
        from portal.backup import BackupError, restore_backup
        from portal.cli import _instance_path

        path = Path(_instance_path(instance))
        url = database_url or os.environ.get("CITYGOV_DATABASE_URL") or f"sqlite:///{path / 'citygov.sqlite'}"
        try:
            manifest = restore_backup(src, database_url=url, instance_path=path)
        except BackupError as exc:
            fail(str(exc))
        up_to_date = db_mod.current_revisions(url) == db_mod.head_revisions(url)
        data = {"instance": str(path), "backend": manifest["backend"], "created_at": manifest["created_at"],
                "audit_tree_size": manifest["audit_tree_size"], "schema_up_to_date": up_to_date}
        emit(data, fmt, lambda d: f"restored the backup of {d['created_at']} into {d['instance']} "
             f"({d['audit_tree_size']} audit entries); next: `citygov audit verify`"
             + ("" if d["schema_up_to_date"] else "; the schema is older than this version: run `citygov db upgrade`"))
