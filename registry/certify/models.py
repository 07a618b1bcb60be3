"""Tables of vendor certification (prefixed ``registry_cert``).

* ``registry_cert_run`` — one certification run: who (vendor organisation), what (system, standard
  ``NAME@VERSION``, sha256 of the vendor document and of the report), the verdict and the full report.
* ``registry_certificate`` — an issued certificate: serial, the run, the signed JWS, the audit-log index of
  its issue event, the certificate file (JWS + inclusion proof + checkpoint), status ``valid | revoked |
  expired | superseded`` with the time and reason of the change;
* ``registry_cert_auto_policy`` — the commission's auto-approval policy per standard name (``*``: every
  standard without its own): a conformant run meeting it gets its certificate issued automatically;
* ``registry_cert_project_link`` — a project of the library references the certificate of an interface it
  provides or consumes (by interface name as written in the proposal).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Column, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from kernel.clock import isoformat, utcnow
from kernel.ids import new_id

STATUSES = ("valid", "revoked", "expired", "superseded")


def _ts(nullable: bool = False) -> Column:
    return Column(DateTime(timezone=True), nullable=nullable)


def _iso(v: datetime | None) -> str | None:
    return isoformat(v) if v is not None else None


class CertRun(SQLModel, table=True):
    __tablename__ = "registry_cert_run"
    __table_args__ = (
        Index("ix_registry_cert_run_vendor_org_id", "vendor_org_id"),
        Index("ix_registry_cert_run_standard_name", "standard_name"),
    )

    id: str = Field(default_factory=new_id, sa_column=Column(String(32), primary_key=True))
    vendor_org_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    vendor: str = Field(default="", sa_column=Column(String(200), nullable=False, default=""))
    system: str = Field(default="", sa_column=Column(String(200), nullable=False, default=""))
    standard_name: str = Field(sa_column=Column(String(120), nullable=False))
    standard_version: str = Field(sa_column=Column(String(60), nullable=False))
    standard_sha256: str = Field(sa_column=Column(String(64), nullable=False))
    vendor_sha256: str = Field(sa_column=Column(String(64), nullable=False))
    vendor_filename: str = Field(default="", sa_column=Column(String(300), nullable=False, default=""))
    vendor_document: str = Field(sa_column=Column(Text, nullable=False))
    report_sha256: str = Field(sa_column=Column(String(64), nullable=False))
    conformant: bool = Field(sa_column=Column(Boolean, nullable=False))
    summary: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    report: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    created_by: str = Field(sa_column=Column(String(200), nullable=False))

    def to_dict(self, *, report: bool = False) -> dict[str, Any]:
        out = {"id": self.id, "vendor_org_id": self.vendor_org_id, "vendor": self.vendor, "system": self.system,
               "standard": f"{self.standard_name}@{self.standard_version}", "standard_sha256": self.standard_sha256,
               "vendor_sha256": self.vendor_sha256, "vendor_filename": self.vendor_filename,
               "report_sha256": self.report_sha256, "conformant": self.conformant, "summary": self.summary,
               "created_at": _iso(self.created_at), "created_by": self.created_by}
        if report:
            out["report"] = self.report
        return out


class Certificate(SQLModel, table=True):
    __tablename__ = "registry_certificate"
    __table_args__ = (
        Index("ix_registry_certificate_vendor_org_id", "vendor_org_id"),
        Index("ix_registry_certificate_standard_name", "standard_name"),
        Index("ix_registry_certificate_status", "status"),
        Index("ix_registry_certificate_run_id", "run_id"),
    )

    serial: str = Field(sa_column=Column(String(40), primary_key=True))
    run_id: str = Field(sa_column=Column(String(32), ForeignKey("registry_cert_run.id"), nullable=False))
    vendor_org_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    vendor: str = Field(default="", sa_column=Column(String(200), nullable=False, default=""))
    system: str = Field(default="", sa_column=Column(String(200), nullable=False, default=""))
    standard_name: str = Field(sa_column=Column(String(120), nullable=False))
    standard_version: str = Field(sa_column=Column(String(60), nullable=False))
    standard_major: int = Field(sa_column=Column(Integer, nullable=False))
    vendor_sha256: str = Field(sa_column=Column(String(64), nullable=False))
    report_sha256: str = Field(sa_column=Column(String(64), nullable=False))
    scope: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    issued_at: datetime = Field(sa_column=_ts())
    expires_at: datetime = Field(sa_column=_ts())
    issued_by: str = Field(sa_column=Column(String(200), nullable=False))
    key_id: str = Field(sa_column=Column(String(16), nullable=False))
    jws: str = Field(sa_column=Column(Text, nullable=False))
    audit_index: int = Field(sa_column=Column(Integer, nullable=False))
    document: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    status: str = Field(default="valid", sa_column=Column(String(20), nullable=False, default="valid"))
    status_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    status_changed_at: datetime | None = Field(default=None, sa_column=_ts(True))
    status_changed_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))

    def to_dict(self, *, document: bool = False) -> dict[str, Any]:
        out = {"serial": self.serial, "run_id": self.run_id, "vendor_org_id": self.vendor_org_id,
               "vendor": self.vendor, "system": self.system,
               "standard": f"{self.standard_name}@{self.standard_version}", "vendor_sha256": self.vendor_sha256,
               "report_sha256": self.report_sha256, "scope": list(self.scope or []),
               "issued_at": _iso(self.issued_at), "expires_at": _iso(self.expires_at), "issued_by": self.issued_by,
               "key_id": self.key_id, "audit_index": self.audit_index, "status": self.status,
               "status_reason": self.status_reason, "status_changed_at": _iso(self.status_changed_at)}
        if document:
            out["certificate"] = self.document
        return out


class CertAutoPolicy(SQLModel, table=True):
    """Auto-approval policy of the commission for the certificates of one standard (``*``: the default)."""

    __tablename__ = "registry_cert_auto_policy"

    standard_name: str = Field(sa_column=Column(String(120), primary_key=True))
    enabled: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, default=True))
    min_coverage: float = Field(default=1.0, sa_column=Column(Float, nullable=False, default=1.0))
    require_traffic: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, default=True))
    max_warnings: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    vendors: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    validity_days: int = Field(default=365, sa_column=Column(Integer, nullable=False, default=365))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False, default=1))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_by: str = Field(sa_column=Column(String(200), nullable=False))

    def to_dict(self) -> dict[str, Any]:
        return {"standard": self.standard_name, "enabled": self.enabled, "min_coverage": self.min_coverage,
                "require_traffic": self.require_traffic, "max_warnings": self.max_warnings,
                "vendors": list(self.vendors or []), "validity_days": self.validity_days, "version": self.version,
                "updated_at": _iso(self.updated_at), "updated_by": self.updated_by}


class ProjectCertLink(SQLModel, table=True):
    """A project's interface (``provided`` / ``consumed``, by name) references a certificate."""

    __tablename__ = "registry_cert_project_link"
    __table_args__ = (
        UniqueConstraint("project_id", "direction", "interface", name="uq_registry_cert_project_link"),
        Index("ix_registry_cert_project_link_serial", "serial"),
    )

    id: str = Field(default_factory=new_id, sa_column=Column(String(32), primary_key=True))
    project_id: str = Field(sa_column=Column(String(32), nullable=False))
    direction: str = Field(sa_column=Column(String(10), nullable=False))
    interface: str = Field(sa_column=Column(String(200), nullable=False))
    serial: str = Field(sa_column=Column(String(40), ForeignKey("registry_certificate.serial"), nullable=False))
    linked_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    linked_by: str = Field(sa_column=Column(String(200), nullable=False))
