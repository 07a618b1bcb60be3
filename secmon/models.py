"""secmon tables: sensors, rule-set versions and their rules, EVE sources, events, quarantine.

``secmon_event`` holds every event: typed common columns (and the DNS fields, the bulk of most sensors'
output) plus the raw line; per-type tables (``secmon_alert``, ``_http``, ``_tls``, ``_fileinfo``, ``_flow``,
``_anomaly``, ``_stats``) share its key ``(source_id, line_offset)``. Idempotency: a source is identified
by sensor + the digest of its first line (stable across rotation and gzip compression) and keeps a
high-water offset, and the event key is ``(source_id, line_offset, day)``, so re-ingesting a file or an
overlapping rotation never duplicates an event. On PostgreSQL ``secmon_event`` is partitioned by ``day``
(range, one partition per UTC day, created on demand), so retention drops whole partitions.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (JSON, BigInteger, Boolean, Column, Date, DateTime, Index, Integer, LargeBinary, String, Text,
                        UniqueConstraint)
from sqlalchemy import text
from sqlmodel import Field, SQLModel

#: the events that carry a flow worth pivoting on (an OR chain: SQLite evaluates it per inserted row, and an
#: ``IN (...)`` list would build an ephemeral table each time — see migration secmon_0002)
FLOW_WHERE = "event_type = 'alert' OR event_type = 'flow' OR event_type = 'fileinfo' OR event_type = 'anomaly'"


class SecmonSensor(SQLModel, table=True):
    __tablename__ = "secmon_sensor"
    __table_args__ = (UniqueConstraint("name", name="uq_secmon_sensor_name"),)

    id: str = Field(sa_column=Column(String(32), primary_key=True))
    name: str = Field(sa_column=Column(String(100), nullable=False))
    token_hash: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    #: the rule-set version built for (deployed on) this sensor: the default of coverage / unknown-sid views
    ruleset_version_id: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))


class SecmonRulesetVersion(SQLModel, table=True):
    __tablename__ = "secmon_ruleset_version"
    __table_args__ = (
        Index("ix_secmon_ruleset_version_name", "name", "imported_at"),
        Index("ix_secmon_ruleset_version_content_hash", "content_hash"),
    )

    id: str = Field(sa_column=Column(String(32), primary_key=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    content_hash: str = Field(sa_column=Column(String(64), nullable=False))
    imported_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    imported_by: str = Field(sa_column=Column(String(200), nullable=False))
    rule_count: int = Field(sa_column=Column(Integer, nullable=False))
    enabled_count: int = Field(sa_column=Column(Integer, nullable=False))
    error_count: int = Field(sa_column=Column(Integer, nullable=False))
    stats: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class SecmonRule(SQLModel, table=True):
    __tablename__ = "secmon_rule"
    __table_args__ = (
        Index("ix_secmon_rule_version_id", "version_id", "gid", "sid"),
        Index("ix_secmon_rule_sid", "gid", "sid"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    version_id: str = Field(sa_column=Column(String(32), nullable=False))
    gid: int = Field(sa_column=Column(Integer, nullable=False))
    sid: int = Field(sa_column=Column(BigInteger, nullable=False))
    rev: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    enabled: bool = Field(sa_column=Column(Boolean, nullable=False))
    effective: bool = Field(sa_column=Column(Boolean, nullable=False))
    action: str = Field(sa_column=Column(String(40), nullable=False))
    proto: str = Field(sa_column=Column(String(40), nullable=False))
    msg: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    classtype: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    file: str = Field(sa_column=Column(String(300), nullable=False))
    line: int = Field(sa_column=Column(Integer, nullable=False))
    raw: str = Field(sa_column=Column(Text, nullable=False))


class SecmonSource(SQLModel, table=True):
    __tablename__ = "secmon_source"
    __table_args__ = (UniqueConstraint("sensor_id", "identity", name="uq_secmon_source_identity"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    sensor_id: str = Field(sa_column=Column(String(32), nullable=False))
    identity: str = Field(sa_column=Column(String(64), nullable=False))
    #: bytes of the stream's head that ``identity`` hashes (NULL: a source identified by its first line, before
    #: secmon_0003); a head shorter than the full prefix is matched as a prefix of a longer one (a growing file)
    head_len: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    kind: str | None = Field(default=None, sa_column=Column(String(10), nullable=True))  # file | stdin | push
    first_name: str = Field(sa_column=Column(String(500), nullable=False))
    high_water: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    events: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    quarantined: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    #: every alert of this source at an offset up to this one is linked to an incident or matched by no rule of
    #: the correlation configuration with digest ``correlated_config``: a pass reads only the alerts after it
    correlated_through: int = Field(default=-1, sa_column=Column(BigInteger, nullable=False, server_default="-1"))
    correlated_config: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))


class SecmonEvent(SQLModel, table=True):
    __tablename__ = "secmon_event"
    __table_args__ = (
        Index("ix_secmon_event_type_ts", "event_type", "ts"),
        # every event type: evidence links alerts to their flow's http/dns/tls/fileinfo events (secmon_0003)
        Index("ix_secmon_event_flow_id", "flow_id"),
        # event search (secmon_0003): addresses, destination port, community id, DNS names, time
        Index("ix_secmon_event_src_ip", "src_ip"),
        Index("ix_secmon_event_dest_ip", "dest_ip"),
        Index("ix_secmon_event_dest_port", "dest_port"),
        Index("ix_secmon_event_ts", "ts"),
        Index("ix_secmon_event_community_id", "community_id", sqlite_where=text("community_id IS NOT NULL"),
              postgresql_where=text("community_id IS NOT NULL")),
        Index("ix_secmon_event_src_port", "src_port"),  # secmon_0004
        Index("ix_secmon_event_dns_rrname_ts", "dns_rrname", "ts", sqlite_where=text("dns_rrname IS NOT NULL"),
              postgresql_where=text("dns_rrname IS NOT NULL")),
        # PostgreSQL only (migration secmon_0004, which creates the function): CIDR containment search
        Index("ix_secmon_event_src_inet", text("secmon_inet(src_ip) inet_ops"),
              postgresql_using="gist").ddl_if(dialect="postgresql"),
        Index("ix_secmon_event_dest_inet", text("secmon_inet(dest_ip) inet_ops"),
              postgresql_using="gist").ddl_if(dialect="postgresql"),
        {"sqlite_with_rowid": False},
    )

    # the natural key: a line of a source (plus its UTC day, the PostgreSQL partition key)
    source_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    line_offset: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    day: date = Field(sa_column=Column(Date, primary_key=True))
    sensor_id: str = Field(sa_column=Column(String(32), nullable=False))
    line_no: int = Field(sa_column=Column(BigInteger, nullable=False))
    ts: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    event_type: str = Field(sa_column=Column(String(40), nullable=False))
    flow_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    src_ip: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    src_port: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    dest_ip: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    dest_port: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    proto: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    app_proto: str | None = Field(default=None, sa_column=Column(String(40), nullable=True))
    engine_version: str | None = Field(default=None, sa_column=Column(String(10), nullable=True))
    schema_status: str = Field(sa_column=Column(String(10), nullable=False))
    schema_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    dns_rrname: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    dns_rrtype: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    dns_rcode: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    raw: str = Field(sa_column=Column(Text, nullable=False))
    community_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    dns_answers: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # rdata, space-separated


class SecmonAlert(SQLModel, table=True):
    """Alert events (denormalised ts/sensor/addresses so that every alert question is answered here)."""

    __tablename__ = "secmon_alert"
    __table_args__ = (
        Index("ix_secmon_alert_ts", "ts"),
        Index("ix_secmon_alert_sid", "gid", "sid"),
        Index("ix_secmon_alert_src_ip", "src_ip"),
        Index("ix_secmon_alert_dest_ip", "dest_ip"),
        Index("ix_secmon_alert_sensor_ts", "sensor_id", "ts"),
    )

    source_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    line_offset: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    sensor_id: str = Field(sa_column=Column(String(32), nullable=False))
    ts: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    src_ip: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    dest_ip: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    signature: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    gid: int = Field(sa_column=Column(Integer, nullable=False))
    sid: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    rev: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    category: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    severity: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    action: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    metadata_json: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class SecmonHttp(SQLModel, table=True):
    __tablename__ = "secmon_http"
    __table_args__ = (Index("ix_secmon_http_hostname", "hostname"),)
    source_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    line_offset: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hostname: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    method: str | None = Field(default=None, sa_column=Column(String(40), nullable=True))
    status: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    user_agent: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class SecmonTls(SQLModel, table=True):
    __tablename__ = "secmon_tls"
    __table_args__ = (Index("ix_secmon_tls_sni", "sni"),)
    source_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    line_offset: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    sni: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    version: str | None = Field(default=None, sa_column=Column(String(40), nullable=True))
    subject: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    ja3: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))


class SecmonFileinfo(SQLModel, table=True):
    __tablename__ = "secmon_fileinfo"
    source_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    line_offset: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    filename: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    size: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    sha256: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))


class SecmonFlow(SQLModel, table=True):
    __tablename__ = "secmon_flow"
    source_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    line_offset: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    pkts_toserver: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    pkts_toclient: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    bytes_toserver: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    bytes_toclient: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    state: str | None = Field(default=None, sa_column=Column(String(40), nullable=True))


class SecmonAnomaly(SQLModel, table=True):
    __tablename__ = "secmon_anomaly"
    source_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    line_offset: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    type: str | None = Field(default=None, sa_column=Column(String(40), nullable=True))
    event: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    layer: str | None = Field(default=None, sa_column=Column(String(40), nullable=True))


class SecmonStats(SQLModel, table=True):
    """Sensor health from ``stats`` events (the full nested object stays in the event's raw line)."""

    __tablename__ = "secmon_stats"
    __table_args__ = (Index("ix_secmon_stats_sensor_ts", "sensor_id", "ts"),)
    source_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    line_offset: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    sensor_id: str = Field(sa_column=Column(String(32), nullable=False))
    ts: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    uptime: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    kernel_packets: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    kernel_drops: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    decoder_errors: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


class SecmonQuarantine(SQLModel, table=True):
    __tablename__ = "secmon_quarantine"
    __table_args__ = (UniqueConstraint("source_id", "line_offset", name="uq_secmon_quarantine_offset"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    sensor_id: str = Field(sa_column=Column(String(32), nullable=False))
    source_id: int = Field(sa_column=Column(Integer, nullable=False))
    source_name: str = Field(sa_column=Column(String(500), nullable=False))
    line_no: int = Field(sa_column=Column(BigInteger, nullable=False))
    line_offset: int = Field(sa_column=Column(BigInteger, nullable=False))
    length: int = Field(sa_column=Column(BigInteger, nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    excerpt: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class SecmonPush(SQLModel, table=True):
    """A push a sensor sent with ``Prefer: respond-async``: stored (committed: acknowledged) before the answer,
    ingested later by the background worker, which resumes by the push's identity after a crash (the body is
    dropped once it is ingested; the report stays)."""

    __tablename__ = "secmon_push"
    __table_args__ = (
        UniqueConstraint("sensor", "idempotency_key", name="uq_secmon_push_key"),
        Index("ix_secmon_push_state", "state", "received_at"),
    )

    id: str = Field(sa_column=Column(String(32), primary_key=True))
    sensor: str = Field(sa_column=Column(String(100), nullable=False))
    idempotency_key: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    state: str = Field(default="queued", sa_column=Column(String(10), nullable=False))  # queued|running|done|failed
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    body: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    received_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    claimed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    finished_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    report: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


# ============================================================================ strike and governance (secmon_0003)
#
# Assets: an information system (owned by an organisation — a ``portal_organisation`` id —, built by a
# ``registry_project``, with its MLPS level and criticality) covers networks and hosts (CIDR). Every address
# resolves to the asset with the longest covering prefix. ``range_start``/``range_end`` are the first and last
# address of the CIDR as 32 hex digits of the 128-bit value (IPv4 as IPv4-mapped ``::ffff:a.b.c.d``), so
# that range containment is a string comparison in SQL on every database.
#
# Cross-package references (organisation, registry project) are ids without a foreign key: each package owns
# its migration branch.

#: the ordered levels used for asset criticality and incident severity
LEVELS = ("low", "medium", "high", "critical")


class SecmonSystem(SQLModel, table=True):
    """An information system: the unit that is graded (MLPS), owned and remediated."""

    __tablename__ = "secmon_system"
    __table_args__ = (UniqueConstraint("name", name="uq_secmon_system_name"),
                      Index("ix_secmon_system_org_id", "org_id"))

    id: str = Field(sa_column=Column(String(32), primary_key=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    org_id: str = Field(sa_column=Column(String(32), nullable=False))  # owning department (portal_organisation.id)
    project_id: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))  # registry_project.id
    mlps_level: int = Field(sa_column=Column(Integer, nullable=False))  # GB/T 22239-2019 level 1..4
    criticality: str = Field(sa_column=Column(String(10), nullable=False))  # one of LEVELS
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class SecmonAssetNetwork(SQLModel, table=True):
    """A network (CIDR) or a host (/32, /128) of an information system."""

    __tablename__ = "secmon_asset_network"
    __table_args__ = (UniqueConstraint("cidr", name="uq_secmon_asset_network_cidr"),
                      Index("ix_secmon_asset_network_system_id", "system_id"),
                      Index("ix_secmon_asset_network_range", "range_start", "range_end"))

    id: str = Field(sa_column=Column(String(32), primary_key=True))
    system_id: str = Field(sa_column=Column(String(32), nullable=False))
    cidr: str = Field(sa_column=Column(String(64), nullable=False))  # normalised (ipaddress.ip_network(strict))
    kind: str = Field(sa_column=Column(String(10), nullable=False))  # network | host
    ip_version: int = Field(sa_column=Column(Integer, nullable=False))  # 4 | 6
    prefix_len: int = Field(sa_column=Column(Integer, nullable=False))  # of the 128-bit form (IPv4: 96 + len)
    range_start: str = Field(sa_column=Column(String(32), nullable=False))
    range_end: str = Field(sa_column=Column(String(32), nullable=False))
    hostname: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class SecmonIncident(SQLModel, table=True):
    """An incident: alerts grouped by a correlation rule. ``id`` is deterministic (rule + group key + first
    alert), so re-ingesting or re-running correlation yields the same incidents."""

    __tablename__ = "secmon_incident"
    __table_args__ = (Index("ix_secmon_incident_state", "state", "severity"),
                      Index("ix_secmon_incident_org_id", "org_id"),
                      Index("ix_secmon_incident_rule_key", "rule_id", "group_key", "last_seen"),
                      Index("ix_secmon_incident_last_seen", "last_seen"))

    id: str = Field(sa_column=Column(String(32), primary_key=True))
    rule_id: str = Field(sa_column=Column(String(100), nullable=False))  # correlation rule name
    group_key: str = Field(sa_column=Column(String(500), nullable=False))  # canonical JSON of the key values
    title: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(sa_column=Column(String(20), nullable=False))  # new triaged contained resolved closed false_positive
    severity: str = Field(sa_column=Column(String(10), nullable=False))  # one of LEVELS
    score: int = Field(sa_column=Column(Integer, nullable=False))  # severity score (suricata × criticality × MLPS)
    alert_severity: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))  # min Suricata severity
    src_ip: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    dest_ip: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    gid: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    sid: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    signature: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    category: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    system_id: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))  # the target's system
    org_id: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))  # its owner
    mlps_level: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    criticality: str | None = Field(default=None, sa_column=Column(String(10), nullable=True))
    first_seen: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    last_seen: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    alert_count: int = Field(sa_column=Column(Integer, nullable=False))
    assignee: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    triaged_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    contained_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    closed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    false_positive_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    triage_due: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    contain_due: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    triage_breached: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    contain_breached: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    notified_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class SecmonIncidentEvent(SQLModel, table=True):
    """Evidence: the alerts of an incident and the events linked to them by flow_id / community_id."""

    __tablename__ = "secmon_incident_event"
    __table_args__ = (Index("ix_secmon_incident_event_event", "source_id", "line_offset"),)

    incident_id: str = Field(sa_column=Column(String(32), primary_key=True))
    source_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    line_offset: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    event_type: str = Field(sa_column=Column(String(40), nullable=False))
    link: str = Field(sa_column=Column(String(20), nullable=False))  # alert | flow_id | community_id
    ts: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class SecmonIncidentComment(SQLModel, table=True):
    __tablename__ = "secmon_incident_comment"
    __table_args__ = (Index("ix_secmon_incident_comment_incident", "incident_id", "created_at"),)

    id: str = Field(sa_column=Column(String(32), primary_key=True))
    incident_id: str = Field(sa_column=Column(String(32), nullable=False))
    author: str = Field(sa_column=Column(String(200), nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class SecmonIncidentTransition(SQLModel, table=True):
    """The lifecycle history of an incident (each transition is also in the audit log)."""

    __tablename__ = "secmon_incident_transition"
    __table_args__ = (Index("ix_secmon_incident_transition_incident", "incident_id", "at"),)

    id: str = Field(sa_column=Column(String(32), primary_key=True))
    incident_id: str = Field(sa_column=Column(String(32), nullable=False))
    from_state: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    to_state: str = Field(sa_column=Column(String(20), nullable=False))
    actor: str = Field(sa_column=Column(String(200), nullable=False))
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class SecmonNotification(SQLModel, table=True):
    """Delivery log of alarms (webhook, e-mail): one row per incident × channel × target, with retries."""

    __tablename__ = "secmon_notification"
    __table_args__ = (Index("ix_secmon_notification_incident", "incident_id"),
                      Index("ix_secmon_notification_status", "status", "next_attempt_at"))

    id: str = Field(sa_column=Column(String(32), primary_key=True))
    incident_id: str = Field(sa_column=Column(String(32), nullable=False))
    channel: str = Field(sa_column=Column(String(10), nullable=False))  # webhook | email
    target: str = Field(sa_column=Column(String(500), nullable=False))
    status: str = Field(sa_column=Column(String(10), nullable=False))  # pending | delivered | failed
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    response_status: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    payload_sha256: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    next_attempt_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class SecmonResponse(SQLModel, table=True):
    """A proposed response (two-person rule: the approver is never the proposer). Its items are block-list
    entries, rule changes and suppress/threshold entries, each in its own table."""

    __tablename__ = "secmon_response"
    __table_args__ = (Index("ix_secmon_response_state", "state", "proposed_at"),
                      Index("ix_secmon_response_incident", "incident_id"))

    id: str = Field(sa_column=Column(String(32), primary_key=True))
    state: str = Field(sa_column=Column(String(12), nullable=False))  # proposed approved rejected withdrawn expired
    title: str = Field(sa_column=Column(String(300), nullable=False))
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    incident_id: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    alert_source_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    alert_line_offset: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    proposed_by: str = Field(sa_column=Column(String(200), nullable=False))
    proposed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    decided_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    decided_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    decision_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    expires_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class SecmonBlockEntry(SQLModel, table=True):
    """A block-list line (exported as plain text and as a Suricata iprep list); active only once approved
    and until ``expires_at``."""

    __tablename__ = "secmon_block_entry"
    __table_args__ = (Index("ix_secmon_block_entry_response", "response_id"),
                      Index("ix_secmon_block_entry_state", "state", "expires_at"))

    id: str = Field(sa_column=Column(String(32), primary_key=True))
    response_id: str = Field(sa_column=Column(String(32), nullable=False))
    cidr: str = Field(sa_column=Column(String(64), nullable=False))
    ip_version: int = Field(sa_column=Column(Integer, nullable=False))
    range_start: str = Field(sa_column=Column(String(32), nullable=False))
    range_end: str = Field(sa_column=Column(String(32), nullable=False))
    category: str = Field(sa_column=Column(String(64), nullable=False))  # iprep category name
    reputation: int = Field(sa_column=Column(Integer, nullable=False))  # iprep score 1..127
    state: str = Field(sa_column=Column(String(10), nullable=False))  # pending active expired rejected
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    activated_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    removed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class SecmonRuleChange(SQLModel, table=True):
    """A policy line (enable / disable / drop / modify, suricata-update syntax) for the next ``rules build``."""

    __tablename__ = "secmon_rule_change"
    __table_args__ = (Index("ix_secmon_rule_change_response", "response_id"),)

    id: str = Field(sa_column=Column(String(32), primary_key=True))
    response_id: str = Field(sa_column=Column(String(32), nullable=False))
    action: str = Field(sa_column=Column(String(10), nullable=False))  # enable disable drop modify
    selector: str = Field(sa_column=Column(String(300), nullable=False))  # gid:sid, re:…, group:…
    modify_from: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    modify_to: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    state: str = Field(sa_column=Column(String(10), nullable=False))  # pending active expired rejected
    expires_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    applied_version_id: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))


class SecmonSuppression(SQLModel, table=True):
    """A ``threshold.config`` line: suppress / threshold / event_filter / rate_filter for gen_id:sig_id."""

    __tablename__ = "secmon_suppression"
    __table_args__ = (Index("ix_secmon_suppression_response", "response_id"),
                      Index("ix_secmon_suppression_sid", "gid", "sid"))

    id: str = Field(sa_column=Column(String(32), primary_key=True))
    response_id: str = Field(sa_column=Column(String(32), nullable=False))
    kind: str = Field(sa_column=Column(String(12), nullable=False))  # suppress threshold event_filter rate_filter
    gid: int = Field(sa_column=Column(Integer, nullable=False))
    sid: int = Field(sa_column=Column(BigInteger, nullable=False))
    track: str | None = Field(default=None, sa_column=Column(String(10), nullable=True))  # by_src by_dst by_rule by_either
    ip: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))  # suppress: address/CIDR
    threshold_type: str | None = Field(default=None, sa_column=Column(String(10), nullable=True))  # limit threshold both
    count: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    seconds: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    state: str = Field(sa_column=Column(String(10), nullable=False))  # pending active expired rejected
    expires_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    applied_version_id: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))


class SecmonRemediationTask(SQLModel, table=True):
    """A fix the owning department must make; verified only after ``quiet_days`` without the signature on
    the asset after the fix. Overdue tasks are flagged and escalated."""

    __tablename__ = "secmon_remediation_task"
    __table_args__ = (Index("ix_secmon_remediation_task_org", "org_id", "state"),
                      Index("ix_secmon_remediation_task_incident", "incident_id"),
                      Index("ix_secmon_remediation_task_due", "state", "due_at"))

    id: str = Field(sa_column=Column(String(32), primary_key=True))
    incident_id: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    org_id: str = Field(sa_column=Column(String(32), nullable=False))  # the department responsible
    system_id: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    asset_ip: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))  # the affected address
    gid: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    sid: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    signature: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    title: str = Field(sa_column=Column(String(300), nullable=False))
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    severity: str = Field(sa_column=Column(String(10), nullable=False))  # one of LEVELS
    state: str = Field(sa_column=Column(String(12), nullable=False))  # open fixed verified reopened cancelled
    created_by: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    due_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    quiet_days: int = Field(sa_column=Column(Integer, nullable=False))
    fixed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    fixed_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    fix_evidence: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    verified_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    verification_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    overdue: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    escalated_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    escalation_level: int = Field(default=0, sa_column=Column(Integer, nullable=False))
