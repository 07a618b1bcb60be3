"""secmon: strike and governance — assets, incidents, responses, remediation; event search columns

- ``secmon_system`` (information system: owner organisation, registry project, MLPS level, criticality) and
  ``secmon_asset_network`` (its networks and hosts as CIDR with their 128-bit range for SQL containment);
- ``secmon_incident`` (+ ``_event`` evidence, ``_comment``, ``_transition``) and ``secmon_notification``
  (alarm delivery log);
- ``secmon_response`` (two-person approval) with ``secmon_block_entry``, ``secmon_rule_change``,
  ``secmon_suppression``;
- ``secmon_remediation_task``;
- ``secmon_sensor.ruleset_version_id`` (the version built for the sensor), ``secmon_source.head_len`` /
  ``kind`` (identity by a longer head of the stream), ``secmon_event.community_id`` / ``dns_answers`` and the
  event-search indexes; the ``flow_id`` index covers every event type (evidence linking).

Revision ID: secmon_0003
Revises: secmon_0002
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "secmon_0003"
down_revision = "secmon_0002"
branch_labels = None
depends_on = None

FLOW_0002 = "event_type = 'alert' OR event_type = 'flow' OR event_type = 'fileinfo' OR event_type = 'anomaly'"
NEW_TABLES = ("secmon_system", "secmon_asset_network", "secmon_incident", "secmon_incident_event",
              "secmon_incident_comment", "secmon_incident_transition", "secmon_notification", "secmon_response",
              "secmon_block_entry", "secmon_rule_change", "secmon_suppression", "secmon_remediation_task")


def _s(n):
    return sa.String(n)


def upgrade() -> None:
    op.add_column("secmon_sensor", sa.Column("ruleset_version_id", _s(32), nullable=True))
    op.add_column("secmon_source", sa.Column("head_len", sa.Integer(), nullable=True))
    op.add_column("secmon_source", sa.Column("kind", _s(10), nullable=True))
    op.add_column("secmon_event", sa.Column("community_id", _s(64), nullable=True))
    op.add_column("secmon_event", sa.Column("dns_answers", sa.Text(), nullable=True))
    op.drop_index("ix_secmon_event_flow_id", table_name="secmon_event")
    op.create_index("ix_secmon_event_flow_id", "secmon_event", ["flow_id"])
    op.create_index("ix_secmon_event_src_ip", "secmon_event", ["src_ip"])
    op.create_index("ix_secmon_event_dest_ip", "secmon_event", ["dest_ip"])
    op.create_index("ix_secmon_event_dest_port", "secmon_event", ["dest_port"])
    op.create_index("ix_secmon_event_ts", "secmon_event", ["ts"])
    notnull = "community_id IS NOT NULL"
    op.create_index("ix_secmon_event_community_id", "secmon_event", ["community_id"],
                    sqlite_where=sa.text(notnull), postgresql_where=sa.text(notnull))
    notnull = "dns_rrname IS NOT NULL"
    op.create_index("ix_secmon_event_dns_rrname", "secmon_event", ["dns_rrname"],
                    sqlite_where=sa.text(notnull), postgresql_where=sa.text(notnull))
    op.create_index("ix_secmon_http_hostname", "secmon_http", ["hostname"])
    op.create_index("ix_secmon_tls_sni", "secmon_tls", ["sni"])
    op.create_table(
        "secmon_system",
        sa.Column("id", _s(32), primary_key=True),
        sa.Column("name", _s(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("org_id", _s(32), nullable=False),
        sa.Column("project_id", _s(32), nullable=True),
        sa.Column("mlps_level", sa.Integer(), nullable=False),
        sa.Column("criticality", _s(10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("name", name="uq_secmon_system_name"),
    )
    op.create_index("ix_secmon_system_org_id", "secmon_system", ["org_id"])
    op.create_table(
        "secmon_asset_network",
        sa.Column("id", _s(32), primary_key=True),
        sa.Column("system_id", _s(32), nullable=False),
        sa.Column("cidr", _s(64), nullable=False),
        sa.Column("kind", _s(10), nullable=False),
        sa.Column("ip_version", sa.Integer(), nullable=False),
        sa.Column("prefix_len", sa.Integer(), nullable=False),
        sa.Column("range_start", _s(32), nullable=False),
        sa.Column("range_end", _s(32), nullable=False),
        sa.Column("hostname", _s(255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("cidr", name="uq_secmon_asset_network_cidr"),
    )
    op.create_index("ix_secmon_asset_network_range", "secmon_asset_network", ["range_start", "range_end"])
    op.create_index("ix_secmon_asset_network_system_id", "secmon_asset_network", ["system_id"])
    op.create_table(
        "secmon_incident",
        sa.Column("id", _s(32), primary_key=True),
        sa.Column("rule_id", _s(100), nullable=False),
        sa.Column("group_key", _s(500), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("state", _s(20), nullable=False),
        sa.Column("severity", _s(10), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("alert_severity", sa.Integer(), nullable=True),
        sa.Column("src_ip", _s(64), nullable=True),
        sa.Column("dest_ip", _s(64), nullable=True),
        sa.Column("gid", sa.Integer(), nullable=True),
        sa.Column("sid", sa.BigInteger(), nullable=True),
        sa.Column("signature", sa.Text(), nullable=True),
        sa.Column("category", _s(200), nullable=True),
        sa.Column("system_id", _s(32), nullable=True),
        sa.Column("org_id", _s(32), nullable=True),
        sa.Column("mlps_level", sa.Integer(), nullable=True),
        sa.Column("criticality", _s(10), nullable=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("alert_count", sa.Integer(), nullable=False),
        sa.Column("assignee", _s(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("triaged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("contained_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("false_positive_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("triage_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("contain_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("triage_breached", sa.Boolean(), nullable=False),
        sa.Column("contain_breached", sa.Boolean(), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_secmon_incident_last_seen", "secmon_incident", ["last_seen"])
    op.create_index("ix_secmon_incident_org_id", "secmon_incident", ["org_id"])
    op.create_index("ix_secmon_incident_rule_key", "secmon_incident", ["rule_id", "group_key", "last_seen"])
    op.create_index("ix_secmon_incident_state", "secmon_incident", ["state", "severity"])
    op.create_table(
        "secmon_incident_event",
        sa.Column("incident_id", _s(32), primary_key=True),
        sa.Column("source_id", sa.Integer(), primary_key=True, autoincrement=False, nullable=False),
        sa.Column("line_offset", sa.BigInteger(), primary_key=True, autoincrement=False, nullable=False),
        sa.Column("event_type", _s(40), nullable=False),
        sa.Column("link", _s(20), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_secmon_incident_event_event", "secmon_incident_event", ["source_id", "line_offset"])
    op.create_table(
        "secmon_incident_comment",
        sa.Column("id", _s(32), primary_key=True),
        sa.Column("incident_id", _s(32), nullable=False),
        sa.Column("author", _s(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_secmon_incident_comment_incident", "secmon_incident_comment", ["incident_id", "created_at"])
    op.create_table(
        "secmon_incident_transition",
        sa.Column("id", _s(32), primary_key=True),
        sa.Column("incident_id", _s(32), nullable=False),
        sa.Column("from_state", _s(20), nullable=True),
        sa.Column("to_state", _s(20), nullable=False),
        sa.Column("actor", _s(200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_secmon_incident_transition_incident", "secmon_incident_transition", ["incident_id", "at"])
    op.create_table(
        "secmon_notification",
        sa.Column("id", _s(32), primary_key=True),
        sa.Column("incident_id", _s(32), nullable=False),
        sa.Column("channel", _s(10), nullable=False),
        sa.Column("target", _s(500), nullable=False),
        sa.Column("status", _s(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("payload_sha256", _s(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_secmon_notification_incident", "secmon_notification", ["incident_id"])
    op.create_index("ix_secmon_notification_status", "secmon_notification", ["status", "next_attempt_at"])
    op.create_table(
        "secmon_response",
        sa.Column("id", _s(32), primary_key=True),
        sa.Column("state", _s(12), nullable=False),
        sa.Column("title", _s(300), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("incident_id", _s(32), nullable=True),
        sa.Column("alert_source_id", sa.Integer(), nullable=True),
        sa.Column("alert_line_offset", sa.BigInteger(), nullable=True),
        sa.Column("proposed_by", _s(200), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", _s(200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_secmon_response_incident", "secmon_response", ["incident_id"])
    op.create_index("ix_secmon_response_state", "secmon_response", ["state", "proposed_at"])
    op.create_table(
        "secmon_block_entry",
        sa.Column("id", _s(32), primary_key=True),
        sa.Column("response_id", _s(32), nullable=False),
        sa.Column("cidr", _s(64), nullable=False),
        sa.Column("ip_version", sa.Integer(), nullable=False),
        sa.Column("range_start", _s(32), nullable=False),
        sa.Column("range_end", _s(32), nullable=False),
        sa.Column("category", _s(64), nullable=False),
        sa.Column("reputation", sa.Integer(), nullable=False),
        sa.Column("state", _s(10), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_secmon_block_entry_response", "secmon_block_entry", ["response_id"])
    op.create_index("ix_secmon_block_entry_state", "secmon_block_entry", ["state", "expires_at"])
    op.create_table(
        "secmon_rule_change",
        sa.Column("id", _s(32), primary_key=True),
        sa.Column("response_id", _s(32), nullable=False),
        sa.Column("action", _s(10), nullable=False),
        sa.Column("selector", _s(300), nullable=False),
        sa.Column("modify_from", sa.Text(), nullable=True),
        sa.Column("modify_to", sa.Text(), nullable=True),
        sa.Column("state", _s(10), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("applied_version_id", _s(32), nullable=True),
    )
    op.create_index("ix_secmon_rule_change_response", "secmon_rule_change", ["response_id"])
    op.create_table(
        "secmon_suppression",
        sa.Column("id", _s(32), primary_key=True),
        sa.Column("response_id", _s(32), nullable=False),
        sa.Column("kind", _s(12), nullable=False),
        sa.Column("gid", sa.Integer(), nullable=False),
        sa.Column("sid", sa.BigInteger(), nullable=False),
        sa.Column("track", _s(10), nullable=True),
        sa.Column("ip", _s(64), nullable=True),
        sa.Column("threshold_type", _s(10), nullable=True),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.Column("seconds", sa.Integer(), nullable=True),
        sa.Column("state", _s(10), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("applied_version_id", _s(32), nullable=True),
    )
    op.create_index("ix_secmon_suppression_response", "secmon_suppression", ["response_id"])
    op.create_index("ix_secmon_suppression_sid", "secmon_suppression", ["gid", "sid"])
    op.create_table(
        "secmon_remediation_task",
        sa.Column("id", _s(32), primary_key=True),
        sa.Column("incident_id", _s(32), nullable=True),
        sa.Column("org_id", _s(32), nullable=False),
        sa.Column("system_id", _s(32), nullable=True),
        sa.Column("asset_ip", _s(64), nullable=True),
        sa.Column("gid", sa.Integer(), nullable=True),
        sa.Column("sid", sa.BigInteger(), nullable=True),
        sa.Column("signature", sa.Text(), nullable=True),
        sa.Column("title", _s(300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("severity", _s(10), nullable=False),
        sa.Column("state", _s(12), nullable=False),
        sa.Column("created_by", _s(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("quiet_days", sa.Integer(), nullable=False),
        sa.Column("fixed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fixed_by", _s(200), nullable=True),
        sa.Column("fix_evidence", sa.Text(), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verification_note", sa.Text(), nullable=True),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
    )
    op.create_index("ix_secmon_remediation_task_due", "secmon_remediation_task", ["state", "due_at"])
    op.create_index("ix_secmon_remediation_task_incident", "secmon_remediation_task", ["incident_id"])
    op.create_index("ix_secmon_remediation_task_org", "secmon_remediation_task", ["org_id", "state"])


def downgrade() -> None:
    for name in reversed(NEW_TABLES):
        op.drop_table(name)  # (its indexes go with it)
    op.drop_index("ix_secmon_tls_sni", table_name="secmon_tls")
    op.drop_index("ix_secmon_http_hostname", table_name="secmon_http")
    for ix in ("ix_secmon_event_dns_rrname", "ix_secmon_event_community_id", "ix_secmon_event_ts",
               "ix_secmon_event_dest_port", "ix_secmon_event_dest_ip", "ix_secmon_event_src_ip",
               "ix_secmon_event_flow_id"):
        op.drop_index(ix, table_name="secmon_event")
    op.create_index("ix_secmon_event_flow_id", "secmon_event", ["flow_id"], sqlite_where=sa.text(FLOW_0002),
                    postgresql_where=sa.text(FLOW_0002))
    op.drop_column("secmon_event", "dns_answers")
    op.drop_column("secmon_event", "community_id")
    op.drop_column("secmon_source", "kind")
    op.drop_column("secmon_source", "head_len")
    op.drop_column("secmon_sensor", "ruleset_version_id")
