"""portal: background jobs

Revision ID: portal_0002_jobs
Revises: portal_0001
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "portal_0002_jobs"
down_revision = "portal_0001"
branch_labels = None
depends_on = None


def _ts(name, nullable=True):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "portal_job",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("org_id", sa.String(32), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(500), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _ts("created_at", False),
        _ts("started_at"),
        _ts("heartbeat_at"),
        _ts("finished_at"),
    )
    op.create_index("ix_portal_job_state", "portal_job", ["state"])
    op.create_index("ix_portal_job_user_id", "portal_job", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_portal_job_user_id", table_name="portal_job")
    op.drop_index("ix_portal_job_state", table_name="portal_job")
    op.drop_table("portal_job")
