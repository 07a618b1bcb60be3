"""Tables of the open-data catalog (all prefixed ``opendata_``).

* ``opendata_dataset`` — a dataset with its DCAT-AP metadata (zh/en), the owning department, its
  grade (not_open | conditional | unconditional, with a reason; ``not_open`` until graded), the declared
  quasi-identifiers and its release state (draft → checked → approved → published → withdrawn).
* ``opendata_search_doc`` / ``opendata_dataset_tag`` — the full-text search documents and the tag rows
  used for facet counts (written by :mod:`opendata.search`; on SQLite an FTS5 external-content table
  ``opendata_search_fts`` indexes the documents, on PostgreSQL the ``tsv`` column with a GIN index).
* ``opendata_distribution`` — a file of a dataset (CSV, XLSX, JSON, GeoJSON) stored by its SHA-256
  digest, so the audit entries of the release prove which bytes passed the gate.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlmodel import Field, SQLModel

from kernel.clock import utcnow
from kernel.ids import new_id


def _ts(nullable: bool = False) -> Column:
    return Column(DateTime(timezone=True), nullable=nullable)


class Dataset(SQLModel, table=True):
    __tablename__ = "opendata_dataset"
    __table_args__ = (
        Index("ix_opendata_dataset_name", "name", unique=True),
        Index("ix_opendata_dataset_org_id", "org_id"),
        Index("ix_opendata_dataset_state", "state"),
    )

    id: str = Field(default_factory=new_id, sa_column=Column(String(32), primary_key=True))
    name: str = Field(sa_column=Column(String(100), nullable=False))
    org_id: str = Field(sa_column=Column(String(64), nullable=False))
    organisation: str = Field(sa_column=Column(String(200), nullable=False))
    title_zh: str = Field(sa_column=Column(String(300), nullable=False))
    title_en: str = Field(sa_column=Column(String(300), nullable=False))
    description_zh: str = Field(sa_column=Column(Text, nullable=False))
    description_en: str = Field(sa_column=Column(Text, nullable=False))
    theme: str = Field(sa_column=Column(String(20), nullable=False))
    keywords: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    licence: str = Field(sa_column=Column(String(40), nullable=False))
    frequency: str = Field(sa_column=Column(String(20), nullable=False))
    temporal_start: str | None = Field(default=None, sa_column=Column(String(10), nullable=True))
    temporal_end: str | None = Field(default=None, sa_column=Column(String(10), nullable=True))
    spatial: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    contact_email: str = Field(sa_column=Column(String(200), nullable=False))
    conforms_to: str | None = Field(default=None, sa_column=Column(String(300), nullable=True))
    grade: str = Field(default="not_open", sa_column=Column(String(20), nullable=False))
    grade_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    quasi_identifiers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    state: str = Field(default="draft", sa_column=Column(String(20), nullable=False))
    prepared_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    approved_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    check_summary: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    published_at: datetime | None = Field(default=None, sa_column=_ts(True))
    #: set by the stale-dataset job when the data is older than its declared update frequency
    stale_since: datetime | None = Field(default=None, sa_column=_ts(True))
    #: when the owners were told (e-mail delivered); a notice not delivered is tried again on the next run
    stale_notified_at: datetime | None = Field(default=None, sa_column=_ts(True))


class Distribution(SQLModel, table=True):
    __tablename__ = "opendata_distribution"
    __table_args__ = (Index("ix_opendata_distribution_dataset_id", "dataset_id"),)

    id: str = Field(default_factory=new_id, sa_column=Column(String(32), primary_key=True))
    dataset_id: str = Field(sa_column=Column(String(32), ForeignKey("opendata_dataset.id"), nullable=False))
    title: str = Field(sa_column=Column(String(300), nullable=False))
    format: str = Field(sa_column=Column(String(20), nullable=False))
    media_type: str = Field(sa_column=Column(String(100), nullable=False))
    filename: str = Field(sa_column=Column(String(300), nullable=False))
    byte_size: int = Field(sa_column=Column(BigInteger, nullable=False))
    sha256: str = Field(sa_column=Column(String(64), nullable=False))
    rows: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class AccessApplication(SQLModel, table=True):
    """An application for a conditionally open dataset; approval issues a scoped API key (stored as
    its SHA-256) valid until ``expires_at``; revocation takes effect on the next request."""

    __tablename__ = "opendata_access_application"
    __table_args__ = (Index("ix_opendata_access_application_dataset_id", "dataset_id"),
                      Index("ix_opendata_access_application_key_hash", "key_hash", unique=True))

    id: str = Field(default_factory=new_id, sa_column=Column(String(32), primary_key=True))
    dataset_id: str = Field(sa_column=Column(String(32), ForeignKey("opendata_dataset.id"), nullable=False))
    applicant: str = Field(sa_column=Column(String(200), nullable=False))
    applicant_name: str = Field(sa_column=Column(String(200), nullable=False))
    applicant_org: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    purpose: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(default="pending", sa_column=Column(String(20), nullable=False))
    decided_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    decision_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    expires_at: datetime | None = Field(default=None, sa_column=_ts(True))
    key_hash: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    key_prefix: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    decided_at: datetime | None = Field(default=None, sa_column=_ts(True))


class Download(SQLModel, table=True):
    """Every download of a distribution: who (actor or access application), what, when."""

    __tablename__ = "opendata_download"
    __table_args__ = (Index("ix_opendata_download_dataset_id", "dataset_id"),)

    id: str = Field(default_factory=new_id, sa_column=Column(String(32), primary_key=True))
    dataset_id: str = Field(sa_column=Column(String(32), ForeignKey("opendata_dataset.id"), nullable=False))
    distribution_id: str = Field(sa_column=Column(String(32), ForeignKey("opendata_distribution.id"), nullable=False))
    application_id: str | None = Field(default=None, sa_column=Column(String(32), ForeignKey("opendata_access_application.id"), nullable=True))
    actor: str = Field(sa_column=Column(String(200), nullable=False))
    at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class SearchDoc(SQLModel, table=True):
    """The search document of a dataset (tokens computed by :mod:`opendata.search`)."""

    __tablename__ = "opendata_search_doc"
    __table_args__ = (Index("ix_opendata_search_doc_dataset_id", "dataset_id", unique=True),
                      Index("ix_opendata_search_doc_tsv", "tsv", postgresql_using="gin"))

    docid: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    dataset_id: str = Field(sa_column=Column(String(32), ForeignKey("opendata_dataset.id", ondelete="CASCADE"), nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    uni: str = Field(sa_column=Column(Text, nullable=False))
    meta: str = Field(sa_column=Column(Text, nullable=False))
    #: PostgreSQL: the tsvector (lexemes with positions and weights); unused (NULL) on SQLite
    tsv: str | None = Field(default=None, sa_column=Column(Text().with_variant(TSVECTOR(), "postgresql"), nullable=True))


class DatasetTag(SQLModel, table=True):
    """A dataset's keyword, one row each (facet counts over search results)."""

    __tablename__ = "opendata_dataset_tag"
    __table_args__ = (Index("ix_opendata_dataset_tag_tag", "tag"),)

    dataset_id: str = Field(sa_column=Column(String(32), ForeignKey("opendata_dataset.id", ondelete="CASCADE"), primary_key=True))
    tag: str = Field(sa_column=Column(String(200), primary_key=True))


# the full-text index's ORM hook keeps the catalog's search documents in step with every flush: wherever these
# tables are mapped, it is registered
from opendata import search  # noqa: E402,F401
