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

from sqlalchemy import JSON, BigInteger, Boolean, Column, Date, DateTime, Index, Integer, String, Text, UniqueConstraint
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
    first_name: str = Field(sa_column=Column(String(500), nullable=False))
    high_water: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    events: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    quarantined: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class SecmonEvent(SQLModel, table=True):
    __tablename__ = "secmon_event"
    __table_args__ = (
        Index("ix_secmon_event_type_ts", "event_type", "ts"),
        Index("ix_secmon_event_flow_id", "flow_id", sqlite_where=text(FLOW_WHERE), postgresql_where=text(FLOW_WHERE)),
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
    source_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    line_offset: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hostname: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    method: str | None = Field(default=None, sa_column=Column(String(40), nullable=True))
    status: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    user_agent: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class SecmonTls(SQLModel, table=True):
    __tablename__ = "secmon_tls"
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
