"""registry: projects, transitions, pre-check rules, expert panels and reviews, marked pairs

Revision ID: registry_0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "registry_0001"
down_revision = None
branch_labels = ("registry",)
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "registry_project",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("organisation", sa.String(200), nullable=False),
        sa.Column("district", sa.String(100), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("area", sa.String(40), nullable=False),
        sa.Column("construction_mode", sa.String(40), nullable=False),
        sa.Column("deployment", sa.String(40), nullable=False),
        sa.Column("budget", sa.Float(), nullable=True),
        sa.Column("start_year", sa.Integer(), nullable=True),
        sa.Column("end_year", sa.Integer(), nullable=True),
        sa.Column("mlps_level", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(30), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("schema_ref", sa.String(200), nullable=False),
        sa.Column("precheck", sa.JSON(), nullable=True),
        sa.Column("matches", sa.JSON(), nullable=True),
        sa.Column("decision", sa.String(30), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        _ts("submitted_at", True),
        _ts("decided_at", True),
    )
    op.create_index("ix_registry_project_org_id", "registry_project", ["org_id"])
    op.create_index("ix_registry_project_state", "registry_project", ["state"])
    op.create_index("ix_registry_project_area", "registry_project", ["area"])
    op.create_index("ix_registry_project_updated_at", "registry_project", ["updated_at"])
    op.create_table(
        "registry_transition",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project_id", sa.String(32), sa.ForeignKey("registry_project.id"), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("from_state", sa.String(30), nullable=False),
        sa.Column("to_state", sa.String(30), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _ts("at"),
    )
    op.create_index("ix_registry_transition_project_id", "registry_transition", ["project_id"])
    op.create_table(
        "registry_rule",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("code", sa.String(100), nullable=False, unique=True),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        _ts("created_at"),
    )
    op.create_table(
        "registry_panel",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project_id", sa.String(32), sa.ForeignKey("registry_project.id"), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        _ts("created_at"),
        _ts("closed_at", True),
        sa.UniqueConstraint("project_id", "round", name="uq_registry_panel_project_round"),
    )
    op.create_table(
        "registry_panel_member",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("panel_id", sa.String(32), sa.ForeignKey("registry_panel.id"), nullable=False),
        sa.Column("project_id", sa.String(32), sa.ForeignKey("registry_project.id"), nullable=False),
        sa.Column("expert_id", sa.String(64), nullable=False),
        sa.Column("expert_name", sa.String(200), nullable=False),
        sa.Column("expert_org_id", sa.String(64), nullable=False),
        sa.UniqueConstraint("panel_id", "expert_id", name="uq_registry_panel_member_panel_expert"),
    )
    op.create_index("ix_registry_panel_member_expert_id", "registry_panel_member", ["expert_id"])
    op.create_table(
        "registry_review",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("panel_id", sa.String(32), sa.ForeignKey("registry_panel.id"), nullable=False),
        sa.Column("project_id", sa.String(32), sa.ForeignKey("registry_project.id"), nullable=False),
        sa.Column("expert_id", sa.String(64), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        _ts("created_at"),
        sa.UniqueConstraint("panel_id", "expert_id", name="uq_registry_review_panel_expert"),
    )
    op.create_table(
        "registry_pair",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project_a", sa.String(32), sa.ForeignKey("registry_project.id"), nullable=False),
        sa.Column("project_b", sa.String(32), sa.ForeignKey("registry_project.id"), nullable=False),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("marked_by", sa.String(200), nullable=False),
        _ts("marked_at"),
        sa.UniqueConstraint("project_a", "project_b", name="uq_registry_pair_projects"),
    )


def downgrade() -> None:
    op.drop_table("registry_pair")
    op.drop_table("registry_review")
    op.drop_index("ix_registry_panel_member_expert_id", table_name="registry_panel_member")
    op.drop_table("registry_panel_member")
    op.drop_table("registry_panel")
    op.drop_table("registry_rule")
    op.drop_index("ix_registry_transition_project_id", table_name="registry_transition")
    op.drop_table("registry_transition")
    for ix in ("updated_at", "area", "state", "org_id"):
        op.drop_index(f"ix_registry_project_{ix}", table_name="registry_project")
    op.drop_table("registry_project")
