"""Stored evaluation reports (immutable; digests in the audit log) and scheduler job claims."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Float, Index, LargeBinary, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class SecmonEvaluationReport(SQLModel, table=True):
    """One finished report. ``document`` is the canonical JSON whose SHA-256 is ``digest``; ``html`` and ``pdf``
    are renderings of it with their own digests. Rows are never updated, except that a PDF may be added once."""

    __tablename__ = "secmon_evaluation_report"
    __table_args__ = (
        UniqueConstraint("period", "scope", "digest", name="uq_secmon_evaluation_report_digest"),
        Index("ix_secmon_evaluation_report_scope", "scope", "period", "created_at"),
    )

    id: str = Field(sa_column=Column(String(32), primary_key=True))
    period: str = Field(sa_column=Column(String(20), nullable=False))
    period_start: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    scope: str = Field(sa_column=Column(String(200), nullable=False))
    scope_name: str = Field(sa_column=Column(String(300), nullable=False))
    score: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    band: str | None = Field(default=None, sa_column=Column(String(40), nullable=True))
    digest: str = Field(sa_column=Column(String(64), nullable=False))
    document: str = Field(sa_column=Column(Text, nullable=False))
    html_digest: str = Field(sa_column=Column(String(64), nullable=False))
    html: str = Field(sa_column=Column(Text, nullable=False))
    pdf_digest: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    pdf: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))


class SecmonJobClaim(SQLModel, table=True):
    """A scheduler job's claim on a unit of work (``evaluation:quarter:2024-Q1:city``): the first process to
    insert the row runs it; others skip; a claim left ``running`` past ``expires_at`` can be taken over."""

    __tablename__ = "secmon_job_claim"

    key: str = Field(sa_column=Column(String(300), primary_key=True))
    status: str = Field(sa_column=Column(String(20), nullable=False))  # running | done | failed
    holder: str = Field(sa_column=Column(String(200), nullable=False))
    claimed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    outcome: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
