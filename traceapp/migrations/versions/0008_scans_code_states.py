"""Scans of consumer pages (never the IP: a salted hash), each code's first scan, and code states
(frozen / void, set by the producer or a regulator through ledger entries).

Revision ID: 0008_scans_code_states
Revises: 0007_label_prints
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_scans_code_states"
down_revision = "0007_label_prints"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "scans",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False),
        sa.Column("batch_id", sa.Integer, nullable=False),
        sa.Column("scanned_at", sa.DateTime, nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("hints", sa.String(120), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_scans"),
    )
    op.create_index("ix_scans_batch_id_scanned_at", "scans", ["batch_id", "scanned_at"])
    op.create_table(
        "first_scans",
        sa.Column("batch_id", sa.Integer, nullable=False),
        sa.Column("scanned_at", sa.DateTime, nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("batch_id", name="pk_first_scans"),
    )
    op.create_table(
        "code_states",
        sa.Column("batch_id", sa.Integer, nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("changed_by", sa.String(64), nullable=False),
        sa.Column("changed_at", sa.DateTime, nullable=False),
        sa.Column("ledger_seq", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("batch_id", name="pk_code_states"),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name="fk_code_states_batch_id_batches"),
    )


def downgrade():
    op.drop_table("code_states")
    op.drop_table("first_scans")
    op.drop_index("ix_scans_batch_id_scanned_at", "scans")
    op.drop_table("scans")
