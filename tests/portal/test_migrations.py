"""The migrated schema is exactly what the models declare, on every back-end."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portal import db as db_mod


def test_migrations_match_models(db_engine, db_url):
    with db_engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, db_mod.metadata())
        # SQLite virtual tables (FTS5 full-text indexes) and their shadow tables are index structures
        # that migrations create with raw DDL; models cannot declare them
        virtual = [] if conn.dialect.name != "sqlite" else [r[0] for r in conn.execute(sa.text(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'"))]

    def index_structure(name: str) -> bool:
        return name == "apscheduler_jobs" or any(name == v or name.startswith(v + "_") for v in virtual)

    diff = [d for d in diff if not (isinstance(d, tuple) and d[0] == "remove_table" and index_structure(d[1].name))]
    assert diff == [], f"models and migrations differ: {diff}"


def test_database_is_at_every_head(db_url):
    assert db_mod.current_revisions(db_url) == db_mod.head_revisions(db_url)
