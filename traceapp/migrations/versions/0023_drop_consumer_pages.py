"""The consumer page is no longer stored (placeholder: reserved for the consumer work, which fills it in).

Revision ID: 0023_drop_consumer_pages
Revises: 0022_search_indexes
Create Date: 2026-12-06
"""

revision = "0023_drop_consumer_pages"
down_revision = "0022_search_indexes"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
