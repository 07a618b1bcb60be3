"""Database engine, per-request sessions and migrations.

SQLite (embedded default): WAL journal with synchronous=FULL (an acknowledged commit is durable), foreign
keys on, a busy timeout, and every transaction that may write opened with ``BEGIN IMMEDIATE`` so that there
is exactly one writer at a time (the audit log's sequencing relies on it). The sessions of read requests
(GET/HEAD/OPTIONS) begin ``DEFERRED``: in WAL mode such a transaction reads a consistent snapshot and never
waits for a writer or for another reader. (Opening every transaction IMMEDIATE made concurrent readers queue
for the write lock in SQLite's busy handler, which sleeps up to 100 ms per retry: the p99 stalls of 0.5–1.5 s
under 8 concurrent readers — see ``benchmarks/load_serve.py``.) A write inside a read request (rare: the
token's coarse last-used stamp) goes through :func:`stamp`; any other write in a read request (a download's
log row) is retried once as a write request when SQLite refuses the upgrade (:func:`write_retry`).
PostgreSQL: psycopg 3, the same models and the same migrations.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, current_app, g, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, SQLModel

#: Packages whose models and migrations make up the schema, in dependency order.
SCHEMA_PACKAGES = ("audit", "portal", "standards", "registry", "secmon", "opendata")

EXTENSION_KEY = "citygov.db"

#: set while a read request is served: its SQLite transactions begin DEFERRED (default IMMEDIATE)
_READING: ContextVar[bool] = ContextVar("citygov_db_reading", default=False)
#: connections kept open per process (``citygov serve --threads`` defaults to 8, plus the job worker)
POOL_SIZE = 16
#: request methods whose session reads (its transactions begin DEFERRED on SQLite)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


#: the tables every process touches (the audit log, users, organisations, tokens, jobs)
CORE_PACKAGES = ("audit", "portal")


def import_models(packages: Iterable[str] = SCHEMA_PACKAGES) -> None:
    """Import every ``models`` module of the given schema packages (``<pkg>/models.py`` and
    ``<pkg>/<sub>/models.py``; default: all) so that ``SQLModel.metadata`` knows their tables. A package's
    tables refer only to its own and to the core's, and its services import its models, so a command may start
    with the core alone: the rest are mapped when first used (each costs ~3 ms of start-up a table).

    The tables' pydantic validators are built on first use (``defer_build``), not for all ~60 tables at
    start-up: a command that touches three tables does not pay for the other fifty-seven."""
    import pkgutil

    from sqlmodel import SQLModel

    SQLModel.model_config["defer_build"] = True

    for pkg in packages:
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
    # A pool at least as large as the server's threads plus the job worker: with SQLAlchemy's default of 5,
    # 8 waitress threads kept opening and closing overflow connections (on SQLite each one re-runs the
    # connection pragmas and starts with a cold page cache).
    pool = {"pool_size": POOL_SIZE, "max_overflow": POOL_SIZE}
    if url.startswith("sqlite"):
        memory = sa.engine.make_url(url).database in (None, "", ":memory:")
        engine = sa.create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30},
                                  **({} if memory else pool))
        _configure_sqlite(engine)
        return engine
    return sa.create_engine(url, echo=echo, pool_pre_ping=True, future=True, **pool)


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
        if _READING.get():
            conn.exec_driver_sql("BEGIN DEFERRED")
        else:
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


def init_app(app: Flask, *, all_models: bool = True) -> None:
    """``all_models=False``: map only the core tables now (a command-line process; see :func:`import_models`)."""
    import_models(SCHEMA_PACKAGES if all_models else CORE_PACKAGES)
    db = Database(app.config["DATABASE_URL"], echo=bool(app.config.get("SQL_ECHO")))
    app.extensions[EXTENSION_KEY] = db
    app.before_request(_begin_reading)
    app.teardown_request(_end_reading)
    app.teardown_appcontext(_close_session)


def get_db(app: Flask | None = None) -> Database:
    return (app or current_app).extensions[EXTENSION_KEY]


def get_session() -> Session:
    """The session of the current request / app context (created on first use)."""
    if "db_session" not in g:
        g.db_session = get_db().session()
    return g.db_session


def stamp(session: Session, statement) -> bool:
    """Run one best-effort bookkeeping write (e.g. a token's last-used time) and commit it at once.

    In a read request on SQLite the session's transaction began DEFERRED; upgrading it to a writer fails at
    once in WAL mode when another writer committed since it began. Then the stamp is skipped (the session is
    rolled back, its objects reload on next use) and ``False`` returned: the next request stamps again."""
    try:
        session.execute(statement)
        session.commit()
        return True
    except sa.exc.OperationalError:
        session.rollback()
        return False


def _busy(exc: sa.exc.OperationalError) -> bool:
    text = str(getattr(exc, "orig", exc)).lower()
    return "locked" in text or "busy" in text


def write_retry(view):
    """Run ``view``; if it writes while serving a read request and SQLite refuses to upgrade the DEFERRED
    read transaction (another writer holds the lock or committed since the snapshot: SQLITE_BUSY, for which
    SQLite does not wait), roll back and run it once more with transactions that begin IMMEDIATE (waiting
    for the writer like any write request). Reads that write — a download's log row — stay correct under
    concurrent writes; pure reads never pay for it."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except sa.exc.OperationalError as exc:
            if not _READING.get() or not _busy(exc):
                raise
            session = g.get("db_session")
            if session is not None:
                session.rollback()
            _READING.set(False)  # until the request ends (_end_reading restores the value before it)
            return view(*args, **kwargs)

    return wrapped


def guard_views(app: Flask) -> None:
    """Wrap every view with :func:`write_retry` (call after all blueprints are registered)."""
    for endpoint, view in list(app.view_functions.items()):
        if not getattr(view, "_citygov_write_retry", False):
            wrapped = write_retry(view)
            wrapped._citygov_write_retry = True  # type: ignore[attr-defined]
            app.view_functions[endpoint] = wrapped


def _begin_reading() -> None:
    if request.method in READ_METHODS:
        g.db_reading_token = _READING.set(True)


def _end_reading(_exc: BaseException | None) -> None:
    token = g.pop("db_reading_token", None)
    if token is not None:
        _READING.reset(token)


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
