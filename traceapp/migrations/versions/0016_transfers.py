"""Batch transfers and what a recall reaches (filled in by the transfers work).

Revision ID: 0016_transfers
Revises: 0015_consumer_pages
Create Date: 2026-12-06
"""

revision = "0016_transfers"
down_revision = "0015_consumer_pages"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
