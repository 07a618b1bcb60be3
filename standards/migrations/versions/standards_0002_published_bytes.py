"""standards: the exact published bytes of a version; format assertion, lint rule set per standard; registry
settings (global default compatibility)

Revision ID: standards_0002
Revises: standards_0001
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "standards_0002"
down_revision = "standards_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("standards_version") as batch:
        # the bytes that were uploaded, served as they are (sha256 = their hash); NULL for versions stored
        # before this revision, which are served as the stored text with the hash of that text
        batch.add_column(sa.Column("raw", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("standards_standard") as batch:
        batch.add_column(sa.Column("format_assert", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("lint_ruleset", sa.Text(), nullable=True))
    op.create_table(
        "standards_setting",
        sa.Column("key", sa.String(60), primary_key=True),
        sa.Column("value", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("standards_setting")
    with op.batch_alter_table("standards_standard") as batch:
        batch.drop_column("lint_ruleset")
        batch.drop_column("format_assert")
    with op.batch_alter_table("standards_version") as batch:
        batch.drop_column("raw")
