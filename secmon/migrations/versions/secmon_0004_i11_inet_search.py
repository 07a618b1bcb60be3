"""secmon: event search indexes — CIDR search through ``inet`` on PostgreSQL, source port, DNS name by time

- PostgreSQL: ``secmon_inet(text)`` (IMMUTABLE; the address as ``inet``, NULL for what is not an address, so a
  junk ``src_ip`` in EVE never fails an insert) and GiST indexes (``inet_ops``) on ``secmon_inet(src_ip)`` and
  ``secmon_inet(dest_ip)`` of ``secmon_event`` (partitioned: every day partition gets them); a CIDR search is
  ``secmon_inet(src_ip) <<= cidr`` there. SQLite keeps its address-list approach (no such index type).
- Both: ``src_port`` index; the DNS name index becomes (``dns_rrname``, ``ts``), so the newest events of a very
  frequent name are read in index order instead of sorting every match.

Revision ID: secmon_0004_i11_inet_search
Revises: secmon_0100_evaluation
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "secmon_0004_i11_inet_search"
down_revision = "secmon_0100_evaluation"
branch_labels = None
depends_on = None

NOTNULL = "dns_rrname IS NOT NULL"

# the fast path (dotted quad) casts directly; only other candidates enter the exception block (a subtransaction)
INET_FUNCTION = r"""
CREATE OR REPLACE FUNCTION secmon_inet(t text) RETURNS inet
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
  IF t ~ '^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$' THEN
    RETURN t::inet;
  END IF;
  IF length(t) > 45 OR t !~ '^[0-9A-Fa-f:.]+$' OR position(':' in t) = 0 THEN
    RETURN NULL;
  END IF;
  BEGIN
    RETURN t::inet;
  EXCEPTION WHEN others THEN
    RETURN NULL;
  END;
END
$$
"""


def upgrade() -> None:
    op.create_index("ix_secmon_event_src_port", "secmon_event", ["src_port"])
    op.drop_index("ix_secmon_event_dns_rrname", table_name="secmon_event")
    op.create_index("ix_secmon_event_dns_rrname_ts", "secmon_event", ["dns_rrname", "ts"],
                    sqlite_where=sa.text(NOTNULL), postgresql_where=sa.text(NOTNULL))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(INET_FUNCTION)
        for col in ("src_ip", "dest_ip"):
            op.execute(f"CREATE INDEX ix_secmon_event_{col.split('_')[0]}_inet ON secmon_event "
                       f"USING gist (secmon_inet({col}) inet_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_secmon_event_src_inet")
        op.execute("DROP INDEX IF EXISTS ix_secmon_event_dest_inet")
        op.execute("DROP FUNCTION IF EXISTS secmon_inet(text)")
    op.drop_index("ix_secmon_event_dns_rrname_ts", table_name="secmon_event")
    op.create_index("ix_secmon_event_dns_rrname", "secmon_event", ["dns_rrname"],
                    sqlite_where=sa.text(NOTNULL), postgresql_where=sa.text(NOTNULL))
    op.drop_index("ix_secmon_event_src_port", table_name="secmon_event")
