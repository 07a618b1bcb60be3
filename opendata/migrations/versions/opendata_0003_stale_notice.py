"""opendata: when a stale dataset's owners were told (a notice not delivered is tried again)

Revision ID: opendata_0003_stale_notice
Revises: opendata_0002_fts_search
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "opendata_0003_stale_notice"
down_revision = "opendata_0002_fts_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("opendata_dataset") as batch:
        batch.add_column(sa.Column("stale_notified_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("opendata_dataset") as batch:
        batch.drop_column("stale_notified_at")
