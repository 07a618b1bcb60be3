"""portal: server-side records of browser sessions (logout invalidates a copied cookie)

Revision ID: portal_0003_web_sessions
Revises: portal_0002_jobs
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "portal_0003_web_sessions"
down_revision = "portal_0002_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portal_web_session",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(32), sa.ForeignKey("portal_user.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_portal_web_session_user_id", "portal_web_session", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_portal_web_session_user_id", table_name="portal_web_session")
    op.drop_table("portal_web_session")
