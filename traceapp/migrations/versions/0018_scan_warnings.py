"""What scan warnings count (filled in by the scans work).

Revision ID: 0018_scan_warnings
Revises: 0017_brand_attachments
Create Date: 2026-12-06
"""

revision = "0018_scan_warnings"
down_revision = "0017_brand_attachments"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
