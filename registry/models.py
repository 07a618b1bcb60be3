"""Tables of the project library (all prefixed ``registry_``).

* ``registry_project`` — one proposal: the validated proposal document (``data``) plus the columns the
  commission filters and totals by, its lifecycle ``state`` (see :mod:`registry.lifecycle`), the pre-check
  findings and the duplicate-construction matches found on submit, and the decision.
* ``registry_transition`` — every lifecycle transition (event, from, to, actor, reason); each one is also an
  audit event.
* ``registry_rule`` — pre-check rules added by the commission (the packaged rule set is a data file).
* ``registry_panel`` / ``registry_panel_member`` / ``registry_review`` — expert review rounds, their members
  and one review per expert per panel.
* ``registry_pair`` — a pair of projects marked duplicate / related / distinct by the commission.

Organisations and users live in the portal: the registry keeps their ids and codes as plain strings.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (JSON, BigInteger, Boolean, Column, Date, DateTime, Float, ForeignKey, Index, Integer, LargeBinary,
                        String, Text, UniqueConstraint)
from sqlmodel import Field, SQLModel

from kernel.clock import utcnow
from kernel.ids import new_id


def _ts(nullable: bool = False) -> Column:
    return Column(DateTime(timezone=True), nullable=nullable)


class Project(SQLModel, table=True):
    __tablename__ = "registry_project"
    __table_args__ = (
        Index("ix_registry_project_org_id", "org_id"),
        Index("ix_registry_project_state", "state"),
        Index("ix_registry_project_area", "area"),
        Index("ix_registry_project_updated_at", "updated_at"),
        Index("ix_registry_project_seq", "seq"),
        # the list's pages: (filter, order, id) so a page's ids come from an index alone (registry_0003)
        Index("ix_registry_project_updated_id_title", "updated_at", "id", "title"),
        Index("ix_registry_project_created_id", "created_at", "id"),
        Index("ix_registry_project_title_id", "title", "id"),
        Index("ix_registry_project_budget_id", "budget", "id"),
        Index("ix_registry_project_state_updated", "state", "updated_at", "id"),
        Index("ix_registry_project_area_updated", "area", "updated_at", "id"),
        Index("ix_registry_project_org_updated", "org_id", "updated_at", "id"),
    )

    id: str = Field(default_factory=new_id, sa_column=Column(String(32), primary_key=True))
    org_id: str = Field(sa_column=Column(String(64), nullable=False))
    organisation: str = Field(default="", sa_column=Column(String(200), nullable=False, default=""))
    district: str = Field(default="", sa_column=Column(String(100), nullable=False, default=""))
    title: str = Field(sa_column=Column(String(300), nullable=False))
    area: str = Field(default="", sa_column=Column(String(40), nullable=False, default=""))
    construction_mode: str = Field(default="", sa_column=Column(String(40), nullable=False, default=""))
    deployment: str = Field(default="", sa_column=Column(String(40), nullable=False, default=""))
    budget: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    start_year: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    end_year: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    mlps_level: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    state: str = Field(default="draft", sa_column=Column(String(30), nullable=False, default="draft"))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    schema_ref: str = Field(default="", sa_column=Column(String(200), nullable=False, default=""))
    precheck: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    matches: list[Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    decision: str | None = Field(default=None, sa_column=Column(String(30), nullable=True))
    decision_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    revision: int = Field(default=1, sa_column=Column(Integer, nullable=False, default=1))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    submitted_at: datetime | None = Field(default=None, sa_column=_ts(True))
    decided_at: datetime | None = Field(default=None, sa_column=_ts(True))
    #: the library's change counter value of this row's last change (see :class:`Library`)
    seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    decision_ref: str = Field(default="", sa_column=Column(String(100), nullable=False, default=""))
    started_at: datetime | None = Field(default=None, sa_column=_ts(True))
    completed_at: datetime | None = Field(default=None, sa_column=_ts(True))
    evaluated_at: datetime | None = Field(default=None, sa_column=_ts(True))


class Library(SQLModel, table=True):
    """One row: the library's identity (``uid``, so a persisted index never serves another database) and its
    change counter ``seq``, bumped by every change that can alter duplicate ranking. Writers bump it in their
    transaction (a row lock, so commits happen in counter order); readers compare one integer to know
    whether their index is fresh, then read only the rows with a higher ``seq``."""

    __tablename__ = "registry_library"

    id: int = Field(default=1, sa_column=Column(Integer, primary_key=True, autoincrement=False))
    uid: str = Field(default_factory=new_id, sa_column=Column(String(32), nullable=False))
    seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))


class Target(SQLModel, table=True):
    """A measurable target declared on approval, and the actual value recorded at acceptance."""

    __tablename__ = "registry_target"
    __table_args__ = (UniqueConstraint("project_id", "indicator", name="uq_registry_target_project_indicator"),)

    id: str = Field(default_factory=new_id, sa_column=Column(String(32), primary_key=True))
    project_id: str = Field(sa_column=Column(String(32), ForeignKey("registry_project.id"), nullable=False))
    indicator: str = Field(sa_column=Column(String(200), nullable=False))
    unit: str = Field(sa_column=Column(String(40), nullable=False))
    baseline: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    target: float = Field(sa_column=Column(Float, nullable=False))
    #: "up" (higher is better) or "down" (lower is better, e.g. processing time)
    direction: str = Field(default="up", sa_column=Column(String(10), nullable=False, default="up"))
    due: date = Field(sa_column=Column(Date, nullable=False))
    actual: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Milestone(SQLModel, table=True):
    """A construction milestone with the money spent on it."""

    __tablename__ = "registry_milestone"
    __table_args__ = (Index("ix_registry_milestone_project_id", "project_id"),)

    id: str = Field(default_factory=new_id, sa_column=Column(String(32), primary_key=True))
    project_id: str = Field(sa_column=Column(String(32), ForeignKey("registry_project.id"), nullable=False))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    reached_on: date = Field(sa_column=Column(Date, nullable=False))
    spent: float = Field(default=0.0, sa_column=Column(Float, nullable=False, default=0.0))
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    recorded_by: str = Field(sa_column=Column(String(200), nullable=False))
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Evidence(SQLModel, table=True):
    """An evidence file of the acceptance (kept in the database: acknowledged evidence is never lost)."""

    __tablename__ = "registry_evidence"
    __table_args__ = (Index("ix_registry_evidence_project_id", "project_id"),)

    id: str = Field(default_factory=new_id, sa_column=Column(String(32), primary_key=True))
    project_id: str = Field(sa_column=Column(String(32), ForeignKey("registry_project.id"), nullable=False))
    filename: str = Field(sa_column=Column(String(255), nullable=False))
    media_type: str = Field(default="application/octet-stream", sa_column=Column(String(100), nullable=False))
    sha256: str = Field(sa_column=Column(String(64), nullable=False))
    size: int = Field(sa_column=Column(Integer, nullable=False))
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    uploaded_by: str = Field(sa_column=Column(String(200), nullable=False))
    uploaded_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Evaluation(SQLModel, table=True):
    """The post-construction evaluation: actual against target per indicator, a rating and its reasons."""

    __tablename__ = "registry_evaluation"

    id: str = Field(default_factory=new_id, sa_column=Column(String(32), primary_key=True))
    project_id: str = Field(sa_column=Column(String(32), ForeignKey("registry_project.id"), nullable=False,
                                             unique=True))
    rating: str = Field(sa_column=Column(String(20), nullable=False))
    score: float = Field(sa_column=Column(Float, nullable=False))
    results: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    reasons: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    comment: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    evaluated_by: str = Field(sa_column=Column(String(200), nullable=False))
    evaluated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Transition(SQLModel, table=True):
    __tablename__ = "registry_transition"
    __table_args__ = (Index("ix_registry_transition_project_id", "project_id"),)

    id: str = Field(default_factory=new_id, sa_column=Column(String(32), primary_key=True))
    project_id: str = Field(sa_column=Column(String(32), ForeignKey("registry_project.id"), nullable=False))
    event: str = Field(sa_column=Column(String(40), nullable=False))
    from_state: str = Field(sa_column=Column(String(30), nullable=False))
    to_state: str = Field(sa_column=Column(String(30), nullable=False))
    actor: str = Field(sa_column=Column(String(200), nullable=False))
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Rule(SQLModel, table=True):
    __tablename__ = "registry_rule"

    id: str = Field(default_factory=new_id, sa_column=Column(String(32), primary_key=True))
    code: str = Field(sa_column=Column(String(100), nullable=False, unique=True))
    severity: str = Field(sa_column=Column(String(20), nullable=False))
    definition: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    enabled: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, default=True))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Panel(SQLModel, table=True):
    __tablename__ = "registry_panel"
    __table_args__ = (UniqueConstraint("project_id", "round", name="uq_registry_panel_project_round"),)

    id: str = Field(default_factory=new_id, sa_column=Column(String(32), primary_key=True))
    project_id: str = Field(sa_column=Column(String(32), ForeignKey("registry_project.id"), nullable=False))
    round: int = Field(default=1, sa_column=Column(Integer, nullable=False, default=1))
    state: str = Field(default="open", sa_column=Column(String(20), nullable=False, default="open"))
    criteria: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    summary: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    closed_at: datetime | None = Field(default=None, sa_column=_ts(True))


class PanelMember(SQLModel, table=True):
    __tablename__ = "registry_panel_member"
    __table_args__ = (
        UniqueConstraint("panel_id", "expert_id", name="uq_registry_panel_member_panel_expert"),
        Index("ix_registry_panel_member_expert_id", "expert_id"),
    )

    id: str = Field(default_factory=new_id, sa_column=Column(String(32), primary_key=True))
    panel_id: str = Field(sa_column=Column(String(32), ForeignKey("registry_panel.id"), nullable=False))
    project_id: str = Field(sa_column=Column(String(32), ForeignKey("registry_project.id"), nullable=False))
    expert_id: str = Field(sa_column=Column(String(64), nullable=False))
    expert_name: str = Field(default="", sa_column=Column(String(200), nullable=False, default=""))
    expert_org_id: str = Field(default="", sa_column=Column(String(64), nullable=False, default=""))


class Review(SQLModel, table=True):
    __tablename__ = "registry_review"
    __table_args__ = (UniqueConstraint("panel_id", "expert_id", name="uq_registry_review_panel_expert"),)

    id: str = Field(default_factory=new_id, sa_column=Column(String(32), primary_key=True))
    panel_id: str = Field(sa_column=Column(String(32), ForeignKey("registry_panel.id"), nullable=False))
    project_id: str = Field(sa_column=Column(String(32), ForeignKey("registry_project.id"), nullable=False))
    expert_id: str = Field(sa_column=Column(String(64), nullable=False))
    scores: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    total: float = Field(sa_column=Column(Float, nullable=False))
    comment: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Pair(SQLModel, table=True):
    __tablename__ = "registry_pair"
    __table_args__ = (UniqueConstraint("project_a", "project_b", name="uq_registry_pair_projects"),)

    id: str = Field(default_factory=new_id, sa_column=Column(String(32), primary_key=True))
    project_a: str = Field(sa_column=Column(String(32), ForeignKey("registry_project.id"), nullable=False))
    project_b: str = Field(sa_column=Column(String(32), ForeignKey("registry_project.id"), nullable=False))
    verdict: str = Field(sa_column=Column(String(20), nullable=False))
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    marked_by: str = Field(sa_column=Column(String(200), nullable=False))
    marked_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
