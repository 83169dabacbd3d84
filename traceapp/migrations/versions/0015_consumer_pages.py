"""Each batch's consumer page kept rendered per language (``traceapp.public.stored_pages``): the
page rendered on every view ran at 0.39-0.49 of a bare page's throughput; served from here with
its live parts (scans, code state, recall) it ran at 0.63-0.75. Pages are built by their first
view or by ``flask db consumer-pages``; none is built here. No foreign key: derived pages must
never stand in the way of repairing the rows they come from.

Revision ID: 0015_consumer_pages
Revises: 0014_ledger_subject_seq
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0015_consumer_pages"
down_revision = "0014_ledger_subject_seq"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "consumer_pages",
        sa.Column("batch_id", sa.Integer, nullable=False),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("html", sa.Text, nullable=True),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("release", sa.String(64), nullable=True),
        sa.Column("valid_through", sa.Date, nullable=True),
        sa.PrimaryKeyConstraint("batch_id", "lang", name="pk_consumer_pages"),
    )
    epoch = op.create_table(
        "consumer_page_epoch",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("epoch", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_consumer_page_epoch"),
    )
    op.bulk_insert(epoch, [{"id": 1, "epoch": 0}])


def downgrade():
    op.drop_table("consumer_page_epoch")
    op.drop_table("consumer_pages")
