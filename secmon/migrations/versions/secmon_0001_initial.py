"""secmon: sensors, rule-set versions and rules, EVE sources, events, quarantine

Revision ID: secmon_0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "secmon_0001"
down_revision = None
branch_labels = ("secmon",)
depends_on = None


def _s(n):
    return sa.String(n)


def upgrade() -> None:
    op.create_table(
        "secmon_sensor",
        sa.Column("id", _s(32), primary_key=True),
        sa.Column("name", _s(100), nullable=False),
        sa.Column("token_hash", _s(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("name", name="uq_secmon_sensor_name"),
    )
    op.create_table(
        "secmon_ruleset_version",
        sa.Column("id", _s(32), primary_key=True),
        sa.Column("name", _s(200), nullable=False),
        sa.Column("content_hash", _s(64), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", _s(200), nullable=False),
        sa.Column("rule_count", sa.Integer(), nullable=False),
        sa.Column("enabled_count", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("stats", sa.JSON(), nullable=False),
    )
    op.create_index("ix_secmon_ruleset_version_name", "secmon_ruleset_version", ["name", "imported_at"])
    op.create_index("ix_secmon_ruleset_version_content_hash", "secmon_ruleset_version", ["content_hash"])
    op.create_table(
        "secmon_rule",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("version_id", _s(32), nullable=False),
        sa.Column("gid", sa.Integer(), nullable=False),
        sa.Column("sid", sa.BigInteger(), nullable=False),
        sa.Column("rev", sa.Integer(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("effective", sa.Boolean(), nullable=False),
        sa.Column("action", _s(40), nullable=False),
        sa.Column("proto", _s(40), nullable=False),
        sa.Column("msg", sa.Text(), nullable=True),
        sa.Column("classtype", _s(100), nullable=True),
        sa.Column("file", _s(300), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
    )
    op.create_index("ix_secmon_rule_version_id", "secmon_rule", ["version_id", "gid", "sid"])
    op.create_index("ix_secmon_rule_sid", "secmon_rule", ["gid", "sid"])
    op.create_table(
        "secmon_source",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("sensor_id", _s(32), nullable=False),
        sa.Column("identity", _s(64), nullable=False),
        sa.Column("first_name", _s(500), nullable=False),
        sa.Column("high_water", sa.BigInteger(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("quarantined", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("sensor_id", "identity", name="uq_secmon_source_identity"),
    )
    op.create_table(
        "secmon_event",
        sa.Column("source_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("line_offset", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("sensor_id", _s(32), nullable=False),
        sa.Column("line_no", sa.BigInteger(), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=True),
        sa.Column("event_type", _s(40), nullable=False),
        sa.Column("flow_id", sa.BigInteger(), nullable=True),
        sa.Column("src_ip", _s(64), nullable=True),
        sa.Column("src_port", sa.Integer(), nullable=True),
        sa.Column("dest_ip", _s(64), nullable=True),
        sa.Column("dest_port", sa.Integer(), nullable=True),
        sa.Column("proto", _s(20), nullable=True),
        sa.Column("app_proto", _s(40), nullable=True),
        sa.Column("engine_version", _s(10), nullable=True),
        sa.Column("schema_status", _s(10), nullable=False),
        sa.Column("schema_error", sa.Text(), nullable=True),
        sa.Column("dns_rrname", sa.Text(), nullable=True),
        sa.Column("dns_rrtype", _s(20), nullable=True),
        sa.Column("dns_rcode", _s(20), nullable=True),
        sa.Column("raw", sa.Text(), nullable=False),
        # PostgreSQL: one range partition per UTC day, created on demand by the ingestion
        postgresql_partition_by="RANGE (day)",
        # SQLite: clustered on the key (no separate rowid B-tree to maintain)
        sqlite_with_rowid=False,
    )
    op.create_index("ix_secmon_event_type_ts", "secmon_event", ["event_type", "ts"])
    flow = sa.text("event_type IN ('alert', 'flow', 'fileinfo', 'anomaly')")
    op.create_index("ix_secmon_event_flow_id", "secmon_event", ["flow_id"], sqlite_where=flow, postgresql_where=flow)

    def key():
        return [sa.Column("source_id", sa.Integer(), primary_key=True, autoincrement=False),
                sa.Column("line_offset", sa.BigInteger(), primary_key=True, autoincrement=False)]

    op.create_table(
        "secmon_alert", *key(),
        sa.Column("sensor_id", _s(32), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=True),
        sa.Column("src_ip", _s(64), nullable=True),
        sa.Column("dest_ip", _s(64), nullable=True),
        sa.Column("signature", sa.Text(), nullable=True),
        sa.Column("gid", sa.Integer(), nullable=False),
        sa.Column("sid", sa.BigInteger(), nullable=True),
        sa.Column("rev", sa.Integer(), nullable=True),
        sa.Column("category", _s(200), nullable=True),
        sa.Column("severity", sa.Integer(), nullable=True),
        sa.Column("action", _s(20), nullable=True),
        sa.Column("metadata_json", sa.Text(), nullable=True),
    )
    op.create_index("ix_secmon_alert_ts", "secmon_alert", ["ts"])
    op.create_index("ix_secmon_alert_sid", "secmon_alert", ["gid", "sid"])
    op.create_index("ix_secmon_alert_src_ip", "secmon_alert", ["src_ip"])
    op.create_index("ix_secmon_alert_dest_ip", "secmon_alert", ["dest_ip"])
    op.create_index("ix_secmon_alert_sensor_ts", "secmon_alert", ["sensor_id", "ts"])
    op.create_table(
        "secmon_http", *key(),
        sa.Column("hostname", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("method", _s(40), nullable=True),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
    )
    op.create_table(
        "secmon_tls", *key(),
        sa.Column("sni", sa.Text(), nullable=True),
        sa.Column("version", _s(40), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("ja3", _s(64), nullable=True),
    )
    op.create_table(
        "secmon_fileinfo", *key(),
        sa.Column("filename", sa.Text(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("sha256", _s(64), nullable=True),
    )
    op.create_table(
        "secmon_flow", *key(),
        sa.Column("pkts_toserver", sa.BigInteger(), nullable=True),
        sa.Column("pkts_toclient", sa.BigInteger(), nullable=True),
        sa.Column("bytes_toserver", sa.BigInteger(), nullable=True),
        sa.Column("bytes_toclient", sa.BigInteger(), nullable=True),
        sa.Column("state", _s(40), nullable=True),
    )
    op.create_table(
        "secmon_anomaly", *key(),
        sa.Column("type", _s(40), nullable=True),
        sa.Column("event", _s(200), nullable=True),
        sa.Column("layer", _s(40), nullable=True),
    )
    op.create_table(
        "secmon_stats", *key(),
        sa.Column("sensor_id", _s(32), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=True),
        sa.Column("uptime", sa.BigInteger(), nullable=True),
        sa.Column("kernel_packets", sa.BigInteger(), nullable=True),
        sa.Column("kernel_drops", sa.BigInteger(), nullable=True),
        sa.Column("decoder_errors", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_secmon_stats_sensor_ts", "secmon_stats", ["sensor_id", "ts"])
    op.create_table(
        "secmon_quarantine",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("sensor_id", _s(32), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("source_name", _s(500), nullable=False),
        sa.Column("line_no", sa.BigInteger(), nullable=False),
        sa.Column("line_offset", sa.BigInteger(), nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("excerpt", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("source_id", "line_offset", name="uq_secmon_quarantine_offset"),
    )


def downgrade() -> None:
    op.drop_table("secmon_quarantine")
    op.drop_index("ix_secmon_stats_sensor_ts", table_name="secmon_stats")
    for t in ("secmon_stats", "secmon_anomaly", "secmon_flow", "secmon_fileinfo", "secmon_tls", "secmon_http"):
        op.drop_table(t)
    for ix in ("ix_secmon_alert_sensor_ts", "ix_secmon_alert_dest_ip", "ix_secmon_alert_src_ip", "ix_secmon_alert_sid",
               "ix_secmon_alert_ts"):
        op.drop_index(ix, table_name="secmon_alert")
    op.drop_table("secmon_alert")
    for ix in ("ix_secmon_event_flow_id", "ix_secmon_event_type_ts"):
        op.drop_index(ix, table_name="secmon_event")
    op.drop_table("secmon_event")
    op.drop_table("secmon_source")
    op.drop_index("ix_secmon_rule_sid", table_name="secmon_rule")
    op.drop_index("ix_secmon_rule_version_id", table_name="secmon_rule")
    op.drop_table("secmon_rule")
    op.drop_index("ix_secmon_ruleset_version_content_hash", table_name="secmon_ruleset_version")
    op.drop_index("ix_secmon_ruleset_version_name", table_name="secmon_ruleset_version")
    op.drop_table("secmon_ruleset_version")
    op.drop_table("secmon_sensor")
