"""The export access log: every export from the regulator's desk (who, when, format, filters, size).

Revision ID: 0012_export_log
Revises: 0011_licenses_by_licensee
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_export_log"
down_revision = "0011_licenses_by_licensee"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "export_log",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("organization_id", sa.Integer, nullable=True),
        sa.Column("via", sa.String(8), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("filters", sa.Text, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_export_log"),
    )
    op.create_index("ix_export_log_at", "export_log", ["at"])


def downgrade():
    op.drop_index("ix_export_log_at", "export_log")
    op.drop_table("export_log")
