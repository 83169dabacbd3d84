"""Batch transfers: the quantity of a batch its producer handed over to another organization
(``batch.transferred`` entries), which that organization may then take as input.

Revision ID: 0016_transfers
Revises: 0015_consumer_pages
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0016_transfers"
down_revision = "0015_consumer_pages"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "batch_transfers",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("batch_id", sa.Integer, nullable=False),
        sa.Column("from_id", sa.Integer, nullable=False),
        sa.Column("to_id", sa.Integer, nullable=False),
        sa.Column("quantity", sa.Numeric(18, 3), nullable=False),
        sa.Column("transferred_by", sa.String(64), nullable=False),
        sa.Column("transferred_at", sa.DateTime, nullable=False),
        sa.Column("ledger_seq", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name="fk_batch_transfers_batch_id_batches"),
        sa.ForeignKeyConstraint(["from_id"], ["organizations.id"], name="fk_batch_transfers_from_id_organizations"),
        sa.ForeignKeyConstraint(["to_id"], ["organizations.id"], name="fk_batch_transfers_to_id_organizations"),
        sa.PrimaryKeyConstraint("id", name="pk_batch_transfers"),
        sa.UniqueConstraint("ledger_seq", name="uq_batch_transfers_ledger_seq"),
    )
    op.create_index("ix_batch_transfers_batch_id", "batch_transfers", ["batch_id"])
    op.create_index("ix_batch_transfers_to_id", "batch_transfers", ["to_id"])


def downgrade():
    op.drop_index("ix_batch_transfers_to_id", table_name="batch_transfers")
    op.drop_index("ix_batch_transfers_batch_id", table_name="batch_transfers")
    op.drop_table("batch_transfers")
