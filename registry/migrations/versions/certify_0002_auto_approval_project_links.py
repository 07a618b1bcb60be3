"""registry.certify: the commission's auto-approval policies; project interfaces referencing certificates

Revision ID: certify_0002
Revises: certify_0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "certify_0002"
down_revision = "certify_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registry_cert_auto_policy",
        sa.Column("standard_name", sa.String(120), primary_key=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("min_coverage", sa.Float(), nullable=False),
        sa.Column("require_traffic", sa.Boolean(), nullable=False),
        sa.Column("max_warnings", sa.Integer(), nullable=True),
        sa.Column("vendors", sa.JSON(), nullable=False),
        sa.Column("validity_days", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
    )
    op.create_table(
        "registry_cert_project_link",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project_id", sa.String(32), nullable=False),
        sa.Column("direction", sa.String(10), nullable=False),
        sa.Column("interface", sa.String(200), nullable=False),
        sa.Column("serial", sa.String(40), sa.ForeignKey("registry_certificate.serial"), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("linked_by", sa.String(200), nullable=False),
        sa.UniqueConstraint("project_id", "direction", "interface", name="uq_registry_cert_project_link"),
    )
    op.create_index("ix_registry_cert_project_link_serial", "registry_cert_project_link", ["serial"])


def downgrade() -> None:
    op.drop_index("ix_registry_cert_project_link_serial", table_name="registry_cert_project_link")
    op.drop_table("registry_cert_project_link")
    op.drop_table("registry_cert_auto_policy")
