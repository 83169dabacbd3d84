"""The consumer page is no longer stored: it is rendered from its rows on each view and kept by HTTP
caches (``Cache-Control``, ``ETag``), so the stored pages and their epoch go.

Revision ID: 0023_drop_consumer_pages
Revises: 0022_search_indexes
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0023_drop_consumer_pages"
down_revision = "0022_search_indexes"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_table("consumer_page_epoch")
    op.drop_table("consumer_pages")


def downgrade():
    # The tables as 0015_consumer_pages made them, empty: pages were derived, the old code rebuilds them.
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
