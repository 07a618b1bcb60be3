"""secmon: how far each source's alerts are correlated — a pass no longer re-reads every alert of history

A correlation pass (after every EVE push and ingest) read every alert not linked to an incident — which
includes every alert that no rule matches, for ever: at the T-Pot set, 7,062 rows and ~30 ms of each push,
growing with the history. ``secmon_source.correlated_through`` is the offset up to which every alert of the
source is linked or matched by no rule of the configuration whose digest is ``correlated_config``; a pass
reads only the alerts after it (a changed configuration starts again from the beginning).

Revision ID: secmon_0005_corr_watermark
Revises: secmon_0004_i11_inet_search
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "secmon_0005_corr_watermark"
down_revision = "secmon_0004_i11_inet_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("secmon_source") as batch:
        batch.add_column(sa.Column("correlated_through", sa.BigInteger(), nullable=False, server_default="-1"))
        batch.add_column(sa.Column("correlated_config", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("secmon_source") as batch:
        batch.drop_column("correlated_config")
        batch.drop_column("correlated_through")
