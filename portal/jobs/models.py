"""The background jobs table: long work (imports, certification runs, rule builds, scans) queued by a page,
run by a worker, followed by the page — it survives page reloads and server restarts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from kernel.clock import utcnow
from kernel.ids import new_id


def _ts(nullable: bool = True) -> Column:
    return Column(DateTime(timezone=True), nullable=nullable)


class Job(SQLModel, table=True):
    __tablename__ = "portal_job"
    __table_args__ = (
        Index("ix_portal_job_state", "state"),
        Index("ix_portal_job_user_id", "user_id"),
    )

    id: str = Field(default_factory=new_id, sa_column=Column(String(32), primary_key=True))
    kind: str = Field(sa_column=Column(String(60), nullable=False))
    title: str = Field(default="", sa_column=Column(String(300), nullable=False, default=""))
    state: str = Field(default="queued", sa_column=Column(String(20), nullable=False, default="queued"))
    user_id: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    actor: str = Field(sa_column=Column(String(200), nullable=False))
    org_id: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    payload: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # an uploaded file (text)
    progress: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))
    message: str = Field(default="", sa_column=Column(String(500), nullable=False, default=""))
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    error: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(False))
    started_at: datetime | None = Field(default=None, sa_column=_ts())
    heartbeat_at: datetime | None = Field(default=None, sa_column=_ts())
    finished_at: datetime | None = Field(default=None, sa_column=_ts())
