"""Read requests on SQLite: their transactions begin DEFERRED (readers never queue for the write lock), and
a read request that writes is retried as a writer when SQLite refuses to upgrade its read transaction.

These need a real engine (the shared fixtures bind the app to one test connection, whose transaction is
already open), so each test uses its own migrated SQLite file.
"""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from portal import db as db_mod

SECRET = "test-secret-key-0123456789abcdef"


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    path = tmp_path_factory.mktemp("reads") / "reads.sqlite"
    url = f"sqlite:///{path}"
    db_mod.upgrade(url)
    engine = db_mod.make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE probe_row (x INTEGER)")
    engine.dispose()
    return url


def _app(url, tmp_path, routes):
    from portal import create_app

    app = create_app({"ENV": "testing", "TESTING": True, "SECRET_KEY": SECRET, "DATABASE_URL": url,
                      "INSTANCE_PATH": str(tmp_path / "instance"), "LOG_LEVEL": "WARNING"})
    for rule, view in routes.items():
        app.add_url_rule(rule, view.__name__, view, methods=["GET", "POST"])
    db_mod.guard_views(app)
    return app


def _count(url) -> int:
    engine = db_mod.make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql("SELECT count(*) FROM probe_row").scalar()
    finally:
        engine.dispose()


def test_a_read_request_does_not_wait_for_a_writer(migrated, tmp_path):
    def read():
        return {"n": db_mod.get_session().execute(sa.text("SELECT count(*) FROM probe_row")).scalar()}

    app = _app(migrated, tmp_path, {"/_probe/read": read})
    before = _count(migrated)
    writer = db_mod.make_engine(migrated)
    try:
        with writer.begin() as conn:  # BEGIN IMMEDIATE: holds the write lock for the whole block
            conn.exec_driver_sql("INSERT INTO probe_row VALUES (1)")
            done = {}
            t = threading.Thread(target=lambda: done.setdefault("r", app.test_client().get("/_probe/read")))
            t.start()
            t.join(5)  # a reader that queued for the write lock would wait the busy timeout (30 s)
            assert not t.is_alive(), "the read request waited for the writer"
            # it read the last committed state (WAL snapshot), not the writer's uncommitted row
            assert done["r"].status_code == 200 and done["r"].get_json()["n"] == before
    finally:
        writer.dispose()


def test_a_read_request_that_writes_is_retried_as_a_writer(migrated, tmp_path):
    calls = []

    def read_then_log():
        session = db_mod.get_session()
        session.execute(sa.text("SELECT count(*) FROM probe_row")).scalar()  # the read snapshot
        if not calls:  # another process commits meanwhile (first run only)
            other = db_mod.make_engine(migrated)
            with other.begin() as conn:
                conn.exec_driver_sql("INSERT INTO probe_row VALUES (2)")
            other.dispose()
        calls.append(1)
        session.execute(sa.text("INSERT INTO probe_row VALUES (3)"))  # upgrade refused: SQLITE_BUSY
        session.commit()
        return {"ok": True}

    before = _count(migrated)
    app = _app(migrated, tmp_path, {"/_probe/log": read_then_log})
    resp = app.test_client().get("/_probe/log")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert len(calls) == 2  # refused once, then run as a writer
    assert _count(migrated) == before + 2  # the other process's row and exactly one of ours


def test_without_the_retry_the_same_request_fails(migrated, tmp_path):
    """The control: the upgrade really is refused (so the test above proves the retry)."""

    def read_then_log():
        session = db_mod.get_session()
        session.execute(sa.text("SELECT count(*) FROM probe_row")).scalar()
        other = db_mod.make_engine(migrated)
        with other.begin() as conn:
            conn.exec_driver_sql("INSERT INTO probe_row VALUES (4)")
        other.dispose()
        session.execute(sa.text("INSERT INTO probe_row VALUES (5)"))
        session.commit()
        return {"ok": True}

    from portal import create_app

    app = create_app({"ENV": "testing", "TESTING": True, "SECRET_KEY": SECRET, "DATABASE_URL": migrated,
                      "INSTANCE_PATH": str(tmp_path / "instance"), "LOG_LEVEL": "WARNING"})
    app.add_url_rule("/_probe/raw", "raw", read_then_log)  # registered after guard_views: not wrapped
    before = _count(migrated)
    assert app.test_client().get("/_probe/raw").status_code == 500  # "database is locked", mapped to a 500
    assert _count(migrated) == before + 1  # only the other process's row
