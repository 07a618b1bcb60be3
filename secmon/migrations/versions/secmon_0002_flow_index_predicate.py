"""secmon: the partial flow_id index of secmon_event with an OR predicate (cheaper per inserted row)

SQLite evaluates a partial index's WHERE for every inserted row; ``event_type IN ('alert', ...)`` builds an
ephemeral lookup table each time (about a quarter of the insert cost of an event), the equivalent chain of
``=`` comparisons does not. Same rows indexed, same queries served.

Revision ID: secmon_0002
Revises: secmon_0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "secmon_0002"
down_revision = "secmon_0001"
branch_labels = None
depends_on = None

OLD = "event_type IN ('alert', 'flow', 'fileinfo', 'anomaly')"
NEW = "event_type = 'alert' OR event_type = 'flow' OR event_type = 'fileinfo' OR event_type = 'anomaly'"


def _recreate(where: str) -> None:
    op.drop_index("ix_secmon_event_flow_id", table_name="secmon_event")
    op.create_index("ix_secmon_event_flow_id", "secmon_event", ["flow_id"], sqlite_where=sa.text(where),
                    postgresql_where=sa.text(where))


def upgrade() -> None:
    _recreate(NEW)


def downgrade() -> None:
    _recreate(OLD)
