"""portal: organisations, users, memberships, API tokens, login attempts

Revision ID: portal_0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "portal_0001"
down_revision = None
branch_labels = ("portal",)
depends_on = None


def _ts(name, nullable=False, **kw):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, **kw)


def upgrade() -> None:
    op.create_table(
        "portal_organisation",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("district", sa.String(100), nullable=True),
        _ts("created_at"),
    )
    op.create_index("ix_portal_organisation_code", "portal_organisation", ["code"], unique=True)
    op.create_table(
        "portal_user",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("org_id", sa.String(32), sa.ForeignKey("portal_organisation.id"), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("locale", sa.String(16), nullable=True),
        _ts("created_at"),
        _ts("last_login_at", nullable=True),
    )
    op.create_index("ix_portal_user_username", "portal_user", ["username"], unique=True)
    op.create_index("ix_portal_user_org_id", "portal_user", ["org_id"])
    op.create_table(
        "portal_membership",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(32), sa.ForeignKey("portal_user.id"), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.UniqueConstraint("user_id", "role", name="uq_portal_membership_user_role"),
    )
    op.create_index("ix_portal_membership_user_id", "portal_membership", ["user_id"])
    op.create_table(
        "portal_api_token",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(32), sa.ForeignKey("portal_user.id"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("scopes", sa.String(1000), nullable=False),
        _ts("created_at"),
        _ts("expires_at"),
        _ts("revoked_at", nullable=True),
        _ts("last_used_at", nullable=True),
    )
    op.create_index("ix_portal_api_token_user_id", "portal_api_token", ["user_id"])
    op.create_index("ix_portal_api_token_prefix", "portal_api_token", ["prefix"])
    op.create_table(
        "portal_login_attempt",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("remote_addr", sa.String(64), nullable=False),
        _ts("at"),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_portal_login_attempt_username", "portal_login_attempt", ["username"])
    op.create_index("ix_portal_login_attempt_remote_addr", "portal_login_attempt", ["remote_addr"])
    op.create_index("ix_portal_login_attempt_at", "portal_login_attempt", ["at"])


def downgrade() -> None:
    for table in ("portal_login_attempt", "portal_api_token", "portal_membership", "portal_user",
                  "portal_organisation"):
        op.drop_table(table)
