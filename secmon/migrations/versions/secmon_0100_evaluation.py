"""secmon: stored evaluation reports (immutable, digests audited) and scheduler job claims

Revision ID: secmon_0100_evaluation
Revises: secmon_0003
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "secmon_0100_evaluation"
down_revision = "secmon_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "secmon_evaluation_report",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("period", sa.String(20), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scope", sa.String(200), nullable=False),
        sa.Column("scope_name", sa.String(300), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("band", sa.String(40), nullable=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("html_digest", sa.String(64), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("pdf_digest", sa.String(64), nullable=True),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.UniqueConstraint("period", "scope", "digest", name="uq_secmon_evaluation_report_digest"),
    )
    op.create_index("ix_secmon_evaluation_report_scope", "secmon_evaluation_report", ["scope", "period", "created_at"])
    op.create_table(
        "secmon_job_claim",
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("secmon_job_claim")
    op.drop_index("ix_secmon_evaluation_report_scope", table_name="secmon_evaluation_report")
    op.drop_table("secmon_evaluation_report")
