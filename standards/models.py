"""Tables of the standards registry.

* ``standards_standard`` — a named standard: kind (``jsonschema`` | ``openapi`` | ``shacl``), its
  compatibility rule (Confluent levels) and whether the strict content-model check applies.
* ``standards_version`` — immutable versions: semantic version, sha256 of the content, the content itself,
  an optional ontology (SHACL), the registry URI and ``$id``, state ``draft → published → deprecated →
  retired`` and who moved it when; ``validity`` keeps the verdict computed once at publish.
* ``standards_resource`` — extra documents of an uploaded bundle (resolvable ``$ref`` targets), by URI.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (JSON, Boolean, Column, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text,
                        UniqueConstraint, true)
from sqlmodel import Field, SQLModel

from kernel.clock import isoformat, utcnow
from kernel.ids import new_id

KINDS = ("jsonschema", "openapi", "shacl")
STATES = ("draft", "published", "deprecated", "disabled", "retired")


def _ts(value: datetime | None) -> str | None:
    return isoformat(value) if value is not None else None


class Standard(SQLModel, table=True):
    __tablename__ = "standards_standard"

    id: str = Field(default_factory=new_id, sa_column=Column(String(32), primary_key=True))
    name: str = Field(sa_column=Column(String(120), nullable=False, unique=True))
    kind: str = Field(sa_column=Column(String(20), nullable=False))
    title: str = Field(default="", sa_column=Column(String(300), nullable=False, default=""))
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    compatibility: str = Field(default="BACKWARD", sa_column=Column(String(30), nullable=False, default="BACKWARD"))
    strict: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    # assert `format` (date, email, uri ...) when validating data: on by default for the city's data standards
    format_assert: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, default=True,
                                                              server_default=true()))
    # the commission's lint rule set for this standard (YAML, extends the citygov defaults); NULL = defaults
    lint_ruleset: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "kind": self.kind, "title": self.title,
                "description": self.description, "compatibility": self.compatibility, "strict": self.strict,
                "format_assert": self.format_assert, "has_lint_ruleset": self.lint_ruleset is not None,
                "created_at": _ts(self.created_at), "created_by": self.created_by}


class StandardVersion(SQLModel, table=True):
    __tablename__ = "standards_version"
    __table_args__ = (
        UniqueConstraint("standard_id", "version", name="uq_standards_version_standard_version"),
        Index("ix_standards_version_standard_id", "standard_id"),
        Index("ix_standards_version_schema_id", "schema_id"),
    )

    id: str = Field(default_factory=new_id, sa_column=Column(String(32), primary_key=True))
    standard_id: str = Field(sa_column=Column(String(32), ForeignKey("standards_standard.id"), nullable=False))
    version: str = Field(sa_column=Column(String(60), nullable=False))
    major: int = Field(sa_column=Column(Integer, nullable=False))
    minor: int = Field(sa_column=Column(Integer, nullable=False))
    patch: int = Field(sa_column=Column(Integer, nullable=False))
    sha256: str = Field(sa_column=Column(String(64), nullable=False))
    media_type: str = Field(sa_column=Column(String(60), nullable=False))
    dialect: str = Field(default="", sa_column=Column(String(40), nullable=False, default=""))
    content: str = Field(sa_column=Column(Text, nullable=False))
    raw: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))  # exact published bytes
    ontology: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    ontology_media_type: str | None = Field(default=None, sa_column=Column(String(60), nullable=True))
    uri: str = Field(sa_column=Column(String(500), nullable=False, unique=True))
    schema_id: str | None = Field(default=None, sa_column=Column(String(500), nullable=True))
    state: str = Field(default="draft", sa_column=Column(String(20), nullable=False, default="draft"))
    validity: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))
    published_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    published_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    deprecated_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    retired_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))

    @property
    def semver(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def published_bytes(self) -> tuple[bytes, str]:
        """``(bytes, sha256)`` of what is served: the exact upload, or for versions stored before the bytes were
        kept, the stored text and its own hash."""
        from kernel.ids import sha256_hex

        if self.raw is not None:
            return self.raw, self.sha256
        body = self.content.encode("utf-8")
        return body, sha256_hex(body)

    def to_dict(self, *, content: bool = False) -> dict[str, Any]:
        out = {"id": self.id, "standard_id": self.standard_id, "version": self.version, "sha256": self.sha256,
               "media_type": self.media_type, "dialect": self.dialect, "uri": self.uri, "schema_id": self.schema_id,
               "state": self.state, "created_at": _ts(self.created_at), "created_by": self.created_by,
               "published_at": _ts(self.published_at), "published_by": self.published_by,
               "deprecated_at": _ts(self.deprecated_at), "retired_at": _ts(self.retired_at),
               "has_ontology": self.ontology is not None}
        if content:
            out["content"] = self.content
            if self.ontology is not None:
                out["ontology"] = self.ontology
        return out


class StandardSetting(SQLModel, table=True):
    """Registry-wide settings, e.g. ``default_compatibility`` (the level a new standard gets by default)."""

    __tablename__ = "standards_setting"

    key: str = Field(sa_column=Column(String(60), primary_key=True))
    value: str = Field(sa_column=Column(String(200), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_by: str = Field(sa_column=Column(String(200), nullable=False))


class StandardResource(SQLModel, table=True):
    __tablename__ = "standards_resource"
    __table_args__ = (
        UniqueConstraint("version_id", "uri", name="uq_standards_resource_version_uri"),
        Index("ix_standards_resource_uri", "uri"),
    )

    id: str = Field(default_factory=new_id, sa_column=Column(String(32), primary_key=True))
    version_id: str = Field(sa_column=Column(String(32), ForeignKey("standards_version.id"), nullable=False))
    uri: str = Field(sa_column=Column(String(500), nullable=False))
    sha256: str = Field(sa_column=Column(String(64), nullable=False))
    content: str = Field(sa_column=Column(Text, nullable=False))
