"""registry: a trigram full-text index of project titles on SQLite (title search at 100,000 projects)

``GET /api/v1/projects?q=…`` matches a substring of the title. On SQLite that was a scan of a 100,000-entry
index for the count and again for the page (15–35 ms); an FTS5 table with the ``trigram`` tokenizer over
``registry_project.title`` (external content, kept in step by triggers) finds the rows holding any substring
of three or more characters. Shorter queries keep the scan. PostgreSQL keeps its ``LIKE`` (a ``pg_trgm``
index would serve it the same way; not created here).

Revision ID: registry_0004_title_search
Revises: registry_0003_list_indexes
Create Date: 2026-12-01
"""

from alembic import op

revision = "registry_0004_title_search"
down_revision = "registry_0003_list_indexes"
branch_labels = None
depends_on = None

_SQLITE = [
    "CREATE VIRTUAL TABLE registry_project_title_fts USING fts5(title, content='registry_project', "
    "content_rowid='rowid', tokenize='trigram')",
    "CREATE TRIGGER registry_project_title_ai AFTER INSERT ON registry_project BEGIN "
    "INSERT INTO registry_project_title_fts(rowid, title) VALUES (new.rowid, new.title); END",
    "CREATE TRIGGER registry_project_title_ad AFTER DELETE ON registry_project BEGIN "
    "INSERT INTO registry_project_title_fts(registry_project_title_fts, rowid, title) "
    "VALUES ('delete', old.rowid, old.title); END",
    "CREATE TRIGGER registry_project_title_au AFTER UPDATE OF title ON registry_project BEGIN "
    "INSERT INTO registry_project_title_fts(registry_project_title_fts, rowid, title) "
    "VALUES ('delete', old.rowid, old.title); "
    "INSERT INTO registry_project_title_fts(rowid, title) VALUES (new.rowid, new.title); END",
    "INSERT INTO registry_project_title_fts(registry_project_title_fts) VALUES ('rebuild')",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for stmt in _SQLITE:
            op.execute(stmt)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("registry_project_title_ai", "registry_project_title_ad", "registry_project_title_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS registry_project_title_fts")
