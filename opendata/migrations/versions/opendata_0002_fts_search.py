"""opendata: full-text catalog search (SQLite FTS5 external-content table / PostgreSQL tsvector + GIN)
and the dataset-tag rows used for facet counts; backfills the documents of existing datasets.

Revision ID: opendata_0002_fts_search
Revises: opendata_0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "opendata_0002_fts_search"
down_revision = "opendata_0001"
branch_labels = None
depends_on = None

_SQLITE_FTS = [
    "CREATE VIRTUAL TABLE opendata_search_fts USING fts5(body, uni, meta, content='opendata_search_doc', "
    "content_rowid='docid', tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER opendata_search_doc_ai AFTER INSERT ON opendata_search_doc BEGIN "
    "INSERT INTO opendata_search_fts(rowid, body, uni, meta) VALUES (new.docid, new.body, new.uni, new.meta); END",
    "CREATE TRIGGER opendata_search_doc_ad AFTER DELETE ON opendata_search_doc BEGIN "
    "INSERT INTO opendata_search_fts(opendata_search_fts, rowid, body, uni, meta) "
    "VALUES ('delete', old.docid, old.body, old.uni, old.meta); END",
    "CREATE TRIGGER opendata_search_doc_au AFTER UPDATE ON opendata_search_doc BEGIN "
    "INSERT INTO opendata_search_fts(opendata_search_fts, rowid, body, uni, meta) "
    "VALUES ('delete', old.docid, old.body, old.uni, old.meta); "
    "INSERT INTO opendata_search_fts(rowid, body, uni, meta) VALUES (new.docid, new.body, new.uni, new.meta); END",
]


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "opendata_search_doc",
        sa.Column("docid", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("dataset_id", sa.String(32), sa.ForeignKey("opendata_dataset.id", ondelete="CASCADE"), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("uni", sa.Text(), nullable=False),
        sa.Column("meta", sa.Text(), nullable=False),
        sa.Column("tsv", postgresql.TSVECTOR() if pg else sa.Text(), nullable=True),
    )
    op.create_index("ix_opendata_search_doc_dataset_id", "opendata_search_doc", ["dataset_id"], unique=True)
    op.create_index("ix_opendata_search_doc_tsv", "opendata_search_doc", ["tsv"], postgresql_using="gin")
    op.create_table(
        "opendata_dataset_tag",
        sa.Column("dataset_id", sa.String(32), sa.ForeignKey("opendata_dataset.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("tag", sa.String(200), primary_key=True),
    )
    op.create_index("ix_opendata_dataset_tag_tag", "opendata_dataset_tag", ["tag"])
    if not pg:
        for stmt in _SQLITE_FTS:
            op.execute(stmt)
    from opendata.search import index_datasets

    conn = op.get_bind()
    index_datasets(conn, [r[0] for r in conn.execute(sa.text("SELECT id FROM opendata_dataset"))])


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for name in ("opendata_search_doc_ai", "opendata_search_doc_ad", "opendata_search_doc_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS opendata_search_fts")
    op.drop_index("ix_opendata_dataset_tag_tag", table_name="opendata_dataset_tag")
    op.drop_table("opendata_dataset_tag")
    op.drop_index("ix_opendata_search_doc_tsv", table_name="opendata_search_doc")
    op.drop_index("ix_opendata_search_doc_dataset_id", table_name="opendata_search_doc")
    op.drop_table("opendata_search_doc")
