"""Indexes for the record lists and searches (placeholder: reserved for the lists work, which fills it in).

Revision ID: 0022_search_indexes
Revises: 0021_accounts
Create Date: 2026-12-06
"""

revision = "0022_search_indexes"
down_revision = "0021_accounts"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
