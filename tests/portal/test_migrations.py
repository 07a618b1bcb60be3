"""The migrated schema is exactly what the models declare, on every back-end."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portal import db as db_mod


def test_migrations_match_models(db_engine, db_url):
    with db_engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, db_mod.metadata())
    diff = [d for d in diff if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "apscheduler_jobs")]
    assert diff == [], f"models and migrations differ: {diff}"


def test_database_is_at_every_head(db_url):
    assert db_mod.current_revisions(db_url) == db_mod.head_revisions(db_url)
