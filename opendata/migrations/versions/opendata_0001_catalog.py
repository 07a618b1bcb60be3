"""opendata: catalog datasets (DCAT-AP metadata, grade, release state) and distributions

Revision ID: opendata_0001
Revises:
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "opendata_0001"
down_revision = None
branch_labels = ("opendata",)
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "opendata_dataset",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("organisation", sa.String(200), nullable=False),
        sa.Column("title_zh", sa.String(300), nullable=False),
        sa.Column("title_en", sa.String(300), nullable=False),
        sa.Column("description_zh", sa.Text(), nullable=False),
        sa.Column("description_en", sa.Text(), nullable=False),
        sa.Column("theme", sa.String(20), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("licence", sa.String(40), nullable=False),
        sa.Column("frequency", sa.String(20), nullable=False),
        sa.Column("temporal_start", sa.String(10), nullable=True),
        sa.Column("temporal_end", sa.String(10), nullable=True),
        sa.Column("spatial", sa.String(200), nullable=True),
        sa.Column("contact_email", sa.String(200), nullable=False),
        sa.Column("conforms_to", sa.String(300), nullable=True),
        sa.Column("grade", sa.String(20), nullable=False),
        sa.Column("grade_reason", sa.Text(), nullable=True),
        sa.Column("quasi_identifiers", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("prepared_by", sa.String(200), nullable=True),
        sa.Column("approved_by", sa.String(200), nullable=True),
        sa.Column("check_summary", sa.JSON(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        _ts("published_at", True),
        _ts("stale_since", True),
    )
    op.create_index("ix_opendata_dataset_name", "opendata_dataset", ["name"], unique=True)
    op.create_index("ix_opendata_dataset_org_id", "opendata_dataset", ["org_id"])
    op.create_index("ix_opendata_dataset_state", "opendata_dataset", ["state"])
    op.create_table(
        "opendata_distribution",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("dataset_id", sa.String(32), sa.ForeignKey("opendata_dataset.id"), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("format", sa.String(20), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("filename", sa.String(300), nullable=False),
        sa.Column("byte_size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=True),
        _ts("created_at"),
    )
    op.create_index("ix_opendata_distribution_dataset_id", "opendata_distribution", ["dataset_id"])
    op.create_table(
        "opendata_access_application",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("dataset_id", sa.String(32), sa.ForeignKey("opendata_dataset.id"), nullable=False),
        sa.Column("applicant", sa.String(200), nullable=False),
        sa.Column("applicant_name", sa.String(200), nullable=False),
        sa.Column("applicant_org", sa.String(64), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        _ts("expires_at", True),
        sa.Column("key_hash", sa.String(64), nullable=True),
        sa.Column("key_prefix", sa.String(16), nullable=True),
        _ts("created_at"),
        _ts("decided_at", True),
    )
    op.create_index("ix_opendata_access_application_dataset_id", "opendata_access_application", ["dataset_id"])
    op.create_index("ix_opendata_access_application_key_hash", "opendata_access_application", ["key_hash"], unique=True)
    op.create_table(
        "opendata_download",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("dataset_id", sa.String(32), sa.ForeignKey("opendata_dataset.id"), nullable=False),
        sa.Column("distribution_id", sa.String(32), sa.ForeignKey("opendata_distribution.id"), nullable=False),
        sa.Column("application_id", sa.String(32), sa.ForeignKey("opendata_access_application.id"), nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        _ts("at"),
    )
    op.create_index("ix_opendata_download_dataset_id", "opendata_download", ["dataset_id"])


def downgrade() -> None:
    op.drop_index("ix_opendata_download_dataset_id", table_name="opendata_download")
    op.drop_table("opendata_download")
    op.drop_index("ix_opendata_access_application_key_hash", table_name="opendata_access_application")
    op.drop_index("ix_opendata_access_application_dataset_id", table_name="opendata_access_application")
    op.drop_table("opendata_access_application")
    op.drop_index("ix_opendata_distribution_dataset_id", table_name="opendata_distribution")
    op.drop_table("opendata_distribution")
    op.drop_index("ix_opendata_dataset_state", table_name="opendata_dataset")
    op.drop_index("ix_opendata_dataset_org_id", table_name="opendata_dataset")
    op.drop_index("ix_opendata_dataset_name", table_name="opendata_dataset")
    op.drop_table("opendata_dataset")
