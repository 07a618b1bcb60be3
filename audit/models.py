"""Audit tables: the events (leaves), the complete-subtree hashes, the signed checkpoints.

* ``audit_event`` — one row per event; ``seq`` (0, 1, 2, …) is the leaf index in the Merkle tree. The
  leaf bytes are the RFC 8785 canonical JSON of :meth:`AuditEvent.leaf_object` (which omits the private
  details and their salt: the leaf commits only to their salted digest).
* ``audit_node`` — ``(level, idx) → hash`` of every complete aligned subtree; level 0 holds leaf hashes.
  About 2n rows for n events; an append writes 1 + (trailing 1-bits of n) rows.
* ``audit_checkpoint`` — every signed checkpoint (C2SP tlog-checkpoint signed note), kept forever.

Keys are not in the database: they live in a key directory (the instance folder), see ``audit.notes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Integer, LargeBinary, SmallInteger, String, Text
from sqlmodel import Field, SQLModel

from kernel.clock import as_utc

LEAF_VERSION = 1


def format_time(value: datetime) -> str:
    """The leaf's time format: RFC 3339, UTC, always six fractional digits, ``Z``."""
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_actor", "actor"),
        Index("ix_audit_event_action", "action"),
        Index("ix_audit_event_object", "object_type", "object_id"),
        Index("ix_audit_event_created_at", "created_at"),
    )

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    actor: str = Field(sa_column=Column(String(200), nullable=False))
    action: str = Field(sa_column=Column(String(120), nullable=False))
    object_type: str = Field(sa_column=Column(String(60), nullable=False))
    object_id: str = Field(sa_column=Column(String(200), nullable=False))
    state_digest: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    request_id: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    private_digest: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    private_salt: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    private_details: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))

    def leaf_object(self) -> dict[str, Any]:
        return leaf_object(
            {
                "seq": self.seq,
                "created_at": self.created_at,
                "actor": self.actor,
                "action": self.action,
                "object_type": self.object_type,
                "object_id": self.object_id,
                "state_digest": self.state_digest,
                "request_id": self.request_id,
                "details": self.details,
                "private_digest": self.private_digest,
            }
        )

    @property
    def area(self) -> str:
        return self.action.split(":", 1)[0]


def leaf_object(row: Any) -> dict[str, Any]:
    """The public, committed content of an event (a mapping of ``audit_event`` columns) as a JSON object.

    ``{"v", "seq", "time", "actor", "action", "object_type", "object_id", "state_sha256", "request_id",
    "details", "private_sha256"}`` — absent optional values are ``null``.
    """
    return {
        "v": LEAF_VERSION,
        "seq": int(row["seq"]),
        "time": format_time(row["created_at"]),
        "actor": row["actor"],
        "action": row["action"],
        "object_type": row["object_type"],
        "object_id": row["object_id"],
        "state_sha256": row["state_digest"],
        "request_id": row["request_id"],
        "details": row["details"] if row["details"] is not None else {},
        "private_sha256": row["private_digest"],
    }


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """What :func:`audit.record` / :func:`audit.record_many` return: the appended event's columns, as a
    light immutable value (building an ORM instance per append would cost more than the append).

    Offers what callers use of :class:`AuditEvent`: the column attributes, :attr:`area`,
    :meth:`leaf_object`, and item access by column name (so :func:`leaf_object` accepts it).
    ``session.get(AuditEvent, ev.seq)`` loads the stored row.
    """

    seq: int
    created_at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    state_digest: str | None
    request_id: str | None
    details: dict[str, Any]
    private_digest: str | None
    private_salt: str | None
    private_details: dict[str, Any] | None

    def __getitem__(self, name: str) -> Any:
        if name not in self.__dataclass_fields__:
            raise KeyError(name)
        return getattr(self, name)

    def leaf_object(self) -> dict[str, Any]:
        return leaf_object(self)

    @property
    def area(self) -> str:
        return self.action.split(":", 1)[0]


class AuditNode(SQLModel, table=True):
    __tablename__ = "audit_node"
    __table_args__ = (Index("ix_audit_node_hash", "hash"),)

    level: int = Field(sa_column=Column(SmallInteger, primary_key=True, autoincrement=False))
    idx: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))


class AuditCheckpoint(SQLModel, table=True):
    __tablename__ = "audit_checkpoint"
    __table_args__ = (Index("ix_audit_checkpoint_tree_size", "tree_size"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    origin: str = Field(sa_column=Column(String(200), nullable=False))
    tree_size: int = Field(sa_column=Column(BigInteger, nullable=False))
    root_hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    key_id: str = Field(sa_column=Column(String(8), nullable=False))
    note: str = Field(sa_column=Column(Text, nullable=False))
