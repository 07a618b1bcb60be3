"""registry.certify: certification runs and certificates (its own branch, beside the registry branch)

Revision ID: certify_0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "certify_0001"
down_revision = None
branch_labels = ("certify",)
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "registry_cert_run",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("vendor_org_id", sa.String(64), nullable=True),
        sa.Column("vendor", sa.String(200), nullable=False),
        sa.Column("system", sa.String(200), nullable=False),
        sa.Column("standard_name", sa.String(120), nullable=False),
        sa.Column("standard_version", sa.String(60), nullable=False),
        sa.Column("standard_sha256", sa.String(64), nullable=False),
        sa.Column("vendor_sha256", sa.String(64), nullable=False),
        sa.Column("vendor_filename", sa.String(300), nullable=False),
        sa.Column("vendor_document", sa.Text(), nullable=False),
        sa.Column("report_sha256", sa.String(64), nullable=False),
        sa.Column("conformant", sa.Boolean(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        _ts("created_at"),
        sa.Column("created_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_registry_cert_run_vendor_org_id", "registry_cert_run", ["vendor_org_id"])
    op.create_index("ix_registry_cert_run_standard_name", "registry_cert_run", ["standard_name"])
    op.create_table(
        "registry_certificate",
        sa.Column("serial", sa.String(40), primary_key=True),
        sa.Column("run_id", sa.String(32), sa.ForeignKey("registry_cert_run.id"), nullable=False),
        sa.Column("vendor_org_id", sa.String(64), nullable=True),
        sa.Column("vendor", sa.String(200), nullable=False),
        sa.Column("system", sa.String(200), nullable=False),
        sa.Column("standard_name", sa.String(120), nullable=False),
        sa.Column("standard_version", sa.String(60), nullable=False),
        sa.Column("standard_major", sa.Integer(), nullable=False),
        sa.Column("vendor_sha256", sa.String(64), nullable=False),
        sa.Column("report_sha256", sa.String(64), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        _ts("issued_at"),
        _ts("expires_at"),
        sa.Column("issued_by", sa.String(200), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("jws", sa.Text(), nullable=False),
        sa.Column("audit_index", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        _ts("status_changed_at", True),
        sa.Column("status_changed_by", sa.String(200), nullable=True),
    )
    op.create_index("ix_registry_certificate_vendor_org_id", "registry_certificate", ["vendor_org_id"])
    op.create_index("ix_registry_certificate_standard_name", "registry_certificate", ["standard_name"])
    op.create_index("ix_registry_certificate_status", "registry_certificate", ["status"])
    op.create_index("ix_registry_certificate_run_id", "registry_certificate", ["run_id"])


def downgrade() -> None:
    op.drop_table("registry_certificate")
    op.drop_table("registry_cert_run")
