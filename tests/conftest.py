"""Fixtures shared by every test package.

- ``shared_data``: the ``../shared/data`` folder (``CITYGOV_SHARED_DATA``); tests skip when it is absent.
- ``db_url`` / ``db_connection`` / ``db_session``: every database test runs on SQLite and, when
  ``CITYGOV_TEST_DATABASE_URL`` is set, on PostgreSQL too. The schema is built once per back-end by the
  real Alembic migrations; each test runs inside an outer transaction and its services' commits become
  savepoints, all rolled back at the end (Warehouse's pattern).
- ``app``, ``client``, ``runner``, ``auth``: the Flask app bound to the test's connection, a test client
  that validates every ``/api/v1`` response against the served OpenAPI document with openapi-core, the
  ``citygov`` CLI runner, and a helper that makes users and tokens through the services.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from tests.shared import shared_data_path

PG_ENV = "CITYGOV_TEST_DATABASE_URL"


# --------------------------------------------------------------------------- shared data


@pytest.fixture(scope="session")
def shared_data() -> Path:
    root = shared_data_path()
    if not root.is_dir():
        pytest.skip(f"shared test data not found at {root}; set CITYGOV_SHARED_DATA")
    return root


# --------------------------------------------------------------------------- databases


def _backends() -> list:
    params = [pytest.param("sqlite", id="sqlite")]
    params.append(pytest.param("postgresql", id="postgresql",
                               marks=pytest.mark.skipif(not os.environ.get(PG_ENV),
                                                        reason=f"PostgreSQL tests need {PG_ENV}")))
    return params


def _worker() -> str:
    return re.sub(r"\W", "", os.environ.get("PYTEST_XDIST_WORKER", "main")) or "main"


def _fresh_postgres_url() -> str:
    """A database of this test worker's own on the server named by CITYGOV_TEST_DATABASE_URL."""
    base = make_url(os.environ[PG_ENV])
    name = f"{base.database}_citygov_{_worker()}_{os.getpid()}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {base.render_as_string(hide_password=True)} is not usable: {exc}")
    finally:
        admin.dispose()
    _CREATED_PG.append(name)
    return base.set(database=name).render_as_string(hide_password=False)


_CREATED_PG: list[str] = []


def pytest_sessionfinish(session, exitstatus):
    """Drop the PostgreSQL databases this process created."""
    if not _CREATED_PG:
        return

    base = make_url(os.environ[PG_ENV])
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for name in _CREATED_PG:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


_MIGRATED: dict[str, str] = {}


def migrated_url(backend: str, tmp_path_factory) -> str:
    """The URL of a database of ``backend`` migrated to the heads (once per test session)."""
    if backend not in _MIGRATED:
        from portal import db as db_mod

        if backend == "sqlite":
            path = tmp_path_factory.mktemp("db") / "citygov-test.sqlite"
            url = f"sqlite:///{path}"
        else:
            url = _fresh_postgres_url()
        db_mod.upgrade(url)
        _MIGRATED[backend] = url
    return _MIGRATED[backend]


@pytest.fixture(scope="session", params=_backends())
def db_url(request, tmp_path_factory) -> str:
    return migrated_url(request.param, tmp_path_factory)


@pytest.fixture(scope="session")
def db_engine(db_url):
    from portal.db import make_engine

    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db_connection(db_engine):
    conn = db_engine.connect()
    outer = conn.begin()
    try:
        yield conn
    finally:
        if outer.is_active:
            outer.rollback()
        conn.close()
        # the rollback rewinds committed history (never happens in production): drop in-process indexes
        if "registry.indexstore" in sys.modules:
            sys.modules["registry.indexstore"].forget_all()


@pytest.fixture
def db_session(db_connection) -> Session:
    session = Session(bind=db_connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()


# --------------------------------------------------------------------------- app, client, runner


TEST_SECRET = "test-secret-key-0123456789abcdef"


@pytest.fixture
def app(db_url, db_connection, tmp_path):
    from portal import create_app
    from portal.db import get_db

    app = create_app({"ENV": "testing", "TESTING": True, "SECRET_KEY": TEST_SECRET, "DATABASE_URL": db_url,
                      "INSTANCE_PATH": str(tmp_path / "instance"), "LOG_LEVEL": "WARNING"})
    db = get_db(app)
    db.engine.dispose()
    db.engine = db_connection.engine
    db.sessionmaker = sessionmaker(bind=db_connection, class_=Session, join_transaction_mode="create_savepoint",
                                   expire_on_commit=False)
    yield app


@pytest.fixture
def client(app):
    from tests.openapi_check import ValidatingClient

    app.test_client_class = ValidatingClient
    return app.test_client()


@pytest.fixture
def runner(app):
    from portal.cli import _register_areas, cli

    _register_areas()
    cli_runner = app.test_cli_runner()
    original = cli_runner.invoke

    def invoke(args=None, **kwargs):
        return original(cli, args, **kwargs)

    cli_runner.invoke = invoke  # type: ignore[method-assign]
    return cli_runner


@pytest.fixture
def auth(db_session):
    from tests.factories import AuthActions

    return AuthActions(db_session)


@pytest.fixture
def smtp_receiver():
    """A real SMTP server on loopback (aiosmtpd): yields ``(port, messages)``, the envelopes it received."""
    pytest.importorskip("aiosmtpd")
    import socket

    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink

    class Collect(Sink):
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            self.messages.append(envelope)
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, handler.messages
    finally:
        controller.stop()
