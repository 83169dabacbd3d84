"""What each batch's consumer page shows that only writes change, kept ready as one JSON value per
batch (``traceapp.public.page_data``): on PostgreSQL the page's statement had built it on every view,
which kept the page at about 0.37 of a bare page's throughput. Filled here for the batches already
registered. No foreign key: derived values must never stand in the way of repairing the rows they
come from (a value whose batch is gone is never read).

Revision ID: 0015_consumer_page_data
Revises: 0014_ledger_subject_seq
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015_consumer_page_data"
down_revision = "0014_ledger_subject_seq"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "consumer_page_data",
        sa.Column("batch_id", sa.Integer, nullable=False),
        sa.Column("value", sa.Text().with_variant(postgresql.JSON(), "postgresql"), nullable=True),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("batch_id", name="pk_consumer_page_data"),
    )
    from traceapp.public import page_data

    page_data.rebuild(op.get_bind())


def downgrade():
    op.drop_table("consumer_page_data")
