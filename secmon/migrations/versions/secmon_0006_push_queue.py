"""secmon: pushes accepted for later ingestion (``Prefer: respond-async``)

A sensor's HTTP push was ingested while the sensor waited (~70 ms of CPU for 500 events, plus the correlation
pass) in the process that also answers the users' reads. With ``Prefer: respond-async`` the push is stored in
``secmon_push`` (committed before the 202: acknowledged is durable) and ingested by the background worker.

Revision ID: secmon_0006_push_queue
Revises: secmon_0005_corr_watermark
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "secmon_0006_push_queue"
down_revision = "secmon_0005_corr_watermark"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "secmon_push",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("sensor", sa.String(100), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.UniqueConstraint("sensor", "idempotency_key", name="uq_secmon_push_key"),
    )
    op.create_index("ix_secmon_push_state", "secmon_push", ["state", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_secmon_push_state", table_name="secmon_push")
    op.drop_table("secmon_push")
