"""secmon: stored evaluation reports (immutable, digests audited) and scheduler job claims

A trigger keeps reports immutable in the database itself: no DELETE, no change to the document, the HTML, the
digests, the period or the scope; the PDF may be added once (NULL to a value) and never changed after.

Revision ID: secmon_0100_evaluation
Revises: secmon_0003
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "secmon_0100_evaluation"
down_revision = "secmon_0003"
branch_labels = None
depends_on = None


_CHANGED = ("document", "html", "digest", "html_digest", "period", "scope", "period_start", "scope_name", "score",
            "band", "created_at", "created_by")
MESSAGE = "secmon_evaluation_report rows are immutable"


def _guard_sqlite() -> None:
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in _CHANGED)
    op.execute(f"""CREATE TRIGGER secmon_evaluation_report_immutable BEFORE UPDATE ON secmon_evaluation_report
        WHEN {changed} OR (OLD.pdf IS NOT NULL AND (NEW.pdf IS NOT OLD.pdf OR NEW.pdf_digest IS NOT OLD.pdf_digest))
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""")
    op.execute(f"""CREATE TRIGGER secmon_evaluation_report_no_delete BEFORE DELETE ON secmon_evaluation_report
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""")


def _guard_postgresql() -> None:
    changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in _CHANGED)
    op.execute(f"""CREATE FUNCTION secmon_evaluation_report_guard() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'DELETE' OR {changed} OR (OLD.pdf IS NOT NULL AND (NEW.pdf IS DISTINCT FROM OLD.pdf
             OR NEW.pdf_digest IS DISTINCT FROM OLD.pdf_digest)) THEN
            RAISE EXCEPTION '{MESSAGE}';
          END IF;
          RETURN NEW;
        END $$""")
    op.execute("CREATE TRIGGER secmon_evaluation_report_guard BEFORE UPDATE OR DELETE ON secmon_evaluation_report "
               "FOR EACH ROW EXECUTE FUNCTION secmon_evaluation_report_guard()")


def upgrade() -> None:
    op.create_table(
        "secmon_evaluation_report",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("period", sa.String(20), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scope", sa.String(200), nullable=False),
        sa.Column("scope_name", sa.String(300), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("band", sa.String(40), nullable=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("html_digest", sa.String(64), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("pdf_digest", sa.String(64), nullable=True),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.UniqueConstraint("period", "scope", "digest", name="uq_secmon_evaluation_report_digest"),
    )
    op.create_index("ix_secmon_evaluation_report_scope", "secmon_evaluation_report", ["scope", "period", "created_at"])
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _guard_sqlite()
    elif dialect == "postgresql":
        _guard_postgresql()
    op.create_table(
        "secmon_job_claim",
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("secmon_job_claim")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS secmon_evaluation_report_guard ON secmon_evaluation_report")
        op.execute("DROP FUNCTION IF EXISTS secmon_evaluation_report_guard()")
    op.drop_index("ix_secmon_evaluation_report_scope", table_name="secmon_evaluation_report")
    op.drop_table("secmon_evaluation_report")
