"""Full verifications run from the regulator's audit desk (at most one running at a time).

Revision ID: 0010_verification_runs
Revises: 0009_digital_link
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_verification_runs"
down_revision = "0009_digital_link"
branch_labels = None
depends_on = None

RUNNING = sa.text("status = 'running'")


def upgrade():
    op.create_table(
        "verification_runs",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=True),
        sa.Column("heartbeat_at", sa.DateTime, nullable=False),
        sa.Column("started_by", sa.String(64), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("entries_checked", sa.BigInteger, nullable=False),
        sa.Column("total", sa.BigInteger, nullable=False),
        sa.Column("result", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_verification_runs"),
    )
    op.create_index("uq_verification_runs_running", "verification_runs", ["status"], unique=True,
                    sqlite_where=RUNNING, postgresql_where=RUNNING)
    op.create_index("ix_verification_runs_finished_at", "verification_runs", ["finished_at"])


def downgrade():
    op.drop_index("ix_verification_runs_finished_at", "verification_runs")
    op.drop_index("uq_verification_runs_running", "verification_runs")
    op.drop_table("verification_runs")
