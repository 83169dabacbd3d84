"""Sub-brand attachment requests (filled in by the brands work).

Revision ID: 0017_brand_attachments
Revises: 0016_transfers
Create Date: 2026-12-06
"""

revision = "0017_brand_attachments"
down_revision = "0016_transfers"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
