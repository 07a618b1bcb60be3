"""registry: import with real states (dates, decision reference), the library change counter, targets,
milestones, evidence and evaluations

Revision ID: registry_0002
Revises: registry_0001
Create Date: 2026-11-30
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "registry_0002"
down_revision = "registry_0001"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("registry_project") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("decision_ref", sa.String(100), nullable=False, server_default=""))
        batch.add_column(_ts("started_at", True))
        batch.add_column(_ts("completed_at", True))
        batch.add_column(_ts("evaluated_at", True))
    with op.batch_alter_table("registry_project") as batch:
        batch.alter_column("seq", server_default=None)
        batch.alter_column("decision_ref", server_default=None)
    op.create_index("ix_registry_project_seq", "registry_project", ["seq"])
    op.create_table(
        "registry_library",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("uid", sa.String(32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(sa.table("registry_library", sa.column("id", sa.Integer()), sa.column("uid", sa.String()),
                            sa.column("seq", sa.BigInteger())),
                   [{"id": 1, "uid": uuid.uuid4().hex, "seq": 0}])
    op.create_table(
        "registry_target",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project_id", sa.String(32), sa.ForeignKey("registry_project.id"), nullable=False),
        sa.Column("indicator", sa.String(200), nullable=False),
        sa.Column("unit", sa.String(40), nullable=False),
        sa.Column("baseline", sa.Float(), nullable=True),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("direction", sa.String(10), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("actual", sa.Float(), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        _ts("created_at"),
        sa.UniqueConstraint("project_id", "indicator", name="uq_registry_target_project_indicator"),
    )
    op.create_table(
        "registry_milestone",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project_id", sa.String(32), sa.ForeignKey("registry_project.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("reached_on", sa.Date(), nullable=False),
        sa.Column("spent", sa.Float(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        _ts("recorded_at"),
    )
    op.create_index("ix_registry_milestone_project_id", "registry_milestone", ["project_id"])
    op.create_table(
        "registry_evidence",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project_id", sa.String(32), sa.ForeignKey("registry_project.id"), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(200), nullable=False),
        _ts("uploaded_at"),
    )
    op.create_index("ix_registry_evidence_project_id", "registry_evidence", ["project_id"])
    op.create_table(
        "registry_evaluation",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project_id", sa.String(32), sa.ForeignKey("registry_project.id"), nullable=False, unique=True),
        sa.Column("rating", sa.String(20), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("evaluated_by", sa.String(200), nullable=False),
        _ts("evaluated_at"),
    )


def downgrade() -> None:
    op.drop_table("registry_evaluation")
    op.drop_index("ix_registry_evidence_project_id", table_name="registry_evidence")
    op.drop_table("registry_evidence")
    op.drop_index("ix_registry_milestone_project_id", table_name="registry_milestone")
    op.drop_table("registry_milestone")
    op.drop_table("registry_target")
    op.drop_table("registry_library")
    op.drop_index("ix_registry_project_seq", table_name="registry_project")
    with op.batch_alter_table("registry_project") as batch:
        for col in ("evaluated_at", "completed_at", "started_at", "decision_ref", "seq"):
            batch.drop_column(col)
