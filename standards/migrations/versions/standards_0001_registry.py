"""standards: standards, immutable versions, bundle resources

Revision ID: standards_0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "standards_0001"
down_revision = None
branch_labels = ("standards",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "standards_standard",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False, unique=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("compatibility", sa.String(30), nullable=False),
        sa.Column("strict", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
    )
    op.create_table(
        "standards_version",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("standard_id", sa.String(32), sa.ForeignKey("standards_standard.id"), nullable=False),
        sa.Column("version", sa.String(60), nullable=False),
        sa.Column("major", sa.Integer(), nullable=False),
        sa.Column("minor", sa.Integer(), nullable=False),
        sa.Column("patch", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("media_type", sa.String(60), nullable=False),
        sa.Column("dialect", sa.String(40), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("ontology", sa.Text(), nullable=True),
        sa.Column("ontology_media_type", sa.String(60), nullable=True),
        sa.Column("uri", sa.String(500), nullable=False, unique=True),
        sa.Column("schema_id", sa.String(500), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("validity", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_by", sa.String(200), nullable=True),
        sa.Column("deprecated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("standard_id", "version", name="uq_standards_version_standard_version"),
    )
    op.create_index("ix_standards_version_standard_id", "standards_version", ["standard_id"])
    op.create_index("ix_standards_version_schema_id", "standards_version", ["schema_id"])
    op.create_table(
        "standards_resource",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("version_id", sa.String(32), sa.ForeignKey("standards_version.id"), nullable=False),
        sa.Column("uri", sa.String(500), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.UniqueConstraint("version_id", "uri", name="uq_standards_resource_version_uri"),
    )
    op.create_index("ix_standards_resource_uri", "standards_resource", ["uri"])


def downgrade() -> None:
    op.drop_index("ix_standards_resource_uri", table_name="standards_resource")
    op.drop_table("standards_resource")
    op.drop_index("ix_standards_version_schema_id", table_name="standards_version")
    op.drop_index("ix_standards_version_standard_id", table_name="standards_version")
    op.drop_table("standards_version")
    op.drop_table("standards_standard")
