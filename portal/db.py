"""Database engine, per-request sessions and migrations.

SQLite (embedded default): WAL journal with synchronous=FULL (an acknowledged commit is durable), foreign
keys on, a busy timeout, and every transaction opened
with ``BEGIN IMMEDIATE`` so that there is exactly one writer at a time (the audit log's sequencing
relies on it; readers in WAL mode are never blocked by the writer). PostgreSQL: psycopg 3, the same
models and the same migrations.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, current_app, g
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, SQLModel

#: Packages whose models and migrations make up the schema, in dependency order.
SCHEMA_PACKAGES = ("audit", "portal", "standards", "registry", "secmon", "opendata")

EXTENSION_KEY = "citygov.db"


def import_models() -> None:
    """Import every ``models`` module of every schema package (``<pkg>/models.py`` and
    ``<pkg>/<sub>/models.py``) so that ``SQLModel.metadata`` knows all tables."""
    import pkgutil

    for pkg in SCHEMA_PACKAGES:
        try:
            package = importlib.import_module(pkg)
        except ModuleNotFoundError as exc:
            if exc.name != pkg:
                raise
            continue
        paths = list(getattr(package, "__path__", []))
        if not paths:
            continue
        root = Path(paths[0]).resolve()
        if (root / "models.py").exists():
            importlib.import_module(f"{pkg}.models")
        for info in pkgutil.iter_modules([str(root)]):
            if info.ispkg and (root / info.name / "models.py").exists():
                importlib.import_module(f"{pkg}.{info.name}.models")


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine configured for citygov's rules on either back-end."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})
        _configure_sqlite(engine)
        return engine
    return sa.create_engine(url, echo=echo, pool_pre_ping=True, future=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised through every test
        dbapi_conn.isolation_level = None  # let SQLAlchemy, not pysqlite, issue BEGIN
        cur = dbapi_conn.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        # FULL: a commit is on disk before it is acknowledged, so it survives a power loss too
        # (NORMAL in WAL mode survives a process crash but may lose the last commits on power loss).
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache: bulk inserts into indexed tables stay in memory
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # pragma: no cover - exercised through every test
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """The engine and session factory of one app (stored in ``app.extensions``)."""

    def __init__(self, url: str, *, echo: bool = False):
        self.url = url
        self.engine = make_engine(url, echo=echo)
        self.sessionmaker = sessionmaker(bind=self.engine, class_=Session, expire_on_commit=False)

    def session(self) -> Session:
        return self.sessionmaker()

    @contextmanager
    def session_scope(self) -> Iterator[Session]:
        """A session for CLI commands and jobs; rolled back unless the service committed."""
        session = self.session()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    def dispose(self) -> None:
        self.engine.dispose()


def init_app(app: Flask) -> None:
    import_models()
    db = Database(app.config["DATABASE_URL"], echo=bool(app.config.get("SQL_ECHO")))
    app.extensions[EXTENSION_KEY] = db
    app.teardown_appcontext(_close_session)


def get_db(app: Flask | None = None) -> Database:
    return (app or current_app).extensions[EXTENSION_KEY]


def get_session() -> Session:
    """The session of the current request / app context (created on first use)."""
    if "db_session" not in g:
        g.db_session = get_db().session()
    return g.db_session


def streamed_with_session(session: Session, chunks: Iterable[bytes]) -> Iterator[bytes]:
    """A response body read through ``session`` (a session of its own, from ``get_db().session()``), closed
    when the body is done or the client goes away. A body streamed after the view returns must not use the
    request's session: that one is closed when the request ends, a closed session silently begins a new
    transaction on next use, and that transaction (on SQLite: the database's write lock) would never end."""
    try:
        yield from chunks
    finally:
        session.rollback()
        session.close()


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.rollback()
        session.close()


# --------------------------------------------------------------------------- migrations


def migration_locations() -> list[str]:
    """``<pkg>/migrations/versions`` of every schema package that has one (each its own branch)."""
    found = []
    for pkg in SCHEMA_PACKAGES:
        try:
            module = importlib.import_module(pkg)
        except ModuleNotFoundError:
            continue
        roots = [Path(p) for p in getattr(module, "__path__", [])]  # works for namespace packages too
        if not roots:
            continue
        versions = roots[0].resolve() / "migrations" / "versions"
        if versions.is_dir() and any(versions.glob("*.py")):
            found.append(str(versions))
    return found


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).resolve().parent / "migrations"))
    cfg.set_main_option("version_locations", " ".join(migration_locations()))
    cfg.set_main_option("path_separator", "space")
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "heads", *, connection=None) -> None:
    """Run every package's migrations up to ``revision`` (default: all heads)."""
    from alembic import command

    cfg = alembic_config(url)
    if connection is not None:
        cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


def current_revisions(url: str, *, connection=None) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    if connection is not None:
        return set(MigrationContext.configure(connection).get_current_heads())
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()


def head_revisions(url: str) -> set[str]:
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(alembic_config(url)).get_heads())


def metadata() -> sa.MetaData:
    import_models()
    return SQLModel.metadata
