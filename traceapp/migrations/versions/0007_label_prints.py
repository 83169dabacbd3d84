"""Label sheets printed for a batch (one label per package): how many, of what package size.

Revision ID: 0007_label_prints
Revises: 0006_batches_by_brand
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_label_prints"
down_revision = "0006_batches_by_brand"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "label_prints",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("batch_id", sa.Integer, nullable=False),
        sa.Column("labels", sa.Integer, nullable=False),
        sa.Column("package_quantity", sa.Numeric(18, 3), nullable=False),
        sa.Column("layout", sa.String(16), nullable=False),
        sa.Column("printed_by", sa.String(64), nullable=False),
        sa.Column("ledger_seq", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_label_prints"),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name="fk_label_prints_batch_id_batches"),
    )
    op.create_index("ix_label_prints_batch_id", "label_prints", ["batch_id"])


def downgrade():
    op.drop_table("label_prints")
