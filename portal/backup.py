"""Online, consistent backups of an instance and their restore into an empty instance.

A backup is a folder::

    DEST/
      manifest.json          format, created_at, backend, schema revisions, audit tree size, parts + sha256
      database.sqlite        SQLite: a copy made by SQLite's online backup API (one consistent snapshot)
      database.pgdump        PostgreSQL: ``pg_dump --format=custom`` of an exported snapshot
      instance/…             the instance folder's files: config.py (SECRET_KEY, which also derives the
                             open-data pseudonym keys), audit-keys/ (checkpoint and certificate signing keys),
                             opendata-store/ (published files), …; not the database file, not derived caches

Consistency while writers run: SQLite's backup API copies the database in one step inside one read
transaction; on PostgreSQL a REPEATABLE READ transaction exports its snapshot and ``pg_dump --snapshot`` dumps
exactly that state, and the manifest's audit tree size is read in the same snapshot. Files are copied after
the database snapshot: the published files are content-addressed and written before the row that names them
commits, and key folders only grow, so every file the snapshot refers to is in the backup.

The folder is built under ``DEST.partial-<pid>`` and renamed to ``DEST`` once the manifest (written last,
fsynced) is complete: a backup killed half-way never looks complete. It holds the instance's secrets
(private signing keys, the secret key): it is created readable by its owner only; keep it as safe as the
instance.

Restore checks every part against the manifest first, refuses an instance that is not empty (a database with
tables, or an instance folder with files), then loads the database (SQLite backup API / ``pg_restore
--single-transaction``) and copies the instance files.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from kernel.atomicfile import fsync_dir

FORMAT = "citygov-backup/1"
MANIFEST = "manifest.json"
#: instance-folder entries never copied: the database itself (it is in the backup as a snapshot) and caches
#: rebuilt on demand
SKIP_INSTANCE = ("citygov.sqlite", "citygov.sqlite-wal", "citygov.sqlite-shm", "citygov.sqlite-journal",
                 "registry-index")


class BackupError(Exception):
    """A backup or restore that cannot be done (bad destination, missing tool, corrupt backup, non-empty
    target); the CLI prints the message and exits 2."""


# --------------------------------------------------------------------------- helpers


def backend_of(url: str) -> str:
    name = make_url(url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"unsupported database {name!r} (SQLite and PostgreSQL are)")
    return name


def sqlite_path(url: str) -> Path:
    db = make_url(url).database
    if not db or db == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(db)


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as a libpq connection string (``postgresql://…``) for pg_dump / pg_restore."""
    u = make_url(url).set(drivername="postgresql")
    return u.render_as_string(hide_password=False)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not on PATH: install the PostgreSQL client tools of the server's major "
                          f"version (Debian: apt-get install postgresql-client)")
    return path


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _run(cmd: list[str], what: str) -> None:
    res = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if res.returncode != 0:
        raise BackupError(f"{what} failed (exit {res.returncode}): {res.stderr.strip()[-2000:]}")


# --------------------------------------------------------------------------- backup


def _snapshot_sqlite(url: str, out: Path) -> dict[str, Any]:
    src_path = sqlite_path(url)
    if not src_path.is_file():
        raise BackupError(f"the database {src_path} does not exist")
    src = sqlite3.connect(src_path, timeout=30)
    dst = sqlite3.connect(out)
    try:
        src.backup(dst, pages=-1)  # one step: a single consistent read of the whole database
        dst.execute("PRAGMA journal_mode=DELETE")
        ok = dst.execute("PRAGMA integrity_check").fetchone()[0]
        if ok != "ok":
            raise BackupError(f"the copy fails SQLite's integrity check: {ok}")
        facts = _facts(dst.execute)
    finally:
        dst.close()
        src.close()
    _fsync(out)
    return facts


def _facts(execute) -> dict[str, Any]:
    """Schema revisions and audit tree size of a snapshot (``execute(sql)`` returns rows)."""
    revisions = sorted(r[0] for r in execute("SELECT version_num FROM alembic_version").fetchall())
    size = execute("SELECT count(*) FROM audit_node WHERE level = 0").fetchone()[0]
    checkpoints = execute("SELECT count(*) FROM audit_checkpoint").fetchone()[0]
    return {"schema_revisions": revisions, "audit_tree_size": int(size), "audit_checkpoints": int(checkpoints)}


def _snapshot_postgres(url: str, out: Path) -> dict[str, Any]:
    pg_dump = _tool("pg_dump")
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
                facts = _facts(conn.exec_driver_sql)
                # the snapshot stays valid while this transaction is open: pg_dump sees exactly this state
                _run([pg_dump, "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                      f"--file={out}", f"--dbname={libpq_url(url)}"], "pg_dump")
    except sa.exc.OperationalError as exc:
        raise BackupError(f"cannot reach the database: {exc.orig}") from None
    finally:
        engine.dispose()
    _fsync(out)
    return facts


def _copy_instance(instance: Path, dest: Path, extra_dirs: dict[str, Path]) -> None:
    if instance.is_dir():
        for entry in sorted(instance.iterdir()):
            if entry.name in SKIP_INSTANCE or entry.name.startswith(".") or entry.name.endswith(".tmp"):
                continue
            target = dest / entry.name
            if entry.is_dir():
                shutil.copytree(entry, target, ignore=shutil.ignore_patterns(".*", "*.tmp"))
            elif entry.is_file():
                shutil.copy2(entry, target)
    for name, folder in extra_dirs.items():  # key folders configured outside the instance folder
        if folder.is_dir() and not (dest / name).exists():
            shutil.copytree(folder, dest / name)


def _parts(root: Path) -> list[dict[str, Any]]:
    parts = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.name != MANIFEST):
        parts.append({"path": path.relative_to(root).as_posix(), "bytes": path.stat().st_size,
                      "sha256": sha256_file(path)})
    return parts


def create_backup(dest: str | os.PathLike, *, database_url: str, instance_path: str | os.PathLike,
                  key_dir: str | os.PathLike | None = None, version: str | None = None) -> dict[str, Any]:
    """Back up the database and instance folder into the new folder ``dest``; returns the manifest."""
    dest = Path(dest).absolute()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest} exists and is not an empty folder")
    backend = backend_of(database_url)
    instance = Path(instance_path).absolute()
    partial = dest.with_name(f"{dest.name}.partial-{os.getpid()}")
    if partial.exists():
        shutil.rmtree(partial)
    dest.parent.mkdir(parents=True, exist_ok=True)
    old_umask = os.umask(0o077)
    try:
        partial.mkdir(mode=0o700)
        started = datetime.now(timezone.utc)
        db_file = partial / ("database.sqlite" if backend == "sqlite" else "database.pgdump")
        facts = (_snapshot_sqlite if backend == "sqlite" else _snapshot_postgres)(database_url, db_file)
        extra = {}
        if key_dir is not None and Path(key_dir).absolute().parent != instance:
            extra["audit-keys"] = Path(key_dir)
        _copy_instance(instance, partial / "instance", extra)
        manifest = {"format": FORMAT, "created_at": started.isoformat(), "backend": backend,
                    "citygov_version": version, "database": db_file.name, **facts,
                    "parts": _parts(partial)}
        mpath = partial / MANIFEST
        mpath.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        _fsync(mpath)
        fsync_dir(partial)
        if dest.exists():
            dest.rmdir()
        os.replace(partial, dest)
        fsync_dir(dest.parent)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    finally:
        os.umask(old_umask)
    return manifest


# --------------------------------------------------------------------------- restore


def read_manifest(src: str | os.PathLike, *, check: bool = True) -> dict[str, Any]:
    """The manifest of the backup folder ``src``, every part checked against its size and SHA-256."""
    root = Path(src)
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{root} is not a citygov backup (no {MANIFEST}; an unfinished backup has none)") from None
    except (OSError, ValueError) as exc:
        raise BackupError(f"cannot read {root / MANIFEST}: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{root / MANIFEST} is not a {FORMAT} manifest")
    if not check:
        return manifest
    listed = set()
    for part in manifest.get("parts", []):
        rel = part.get("path", "")
        path = (root / rel).resolve()
        if rel.startswith("/") or ".." in Path(rel).parts or root.resolve() not in path.parents:
            raise BackupError(f"manifest names a path outside the backup: {rel!r}")
        listed.add(rel)
        if not path.is_file():
            raise BackupError(f"part {rel} is missing")
        if path.stat().st_size != part.get("bytes") or sha256_file(path) != part.get("sha256"):
            raise BackupError(f"part {rel} does not match its SHA-256 in the manifest (corrupt or altered)")
    extra = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} - listed - {MANIFEST}
    if extra:
        raise BackupError(f"files not in the manifest: {', '.join(sorted(extra)[:5])}")
    if manifest.get("database") not in listed:
        raise BackupError("the manifest names no database part")
    return manifest


def _database_is_empty(url: str) -> bool:
    if backend_of(url) == "sqlite":
        path = sqlite_path(url)
        if not path.exists() or path.stat().st_size == 0:
            return True
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            names = sa.inspect(conn).get_table_names()
    except sa.exc.OperationalError as exc:
        raise BackupError(f"cannot reach the target database: {exc.orig}") from None
    finally:
        engine.dispose()
    return not names


def restore_backup(src: str | os.PathLike, *, database_url: str, instance_path: str | os.PathLike) -> dict[str, Any]:
    """Restore the backup folder ``src`` into an empty instance (database and folder); returns the manifest."""
    root = Path(src)
    manifest = read_manifest(root)
    backend = backend_of(database_url)
    if manifest["backend"] != backend:
        raise BackupError(f"the backup is of a {manifest['backend']} database; the target is {backend} "
                          f"(restore into the same kind of database)")
    instance = Path(instance_path).absolute()
    db_local = backend == "sqlite" and sqlite_path(database_url).absolute().parent == instance
    present = [p.name for p in instance.iterdir() if not (db_local and p.name in SKIP_INSTANCE[:4])] \
        if instance.is_dir() else []
    if present:
        raise BackupError(f"the instance folder {instance} is not empty ({', '.join(sorted(present)[:5])}); "
                          f"restore into a new instance")
    if not _database_is_empty(database_url):
        raise BackupError("the target database is not empty; restore into a new, empty database")
    instance.mkdir(parents=True, exist_ok=True)
    db_part = root / manifest["database"]
    if backend == "sqlite":
        target = sqlite_path(database_url)
        target.parent.mkdir(parents=True, exist_ok=True)
        src_conn = sqlite3.connect(f"file:{db_part}?mode=ro", uri=True)
        dst_conn = sqlite3.connect(target)
        try:
            src_conn.backup(dst_conn, pages=-1)
            dst_conn.execute("PRAGMA journal_mode=WAL")
        finally:
            dst_conn.close()
            src_conn.close()
        _fsync(target)
    else:
        _run([_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
              f"--dbname={libpq_url(database_url)}", str(db_part)], "pg_restore")
    files = root / "instance"
    if files.is_dir():
        old_umask = os.umask(0o077)
        try:
            for entry in sorted(files.iterdir()):
                if entry.is_dir():
                    shutil.copytree(entry, instance / entry.name, dirs_exist_ok=True)
                else:
                    shutil.copy2(entry, instance / entry.name)
        finally:
            os.umask(old_umask)
    fsync_dir(instance)
    return manifest


# --------------------------------------------------------------------------- history (audited)

BACKUP_ACTION = "portal:backup:create"


def _admin(principal) -> bool:
    from kernel.principal import Role

    return principal.has_role(Role.COMMISSION_ADMIN)


def _register_policies() -> None:
    from kernel.permissions import policy

    @policy(BACKUP_ACTION)
    def can_create_backup(principal, _resource=None) -> bool:  # the system principal of the CLI passes anyway
        return _admin(principal)

    @policy("portal:backup:list")
    def can_list_backups(principal, _resource=None) -> bool:
        return _admin(principal)


_register_policies()


def backup_record(session, principal, path: str | os.PathLike, manifest: dict[str, Any]) -> None:
    """Append the audit event of a completed backup (after it is complete: the backup itself does not hold it)."""
    import audit
    from kernel.permissions import authorize

    authorize(principal, BACKUP_ACTION)
    digest = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()
    details = {"path": str(path), "backend": manifest["backend"], "created_at": manifest["created_at"],
               "parts": len(manifest["parts"]), "bytes": sum(p["bytes"] for p in manifest["parts"]),
               "audit_tree_size": manifest["audit_tree_size"], "manifest_sha256": digest}
    audit.record(session, principal, BACKUP_ACTION, object_type="backup", object_id=digest[:32],
                 state={"manifest_sha256": digest}, details=details)
    session.commit()


def backup_history(session, principal, limit: int = 20) -> list[dict[str, Any]]:
    """The last backups recorded in the audit log, newest first, with whether each folder is still there."""
    from sqlalchemy import select

    from audit.models import AuditEvent
    from kernel.permissions import authorize

    authorize(principal, "portal:backup:list")
    rows = session.execute(select(AuditEvent).where(AuditEvent.action == BACKUP_ACTION)
                           .order_by(AuditEvent.seq.desc()).limit(limit)).scalars().all()
    out = []
    for ev in rows:
        d = dict(ev.details or {})
        d["index"], d["actor"] = ev.seq, ev.actor
        d["present"] = (Path(d.get("path", "")) / MANIFEST).is_file()
        out.append(d)
    return out
